"""The model's answer: its pydantic schema, the strict JSON schema we send, and parsing.

The answer is data to validate, not text to patch: ``parse_answer`` strips at most one
surrounding code fence, parses JSON and validates it; anything else raises
``InvalidModelOutput`` whose message is short enough to send back in the one re-ask.

``ModelAnswer`` accepts any number of findings. Capping is later stages' job
(``reviewer.findings.anchor`` keeps the 50 best of a chunk, ``--max-findings`` the run's):
rejecting a whole answer because it is long would throw away good findings, and the prompt
already asks for the most important ones only. Text over its bound (``TITLE_MAX``, ``MESSAGE_MAX``,
``SUMMARY_MAX``, ``SUGGESTION_MAX``) is *rejected*, not truncated: the re-ask quotes the
error, and a second over-long answer fails the chunk ("invalid-output"). A cut suggestion
would be broken code, and a runaway generation is not a review worth keeping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reviewer.core.errors import InvalidModelOutput
from reviewer.core.values import Category, Severity

TITLE_MAX = 200
MESSAGE_MAX = 4000
SUMMARY_MAX = 4000
SUGGESTION_MAX = 20_000
_ERROR_LINES_MAX = 8  # validation errors quoted back to the model in the re-ask


class _Answer(BaseModel):
    # Extra keys are ignored rather than rejected: they carry nothing we use, and a re-ask
    # for an unrequested "line" key would waste a request on a harmless difference.
    model_config = ConfigDict(frozen=True, extra="ignore")


class ModelFinding(_Answer):
    """One problem in the changed lines."""

    # Anchored on the chunk's lines later (reviewer.findings.anchor); the docstring above is the
    # schema's description, which the model reads.

    path: str = Field(
        min_length=1, description="The file path exactly as shown in its '=== FILE:' header."
    )
    start_line: int = Field(ge=1, description="First new-file line number of the problem (>= 1).")
    end_line: int = Field(
        ge=1, description="Last new-file line number of the problem (>= start_line)."
    )
    severity: Severity = Field(description="How bad the problem is if it ships.")
    category: Category = Field(description="The kind of problem.")
    confidence: float = Field(
        ge=0.0, le=1.0, description="Probability from 0.0 to 1.0 that this is a real problem."
    )
    title: str = Field(
        min_length=1,
        max_length=TITLE_MAX,
        description=f"One-line summary, at most {TITLE_MAX} characters.",
    )
    message: str = Field(
        min_length=1,
        max_length=MESSAGE_MAX,
        description=f"What is wrong, why it matters and how to fix it; at most {MESSAGE_MAX}"
        " characters.",
    )
    # Optional in validation (a missing key means "no suggestion", not a reason to re-ask),
    # but required-and-nullable in the strict schema, as strict mode demands.
    suggestion: str | None = Field(
        default=None,
        max_length=SUGGESTION_MAX,
        description="Full replacement text for exactly start_line..end_line, or null.",
    )

    @model_validator(mode="before")
    @classmethod
    def _order_the_range(cls, data: Any) -> Any:
        # A reversed range still names the same lines (small models write them either way);
        # re-asking for it would cost a request and often fail the chunk for nothing.
        if isinstance(data, dict):
            start, end = data.get("start_line"), data.get("end_line")
            if type(start) is int and type(end) is int and end < start:
                return {**data, "start_line": end, "end_line": start}
        return data


class ModelAnswer(_Answer):
    summary: str = Field(
        max_length=SUMMARY_MAX,
        description=f"Two or three sentences on the change's risk; at most {SUMMARY_MAX}"
        " characters.",
    )
    findings: list[ModelFinding] = Field(
        description="Problems in the changed lines, most severe first; empty when none."
    )


# --------------------------------------------------------------------------- schema

# Keywords every strict-mode dialect we target understands. Bounds (minimum, maxLength, ...)
# are not among them: OpenAI's strict mode rejects some, llama.cpp and vLLM handle others
# differently, so they live in the descriptions and are enforced by ``parse_answer``.
_KEEP = frozenset(
    {"type", "properties", "required", "items", "enum", "anyOf", "description", "$ref"}
)
_DROP = frozenset(
    {
        "title",
        "default",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "additionalProperties",  # re-added as false on every object
    }
)


def _strict(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
        return _strict(merged, defs)
    unknown = set(node) - _KEEP - _DROP
    if unknown:
        # A new field type brought a keyword we have not vetted for strict mode.
        raise ValueError(f"unsupported JSON-schema keywords for strict mode: {sorted(unknown)}")
    out: dict[str, Any] = {k: v for k, v in node.items() if k in _KEEP}
    if "anyOf" in out:
        branches = [_strict(b, defs) for b in out["anyOf"]]
        non_null = [b for b in branches if b != {"type": "null"}]
        if len(non_null) == 1 and len(branches) == 2 and set(non_null[0]) <= {"type"}:
            # {"type": ["string", "null"]} is the nullable form every dialect accepts.
            del out["anyOf"]
            out["type"] = [non_null[0]["type"], "null"]
        else:
            out["anyOf"] = branches
    if "items" in out:
        out["items"] = _strict(out["items"], defs)
    if out.get("type") == "object" or "properties" in out:
        props = {k: _strict(v, defs) for k, v in out.get("properties", {}).items()}
        out["properties"] = props
        out["required"] = list(props)
        out["additionalProperties"] = False
    return out


@cache
def _schema_json(model: type[BaseModel] | None = None) -> str:
    raw = (model or ModelAnswer).model_json_schema()
    defs = raw.pop("$defs", {})
    return json.dumps(_strict(raw, defs))


def strict_schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """``strict_json_schema`` for another answer model (the verification's), a fresh copy."""
    result: dict[str, Any] = json.loads(_schema_json(model))
    return result


def strict_json_schema() -> dict[str, Any]:
    """The answer schema in the subset strict structured output accepts (a fresh copy).

    Every object has ``additionalProperties: false`` and lists all its properties as
    required; nullable is ``{"type": [T, "null"]}``; no ``$ref``; bounds only in descriptions.
    """
    result: dict[str, Any] = json.loads(_schema_json())
    return result


# What a JSON-schema-to-grammar converter (llama.cpp's C++ one and llama-cpp-python's port)
# turns into grammar rules: enum, minLength/maxLength on strings, minItems/maxItems. Numeric
# bounds are not among them in the Python port (a tiny model answered confidence 987654381),
# so bounded numbers become enums. maxLength is unrolled into one nested rule per character
# by the port, and llama-cpp-python's server dies parsing ~3000 of them: keep these small.
CONFIDENCE_LEVELS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
GRAMMAR_TEXT_MAX = 500  # characters of the summary and of each message
GRAMMAR_LINES_MAX = 2000  # more lines than this: only ``minimum`` (C++ converter only)
# Tokens one finding takes in JSON (keys, a title, a short message, a null suggestion).
TOKENS_PER_FINDING = 120


def findings_cap(max_tokens: int, ceiling: int) -> int:
    """How many findings fit an answer of ``max_tokens``: 1 to ``ceiling``."""
    return max(1, min(ceiling, max_tokens // TOKENS_PER_FINDING))


def grammar_json_schema(
    *, paths: Sequence[str], lines: Iterable[int], max_findings: int
) -> dict[str, Any]:
    """The strict schema narrowed for grammar-constrained decoding (``json_object_schema``).

    A grammar makes every answer well-formed JSON, but only bounds written as grammar rules
    make it *valid*: ``path`` is one of the chunk's ``paths``, the lines are the chunk's
    reviewable ``lines``, ``confidence`` one of ``CONFIDENCE_LEVELS``, the summary, titles and
    messages short (and the latter non-empty), and at most ``max_findings`` findings, so a
    small model that repeats itself stops before the token limit instead of being cut off.
    What no grammar expresses (``end_line >= start_line``) is settled by ``parse_answer``,
    which orders a reversed range. The suggestion stays unbounded: a replacement cut short by
    a grammar would be broken code.
    """
    schema = strict_json_schema()
    schema["properties"]["summary"]["maxLength"] = GRAMMAR_TEXT_MAX
    findings = schema["properties"]["findings"]
    findings["maxItems"] = max(1, max_findings)
    item = findings["items"]["properties"]
    if paths:
        item["path"]["enum"] = list(dict.fromkeys(paths))
    numbers = sorted(set(lines))
    for key in ("start_line", "end_line"):
        if numbers and len(numbers) <= GRAMMAR_LINES_MAX:
            item[key]["enum"] = numbers
        else:
            item[key]["minimum"] = 1
    item["confidence"]["enum"] = list(CONFIDENCE_LEVELS)
    item["title"].update(minLength=1, maxLength=TITLE_MAX)
    item["message"].update(minLength=1, maxLength=GRAMMAR_TEXT_MAX)
    return schema


# --------------------------------------------------------------------------- parsing

_FENCE = re.compile(r"\A\s*```[A-Za-z0-9_-]*[ \t]*\n(?P<body>.*?)\n?```\s*\Z", re.DOTALL)


def _unfence(text: str) -> str:
    match = _FENCE.match(text)
    return match.group("body") if match else text


def _describe(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    lines = []
    for err in errors[:_ERROR_LINES_MAX]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{where}: {err['msg']}")
    if len(errors) > _ERROR_LINES_MAX:
        lines.append(f"... and {len(errors) - _ERROR_LINES_MAX} more errors")
    return "; ".join(lines)


AnswerT = TypeVar("AnswerT", bound=BaseModel)


def parse_answer(text: str) -> ModelAnswer:
    """Parse and validate the model's reply. Raises ``InvalidModelOutput`` with a short reason."""
    return parse_as(text, ModelAnswer)


def parse_as(text: str, model: type[AnswerT]) -> AnswerT:
    """``parse_answer`` for any answer model."""
    body = _unfence(text).strip()
    if not body:
        raise InvalidModelOutput("the answer is empty; expected a JSON object")
    try:
        # strict=False takes a raw newline or tab inside a string as itself. llama-cpp-python's
        # grammar allows them in strings (the C++ one does not); the text has one meaning, and
        # reviewer.findings.anchor strips control characters from what it keeps.
        data = json.loads(body, strict=False)
    except json.JSONDecodeError as exc:
        raise InvalidModelOutput(
            f"the answer is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(data, dict):
        raise InvalidModelOutput(f"the answer must be a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidModelOutput(
            f"the answer does not match the schema: {_describe(exc)}"
        ) from None
