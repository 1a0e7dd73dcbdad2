"""Everything a run keeps beyond itself, in one place: the answer cache, the shared rate limit
and the usage ledger; in Redis when a ``cache-url`` is set (one link, one warning when it
fails), on this machine's SQLite files otherwise and as the fallback.

Each part is opened on first use: a run served from the cache never opens the limiter, and a
run without a ``cache-url`` never imports ``redis``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

from reviewer.llm.ratelimit import SharedLimiter
from reviewer.store.cache import ReviewCache, clear_cache
from reviewer.store.ledger import RedisLedger, SqliteLedger
from reviewer.store.limiter import MemoryLimiter, RedisLimiter, SqliteLimiter, limits_for
from reviewer.store.redis_link import RedisLink
from reviewer.store.shared_cache import SharedCache


class TeamStore:
    def __init__(
        self,
        *,
        directory: Path,
        url: str | None,
        namespace: str,
        environ: Mapping[str, str],
        warn: Callable[[str], None],
        cache: bool = True,
    ) -> None:
        self.directory = directory
        self.namespace = namespace
        self._warn = warn
        self._link = RedisLink(url, environ, warn) if url else None
        self._local = ReviewCache(directory, warn) if cache else None
        self._shared = (
            SharedCache(self._link, self._local, namespace)
            if self._link is not None and self._local is not None
            else None
        )
        self._use_directory = cache  # --no-cache: nothing is written to the cache directory
        self._limiters: list[SqliteLimiter] = []
        self._ledger: SqliteLedger | RedisLedger | None = None

    @property
    def shared_label(self) -> str | None:
        """The Redis URL without its password, when one is configured."""
        return self._link.label if self._link is not None else None

    @property
    def answers(self) -> SharedCache | ReviewCache | None:
        """The answer cache (``pipeline.ports.AnswerCache``); None with ``--no-cache``."""
        return self._shared or self._local

    @property
    def local_cache(self) -> ReviewCache | None:
        """This machine's cache: token counts and the tokenizer's ranks stay here."""
        return self._local

    def limiter(
        self,
        *,
        base_url: str,
        model: str,
        requests_per_minute: float | None,
        tokens_per_minute: float | None,
    ) -> SharedLimiter | None:
        """The limit every process using this store shares for one endpoint and model (the
        provider's unit of rate limits). Without a limit set it still carries the provider's
        pauses (a 429, ``x-ratelimit-*`` headers saying the key is spent) to the other
        processes; None only when there is nobody to share them with (no Redis, no cache
        directory: the in-process gate still pauses every worker of this run)."""
        limits = limits_for(requests_per_minute, tokens_per_minute)
        if not limits and self._link is None and not self._use_directory:
            return None
        scope = hashlib.sha256(f"{base_url}|{model}".encode()).hexdigest()[:16]
        local: SqliteLimiter | MemoryLimiter
        if self._use_directory:
            local = SqliteLimiter(self.directory, scope, limits, self._warn)
            self._limiters.append(local)
        else:
            local = MemoryLimiter(limits)
        if self._link is None:
            return local
        return RedisLimiter(self._link, scope, limits, fallback=local)

    @property
    def ledger(self) -> SqliteLedger | RedisLedger | None:
        """Where runs are recorded; None with ``--no-cache`` and no Redis."""
        if self._ledger is None:
            local = SqliteLedger(self.directory, self._warn) if self._use_directory else None
            if self._link is not None:
                self._ledger = RedisLedger(self._link, local)
            else:
                self._ledger = local
        return self._ledger

    def clear(self) -> tuple[int, int]:
        """(local cache files removed, shared keys removed); the ledger is kept."""
        removed = clear_cache(self.directory)
        shared = self._shared.clear() if self._shared is not None else 0
        return removed, shared

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()
        elif self._local is not None:
            self._local.close()
        for limiter in self._limiters:
            limiter.close()
        if self._ledger is not None:
            self._ledger.close()
        if self._link is not None:
            self._link.close()
