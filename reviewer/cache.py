"""A persistent cache of validated model answers, in SQLite from the standard library.

Keys are hashes of everything that changes an answer (see ``reviewer.pipeline.cache_key``):
endpoint URL, model, prompt version, temperature, system prompt and chunk text; never the key.
Two hooks running at once share the file safely (WAL journal, busy timeout). A corrupt or
unwritable cache is reported once through ``warn`` and the review goes on without it.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import ValidationError

from reviewer.answer import ModelAnswer

FILE_NAME = "reviews.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS answers
    (key TEXT PRIMARY KEY, answer TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS dialects
    (endpoint TEXT PRIMARY KEY, mode TEXT NOT NULL, created REAL NOT NULL);
"""


def default_cache_dir(environ: Mapping[str, str], platform: str = sys.platform) -> Path:
    """The user's cache directory for reviewer, by platform convention."""
    if platform == "win32":
        base = environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "reviewer" / "Cache"
    if platform == "darwin":
        return Path.home() / "Library" / "Caches" / "reviewer"
    xdg = environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "reviewer"


class ReviewCache:
    """``get``/``put`` validated answers; ``get_mode``/``put_mode`` remember endpoint dialects."""

    def __init__(self, directory: Path, warn: Callable[[str], None]) -> None:
        self._path = directory / FILE_NAME
        self._warn = warn
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._disabled = False
        self.hits = 0
        self.misses = 0

    @property
    def path(self) -> Path:
        return self._path

    def _connect(self) -> sqlite3.Connection | None:
        if self._disabled:
            return None
        if self._conn is None:
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self._path, timeout=5.0, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(SCHEMA)
                conn.commit()
                self._conn = conn
            except (sqlite3.Error, OSError) as exc:
                self._disable(f"review cache unusable at {self._path}: {exc}")
                return None
        return self._conn

    def _disable(self, message: str) -> None:
        if not self._disabled:
            self._disabled = True
            self._warn(f"{message}; continuing without the cache")

    def get(self, key: str) -> ModelAnswer | None:
        with self._lock:
            conn = self._connect()
            if conn is None:
                return None
            try:
                row = conn.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as exc:
                self._disable(f"review cache unreadable at {self._path}: {exc}")
                return None
        if row is None:
            self.misses += 1
            return None
        try:
            answer = ModelAnswer.model_validate_json(row[0])
        except ValidationError:
            self.misses += 1  # an entry from an incompatible version: ask again
            return None
        self.hits += 1
        return answer

    def put(self, key: str, answer: ModelAnswer) -> None:
        self._write(
            "INSERT OR REPLACE INTO answers (key, answer, created) VALUES (?, ?, ?)",
            (key, answer.model_dump_json(), time.time()),
        )

    def get_mode(self, endpoint: str) -> str | None:
        with self._lock:
            conn = self._connect()
            if conn is None:
                return None
            try:
                row = conn.execute(
                    "SELECT mode FROM dialects WHERE endpoint = ?", (endpoint,)
                ).fetchone()
            except sqlite3.Error as exc:
                self._disable(f"review cache unreadable at {self._path}: {exc}")
                return None
        return str(row[0]) if row else None

    def put_mode(self, endpoint: str, mode: str) -> None:
        self._write(
            "INSERT OR REPLACE INTO dialects (endpoint, mode, created) VALUES (?, ?, ?)",
            (endpoint, mode, time.time()),
        )

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        with self._lock:
            conn = self._connect()
            if conn is None:
                return
            try:
                conn.execute(sql, params)
                conn.commit()
            except sqlite3.Error as exc:
                self._disable(f"review cache unwritable at {self._path}: {exc}")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def clear_cache(directory: Path) -> int:
    """Delete the cache files; returns how many were removed."""
    removed = 0
    for suffix in ("", "-wal", "-shm"):
        target = directory / (FILE_NAME + suffix)
        try:
            os.remove(target)
            removed += 1
        except FileNotFoundError:
            continue
    return removed
