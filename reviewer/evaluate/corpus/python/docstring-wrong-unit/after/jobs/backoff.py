import random
import time


def jitter(delay: float) -> float:
    return delay * random.uniform(0.5, 1.5)


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Delay before retry number ``attempt``, in milliseconds, at most ``cap``."""
    return min(cap, jitter(base * 2**attempt))


def wait_before_retry(attempt: int) -> None:
    time.sleep(backoff_delay(attempt))
