"""The verification pass: one more request per chunk whose review found something, asking the
model to check each candidate against the code (is it real, are the lines right, is the
severity right).

The answer uses the review's own finding schema: ``findings`` holds the confirmed candidates
as ``ModelFinding``s (severity, confidence, range and suggestion possibly corrected), each
with the ``candidate`` number it confirms; ``refuted`` names the others with a reason. A
candidate in neither list counts as refuted ("left out"). The conversation is the review's
(``reviewer.llm.conversation.converse``): response-format fallback, re-asks, retries.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reviewer.core.settings import Settings
from reviewer.core.values import Chunk, Finding
from reviewer.llm.answer import (
    CONFIDENCE_LEVELS,
    GRAMMAR_LINES_MAX,
    GRAMMAR_TEXT_MAX,
    TITLE_MAX,
    ModelFinding,
    parse_as,
    strict_schema_of,
)
from reviewer.llm.backend import Backend, ResponseMode
from reviewer.llm.conversation import (
    AnswerReader,
    Outcome,
    ResponseModeState,
    StreamState,
    converse,
)
from reviewer.llm.ratelimit import Gate
from reviewer.llm.verify_prompt import render_verification, verify_system_prompt

REASON_MAX = 1000
# Bump when the verification prompt or schema changes: it is part of its cache keys.
VERIFY_PROMPT_VERSION = "v1"


class Verified(ModelFinding):
    """A candidate the check confirms, corrected where needed."""

    candidate: int = Field(ge=1, description="The number of the candidate this confirms.")


class Refutation(BaseModel):
    """A candidate the check rejects."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    candidate: int = Field(ge=1, description="The number of the candidate this rejects.")
    reason: str = Field(
        min_length=1,
        max_length=REASON_MAX,
        description=f"One sentence: why it is not a real problem; at most {REASON_MAX} characters.",
    )


class VerifyAnswer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    findings: list[Verified] = Field(
        description="The candidates confirmed, corrected where needed; empty when none."
    )
    refuted: list[Refutation] = Field(description="The candidates rejected; empty when none.")


class VerifyOutcome(Outcome[VerifyAnswer]):
    """A verification request's result: a ``VerifyAnswer``, or the kind of failure."""


def parse_verification(text: str) -> VerifyAnswer:
    return parse_as(text, VerifyAnswer)


@cache
def _schema() -> dict[str, Any]:
    schema = strict_schema_of(VerifyAnswer)
    # The number first: the model commits to which candidate it judges before writing it out
    # (structured output generates keys in schema order).
    item = schema["properties"]["findings"]["items"]
    props = item["properties"]
    item["properties"] = {"candidate": props.pop("candidate"), **props}
    item["required"] = list(item["properties"])
    return schema


def verify_schema() -> dict[str, Any]:
    """The strict JSON schema of ``VerifyAnswer`` (a fresh copy)."""
    return copy.deepcopy(_schema())


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """One chunk's verification, ready to send: the candidates (numbered from 1 in order),
    the user message, and what the system prompt and the grammar need."""

    chunk: Chunk
    candidates: tuple[Finding, ...]
    text: str
    language: str

    def system(self, mode: ResponseMode) -> str:
        return verify_system_prompt(self.language, mode, verify_schema())

    def reader(self) -> AnswerReader[VerifyAnswer]:
        strict = verify_schema()
        return AnswerReader(
            parse=parse_verification,
            outcome_type=VerifyOutcome,
            schemas={"json_schema": strict, "json_object_schema": self.grammar_schema()},
            schema_name="verification",
        )

    def grammar_schema(self) -> dict[str, Any]:
        """The strict schema narrowed for grammar-constrained decoding (llama.cpp): candidate
        numbers, paths and lines of this chunk, bounded text (see ``grammar_json_schema``)."""
        schema = verify_schema()
        numbers = list(range(1, len(self.candidates) + 1))
        found = schema["properties"]["findings"]
        refuted = schema["properties"]["refuted"]
        for array in (found, refuted):
            array["maxItems"] = len(numbers)
            array["items"]["properties"]["candidate"]["enum"] = numbers
        refuted["items"]["properties"]["reason"].update(minLength=1, maxLength=GRAMMAR_TEXT_MAX)
        item = found["items"]["properties"]
        item["path"]["enum"] = list(dict.fromkeys(f.path for f in self.candidates))
        lines = sorted({n for f in self.chunk.files for n in f.changed_lines})
        for key in ("start_line", "end_line"):
            if lines and len(lines) <= GRAMMAR_LINES_MAX:
                item[key]["enum"] = lines
            else:
                item[key]["minimum"] = 1
        item["confidence"]["enum"] = list(CONFIDENCE_LEVELS)
        item["title"].update(minLength=1, maxLength=TITLE_MAX)
        item["message"].update(minLength=1, maxLength=GRAMMAR_TEXT_MAX)
        return schema


def verify_request(
    chunk: Chunk, candidates: Sequence[Finding], settings: Settings
) -> VerifyRequest:
    found = tuple(candidates)
    return VerifyRequest(
        chunk=chunk,
        candidates=found,
        text=render_verification(chunk.files, found),
        language=settings.language,
    )


def send_verification(
    request: VerifyRequest,
    *,
    backend: Backend,
    modes: ResponseModeState,
    gate: Gate,
    settings: Settings,
    deadline: float,
    max_tokens: int | None,
    max_tokens_ceiling: int | None,
    streams: StreamState | None = None,
    count_tokens: Callable[[str], int] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome[VerifyAnswer]:
    """Ask the model to check ``request``'s candidates. Like a review, only run-level errors
    escape (``AuthError``, ``ModelNotFound``, no response mode left); the caller keeps the
    findings unverified on those too."""
    return converse(
        request.text,
        request.system,
        request.reader(),
        backend=backend,
        modes=modes,
        gate=gate,
        settings=settings,
        deadline=deadline,
        max_tokens=max_tokens,
        max_tokens_ceiling=max_tokens_ceiling,
        streams=streams,
        count_tokens=count_tokens,
        clock=clock,
        sleep=sleep,
    )
