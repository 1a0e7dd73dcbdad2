"""The usage ledger: one record per run that had something to review, and the month's total.

Every run is written to this machine's SQLite ledger (``usage.sqlite3`` in the cache
directory, kept by ``--clear-cache``: it is a record of spending, not a cache); with a
``cache-url`` it also goes to Redis, where every laptop and runner of the team adds to one
stream (``reviewer:usage``, XRANGE by time) and one running total per month
(``reviewer:usage:<YYYY-MM>``, read in one round trip by the budget check). Reads prefer Redis
(the team's view) and fall back to the local ledger when it fails.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field, ValidationError

from reviewer.core.values import Frozen
from reviewer.store.redis_link import RedisLink, StoreGarbage

if TYPE_CHECKING:
    import redis

T = TypeVar("T")

FILE_NAME = "usage.sqlite3"
STREAM = "reviewer:usage"
KEEP_DAYS = 400  # a year and a month of history, then trimmed
_BUSY_TIMEOUT_S = 5.0
_PAGE = 1000
_FIELDS = (
    "at",
    "repository",
    "source",
    "provider",
    "model",
    "requests",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "cache_hits",
)
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    at REAL NOT NULL, repository TEXT NOT NULL, source TEXT NOT NULL, provider TEXT NOT NULL,
    model TEXT NOT NULL, requests INTEGER NOT NULL, tokens_in INTEGER NOT NULL,
    tokens_out INTEGER NOT NULL, cost_usd REAL NOT NULL, cache_hits INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS runs_at ON runs (at);
"""


class UsageRecord(Frozen):
    at: float  # Unix time (UTC) at the end of the run
    repository: str
    source: str  # hook, pr, path, staged, branch
    provider: str
    model: str
    requests: int = Field(default=0, ge=0)
    tokens_in: int = Field(default=0, ge=0)
    tokens_out: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0)  # 0 when the model's price is unknown
    cache_hits: int = Field(default=0, ge=0)


def month_of(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m")


def month_start(at: float) -> float:
    now = dt.datetime.fromtimestamp(at, dt.UTC)
    return dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC).timestamp()


def next_month(at: float) -> str:
    now = dt.datetime.fromtimestamp(at, dt.UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return f"{year:04d}-{month:02d}-01"


class SqliteLedger:
    """This machine's ledger. Faults are reported once through ``warn``; nothing is raised."""

    def __init__(self, directory: Path, warn: Callable[[str], None]) -> None:
        self._path = directory / FILE_NAME
        self._warn = warn
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._broken = False

    @property
    def path(self) -> Path:
        return self._path

    def record(self, rec: UsageRecord) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute(
                    f"INSERT INTO runs ({', '.join(_FIELDS)}) VALUES ({', '.join('?' * 10)})",  # noqa: S608 - fixed names
                    tuple(getattr(rec, name) for name in _FIELDS),
                )

        self._use(insert, "unwritable")

    def month_total(self, at: float) -> float:
        def total(conn: sqlite3.Connection) -> float:
            row = conn.execute(
                "SELECT coalesce(sum(cost_usd), 0) FROM runs WHERE at >= ?", (month_start(at),)
            ).fetchone()
            return float(row[0])

        found = self._use(total, "unreadable")
        return found if isinstance(found, float) else 0.0

    def records(self, since: float) -> list[UsageRecord]:
        def select(conn: sqlite3.Connection) -> list[UsageRecord]:
            rows = conn.execute(
                f"SELECT {', '.join(_FIELDS)} FROM runs WHERE at >= ? ORDER BY at",  # noqa: S608 - fixed names
                (since,),
            ).fetchall()
            return [UsageRecord(**dict(zip(_FIELDS, row, strict=True))) for row in rows]

        found = self._use(select, "unreadable", create=False)
        return found if isinstance(found, list) else []

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _use(
        self, op: Callable[[sqlite3.Connection], T], failure: str, *, create: bool = True
    ) -> T | None:
        with self._lock:
            if self._broken or (not create and not self._path.exists()):
                return None
            try:
                if self._conn is None:
                    self._path.parent.mkdir(parents=True, exist_ok=True)
                    conn = sqlite3.connect(
                        self._path, timeout=_BUSY_TIMEOUT_S, check_same_thread=False
                    )
                    self._conn = conn
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.executescript(SCHEMA)
                return op(self._conn)
            except (sqlite3.Error, OSError, ValidationError) as exc:
                self._broken = True
                self._warn(f"usage ledger {failure} at {self._path}: {exc}")
                return None


class RedisLedger:
    """The team's ledger in Redis; every record is also written to ``local`` (None with
    ``--no-cache``, where nothing is written to the cache directory)."""

    def __init__(self, link: RedisLink, local: SqliteLedger | None) -> None:
        self._link = link
        self._local = local

    @property
    def label(self) -> str:
        return self._link.label

    def record(self, rec: UsageRecord) -> None:
        if self._local is not None:
            self._local.record(rec)
        month = f"{STREAM}:{month_of(rec.at)}"
        fields: dict[Any, Any] = {name: getattr(rec, name) for name in _FIELDS}
        oldest = int((rec.at - KEEP_DAYS * 86_400) * 1000)

        def write(client: redis.Redis) -> object:
            pipe = client.pipeline(transaction=True)
            pipe.xadd(STREAM, fields, minid=oldest, approximate=True)
            pipe.hincrbyfloat(month, "cost_usd", rec.cost_usd)
            pipe.hincrby(month, "runs", 1)
            pipe.expire(month, KEEP_DAYS * 86_400)
            return pipe.execute()

        self._link.run("recording usage", write)

    def month_total(self, at: float) -> float:
        month = f"{STREAM}:{month_of(at)}"
        found = self._link.run(
            "reading this month's usage", lambda r: _money(r.hget(month, "cost_usd"))
        )
        if isinstance(found, float):
            return found
        return self._local.month_total(at) if self._local is not None else 0.0

    def records(self, since: float) -> list[UsageRecord]:
        def read(client: redis.Redis) -> list[UsageRecord]:
            found: list[UsageRecord] = []
            start = str(max(0, int(since * 1000)))
            while True:
                page = client.xrange(STREAM, min=start, max="+", count=_PAGE)
                if not isinstance(page, list):
                    raise StoreGarbage(f"XRANGE answered {type(page).__name__}")
                for entry_id, fields in page:
                    found.append(_record(fields))
                    last = entry_id
                if len(page) < _PAGE:
                    return found
                start = "(" + (last.decode() if isinstance(last, bytes) else str(last))

        found = self._link.run("reading usage", read)
        if isinstance(found, list):
            return found
        return self._local.records(since) if self._local is not None else []

    def close(self) -> None:
        if self._local is not None:
            self._local.close()


def _money(value: object) -> float:
    if value is None:
        return 0.0
    try:
        number = float(value.decode() if isinstance(value, bytes) else str(value))
    except ValueError:
        raise StoreGarbage(f"a month's total that is not a number ({str(value)[:40]!r})") from None
    if not math.isfinite(number) or number < 0:
        raise StoreGarbage(f"a month's total of {number}")
    return number


def _record(fields: object) -> UsageRecord:
    if not isinstance(fields, dict):
        raise StoreGarbage(f"a usage record of type {type(fields).__name__}")
    try:
        return UsageRecord(
            **{
                (k.decode() if isinstance(k, bytes) else str(k)): (
                    v.decode() if isinstance(v, bytes) else v
                )
                for k, v in fields.items()
            }
        )
    except (ValidationError, UnicodeDecodeError, TypeError) as exc:
        raise StoreGarbage(f"a usage record that does not parse ({str(exc)[:80]})") from None
