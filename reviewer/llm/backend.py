"""The seam between the pipeline and a chat-completions endpoint.

``reviewer.llm.openai_backend`` implements it with the ``openai`` SDK (the only module that
imports it); tests use fakes of the HTTP server behind it, never of this Protocol's users.
"""

from __future__ import annotations

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
    timeout: float = 120.0  # seconds for this one attempt


class ChatReply(Frozen):
    content: str | None
    finish_reason: str | None = None
    refusal: str | None = None
    usage: Usage = Usage()
    model: str | None = None
    rate_limits: RateLimits | None = None  # the reply's x-ratelimit-* headers, when sent


class Backend(Protocol):
    """Sends one request. Raises only ``reviewer.core.errors.ProviderError`` subclasses."""

    def complete(self, request: ChatRequest) -> ChatReply: ...
