from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewer.core.errors import ProviderError
from reviewer.core.values import CATEGORIES, SEVERITIES
from reviewer.llm.answer import (
    MESSAGE_MAX,
    TITLE_MAX,
    InvalidModelOutput,
    ModelAnswer,
    ModelFinding,
    parse_answer,
    strict_json_schema,
)


def finding(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "path": "src/app.py",
        "start_line": 11,
        "end_line": 12,
        "severity": "high",
        "category": "bug",
        "confidence": 0.8,
        "title": "Off-by-one in loop bound",
        "message": "The loop reads one element past the end.",
        "suggestion": "for i in range(n):",
    }
    base.update(overrides)
    return base


def answer_text(*findings: dict[str, Any], summary: str = "Risky change.") -> str:
    return json.dumps({"summary": summary, "findings": list(findings)})


# --------------------------------------------------------------------------- parse_answer


def test_parses_a_valid_answer() -> None:
    answer = parse_answer(answer_text(finding()))
    assert answer.summary == "Risky change."
    assert answer.findings == [ModelFinding(**finding())]


@pytest.mark.parametrize(
    "text",
    [
        "```json\n" + answer_text(finding()) + "\n```",
        "```\n" + answer_text(finding()) + "\n```",
        "  \n```JSON\n" + answer_text(finding()) + "\n```\n\n",
        "\n" + answer_text(finding()) + "\n",
    ],
)
def test_strips_one_surrounding_fence_and_whitespace(text: str) -> None:
    assert parse_answer(text).findings[0].title == "Off-by-one in loop bound"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("```json\n```", "empty"),
        ("Here you go: " + answer_text(), "not valid JSON"),
        (answer_text() + "\nHope this helps!", "not valid JSON"),
        ("```json\n" + answer_text() + "\n```\nMore text", "not valid JSON"),
        ("{'summary': 'single quotes'}", "not valid JSON"),
        ("[]", "must be a JSON object, got list"),
        ('"just a string"', "must be a JSON object, got str"),
        ('{"summary": "x"}', "findings: Field required"),
        ('{"findings": []}', "summary: Field required"),
        (answer_text(finding(confidence=1.5)), "findings.0.confidence"),
        (answer_text(finding(confidence=-0.1)), "findings.0.confidence"),
        (answer_text(finding(start_line=0)), "findings.0.start_line"),
        (answer_text(finding(severity="High")), "findings.0.severity"),
        (answer_text(finding(category="typo")), "findings.0.category"),
        (answer_text(finding(title="x" * (TITLE_MAX + 1))), "findings.0.title"),
        (answer_text(finding(message="x" * (MESSAGE_MAX + 1))), "findings.0.message"),
        (answer_text(finding(title="")), "findings.0.title"),
        (answer_text(finding(path="")), "findings.0.path"),
        (answer_text(finding(start_line=2.5)), "findings.0.start_line"),
    ],
)
def test_rejects_invalid_answers_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidModelOutput) as info:
        parse_answer(text)
    assert reason in str(info.value)


def test_invalid_output_is_a_provider_error() -> None:
    assert issubclass(InvalidModelOutput, ProviderError)


def test_many_errors_are_summarised_not_dumped() -> None:
    bad = [finding(confidence=2.0) for _ in range(30)]
    with pytest.raises(InvalidModelOutput) as info:
        parse_answer(answer_text(*bad))
    message = str(info.value)
    assert "... and 22 more errors" in message
    assert len(message) < 1500


def test_bounds_are_inclusive() -> None:
    answer = parse_answer(
        answer_text(
            finding(confidence=0.0, start_line=1, end_line=1, title="t" * TITLE_MAX),
            finding(confidence=1.0, message="m" * MESSAGE_MAX),
        )
    )
    assert [f.confidence for f in answer.findings] == [0.0, 1.0]


def test_missing_suggestion_means_none_and_extra_keys_are_ignored() -> None:
    raw = finding(line=11, explanation="extra")
    del raw["suggestion"]
    answer = parse_answer(answer_text(raw))
    assert answer.findings[0].suggestion is None
    assert not hasattr(answer.findings[0], "line")


def test_accepts_more_findings_than_the_run_reports() -> None:
    # Capping is the aggregator's job (--max-findings); the answer keeps them all.
    many = [finding(start_line=i, end_line=i) for i in range(1, 151)]
    assert len(parse_answer(answer_text(*many)).findings) == 150


def test_answer_is_frozen() -> None:
    answer = parse_answer(answer_text(finding()))
    with pytest.raises(ValueError, match="frozen"):
        answer.summary = "changed"  # type: ignore[misc]


# --------------------------------------------------------------------------- strict schema


def _objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found.extend(_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_objects(value))
    return found


def _keys(node: Any) -> set[str]:
    keys: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            keys.add(key)
            # Property names are data, not keywords.
            if key == "properties":
                for sub in value.values():
                    keys |= _keys(sub)
            else:
                keys |= _keys(value)
    elif isinstance(node, list):
        for value in node:
            keys |= _keys(value)
    return keys


def test_schema_objects_are_closed_and_fully_required() -> None:
    objects = _objects(strict_json_schema())
    assert len(objects) == 2  # the answer and a finding
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])


def test_schema_uses_only_the_conservative_keyword_subset() -> None:
    allowed = {
        "type",
        "properties",
        "required",
        "items",
        "enum",
        "description",
        "additionalProperties",
    }
    assert _keys(strict_json_schema()) <= allowed


def test_schema_matches_the_models() -> None:
    schema = strict_json_schema()
    item = schema["properties"]["findings"]["items"]
    assert list(schema["properties"]) == list(ModelAnswer.model_fields)
    assert list(item["properties"]) == list(ModelFinding.model_fields)
    assert item["properties"]["severity"]["enum"] == list(SEVERITIES)
    assert item["properties"]["category"]["enum"] == list(CATEGORIES)
    assert item["properties"]["suggestion"]["type"] == ["string", "null"]
    assert "0.0 to 1.0" in item["properties"]["confidence"]["description"]
    assert str(TITLE_MAX) in item["properties"]["title"]["description"]


def test_schema_is_a_fresh_copy() -> None:
    strict_json_schema()["properties"].clear()
    assert "findings" in strict_json_schema()["properties"]


def test_schema_is_valid_json_schema_and_checks_shape() -> None:
    schema = strict_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(json.loads(answer_text(finding(), finding(suggestion=None))))
    assert not validator.is_valid(json.loads(answer_text(finding(extra=1))))
    missing = finding()
    del missing["suggestion"]
    assert not validator.is_valid(json.loads(answer_text(missing)))


_text = st.text(min_size=1, max_size=40)
_finding = st.builds(
    lambda path, start, span, severity, category, confidence, title, message, suggestion: {
        "path": path,
        "start_line": start,
        "end_line": start + span,
        "severity": severity,
        "category": category,
        "confidence": confidence,
        "title": title,
        "message": message,
        "suggestion": suggestion,
    },
    _text,
    st.integers(1, 10_000),
    st.integers(0, 50),
    st.sampled_from(SEVERITIES),
    st.sampled_from(CATEGORIES),
    st.floats(0.0, 1.0),
    _text,
    _text,
    st.none() | st.text(max_size=80),
)


_VALIDATOR = jsonschema.Draft202012Validator(strict_json_schema())


@settings(max_examples=75, deadline=None)
@given(st.text(max_size=80), st.lists(_finding, max_size=4))
def test_valid_answers_satisfy_the_strict_schema_and_round_trip(
    summary: str, findings: list[dict[str, Any]]
) -> None:
    data = {"summary": summary, "findings": findings}
    _VALIDATOR.validate(data)
    parsed = parse_answer(json.dumps(data))
    assert parsed.model_dump(mode="json") == data


def test_a_reversed_range_is_ordered_not_rejected() -> None:
    answer = parse_answer(answer_text(finding(start_line=5, end_line=4)))
    assert (answer.findings[0].start_line, answer.findings[0].end_line) == (4, 5)
