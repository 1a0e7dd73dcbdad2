"""What the pipeline needs from its collaborators, as Protocols (the app passes real ones in,
tests pass fakes of the seams behind them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from reviewer.core.values import FileDiff, FileEntry, NotReviewed
from reviewer.llm.answer import ModelAnswer
from reviewer.llm.backend import ResponseMode

if TYPE_CHECKING:
    from reviewer.llm.verify import VerifyAnswer


class Changes(Protocol):
    """What the pipeline reviews: a ``ChangeSet`` (every diff in memory) or a
    ``reviewer.source.git.LazyChanges`` (listed up front, read a few files at a time)."""

    @property
    def description(self) -> str: ...
    @property
    def base_sha(self) -> str | None: ...
    @property
    def head_sha(self) -> str | None: ...
    @property
    def not_reviewed(self) -> tuple[NotReviewed, ...]: ...
    def entries(self) -> tuple[FileEntry, ...]: ...
    def load(self, paths: Sequence[str]) -> tuple[FileDiff, ...]: ...
    def sensitive(self) -> frozenset[str] | None:
        """Paths whose changed lines a search found security-sensitive, once known (None
        until then); a large change is re-ranked with them after its first wave."""
        ...


class Endpoint(Protocol):
    """Who answers: enough to label results and key the cache (never the API key)."""

    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def response_modes(self) -> tuple[ResponseMode, ...]: ...
    @property
    def grammar_modes(self) -> tuple[ResponseMode, ...]:
        """The modes in which the endpoint turns the schema into a decoding grammar: they get
        the chunk's narrowed schema (``reviewer.llm.answer.grammar_json_schema``)."""
        ...


class Progress(Protocol):
    """What a run reports while it works; called from the worker threads.

    ``index`` is ``Chunk.index``; ``chunk_tokens`` tells how far a streamed answer has come
    (pieces received, about one token each); ``cost_usd`` is the cost of the answers so far
    (None while the price is unknown).
    """

    def planned(self, chunks: int, files: int, tokens: int) -> None: ...
    def chunk_started(self, index: int, paths: tuple[str, ...]) -> None: ...
    def chunk_tokens(self, index: int, tokens: int) -> None: ...
    def chunk_done(
        self,
        done: int,
        total: int,
        failed: bool,
        *,
        index: int = -1,
        cost_usd: float | None = None,
    ) -> None: ...


class AnswerCache(Protocol):
    """Validated model answers by a key of everything that changes the answer.

    ``get_mode``/``put_mode`` remember short facts per endpoint key: the response format it
    accepts (key ``URL|model``), that it rejects streaming (``URL|model|stream``), what its
    server said about itself (``server|URL|model``, ``reviewer.app.local_server``).
    """

    def get(self, key: str) -> ModelAnswer | None: ...
    def put(self, key: str, answer: ModelAnswer) -> None: ...
    def get_verification(self, key: str) -> VerifyAnswer | None: ...
    def put_verification(self, key: str, answer: VerifyAnswer) -> None: ...
    def get_mode(self, endpoint: str) -> str | None: ...
    def put_mode(self, endpoint: str, mode: str) -> None: ...
