"""The one connection of a run to the team's Redis, and what happens when Redis misbehaves.

Every operation goes through ``RedisLink.run`` with short timeouts and no client-side retries.
The first fault (unreachable, too slow, out of memory, a refused password, garbage in a reply
or a value) is reported once through ``warn`` as one line, and the link is off for the rest of
the run: the cache, the rate limit and the usage ledger fall back to this machine's SQLite
store. A review never fails or hangs because of Redis.

The ``redis`` package (~0.2 s to import) is imported on the first operation, so runs without a
``cache-url`` never pay for it. The password comes from the URL or from
``REVIEWER_CACHE_PASSWORD``; it never appears in a message (``redacted_url``).
"""

from __future__ import annotations

import importlib
import threading
import zlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import redis

PASSWORD_ENV = "REVIEWER_CACHE_PASSWORD"  # noqa: S105 - the variable's name, not a value
SCHEMES = ("redis", "rediss")
# Bounded: a dead or stalled Redis costs a run at most one of these before the fallback.
CONNECT_TIMEOUT_S = 1.0
OP_TIMEOUT_S = 0.5
_MAGIC = b"rv1z"  # our values: this prefix, then zlib-compressed bytes

T = TypeVar("T")


class StoreGarbage(ValueError):
    """A value or reply from the store that none of our writers could have written."""


class Unavailable:
    """What ``RedisLink.run`` returns once the link is off (after a fault, or never on)."""


UNAVAILABLE = Unavailable()


def redacted_url(url: str) -> str:
    """``url`` without its password (and user), for messages and ``--show-config``."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def url_has_password(url: str) -> bool:
    return bool(urlsplit(url).password)


def encode(text: str) -> bytes:
    return _MAGIC + zlib.compress(text.encode("utf-8", "surrogatepass"), 6)


def decode(value: object) -> str:
    """The text of a value ``encode`` wrote; ``StoreGarbage`` for anything else."""
    if not isinstance(value, bytes) or not value.startswith(_MAGIC):
        raise StoreGarbage(f"a value that is not ours ({type(value).__name__})")
    try:
        return zlib.decompress(value[len(_MAGIC) :]).decode("utf-8", "surrogatepass")
    except (zlib.error, UnicodeDecodeError) as exc:
        raise StoreGarbage(f"a value that does not decompress ({exc})") from None


class RedisLink:
    """Shared by the worker threads (redis-py's client is thread-safe)."""

    def __init__(self, url: str, environ: Mapping[str, str], warn: Callable[[str], None]) -> None:
        self._url = url
        self._password = None if url_has_password(url) else environ.get(PASSWORD_ENV) or None
        self._warn = warn
        self._lock = threading.Lock()
        self._client: redis.Redis | None = None
        self._off = False

    @property
    def label(self) -> str:
        return redacted_url(self._url)

    @property
    def available(self) -> bool:
        with self._lock:
            return not self._off

    def run(self, what: str, op: Callable[[redis.Redis], T]) -> T | Unavailable:
        """``op(client)``; or ``UNAVAILABLE`` once the link is off, after warning once."""
        if not self.available:
            return UNAVAILABLE
        try:
            module = importlib.import_module("redis")
        except ImportError as exc:
            self.fail(what, exc)
            return UNAVAILABLE
        try:
            return op(self._connect(module))
        except (module.RedisError, OSError, StoreGarbage) as exc:
            self.fail(what, exc)
            return UNAVAILABLE

    def fail(self, what: str, exc: BaseException) -> None:
        """Turn the link off for the rest of the run, with one warning."""
        with self._lock:
            if self._off:
                return
            self._off = True
        # The client stays open until ``close``: another worker may be mid-command on it, and
        # closing its pool under that command breaks redis-py's parser (not a RedisError).
        self._warn(
            f"shared store {self.label} {_reason(exc)} while {what} "
            f"({self._scrub(_detail(exc))}); using this machine's store for the rest of the run"
        )

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _connect(self, module: ModuleType) -> redis.Redis:
        with self._lock:
            if self._client is None:
                retry = importlib.import_module("redis.retry")
                backoff = importlib.import_module("redis.backoff")
                self._client = module.Redis.from_url(
                    self._url,
                    password=self._password,
                    socket_connect_timeout=CONNECT_TIMEOUT_S,
                    socket_timeout=OP_TIMEOUT_S,
                    # One attempt: a retry would double the time a dead store costs.
                    retry=retry.Retry(backoff.NoBackoff(), 0),
                    retry_on_timeout=False,
                    health_check_interval=0,
                    client_name="reviewer",
                )
            return self._client

    def _scrub(self, text: str) -> str:
        for secret in (self._password, urlsplit(self._url).password):
            if secret:
                text = text.replace(secret, "***")
        return text.replace(self._url, self.label)


def _reason(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc)
    if isinstance(exc, ImportError):
        return "needs the redis package (pip install 'reviewer[team]')"
    if (
        isinstance(exc, StoreGarbage)
        or name in ("InvalidResponse", "DataError")
        or ("reviewer: " in text)
    ):
        return "returned garbage"
    if "Timeout" in name or isinstance(exc, TimeoutError):
        return f"did not answer in time (limit {OP_TIMEOUT_S:g} s)"
    if text.startswith("OOM") or "maxmemory" in text:
        return "is full (out of memory)"
    if name in ("AuthenticationError", "AuthenticationWrongNumberOfArgsError") or (
        "NOAUTH" in text or "WRONGPASS" in text
    ):
        return "refused the password"
    if "Connection" in name or isinstance(exc, OSError):
        return "is unreachable"
    return "failed"


def _detail(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
