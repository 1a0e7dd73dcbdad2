"""The gate every worker passes before a request, so that one 429 slows all of them.

A provider's rate limit is per key, not per worker: when one worker is told to wait, the
others would hit the same limit. ``pause_for`` extends a shared pause (never shortens it)
and ``acquire`` blocks while it lasts.

Beyond one process, a ``SharedLimiter`` (``reviewer.store`` implements it in Redis and in
SQLite) books each request against the team's requests- and tokens-per-minute and carries
pauses to every process using the same store. The provider's own ``x-ratelimit-*`` headers
(``parse_rate_limit_headers``) feed back through ``observe``: when they say the key is nearly
spent, every worker slows down before a 429 rather than after it.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from reviewer.core.values import Frozen

# Below this many requests' worth left, the rest is spread over the time to the reset.
PACE_BELOW = 8
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


class RateLimits(Frozen):
    """What a reply's ``x-ratelimit-*`` headers say about the key (None: not sent)."""

    limit_requests: int | None = None
    limit_tokens: int | None = None
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests: float | None = None  # seconds until the request limit is whole again
    reset_tokens: float | None = None


def parse_rate_limit_headers(headers: Mapping[str, str]) -> RateLimits | None:
    """The ``x-ratelimit-*`` headers of a reply, or None when it has none (most local servers).

    Resets come as OpenAI's Go-style durations (``1s``, ``6m0s``, ``20ms``) or as plain
    seconds; values that parse as neither are ignored, never an error.
    """
    lowered = {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-ratelimit-")}
    if not lowered:
        return None
    limits = RateLimits(
        limit_requests=_count(lowered.get("x-ratelimit-limit-requests")),
        limit_tokens=_count(lowered.get("x-ratelimit-limit-tokens")),
        remaining_requests=_count(lowered.get("x-ratelimit-remaining-requests")),
        remaining_tokens=_count(lowered.get("x-ratelimit-remaining-tokens")),
        reset_requests=parse_duration(lowered.get("x-ratelimit-reset-requests")),
        reset_tokens=parse_duration(lowered.get("x-ratelimit-reset-tokens")),
    )
    return None if limits == RateLimits() else limits


def parse_duration(value: str | None) -> float | None:
    """Seconds from ``1h2m3.5s``, ``250ms`` or ``2.5``; None when it is neither."""
    if value is None:
        return None
    text = value.strip().lower()
    try:
        seconds = float(text)
    except ValueError:
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            return None
        scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
        seconds = sum(float(n) * scale[u] for n, u in parts)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _count(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return max(0, int(float(value.strip())))
    except ValueError:
        return None


def pause_from_limits(limits: RateLimits, tokens: int = 0) -> float:
    """How long every worker should hold off after a reply carrying ``limits``.

    Nothing while plenty is left. With fewer than ``PACE_BELOW`` requests' worth left (of
    requests, or of tokens at ``tokens`` per request), the rest is spread over the time to the
    reset: ``reset / (left + 1)``, so at zero left it is the whole reset, the point at which
    the next request would get a 429.
    """
    pauses = [0.0]
    if limits.remaining_requests is not None and limits.reset_requests is not None:
        pauses.append(_paced(limits.remaining_requests, limits.reset_requests))
    if limits.remaining_tokens is not None and limits.reset_tokens is not None:
        per_request = max(1, tokens)
        pauses.append(_paced(limits.remaining_tokens // per_request, limits.reset_tokens))
    return max(pauses)


def _paced(left: int, reset: float) -> float:
    return reset / (left + 1) if left < PACE_BELOW else 0.0


class SharedLimiter(Protocol):
    """A rate limit kept outside this process, shared by every process using the same store.

    Implementations never raise: a store that fails falls back to a local one, with a warning.
    """

    def reserve(self, tokens: int, max_wait: float) -> float | None:
        """Book the next request of ``tokens`` (estimated): the seconds to wait before sending
        it (0.0: now), or None, booking nothing, when that would be longer than ``max_wait``."""
        ...

    def pause(self, seconds: float) -> None:
        """Hold every process for ``seconds`` from now, unless a longer pause is set."""
        ...


class Gate(Protocol):
    """What a conversation needs from the rate limit (``RateGate``)."""

    def acquire(self, deadline: float | None = None, tokens: int = 0) -> bool: ...
    def pause_for(self, seconds: float) -> None: ...
    def observe(self, limits: RateLimits, tokens: int = 0) -> None: ...


class RateGate:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        shared: SharedLimiter | None = None,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._shared = shared
        self._lock = threading.Lock()
        self._until = 0.0
        self._pauses = 0

    def pause_for(self, seconds: float) -> None:
        """Hold every worker for ``seconds`` from now, unless a longer pause is already set."""
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            self._until = max(self._until, until)
            self._pauses += 1
        if self._shared is not None and seconds > 0:
            self._shared.pause(seconds)

    def observe(self, limits: RateLimits, tokens: int = 0) -> None:
        """Slow every worker down when the provider says the key is nearly spent."""
        pause = pause_from_limits(limits, tokens)
        if pause > 0:
            self.pause_for(pause)

    def acquire(self, deadline: float | None = None, tokens: int = 0) -> bool:
        """Wait out the pause, then for a slot under the shared limit (``tokens`` estimated).
        False, at once, if either lasts past ``deadline`` (clock time)."""
        if not self._wait_out_pause(deadline):
            return False
        if self._shared is None:
            return True
        max_wait = math.inf if deadline is None else deadline - self._clock()
        wait = self._shared.reserve(tokens, max_wait)
        if wait is None:
            return False
        if wait > 0:
            self._sleep(wait)
        # A 429 in this process while the slot came round holds this request too.
        return self._wait_out_pause(deadline)

    def _wait_out_pause(self, deadline: float | None) -> bool:
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
