"""Reporters: golden files for the terminal and JSON output, plus the registry.

Regenerate the golden files after an intended change with
``REVIEWER_UPDATE_GOLDEN=1 pytest tests/test_reporters.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from reviewer.core.errors import UsageError
from reviewer.core.values import (
    ChunkFailure,
    Finding,
    NotReviewed,
    RedactionSite,
    ReviewResult,
    Stats,
)
from reviewer.outputs import (
    REPORTERS,
    OutputSpec,
    Reporter,
    get_reporter,
    parse_output_spec,
)
from reviewer.outputs.terminal import MAX_LISTED

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("REVIEWER_UPDATE_GOLDEN") == "1"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(text.encode("utf-8"))
    expected = path.read_bytes().decode("utf-8")
    assert text == expected, f"{name} differs; REVIEWER_UPDATE_GOLDEN=1 regenerates it"


# --------------------------------------------------------------------------- sample results

SQLI = Finding(
    path="src/db.py",
    start_line=42,
    end_line=43,
    severity="critical",
    category="security",
    confidence=0.95,
    title="SQL injection in user lookup",
    message=(
        "The query is built with an f-string from request data, so a crafted name can run "
        "arbitrary SQL.\nUse a parameterised query."
    ),
    suggestion='    sql = "SELECT * FROM users WHERE name = %s"\n    cur.execute(sql, (name,))\n',
    rule_id="reviewer/security",
    fingerprint="9f2c4e1a0b3d5c7e",
    score=9.5,
    chunk_id="c1",
    code="    sql = f\"SELECT * FROM users WHERE name = '{name}'\"\n    cur.execute(sql)",
)
OFF_BY_ONE = Finding(
    path="src/app.py",
    start_line=12,
    end_line=12,
    severity="high",
    category="bug",
    confidence=0.8,
    title="Off-by-one in loop bound",
    message="range(len(items) + 1) reads one element past the end and raises IndexError.",
    rule_id="reviewer/bug",
    fingerprint="1b2c3d4e5f607182",
    score=5.6,
    chunk_id="c2",
    code="    for i in range(len(items) + 1):",
)
NAMING = Finding(
    path="src/db.py",
    start_line=7,
    end_line=7,
    severity="low",
    category="style",
    confidence=0.6,
    title="Ambiguous name `l`",
    message="`l` reads like `1`; call it `lines`.",
    suggestion="lines = fetch()\n",
    rule_id="reviewer/style",
    fingerprint="aa11bb22cc33dd44",
    score=1.2,
    chunk_id="c1",
    code="l = fetch()",
)
NOT_REVIEWED = (
    NotReviewed(path="poetry.lock", reason="lockfile"),
    NotReviewed(path="assets/logo.png", reason="binary", detail="12 KB"),
)


def stats(**kw: object) -> Stats:
    base: dict[str, object] = {
        "files_total": 5,
        "files_reviewed": 3,
        "files_not_reviewed": 2,
        "chunks": 2,
        "requests": 2,
        "tokens_in": 12345,
        "tokens_out": 1234,
        "estimated_tokens_in": 12000,
        "cost_usd": 0.0123,
        "estimated_cost_usd": 0.015,
        "duration_s": 12.34,
    }
    base.update(kw)
    return Stats.model_validate(base)


def result(**kw: object) -> ReviewResult:
    base: dict[str, object] = {
        "tool_version": "0.1.0",
        "source": "main...HEAD",
        "base_sha": "0123456789abcdef0123456789abcdef01234567",
        "head_sha": "fedcba9876543210fedcba9876543210fedcba98",
        "model": "gpt-4o-mini",
        "provider": "openai",
        "score": 10,
        "summary": "Adds a user lookup endpoint and a totals helper.",
        "stats": stats(),
    }
    base.update(kw)
    return ReviewResult.model_validate(base)


FINDINGS = result(
    score=3,
    findings=(SQLI, OFF_BY_ONE, NAMING),
    not_reviewed=NOT_REVIEWED,
    stats=stats(
        findings_total=3,
        findings_by_severity={"critical": 1, "high": 1, "medium": 0, "low": 1, "info": 0},
        filtered_findings=2,
        discarded_findings=1,
        redactions=1,
        redactions_secrets=1,
        redactions_by_family={"generic-secret": 1},
    ),
)
CLEAN = result(stats=stats(files_total=3, files_not_reviewed=0, chunks=1, requests=1))
INCOMPLETE = result(
    score=7,
    findings=(OFF_BY_ONE,),
    not_reviewed=NOT_REVIEWED,
    failures=(
        ChunkFailure(
            chunk_id="c3",
            index=2,
            paths=("src/a.py", "src/b.py", "src/c.py", "src/d.py"),
            lines=40,
            kind="timeout",
            message="no answer within 120s (3 attempts)",
        ),
        ChunkFailure(
            chunk_id="c4",
            index=4,
            paths=("src/e.py",),
            lines=1,
            kind="invalid-output",
            message="the answer was not valid JSON after one re-ask",
        ),
    ),
    stats=stats(chunks=5, chunks_failed=2, chunks_cached=1, cost_usd=None),
)
DRY_RUN = result(
    dry_run=True,
    summary="",
    not_reviewed=NOT_REVIEWED,
    stats=stats(
        chunks=3,
        requests=0,
        tokens_in=0,
        tokens_out=0,
        cost_usd=None,
        duration_s=0.2,
        redactions=2,
        redactions_secrets=1,
        redactions_pii=1,
        redactions_by_family={"email": 1, "github-token": 1},
    ),
    # --show-redactions
    redaction_sites=(
        RedactionSite(path="src/app.py", line=12, family="github-token", kind="secret"),
        RedactionSite(path="src/old.py", old_line=3, family="email", kind="pii"),
    ),
)

CASES = {
    "findings": FINDINGS,
    "no_findings": CLEAN,
    "incomplete": INCOMPLETE,
    "dry_run": DRY_RUN,
}


# --------------------------------------------------------------------------- terminal


@pytest.mark.parametrize("case", sorted(CASES))
def test_terminal_golden(case: str) -> None:
    text = get_reporter("terminal").render(CASES[case], color=False)
    assert "\x1b" not in text
    check_golden(f"terminal_{case}.txt", text)


def test_terminal_golden_color() -> None:
    text = get_reporter("terminal").render(FINDINGS, color=True)
    check_golden("terminal_findings_color.txt", text)
    # Colour only adds styling: without the escapes it is the plain report.
    assert ANSI.sub("", text) == get_reporter("terminal").render(FINDINGS, color=False)
    assert "\x1b[37m\x1b[41m\x1b[1m[CRITICAL]" in text


def test_terminal_locations_are_clickable_path_line() -> None:
    text = get_reporter("terminal").render(FINDINGS, color=False)
    assert "src/db.py:42-43 " in text
    assert "src/app.py:12 " in text
    # Worst file first, each file's findings together.
    assert text.index("src/db.py:42-43") < text.index("src/db.py:7 ") < text.index("src/app.py:12")


def test_terminal_incomplete_never_reads_as_clean() -> None:
    render = get_reporter("terminal").render
    text = render(INCOMPLETE.model_copy(update={"findings": ()}), color=False)
    first_line = text.splitlines()[1]
    assert first_line.startswith("Review INCOMPLETE: 2 of 5 chunks failed")
    assert "No findings" not in text
    assert "no findings in the part that was reviewed" in text
    clean = render(CLEAN, color=False)
    assert "No findings: 3 files reviewed in 1 chunk" in clean
    assert "INCOMPLETE" not in clean


def test_terminal_all_chunks_failed_shows_no_score() -> None:
    failed = INCOMPLETE.model_copy(
        update={"findings": (), "stats": stats(chunks=2, chunks_failed=2, cost_usd=None)}
    )
    text = get_reporter("terminal").render(failed, color=False)
    assert "Review FAILED: 2 of 2 chunks failed, nothing was reviewed" in text
    assert "Score:" not in text


def test_terminal_nothing_to_review() -> None:
    empty = result(
        summary="",
        not_reviewed=NOT_REVIEWED,
        stats=stats(files_total=2, files_reviewed=0, chunks=0, cost_usd=None),
    )
    text = get_reporter("terminal").render(empty, color=False)
    assert "Nothing reviewed: no file had reviewable changes" in text
    assert "No findings" not in text
    assert "Score:" not in text
    assert "poetry.lock - lockfile" in text


def test_terminal_escapes_control_characters_from_repo_and_model() -> None:
    evil = OFF_BY_ONE.model_copy(
        update={
            "path": "src/\x1b[2Jevil.py",
            "title": "Title\x1b]0;pwned\x07 here",
            "message": "line\x1b[31m red\u202e",
            "suggestion": "x = 1\x1b[0m\n",
            "code": "x\x08 = 2",
        }
    )
    r = result(
        findings=(evil,),
        summary="sum\x1bmary",
        failures=(
            ChunkFailure(
                chunk_id="c", index=0, paths=("p\x1b.py",), lines=1, kind="k\x1b", message="m\x9b"
            ),
        ),
        not_reviewed=(NotReviewed(path="n\x1b.bin", reason="binary", detail="d\x1b"),),
        stats=stats(chunks=2),
    )
    for color in (False, True):
        text = get_reporter("terminal").render(r, color=color)
        stripped = ANSI.sub("", text)
        assert not any(ch in stripped for ch in "\x1b\x07\x08\x9b\u202e")
    plain = get_reporter("terminal").render(r, color=False)
    assert "src/\\x1b[2Jevil.py:12" in plain
    assert "Title\\x1b]0;pwned\\x07 here" in plain
    assert "\\u202e" in plain
    assert "x\\x08 = 2" in plain


def test_terminal_long_lists_are_capped() -> None:
    many = tuple(NotReviewed(path=f"vendor/{i}.js", reason="vendored") for i in range(100))
    text = get_reporter("terminal").render(result(not_reviewed=many), color=False)
    assert "Not reviewed (100)" in text
    assert text.count("vendor/") == MAX_LISTED
    assert f"... and {100 - MAX_LISTED} more (see --output json)" in text


def test_terminal_has_no_trailing_whitespace() -> None:
    # Golden files must survive whitespace-fixing pre-commit hooks.
    for case in CASES.values():
        text = get_reporter("terminal").render(case, color=False)
        assert all(line == line.rstrip() for line in text.splitlines())
        assert text.endswith("\n")
        assert text.isascii() or case is FINDINGS  # the report's chrome is ASCII


# --------------------------------------------------------------------------- json


@pytest.mark.parametrize("case", sorted(CASES))
def test_json_golden(case: str) -> None:
    text = get_reporter("json").render(CASES[case], color=False)
    check_golden(f"json_{case}.json", text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_json_is_exactly_the_result(case: str) -> None:
    r = CASES[case]
    text = get_reporter("json").render(r, color=True)
    assert text == get_reporter("json").render(r, color=False)
    data = json.loads(text)
    assert data == r.model_dump(mode="json")
    assert list(data) == list(ReviewResult.model_fields)
    assert ReviewResult.model_validate(data) == r
    assert text.isascii()
    assert text.endswith("}\n")


def test_json_escapes_non_ascii_and_round_trips_it() -> None:
    r = result(summary="Prüfung abgeschlossen ✓")
    text = get_reporter("json").render(r, color=False)
    assert "\\u00fc" in text
    assert json.loads(text)["summary"] == "Prüfung abgeschlossen ✓"


# --------------------------------------------------------------------------- registry


def test_registry_names_match_reporters() -> None:
    assert {"terminal", "json"} <= set(REPORTERS)
    for name in REPORTERS:  # each imported only when asked for
        described: Reporter = get_reporter(name)
        assert described.name == name
        assert isinstance(described.render(CLEAN, color=False), str)


def test_unknown_reporter_lists_the_known_ones() -> None:
    with pytest.raises(UsageError) as info:
        get_reporter("yaml")
    assert "'yaml'" in str(info.value)
    for name in REPORTERS:
        assert name in str(info.value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("json", OutputSpec(format="json")),
        ("JSON", OutputSpec(format="json")),
        ("json=-", OutputSpec(format="json")),
        ("json=out/review.json", OutputSpec(format="json", path=Path("out/review.json"))),
        ("terminal=a=b.txt", OutputSpec(format="terminal", path=Path("a=b.txt"))),
    ],
)
def test_parse_output_spec(spec: str, expected: OutputSpec) -> None:
    assert parse_output_spec(spec) == expected


@pytest.mark.parametrize("spec", ["", "yaml", "yaml=out.yaml", "json=", "json=  "])
def test_parse_output_spec_rejects(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_output_spec(spec)


def test_output_spec_is_frozen() -> None:
    spec = parse_output_spec("json=x.json")
    with pytest.raises(ValueError, match="frozen"):
        spec.format = "terminal"  # type: ignore[misc]
