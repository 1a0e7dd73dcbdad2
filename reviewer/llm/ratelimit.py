"""The gate every worker passes before a request, so that one 429 slows all of them.

A provider's rate limit is per key, not per worker: when one worker is told to wait, the
others would hit the same limit. ``pause_for`` extends a shared pause (never shortens it)
and ``acquire`` blocks while it lasts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateGate:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._until = 0.0
        self._pauses = 0

    def pause_for(self, seconds: float) -> None:
        """Hold every worker for ``seconds`` from now, unless a longer pause is already set."""
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            self._until = max(self._until, until)
            self._pauses += 1

    def acquire(self, deadline: float | None = None) -> bool:
        """Wait out the pause. False, at once, if it lasts past ``deadline`` (clock time)."""
        while True:
            with self._lock:
                until = self._until
                now = self._clock()
            if until <= now:
                return True
            if deadline is not None and until > deadline:
                return False
            # Re-checked after waking: another worker may have extended the pause meanwhile.
            self._sleep(until - now)

    @property
    def paused_until(self) -> float:
        with self._lock:
            return self._until

    @property
    def pauses(self) -> int:
        """How many times a pause was requested (for the run's stats)."""
        with self._lock:
            return self._pauses
