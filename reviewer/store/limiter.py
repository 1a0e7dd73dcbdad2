"""One rate limit for every process using the store: ``llm.ratelimit.SharedLimiter`` as GCRA.

The generic cell rate algorithm keeps, per limit, one number: the theoretical arrival time
(TAT) of the next unit. A limit of ``R`` per minute spaces units ``60/R`` s apart and lets a
burst of one second's worth (at least one request) go at once. A request is booked, not just
tested: ``reserve`` returns when it may go, and the TATs move on, so waiting processes are
served in the order they asked, with one round trip each.

Two limits apply together (requests per minute, and tokens per minute with the request's
estimated tokens as its cost), and a pause (a 429's ``Retry-After``, or the provider's headers
saying the key is spent) holds every process. A request larger than a limit's burst waits until
that limit is idle, so the long-run rate holds whatever the request sizes.

Three places keep the state: Redis (``RedisLimiter``, one Lua script, atomic on the server,
across machines, on the server's clock), SQLite (``SqliteLimiter``, one immediate transaction,
for the processes of one machine) and memory (the last resort when both fail).
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewer.store.redis_link import UNAVAILABLE, RedisLink, StoreGarbage

if TYPE_CHECKING:
    import redis
    from redis.commands.core import Script

FILE_NAME = "limits.sqlite3"
_BUSY_TIMEOUT_S = 2.0
_STATE_TTL_S = 3600.0  # state older than this means nothing any more


@dataclass(frozen=True, slots=True)
class Limit:
    """``per_minute`` units, bursts of ``burst`` units."""

    name: str  # "requests" or "tokens"
    per_minute: float

    @property
    def interval(self) -> float:
        return 60.0 / self.per_minute

    @property
    def burst(self) -> float:
        return max(1.0, self.per_minute / 60.0)


def limits_for(requests_per_minute: float | None, tokens_per_minute: float | None) -> list[Limit]:
    found = [Limit("requests", requests_per_minute)] if requests_per_minute else []
    return found + ([Limit("tokens", tokens_per_minute)] if tokens_per_minute else [])


def book(
    now: float,
    pause_until: float,
    tats: Sequence[float],
    limits: Sequence[Limit],
    tokens: int,
) -> tuple[float, list[float]]:
    """(start time of the request, the limits' new TATs). Pure: the SQLite and memory
    limiters use it; the Redis script is the same arithmetic in Lua."""
    start = max(now, pause_until)
    for tat, limit in zip(tats, limits, strict=True):
        cost = _cost(limit, tokens)
        capacity = max(limit.burst, cost) * limit.interval
        start = max(start, tat + cost * limit.interval - capacity)
    new = [
        max(tat, start) + _cost(limit, tokens) * limit.interval
        for tat, limit in zip(tats, limits, strict=True)
    ]
    return start, new


def _cost(limit: Limit, tokens: int) -> float:
    return float(max(1, tokens)) if limit.name == "tokens" else 1.0


class MemoryLimiter:
    """This process only: what remains when no store can be reached."""

    def __init__(self, limits: Sequence[Limit], clock: Callable[[], float] = time.time) -> None:
        self._limits = list(limits)
        self._clock = clock
        self._lock = threading.Lock()
        self._tats = [0.0] * len(self._limits)
        self._pause = 0.0

    def reserve(self, tokens: int, max_wait: float) -> float | None:
        with self._lock:
            now = self._clock()
            start, new = book(now, self._pause, self._tats, self._limits, tokens)
            if start - now > max_wait:
                return None
            self._tats = new
            return start - now

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._pause = max(self._pause, self._clock() + max(0.0, seconds))


class SqliteLimiter:
    """The processes of one machine, through a SQLite file next to the cache (wall clock)."""

    def __init__(
        self,
        directory: Path,
        scope: str,
        limits: Sequence[Limit],
        warn: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = directory / FILE_NAME
        self._scope = scope
        self._limits = list(limits)
        self._warn = warn
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._fallback: MemoryLimiter | None = None

    def reserve(self, tokens: int, max_wait: float) -> float | None:
        with self._lock:
            conn = self._connect()
            if conn is not None:
                try:
                    return self._reserve(conn, tokens, max_wait)
                except sqlite3.Error as exc:
                    self._fail(exc)
            fallback = self._memory()
        return fallback.reserve(tokens, max_wait)

    def pause(self, seconds: float) -> None:
        with self._lock:
            conn = self._connect()
            if conn is not None:
                try:
                    with _immediate(conn):
                        until = self._clock() + max(0.0, seconds)
                        conn.execute(
                            "INSERT INTO limits (name, value, updated) VALUES (?, ?, ?) "
                            "ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value), "
                            "updated = excluded.updated",
                            (self._key("pause"), until, self._clock()),
                        )
                    return
                except sqlite3.Error as exc:
                    self._fail(exc)
            fallback = self._memory()
        fallback.pause(seconds)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _reserve(self, conn: sqlite3.Connection, tokens: int, max_wait: float) -> float | None:
        names = [self._key("pause"), *(self._key(limit.name) for limit in self._limits)]
        with _immediate(conn):
            now = self._clock()
            rows = dict(
                conn.execute(
                    f"SELECT name, value FROM limits WHERE name IN ({','.join('?' * len(names))})",  # noqa: S608 - placeholders only
                    names,
                ).fetchall()
            )
            values = [float(rows.get(name, 0.0)) for name in names]
            start, new = book(now, values[0], values[1:], self._limits, tokens)
            if start - now > max_wait:
                return None
            conn.executemany(
                "INSERT OR REPLACE INTO limits (name, value, updated) VALUES (?, ?, ?)",
                [(name, tat, now) for name, tat in zip(names[1:], new, strict=True)],
            )
            conn.execute("DELETE FROM limits WHERE updated < ?", (now - _STATE_TTL_S,))
        return start - now

    def _key(self, name: str) -> str:
        return f"{self._scope}:{name}"

    def _connect(self) -> sqlite3.Connection | None:
        if self._fallback is not None:
            return None
        if self._conn is None:
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self._path,
                    timeout=_BUSY_TIMEOUT_S,
                    check_same_thread=False,
                    isolation_level=None,  # transactions are ours (BEGIN IMMEDIATE)
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS limits "
                    "(name TEXT PRIMARY KEY, value REAL NOT NULL, updated REAL NOT NULL)"
                )
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)
                return None
            self._conn = conn
        return self._conn

    def _fail(self, exc: BaseException) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._memory()
        self._warn(
            f"rate-limit store unusable at {self._path}: {exc}; "
            "limiting this process only for the rest of the run"
        )

    def _memory(self) -> MemoryLimiter:
        if self._fallback is None:
            self._fallback = MemoryLimiter(self._limits, self._clock)
        return self._fallback


class _immediate:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error): the write lock is taken
    before the read, so two processes cannot book the same slot."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self._conn.execute("BEGIN IMMEDIATE")
        return self._conn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


# KEYS: the pause, then one TAT per limit. ARGV: max_wait (-1: none), then interval, burst and
# cost per limit, in KEYS order. Returns {booked 0/1, wait in microseconds}. Errors that name
# "reviewer:" mean a value no reviewer wrote.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local pause = tonumber(redis.call('GET', KEYS[1]) or '0')
if pause == nil then return redis.error_reply('reviewer: the pause is not a number') end
local start = math.max(now, pause)
local max_wait = tonumber(ARGV[1])
local tats, costs, intervals = {}, {}, {}
for i = 2, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat == nil then return redis.error_reply('reviewer: a rate state is not a number') end
  local a = 3 * (i - 2) + 2
  local interval, burst, cost = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  tats[i], costs[i], intervals[i] = tat, cost, interval
  start = math.max(start, tat + cost * interval - math.max(burst, cost) * interval)
end
local wait = start - now
if max_wait >= 0 and wait > max_wait then return {0, math.floor(wait * 1000000)} end
for i = 2, #KEYS do
  local new = math.max(tats[i], start) + costs[i] * intervals[i]
  redis.call('SET', KEYS[i], string.format('%.6f', new),
             'PX', math.ceil((new - now) * 1000) + 60000)
end
return {1, math.floor(wait * 1000000)}
"""

_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local seconds = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local until_ = now + seconds
if until_ > current then
  redis.call('SET', KEYS[1], string.format('%.6f', until_), 'PX', math.ceil(seconds * 1000) + 1000)
end
return 1
"""


class RedisLimiter:
    """Every process on every machine using the same Redis; ``fallback`` when it fails."""

    def __init__(
        self,
        link: RedisLink,
        scope: str,
        limits: Sequence[Limit],
        fallback: SqliteLimiter | MemoryLimiter,
    ) -> None:
        self._link = link
        self._limits = list(limits)
        self._fallback = fallback
        # One hash tag, so a Redis Cluster keeps a scope's keys in one slot for the script.
        base = f"reviewer:limit:{{{scope}}}:"
        self._keys = [base + "pause", *(base + limit.name for limit in self._limits)]
        self._scripts: dict[str, Script] = {}
        self._lock = threading.Lock()

    def reserve(self, tokens: int, max_wait: float) -> float | None:
        args: list[float] = [-1.0 if math.isinf(max_wait) else max(0.0, max_wait)]
        for limit in self._limits:
            args += [limit.interval, limit.burst, _cost(limit, tokens)]

        def book_remote(client: redis.Redis) -> tuple[int, int]:
            return _pair(self._script(client, _RESERVE)(keys=self._keys, args=args))

        booked = self._link.run("booking a request under the rate limit", book_remote)
        if booked is UNAVAILABLE or not isinstance(booked, tuple):
            return self._fallback.reserve(tokens, max_wait)
        granted, micros = booked
        return micros / 1_000_000 if granted else None

    def pause(self, seconds: float) -> None:
        def pause_remote(client: redis.Redis) -> object:
            return self._script(client, _PAUSE)(keys=self._keys[:1], args=[max(0.0, seconds)])

        if self._link.run("pausing the rate limit", pause_remote) is UNAVAILABLE:
            self._fallback.pause(seconds)

    def _script(self, client: redis.Redis, source: str) -> Script:
        """Registered once (its SHA1 computed once); EVALSHA, loaded again on NOSCRIPT."""
        with self._lock:
            if source not in self._scripts:
                self._scripts[source] = client.register_script(source)
            return self._scripts[source]


def _pair(reply: object) -> tuple[int, int]:
    if (
        isinstance(reply, list)
        and len(reply) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in reply)
        and reply[0] in (0, 1)
        and reply[1] >= 0
    ):
        return int(reply[0]), int(reply[1])
    raise StoreGarbage(f"the rate-limit script answered {str(reply)[:80]!r}")
