"""The review cache shared by a team in Redis, over this machine's SQLite cache.

Same keys and semantics as ``reviewer.store.cache``: an answer is found by the hash of
everything that changes it (endpoint URL, model, prompt version, temperature, prompts; never
the API key) and lives ``MAX_AGE_DAYS`` (a Redis TTL here). Values are compressed JSON. Keys
sit under a namespace per project (``reviewer:cache:<namespace>:...``), so ``--clear-cache``
empties one project's share and nothing else.

Reads go to Redis first, then to the local cache (an answer found only there is shared on the
way); writes go to both, so a fault in the middle of a run loses nothing that was answered.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError

from reviewer.llm.answer import ModelAnswer
from reviewer.llm.backend import RESPONSE_MODES
from reviewer.llm.verify import VerifyAnswer
from reviewer.store.cache import MAX_AGE_DAYS
from reviewer.store.redis_link import RedisLink, StoreGarbage, decode, encode

if TYPE_CHECKING:
    import redis

    from reviewer.store.cache import ReviewCache

TTL_S = MAX_AGE_DAYS * 86_400
AnswerT = TypeVar("AnswerT", bound=BaseModel)
_UNSAFE = re.compile(r"[^A-Za-z0-9._/@-]+")
_SCAN_BATCH = 500


def namespace_prefix(namespace: str) -> str:
    """``reviewer:cache:<namespace>:``, the namespace made safe for a key and bounded."""
    cleaned = _UNSAFE.sub("_", namespace.strip()) or "default"
    if len(cleaned) > 100:
        cleaned = cleaned[:80] + "-" + hashlib.sha256(cleaned.encode()).hexdigest()[:16]
    return f"reviewer:cache:{cleaned}:"


class SharedCache:
    """``pipeline.ports.AnswerCache`` over Redis, with ``local`` as the fallback and the copy."""

    def __init__(self, link: RedisLink, local: ReviewCache, namespace: str) -> None:
        self._link = link
        self._local = local
        self._prefix = namespace_prefix(namespace)
        self.remote_hits = 0

    # ------------------------------------------------------------------ answers

    def get(self, key: str) -> ModelAnswer | None:
        return self._get("answer:", key, ModelAnswer, self._local.get)

    def put(self, key: str, answer: ModelAnswer) -> None:
        self._local.put(key, answer)
        self._put_remote(self._prefix + "answer:" + key, answer.model_dump_json())

    def get_verification(self, key: str) -> VerifyAnswer | None:
        return self._get("verify:", key, VerifyAnswer, self._local.get_verification)

    def put_verification(self, key: str, answer: VerifyAnswer) -> None:
        self._local.put_verification(key, answer)
        self._put_remote(self._prefix + "verify:" + key, answer.model_dump_json())

    def _get(
        self,
        kind: str,
        key: str,
        model: type[AnswerT],
        local_get: Callable[[str], AnswerT | None],
    ) -> AnswerT | None:
        name = self._prefix + kind + key
        found = self._link.run("reading an answer", lambda r: _text(r.get(name)))
        if isinstance(found, str):
            try:
                answer = model.model_validate_json(found)
            except ValidationError:
                answer = None  # written by an incompatible version: ask again
            if answer is not None:
                self.remote_hits += 1
                return answer
        answer = local_get(key)
        if answer is not None and found is None:
            self._put_remote(name, answer.model_dump_json())  # share what only we had
        return answer

    # ------------------------------------------------------------------ dialects

    def get_mode(self, endpoint: str) -> str | None:
        name = self._mode_key(endpoint)
        found = self._link.run("reading a response format", lambda r: _mode(r.get(name)))
        if isinstance(found, str):
            return found
        return self._local.get_mode(endpoint)

    def put_mode(self, endpoint: str, mode: str) -> None:
        self._local.put_mode(endpoint, mode)
        self._put_remote(self._mode_key(endpoint), mode)

    # ------------------------------------------------------------------ lifecycle

    def clear(self) -> int:
        """Delete this namespace's keys in Redis; how many (0 when Redis failed)."""

        def delete_all(client: redis.Redis) -> int:
            removed = 0
            batch: list[bytes] = []
            for name in client.scan_iter(match=self._prefix + "*", count=_SCAN_BATCH):
                batch.append(name)
                if len(batch) >= _SCAN_BATCH:
                    removed += int(client.unlink(*batch))
                    batch = []
            if batch:
                removed += int(client.unlink(*batch))
            return removed

        removed = self._link.run("deleting the cache", delete_all)
        return removed if isinstance(removed, int) else 0

    def close(self) -> None:
        self._local.close()

    def _mode_key(self, endpoint: str) -> str:
        return self._prefix + "mode:" + hashlib.sha256(endpoint.encode()).hexdigest()[:32]

    def _put_remote(self, name: str, text: str) -> None:
        self._link.run("writing to the cache", lambda r: r.set(name, encode(text), ex=TTL_S))


def _text(value: object) -> str | None:
    return None if value is None else decode(value)


def _mode(value: object) -> str | None:
    if value is None:
        return None
    mode = decode(value)
    if mode not in RESPONSE_MODES:
        raise StoreGarbage(f"an unknown response format {mode[:40]!r}")
    return mode
