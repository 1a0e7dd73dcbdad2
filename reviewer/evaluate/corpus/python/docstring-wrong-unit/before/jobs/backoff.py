import random
import time


def jitter(delay: float) -> float:
    return delay * random.uniform(0.5, 1.5)
