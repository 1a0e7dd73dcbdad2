"""A persistent cache of validated model answers, in SQLite from the standard library.

Keys are hashes of everything that changes an answer (see ``reviewer.pipeline.review.cache_key``):
endpoint URL, model, prompt version, temperature, system prompt and chunk text; never the key.
Two hooks running at once share the file safely (WAL journal, busy timeout, one transaction
per write). A corrupt or unwritable cache is reported once through ``warn`` and the review goes
on without it.

The same file keeps token counts by a hash of the counted text (``CountingTokenizer``), so a
review served entirely from the cache never loads the tokenizer (~0.2 s), file outlines by a
hash of the file (``CachingOutliner``), so it never loads a tree-sitter grammar, and the endpoint
dialects ``reviewer.llm.conversation`` learned. Entries older than ``MAX_AGE_DAYS`` are
pruned, at most once a day, by a run that wrote something.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from reviewer.llm.answer import ModelAnswer
from reviewer.llm.verify import VerifyAnswer

if TYPE_CHECKING:
    from reviewer.prepare.context.outline import Outline, Outliner
    from reviewer.prepare.tokens import Tokenizer

FILE_NAME = "reviews.sqlite3"
TOKENIZER_DIR = "tokenizer"  # reviewer.prepare.tokens keeps its parsed ranks files here
MAX_AGE_DAYS = 30
_DAY = 86_400.0
_BUSY_TIMEOUT_S = 5.0  # how long a writer waits for another process's transaction
SCHEMA = """
CREATE TABLE IF NOT EXISTS answers
    (key TEXT PRIMARY KEY, answer TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS dialects
    (endpoint TEXT PRIMARY KEY, mode TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS token_counts
    (key TEXT PRIMARY KEY, tokens INTEGER NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS count_lists
    (key TEXT PRIMARY KEY, tokens TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outlines
    (key TEXT PRIMARY KEY, outline TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value REAL NOT NULL);
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
    """``get``/``put`` validated answers; ``get_mode``/``put_mode`` remember endpoint dialects.

    Opened lazily on first use and shared by the worker threads (one connection, one lock).
    ``close`` writes the buffered token counts, prunes old entries and closes the file.
    """

    def __init__(
        self,
        directory: Path,
        warn: Callable[[str], None],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = directory / FILE_NAME
        self._warn = warn
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._disabled = False
        self._wrote = False
        self._counts: dict[str, int] = {}  # token counts to write on close
        self._outlines: dict[str, str] = {}  # outlines to write on close
        self._count_lists: dict[str, str] = {}  # counts of many texts, to write on close
        self.hits = 0
        self.misses = 0

    @property
    def path(self) -> Path:
        return self._path

    @property
    def tokenizer_dir(self) -> Path:
        """Where ``reviewer.prepare.tokens`` keeps its parsed ranks files, next to the answers."""
        return self._path.parent / TOKENIZER_DIR

    # ------------------------------------------------------------------ answers

    def get(self, key: str) -> ModelAnswer | None:
        row = self._read("SELECT answer FROM answers WHERE key = ?", (key,))
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
            (key, answer.model_dump_json(), self._clock()),
        )

    def get_verification(self, key: str) -> VerifyAnswer | None:
        """A verification pass's answer (same table: its keys hash another request)."""
        row = self._read("SELECT answer FROM answers WHERE key = ?", (key,))
        if row is None:
            self.misses += 1
            return None
        try:
            answer = VerifyAnswer.model_validate_json(row[0])
        except ValidationError:
            self.misses += 1
            return None
        self.hits += 1
        return answer

    def put_verification(self, key: str, answer: VerifyAnswer) -> None:
        self._write(
            "INSERT OR REPLACE INTO answers (key, answer, created) VALUES (?, ?, ?)",
            (key, answer.model_dump_json(), self._clock()),
        )

    # ------------------------------------------------------------------ dialects

    def get_mode(self, endpoint: str) -> str | None:
        row = self._read("SELECT mode FROM dialects WHERE endpoint = ?", (endpoint,))
        return str(row[0]) if row else None

    def put_mode(self, endpoint: str, mode: str) -> None:
        self._write(
            "INSERT OR REPLACE INTO dialects (endpoint, mode, created) VALUES (?, ?, ?)",
            (endpoint, mode, self._clock()),
        )

    # ------------------------------------------------------------------ token counts

    def get_count(self, key: str) -> int | None:
        with self._lock:
            if key in self._counts:
                return self._counts[key]
        row = self._read("SELECT tokens FROM token_counts WHERE key = ?", (key,))
        return int(row[0]) if row else None

    def put_count(self, key: str, tokens: int) -> None:
        """Buffered: a first run counts thousands of texts; they are written in one go."""
        with self._lock:
            self._counts[key] = tokens

    def get_counts(self, key: str) -> list[int] | None:
        """The counts of a list of texts (a hunk's lines), stored as one entry."""
        with self._lock:
            stored = self._count_lists.get(key)
        if stored is None:
            row = self._read("SELECT tokens FROM count_lists WHERE key = ?", (key,))
            stored = str(row[0]) if row else None
        if stored is None:
            return None
        try:
            return [int(n) for n in stored.split(",")] if stored else []
        except ValueError:
            return None

    def put_counts(self, key: str, tokens: Sequence[int]) -> None:
        """Buffered like single counts."""
        with self._lock:
            self._count_lists[key] = ",".join(map(str, tokens))

    # ------------------------------------------------------------------ outlines

    def get_outline(self, key: str) -> str | None:
        with self._lock:
            if key in self._outlines:
                return self._outlines[key]
        row = self._read("SELECT outline FROM outlines WHERE key = ?", (key,))
        return str(row[0]) if row else None

    def put_outline(self, key: str, outline: str) -> None:
        """Buffered like token counts."""
        with self._lock:
            self._outlines[key] = outline

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        with self._lock:
            counts, self._counts = self._counts, {}
            outlines, self._outlines = self._outlines, {}
            lists, self._count_lists = self._count_lists, {}
        if outlines:
            now = self._clock()
            self._write(
                "INSERT OR REPLACE INTO outlines (key, outline, created) VALUES (?, ?, ?)",
                [(key, outline, now) for key, outline in outlines.items()],
                many=True,
            )
        if lists:
            now = self._clock()
            self._write(
                "INSERT OR REPLACE INTO count_lists (key, tokens, created) VALUES (?, ?, ?)",
                [(key, tokens, now) for key, tokens in lists.items()],
                many=True,
            )
        if counts:
            now = self._clock()
            self._write(
                "INSERT OR REPLACE INTO token_counts (key, tokens, created) VALUES (?, ?, ?)",
                [(key, tokens, now) for key, tokens in counts.items()],
                many=True,
            )
        if self._wrote:
            self._prune()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _prune(self) -> None:
        now = self._clock()
        row = self._read("SELECT value FROM meta WHERE name = 'pruned'", ())
        if row is not None and now - float(row[0]) < _DAY:
            return
        cutoff = now - MAX_AGE_DAYS * _DAY
        with self._lock:
            conn = self._connect()
            if conn is None:
                return
            try:
                with conn:  # one transaction
                    for table in ("answers", "token_counts", "count_lists", "dialects", "outlines"):
                        conn.execute(f"DELETE FROM {table} WHERE created < ?", (cutoff,))  # noqa: S608 - fixed names
                    conn.execute(
                        "INSERT OR REPLACE INTO meta (name, value) VALUES ('pruned', ?)", (now,)
                    )
            except sqlite3.Error as exc:
                self._disable(f"review cache unwritable at {self._path}: {exc}")

    # ------------------------------------------------------------------ sqlite

    def _connect(self) -> sqlite3.Connection | None:
        """The connection (opened on first use), or None once the cache is disabled."""
        if self._disabled:
            return None
        if self._conn is None:
            conn: sqlite3.Connection | None = None
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self._path, timeout=_BUSY_TIMEOUT_S, check_same_thread=False)
                # WAL: readers never block the other hook's writer, nor it them. NORMAL sync
                # cannot corrupt a WAL database; a power cut may lose the last answers only.
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(SCHEMA)
                conn.commit()
            except (sqlite3.Error, OSError) as exc:
                if conn is not None:
                    conn.close()
                self._disable(f"review cache unusable at {self._path}: {exc}")
                return None
            self._conn = conn
        return self._conn

    def _disable(self, message: str) -> None:
        if not self._disabled:
            self._disabled = True
            self._warn(
                f"{message}; continuing without the cache (review --clear-cache starts a new one)"
            )

    def _read(self, sql: str, params: tuple[object, ...]) -> tuple[Any, ...] | None:
        with self._lock:
            conn = self._connect()
            if conn is None:
                return None
            try:
                row: tuple[Any, ...] | None = conn.execute(sql, params).fetchone()
            except sqlite3.Error as exc:
                self._disable(f"review cache unreadable at {self._path}: {exc}")
                return None
        return row

    def _write(self, sql: str, params: object, *, many: bool = False) -> None:
        with self._lock:
            conn = self._connect()
            if conn is None:
                return
            try:
                with conn:  # commits, or rolls back on error
                    if many:
                        conn.executemany(sql, params)  # type: ignore[arg-type]
                    else:
                        conn.execute(sql, params)  # type: ignore[arg-type]
            except sqlite3.Error as exc:
                self._disable(f"review cache unwritable at {self._path}: {exc}")
                return
            self._wrote = True


class CountingTokenizer:
    """A ``Tokenizer`` that asks the cache first and ``inner`` (loaded lazily) only on a miss.

    ``namespace`` names the encoding: counts of one encoding are no answer for another.
    """

    def __init__(self, inner: Tokenizer, cache: ReviewCache, namespace: str) -> None:
        self._inner = inner
        self._cache = cache
        self._namespace = namespace

    def count(self, text: str) -> int:
        key = self._key(text)
        cached = self._cache.get_count(key)
        if cached is not None:
            return cached
        tokens = self._inner.count(text)
        self._cache.put_count(key, tokens)
        return tokens

    def count_each(self, texts: Sequence[str]) -> list[int]:
        """Counts of many small texts as one cache entry: a 1,000-line file cut into slices is
        counted line by line, and an entry per line would cost more than the counting."""
        from reviewer.prepare.measure import count_each

        digest = hashlib.sha256()
        for text in texts:
            digest.update(text.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        key = f"{self._namespace}:each:{digest.hexdigest()}"
        cached = self._cache.get_counts(key)
        if cached is not None and len(cached) == len(texts):
            return cached
        counts = count_each(self._inner, texts)
        self._cache.put_counts(key, counts)
        return counts

    def load(self) -> None:
        """Load the inner encoding now (a warm-up, when counts will surely be needed)."""
        load = getattr(self._inner, "load", None)
        if callable(load):
            load()

    def estimate(self, text: str) -> int:
        """A count the cache holds, else the inner tokenizer's estimate (never a load)."""
        cached = self._cache.get_count(self._key(text))
        if cached is not None:
            return cached
        from reviewer.prepare.measure import estimate

        return estimate(self._inner, text)

    def _key(self, text: str) -> str:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self._namespace}:{digest}"


class CachingOutliner:
    """An ``Outliner`` that asks the cache first and ``inner`` only on a miss: a review served
    from the cache never parses (nor imports a grammar)."""

    def __init__(self, inner: Outliner, cache: ReviewCache) -> None:
        self._inner = inner
        self._cache = cache

    def outline(self, language: str, text: str) -> Outline:
        from reviewer.prepare.context.outline import (
            OUTLINE_VERSION,
            outline_from_json,
            outline_to_json,
        )

        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        key = f"{OUTLINE_VERSION}:{language}:{digest}"
        stored = self._cache.get_outline(key)
        found = outline_from_json(stored) if stored is not None else None
        if found is not None:
            return found
        outline = self._inner.outline(language, text)
        self._cache.put_outline(key, outline_to_json(outline))
        return outline


def clear_cache(directory: Path) -> int:
    """Delete the cache files (answers, token counts, tokenizer ranks); how many were removed."""
    removed = 0
    for suffix in ("", "-wal", "-shm"):
        target = directory / (FILE_NAME + suffix)
        try:
            os.remove(target)
            removed += 1
        except FileNotFoundError:
            continue
    ranks = directory / TOKENIZER_DIR
    if ranks.is_dir():
        for entry in ranks.iterdir():
            if entry.is_file():
                entry.unlink(missing_ok=True)
                removed += 1
    return removed
