"""Ends requests that must stop: silent too long, past the run's deadline, or cancelled.

A socket read timeout bounds one read; what a streamed answer needs is different per phase
(the server may think for minutes before its first byte, then should not pause for long),
and a blocked read cannot be told that its timeout changed. So each request in flight is
watched: the worker moves its expiry on after every piece it reads, and one thread shuts
down the socket of any request whose expiry passed (``shutdown`` wakes a read blocked in
another thread at once, on every platform; ``close`` does not). The worker's read then
fails, and ``Watched.reason`` says why, so the failure is reported as what it was.

Only ``socket.shutdown`` is used on another thread's socket; everything else stays with the
worker that owns it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Literal

Reason = Literal["first-byte", "idle", "deadline", "cancelled"]


class Watched:
    """One request in flight. ``reason`` is set (once) when the watchdog ended it."""

    def __init__(self, sock: socket.socket | None, expires: float, why: Reason) -> None:
        self.sock = sock
        self.expires = expires
        self.why: Reason = why  # what expiring now would mean
        self.reason: Reason | None = None


class Watchdog:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._watched: set[Watched] = set()
        self._cancelled = False
        self._thread: threading.Thread | None = None

    @property
    def cancelled(self) -> bool:
        with self._cond:
            return self._cancelled

    def watch(self, sock: socket.socket | None, expires: float, why: Reason) -> Watched:
        """Start watching; ``sock`` None (a transport that does not expose it) still has its
        expiry and cancellation checked by ``check``, only not enforced while blocked."""
        watched = Watched(sock, expires, why)
        with self._cond:
            if self._cancelled:
                watched.reason = "cancelled"
            self._watched.add(watched)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="stream-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return watched

    def extend(self, watched: Watched, expires: float, why: Reason) -> None:
        """Move the expiry: later after each piece, or earlier once the first byte is in (the
        idle bound is usually shorter than the first-byte one): then the watchdog, asleep
        until the old expiry, must recompute."""
        with self._cond:
            earlier = expires < watched.expires
            watched.expires, watched.why = expires, why
            if earlier:
                self._cond.notify()

    def release(self, watched: Watched) -> None:
        with self._cond:
            self._watched.discard(watched)

    def check(self, watched: Watched) -> Reason | None:
        """Why the request must stop now (also when the watchdog has not acted yet)."""
        with self._cond:
            if watched.reason is None and (self._cancelled or self._clock() >= watched.expires):
                watched.reason = "cancelled" if self._cancelled else watched.why
            return watched.reason

    def cancel(self) -> None:
        """End every request in flight now, and every later one at its start."""
        with self._cond:
            self._cancelled = True
            for watched in self._watched:
                self._end(watched, "cancelled")
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = self._clock()
                pending = [w for w in self._watched if w.reason is None]
                for watched in pending:
                    if now >= watched.expires:
                        self._end(watched, watched.why)
                waits = [w.expires - now for w in pending if w.reason is None and w.expires > now]
                # Idle, the thread sleeps until a new request is watched.
                self._cond.wait(min(waits) if waits else None)

    @staticmethod
    def _end(watched: Watched, reason: Reason) -> None:
        if watched.reason is None:
            watched.reason = reason
        if watched.sock is not None:
            # An OSError: already closed by its owner, nothing left to wake.
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, also for TLS: SSLSocket.shutdown would drop
                # the TLS state under the reading thread's feet.
                socket.socket.shutdown(watched.sock, socket.SHUT_RDWR)
