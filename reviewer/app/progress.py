"""Progress on stderr while a review runs: a live board on a terminal, plain lines in a log.

On a TTY (``LiveProgress``): one line per chunk being answered (its files, the tokens
streamed so far, how long it has run) and an overall bar (chunks done of all, failures, cost
so far, time), redrawn in place at most ten times a second and every half second while
nothing arrives. Elsewhere (``PlainProgress``, e.g. a CI log): a line per finished or failed
chunk and, every ``interval`` seconds while chunks run, one line saying what is running.
With ``-q``: nothing (``make_progress`` returns None).

Standard library only: the board needs cursor-up and erase-line, which every terminal the
hook runs in understands, and importing a terminal library would cost more than drawing it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

_REDRAW_EVERY = 0.1  # seconds between two redraws of the board, at most
_TICK = 0.5  # seconds between redraws while nothing happens (the elapsed times move)
PLAIN_INTERVAL = 15.0  # seconds between two "still running" lines in a log
_BAR_WIDTH = 24
_PATHS_SHOWN = 2


@dataclass
class _Running:
    paths: tuple[str, ...]
    started: float
    tokens: int = 0


@dataclass
class _Board:
    """What both displays show; changed under the display's lock only."""

    total: int = 0
    done: int = 0
    failed: int = 0
    cached: int = 0
    cost: float | None = None
    running: dict[int, _Running] = field(default_factory=dict)
    active: bool = False  # a chunk started or finished: there is something to sum up


def make_progress(quiet: bool, stream: TextIO | None = None) -> LiveProgress | PlainProgress | None:
    if quiet:
        return None
    stream = stream if stream is not None else sys.stderr
    return LiveProgress(stream) if stream.isatty() else PlainProgress(stream)


class _Display:
    """The shared bookkeeping; subclasses decide what to write and when."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        self._lock = threading.RLock()
        self._board = _Board()
        self._begun = clock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # ---------------------------------------------------------------- Progress

    def planned(self, chunks: int, files: int, tokens: int) -> None:
        with self._lock:
            self._board.total = chunks
            if chunks:
                self._write(f"review: {files} file(s) in {chunks} chunk(s), ~{tokens} tokens\n")

    def chunk_started(self, index: int, paths: tuple[str, ...]) -> None:
        with self._lock:
            self._board.running[index] = _Running(paths, self._clock())
            self._board.active = True
            self._changed()
        self._start_ticker()

    def chunk_tokens(self, index: int, tokens: int) -> None:
        with self._lock:
            running = self._board.running.get(index)
            if running is not None:
                running.tokens = tokens
                self._changed()

    def chunk_done(
        self,
        done: int,
        total: int,
        failed: bool,
        *,
        index: int = -1,
        cost_usd: float | None = None,
    ) -> None:
        with self._lock:
            board = self._board
            board.done, board.total, board.cost = done, total, cost_usd
            board.failed += failed
            board.active = True
            running = board.running.pop(index, None)
            if running is None:
                board.cached += 1
            self._finished(done, total, failed, running)

    # ---------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Stop redrawing and leave a one-line summary (also after Ctrl-C)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1)
        with self._lock:
            self._closing()

    def _start_ticker(self) -> None:
        with self._lock:
            if self._ticker is not None or self._stop.is_set():
                return
            self._ticker = threading.Thread(target=self._tick_loop, name="progress", daemon=True)
            self._ticker.start()

    def _tick_loop(self) -> None:
        while not self._stop.wait(self._tick_interval()):
            with self._lock:
                if not self._stop.is_set():
                    self._tick()

    # ---------------------------------------------------------------- text

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            self._stop.set()  # stderr is gone (closed pipe): nothing more to show

    def _running_text(self, running: _Running, now: float, *, done: bool = False) -> str:
        shown = ", ".join(running.paths[:_PATHS_SHOWN])
        if len(running.paths) > _PATHS_SHOWN:
            shown += f" +{len(running.paths) - _PATHS_SHOWN}"
        tokens = f"{running.tokens} tokens, " if running.tokens else ("" if done else "waiting, ")
        return f"{shown}: {tokens}{_duration(now - running.started)}"

    def _summary(self) -> str:
        board = self._board
        parts = [f"{board.done}/{board.total} chunks done"]
        if board.cached:
            parts.append(f"{board.cached} cached")
        if board.failed:
            parts.append(f"{board.failed} failed")
        if board.cost is not None:
            parts.append(f"${board.cost:.4f}")
        parts.append(_duration(self._clock() - self._begun))
        return ", ".join(parts)

    # ---------------------------------------------------------------- hooks

    def _tick_interval(self) -> float:
        raise NotImplementedError

    def _changed(self) -> None:
        raise NotImplementedError

    def _finished(self, done: int, total: int, failed: bool, running: _Running | None) -> None:
        raise NotImplementedError

    def _tick(self) -> None:
        raise NotImplementedError

    def _closing(self) -> None:
        raise NotImplementedError


class PlainProgress(_Display):
    """Lines that read well in a CI log: no cursor movement, nothing redrawn."""

    def __init__(
        self,
        stream: TextIO,
        clock: Callable[[], float] = time.monotonic,
        interval: float = PLAIN_INTERVAL,
    ) -> None:
        super().__init__(stream, clock)
        self._interval = interval

    def _tick_interval(self) -> float:
        return self._interval

    def _changed(self) -> None:
        pass

    def _finished(self, done: int, total: int, failed: bool, running: _Running | None) -> None:
        if running is None and not failed:
            return  # answered from the cache: the summary counts it
        what = "failed" if failed else "done"
        detail = f": {self._running_text(running, self._clock(), done=True)}" if running else ""
        self._write(f"review: chunk {done}/{total} {what}{detail}\n")

    def _tick(self) -> None:
        board = self._board
        if not board.running:
            return
        now = self._clock()
        running = "; ".join(self._running_text(r, now) for _, r in sorted(board.running.items()))
        self._write(f"review: {self._summary()}; running: {running}\n")

    def _closing(self) -> None:
        board = self._board
        if board.active and board.done < board.total:
            self._write(f"review: stopped at {self._summary()}\n")


class LiveProgress(_Display):
    """The board, redrawn in place below everything else on stderr."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(stream, clock)
        self._lines = 0  # lines of the board on screen, the cursor is on the line below
        self._drawn_at = -1.0

    def _tick_interval(self) -> float:
        return _TICK

    def _changed(self) -> None:
        if self._clock() - self._drawn_at >= _REDRAW_EVERY:
            self._draw()

    def _finished(self, done: int, total: int, failed: bool, running: _Running | None) -> None:
        self._draw()

    def _tick(self) -> None:
        self._draw()

    def _closing(self) -> None:
        if self._board.active:
            self._draw(final=True)

    def _draw(self, *, final: bool = False) -> None:
        import shutil

        board, now = self._board, self._clock()
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        lines = []
        if not final:
            for index, running in sorted(board.running.items()):
                lines.append(f"  [{index + 1}] {self._running_text(running, now)}")
        filled = _BAR_WIDTH * board.done // board.total if board.total else _BAR_WIDTH
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        lines.append(f"review [{bar}] {self._summary()}")
        # Cut to the width: a wrapped line would throw the cursor-up count off.
        text = "".join(line[:width] + "\x1b[K\n" for line in lines)
        up = f"\x1b[{self._lines}F" if self._lines else ""
        self._write(f"\r{up}{text}\x1b[J")
        self._lines = len(lines)
        self._drawn_at = now


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds}s" if seconds < 60 else f"{seconds // 60}m{seconds % 60:02d}s"
