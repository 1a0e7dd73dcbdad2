"""The seam between the pipeline and a chat-completions endpoint.

``reviewer.llm.openai_backend`` implements it with the ``openai`` SDK (the only module that
imports it); tests use fakes of the HTTP server behind it, never of this Protocol's users.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

from pydantic import Field

from reviewer.core.values import Frozen, Usage
from reviewer.llm.ratelimit import RateLimits

# How we ask for JSON, strongest first. "json_object_schema" is llama.cpp's dialect:
# {"type": "json_object", "schema": {...}} constrains the output by grammar.
ResponseMode = Literal["json_schema", "json_object_schema", "json_object", "prompt"]
RESPONSE_MODES: tuple[ResponseMode, ...] = (
    "json_schema",
    "json_object_schema",
    "json_object",
    "prompt",
)


class Message(Frozen):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatRequest(Frozen):
    messages: tuple[Message, ...]
    mode: ResponseMode
    schema_name: str = "review"
    json_schema: dict[str, Any] = Field(default_factory=dict)
    temperature: float = 0.2
    max_tokens: int | None = None
    stream: bool = True  # ask for server-sent events; a server that answers whole is read whole
    # No fixed total: a slow answer that keeps coming is never cut off. The server must start
    # answering (its first byte, connect included) within ``timeout`` seconds, and may then
    # fall silent for at most ``idle_timeout`` seconds at a time; ``time_limit`` (the run's
    # deadline, in seconds from the start of this attempt) ends it whatever it is doing.
    timeout: float = 120.0
    idle_timeout: float = 60.0
    time_limit: float | None = None


class ChatReply(Frozen):
    content: str | None
    finish_reason: str | None = None
    refusal: str | None = None
    usage: Usage = Usage()
    model: str | None = None
    rate_limits: RateLimits | None = None  # the reply's x-ratelimit-* headers, when sent
    streamed: bool = False  # the answer came as server-sent events


# Called while an answer streams in, with the number of pieces (about one token each) so far.
OnTokens = Callable[[int], None]


class Backend(Protocol):
    """Sends one request. Raises only ``reviewer.core.errors.ProviderError`` subclasses.

    ``cancel`` ends every request in flight at once (they raise ``RequestCancelled``) and every
    later one before it is sent: the run is over.
    """

    def complete(self, request: ChatRequest, on_tokens: OnTokens | None = None) -> ChatReply: ...

    def cancel(self) -> None: ...
