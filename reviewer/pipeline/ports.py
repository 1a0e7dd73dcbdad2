"""What the pipeline needs from its collaborators, as Protocols (the app passes real ones in,
tests pass fakes of the seams behind them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from reviewer.llm.answer import ModelAnswer
from reviewer.llm.backend import ResponseMode

if TYPE_CHECKING:
    from reviewer.llm.verify import VerifyAnswer


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


class Progress(Protocol):
    def planned(self, chunks: int, files: int, tokens: int) -> None: ...
    def chunk_done(self, done: int, total: int, failed: bool) -> None: ...


class AnswerCache(Protocol):
    """Validated model answers by a key of everything that changes the answer."""

    def get(self, key: str) -> ModelAnswer | None: ...
    def put(self, key: str, answer: ModelAnswer) -> None: ...
    def get_verification(self, key: str) -> VerifyAnswer | None: ...
    def put_verification(self, key: str, answer: VerifyAnswer) -> None: ...
    def get_mode(self, endpoint: str) -> str | None: ...
    def put_mode(self, endpoint: str, mode: str) -> None: ...
