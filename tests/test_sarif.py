"""The SARIF reporter against the official OASIS schema and GitHub code scanning's rules."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from jsonschema import Draft4Validator

from reviewer.core.values import (
    CATEGORIES,
    ChunkFailure,
    Finding,
    NotReviewed,
    ReviewResult,
    Stats,
)
from reviewer.outputs.sarif import (
    FINGERPRINT_KEY,
    GITHUB_MAX_RESULTS,
    MAX_MESSAGE_CHARS,
    MAX_NOT_REVIEWED_NOTIFICATIONS,
    SarifReporter,
    render_sarif,
    to_sarif,
)

DATA = Path(__file__).parent / "data"
SCHEMA_PATH = DATA / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
REPO = Path(__file__).resolve().parent.parent
MULTITOOL = REPO / "tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"

# RFC 3986 URI-reference characters, with well-formed percent escapes.
URI_REFERENCE = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})+")


@pytest.fixture(scope="module")
def validator() -> Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def assert_valid(validator: Draft4Validator, log: dict[str, Any]) -> None:
    # Round-trip through the rendered text, so what is validated is what a file would hold.
    parsed = json.loads(render_sarif(log))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(parsed)]
    assert errors == []
    for uri in artifact_uris(parsed):
        assert URI_REFERENCE.fullmatch(uri), uri


def artifact_uris(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "artifactLocation" in node:
            yield node["artifactLocation"]["uri"]
        for value in node.values():
            yield from artifact_uris(value)
    elif isinstance(node, list):
        for value in node:
            yield from artifact_uris(value)


def finding(**overrides: Any) -> Finding:
    values: dict[str, Any] = {
        "path": "src/app.py",
        "start_line": 10,
        "end_line": 10,
        "severity": "high",
        "category": "bug",
        "confidence": 0.9,
        "title": "Off-by-one in loop",
        "message": "The loop skips the last element",
        "fingerprint": "fp-bug-1",
        "score": 2.7,
        "code": "    for i in range(n - 1):",
    }
    values.update(overrides)
    values.setdefault("rule_id", f"reviewer/{values['category']}")
    return Finding(**values)


def review(**overrides: Any) -> ReviewResult:
    values: dict[str, Any] = {
        "tool_version": "0.1.0",
        "source": "main...HEAD",
        "base_sha": "a" * 40,
        "head_sha": "b" * 40,
        "model": "gpt-4o-mini",
        "provider": "openai",
        "score": 8,
        "summary": "Looks fine.",
        "stats": Stats(files_total=3, files_reviewed=3),
    }
    values.update(overrides)
    return ReviewResult(**values)


SQL_CODE = 'cur.execute(\n    f"SELECT * FROM t WHERE id = {uid}"\n)'
SQL_FIX = 'cur.execute(\n    "SELECT * FROM t WHERE id = ?",\n    (uid,),\n)\n'


def rich_findings() -> tuple[Finding, ...]:
    return (
        finding(),
        finding(
            path="src/db query.py",
            start_line=3,
            end_line=5,
            severity="critical",
            category="security",
            title="SQL injection",
            message="User input is formatted into the SQL string.",
            suggestion=SQL_FIX,
            code=SQL_CODE,
            fingerprint="fp-sec-1",
        ),
        finding(
            path="docs/naïve/Ünïcode.py",
            start_line=1,
            end_line=1,
            severity="low",
            category="style",
            title="Name is unclear",
            message="Rename x to count.",
            code="x = 1  # ünï 😀",
            suggestion="count = 1  # ünï 😀",
            fingerprint="fp-style-1",
        ),
        finding(
            path="lib/util.py",
            start_line=7,
            end_line=8,
            severity="info",
            category="docs",
            title="Missing docstring?",
            message="",
            code="",
            fingerprint="fp-docs-1",
        ),
    )


def run_of(log: dict[str, Any]) -> dict[str, Any]:
    assert len(log["runs"]) == 1
    run: dict[str, Any] = log["runs"][0]
    return run


def location(result: dict[str, Any]) -> dict[str, Any]:
    assert len(result["locations"]) == 1
    physical: dict[str, Any] = result["locations"][0]["physicalLocation"]
    return physical


# --------------------------------------------------------------------------- the schema


def test_schema_file_is_the_pinned_oasis_copy() -> None:
    assert hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_findings_validate_against_the_schema(validator: Draft4Validator) -> None:
    log = to_sarif(review(findings=rich_findings(), score=3))
    assert_valid(validator, log)
    assert log["version"] == "2.1.0"
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert len(run_of(log)["results"]) == 4


def test_empty_result_validates_and_still_declares_every_rule(validator: Draft4Validator) -> None:
    log = to_sarif(review())
    assert_valid(validator, log)
    run = run_of(log)
    assert run["results"] == []
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [
        f"reviewer/{c}" for c in CATEGORIES
    ]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert invocation["toolExecutionNotifications"] == []


def test_failures_and_skipped_files_become_notifications(validator: Draft4Validator) -> None:
    result = review(
        findings=(finding(),),
        failures=(
            ChunkFailure(
                chunk_id="c3",
                index=2,
                paths=("src/a.py", "src/b c.py"),
                lines=40,
                kind="invalid-output",
                message="the answer did not validate twice",
            ),
        ),
        not_reviewed=(
            NotReviewed(path="package-lock.json", reason="lockfile"),
            NotReviewed(path="big data.bin", reason="too-large", detail="3 MB > 1 MB"),
        ),
    )
    log = to_sarif(result)
    assert_valid(validator, log)
    invocation = run_of(log)["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    failure = notes[0]
    assert failure["level"] == "error"
    assert failure["descriptor"]["id"] == "reviewer/chunk-failed"
    for text in ("src/a.py", "src/b c.py", "invalid-output", "40 changed lines"):
        assert text in failure["message"]["text"]
    assert [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in failure["locations"]] == [
        "src/a.py",
        "src/b%20c.py",
    ]
    skipped = {n["message"]["text"]: n["level"] for n in notes[1:]}
    # An accidental skip (too large) is a warning and comes before the deliberate ones.
    assert list(skipped.items()) == [
        ("big data.bin was not reviewed: too-large (3 MB > 1 MB).", "warning"),
        ("package-lock.json was not reviewed: lockfile.", "note"),
    ]
    descriptors = run_of(log)["tool"]["driver"]["notifications"]
    for note in notes:
        assert descriptors[note["descriptor"]["index"]]["id"] == note["descriptor"]["id"]


def test_dry_run_validates_and_says_so(validator: Draft4Validator) -> None:
    stats = Stats(files_total=2, files_reviewed=2, chunks=1, estimated_tokens_in=1234)
    log = to_sarif(review(dry_run=True, stats=stats, summary="Dry run."))
    assert_valid(validator, log)
    run = run_of(log)
    assert run["results"] == []
    assert run["properties"]["dryRun"] is True
    assert run["properties"]["stats"]["estimated_tokens_in"] == 1234
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["descriptor"]["id"] for n in notes] == ["reviewer/dry-run"]
    assert run["invocations"][0]["executionSuccessful"] is True


# --------------------------------------------------------------------------- GitHub's fields


def test_rule_index_points_at_the_rule_id() -> None:
    run = run_of(to_sarif(review(findings=rich_findings())))
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_rules_do_not_depend_on_the_findings() -> None:
    # GitHub expects rules to change with the tool, not with the code analysed.
    empty = run_of(to_sarif(review()))["tool"]["driver"]["rules"]
    full = run_of(to_sarif(review(findings=rich_findings())))["tool"]["driver"]["rules"]
    assert empty == full


def test_an_unknown_rule_id_gets_its_own_rule_after_the_categories(
    validator: Draft4Validator,
) -> None:
    log = to_sarif(review(findings=(finding(rule_id="reviewer/bug/null-deref"),)))
    assert_valid(validator, log)
    run = run_of(log)
    rules = run["tool"]["driver"]["rules"]
    assert rules[len(CATEGORIES)]["id"] == "reviewer/bug/null-deref"
    assert run["results"][0]["ruleIndex"] == len(CATEGORIES)


def test_rule_metadata_github_reads() -> None:
    rules = run_of(to_sarif(review()))["tool"]["driver"]["rules"]
    for rule in rules:
        assert rule["shortDescription"]["text"]
        assert len(rule["fullDescription"]["text"]) <= 1024
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in {"note", "warning", "error"}
        props = rule["properties"]
        assert props["precision"] in {"very-high", "high", "medium", "low"}
        assert props["problem.severity"] in {"error", "warning", "recommendation"}
        assert 0 < len(props["tags"]) <= 10
        if rule["id"] == "reviewer/security":
            severity = props["security-severity"]
            assert isinstance(severity, str)
            assert 0.0 < float(severity) <= 10.0
            assert "security" in props["tags"]
        else:
            assert "security-severity" not in props
            assert "security" not in props["tags"]


def test_driver_identifies_the_tool() -> None:
    driver = run_of(to_sarif(review()))["tool"]["driver"]
    assert driver["name"] == "reviewer"
    assert driver["semanticVersion"] == "0.1.0"
    assert driver["informationUri"].startswith("https://")
    # A PEP 440 version that is not semver keeps only "version".
    driver = run_of(to_sarif(review(tool_version="0.2.0.dev3")))["tool"]["driver"]
    assert driver["version"] == "0.2.0.dev3"
    assert "semanticVersion" not in driver


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        ("critical", "error"),
        ("high", "error"),
        ("medium", "warning"),
        ("low", "note"),
        ("info", "note"),
    ],
)
def test_level_follows_severity(severity: str, level: str) -> None:
    result = run_of(to_sarif(review(findings=(finding(severity=severity),))))["results"][0]
    assert result["level"] == level
    assert result["properties"]["severity"] == severity


def test_message_starts_with_the_title_as_a_sentence() -> None:
    results = run_of(to_sarif(review(findings=rich_findings())))["results"]
    texts = [r["message"]["text"] for r in results]
    assert texts[0] == "Off-by-one in loop. The loop skips the last element."
    assert texts[1] == "SQL injection. User input is formatted into the SQL string."
    assert texts[3] == "Missing docstring?"  # no doubled punctuation, no empty body
    markdown = results[1]["message"]["markdown"]
    assert "Suggested replacement" in markdown
    assert SQL_FIX.rstrip("\n") in markdown


def test_a_suggestion_with_backticks_gets_a_longer_fence() -> None:
    code = "x = ```y```"
    result = run_of(to_sarif(review(findings=(finding(suggestion=code),))))["results"][0]
    assert f"````\n{code}\n````" in result["message"]["markdown"]


def test_long_messages_are_clipped() -> None:
    long = finding(message="word " * 5000)
    text = run_of(to_sarif(review(findings=(long,))))["results"][0]["message"]["text"]
    assert len(text) <= MAX_MESSAGE_CHARS
    assert text.endswith("…")


def test_result_properties_carry_confidence_and_score() -> None:
    results = run_of(to_sarif(review(findings=rich_findings())))["results"]
    props = results[1]["properties"]
    assert props == {
        "severity": "critical",
        "category": "security",
        "confidence": 0.9,
        "score": 2.7,
        "title": "SQL injection",
        "security-severity": "9.5",
    }
    assert "security-severity" not in results[0]["properties"]


def test_fingerprint_is_stable_when_the_finding_moves() -> None:
    before = finding(start_line=10, end_line=11, code="a = 1\nb = 2")
    after = finding(start_line=42, end_line=43, code="a = 1\nb = 2")
    first = run_of(to_sarif(review(findings=(before,))))["results"][0]
    second = run_of(to_sarif(review(findings=(after,))))["results"][0]
    assert location(first)["region"]["startLine"] == 10
    assert location(second)["region"]["startLine"] == 42
    assert first["partialFingerprints"] == second["partialFingerprints"]
    assert first["partialFingerprints"] == {FINGERPRINT_KEY: "fp-bug-1"}
    # GitHub computes primaryLocationLineHash itself from the file; a guess of ours would clash.
    assert "primaryLocationLineHash" not in first["partialFingerprints"]


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("src/app.py", "src/app.py"),
        ("src/db query.py", "src/db%20query.py"),
        ("docs/naïve/Ünïcode.py", "docs/na%C3%AFve/%C3%9Cn%C3%AFcode.py"),
        ("./rel/x.py", "rel/x.py"),
        ("c:odd/name#1?.py", "c%3Aodd/name%231%3F.py"),
        ("100%.txt", "100%25.txt"),
    ],
)
def test_uris_are_relative_percent_encoded_and_based_on_srcroot(path: str, uri: str) -> None:
    result = run_of(to_sarif(review(findings=(finding(path=path),))))["results"][0]
    artifact = location(result)["artifactLocation"]
    assert artifact == {"uri": uri, "uriBaseId": "%SRCROOT%"}
    assert unquote(uri) == path.removeprefix("./")


def test_root_relativizes_absolute_paths(validator: Draft4Validator, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    inside = root / "pkg" / "mod.py"
    outside = tmp_path / "elsewhere.py"
    findings = (finding(path=str(inside)), finding(path=str(outside), fingerprint="fp-2"))
    log = to_sarif(review(findings=findings), root=str(root))
    assert_valid(validator, log)
    run = run_of(log)
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == root.resolve().as_uri() + "/"
    first, second = (location(r)["artifactLocation"] for r in run["results"])
    assert first == {"uri": "pkg/mod.py", "uriBaseId": "%SRCROOT%"}
    assert second == {"uri": outside.as_uri()}


def test_root_applies_to_notification_locations(tmp_path: Path) -> None:
    skipped = NotReviewed(path=str(tmp_path / "vendor" / "x.js"), reason="vendored")
    log = to_sarif(review(not_reviewed=(skipped,)), root=str(tmp_path))
    (note,) = run_of(log)["invocations"][0]["toolExecutionNotifications"]
    artifact = note["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "vendor/x.js", "uriBaseId": "%SRCROOT%"}


def test_without_root_no_base_is_claimed() -> None:
    assert "originalUriBaseIds" not in run_of(to_sarif(review()))


def test_region_columns_are_utf16_and_span_the_last_line() -> None:
    results = run_of(to_sarif(review(findings=rich_findings())))["results"]
    run = run_of(to_sarif(review()))
    assert run["columnKind"] == "utf16CodeUnits"
    single = location(results[0])["region"]
    assert single["startLine"] == single["endLine"] == 10
    assert (single["startColumn"], single["endColumn"]) == (
        1,
        len("    for i in range(n - 1):") + 1,
    )
    multi = location(results[1])["region"]
    assert (multi["startLine"], multi["endLine"], multi["endColumn"]) == (3, 5, 2)
    assert multi["snippet"] == {"text": SQL_CODE}
    # 14 code points, but the emoji is two UTF-16 code units.
    assert location(results[2])["region"]["endColumn"] == 16
    # Unknown code: whole lines, no columns.
    assert location(results[3])["region"] == {"startLine": 7, "endLine": 8}


def test_code_that_does_not_match_the_range_gives_no_columns() -> None:
    f = finding(start_line=1, end_line=3, code="only one line")
    region = location(run_of(to_sarif(review(findings=(f,))))["results"][0])["region"]
    assert region == {"startLine": 1, "endLine": 3}


def test_suggestion_becomes_a_fix_over_the_same_region() -> None:
    result = run_of(to_sarif(review(findings=rich_findings())))["results"][1]
    (fix,) = result["fixes"]
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"] == location(result)["artifactLocation"]
    (replacement,) = change["replacements"]
    region = dict(location(result)["region"])
    region.pop("snippet")
    assert replacement["deletedRegion"] == region
    assert replacement["insertedContent"]["text"] == SQL_FIX.removesuffix("\n")
    assert "fixes" not in run_of(to_sarif(review(findings=(finding(),))))["results"][0]


def test_one_run_with_a_category() -> None:
    log = to_sarif(review(findings=rich_findings()))
    assert run_of(log)["automationDetails"] == {"id": "reviewer/"}
    log = to_sarif(review(), category="reviewer/python/")
    assert run_of(log)["automationDetails"] == {"id": "reviewer/python/"}


def test_run_properties_carry_score_summary_and_stats() -> None:
    props = run_of(to_sarif(review(score=4, summary="Two problems.")))["properties"]
    assert props["score"] == 4
    assert props["summary"] == "Two problems."
    assert props["stats"]["files_total"] == 3
    assert props["headSha"] == "b" * 40


def test_reporter_renders_indented_json() -> None:
    reporter = SarifReporter()
    assert reporter.name == "sarif"
    result = review(findings=rich_findings())
    text = reporter.render(result, color=True)
    assert text == reporter.render(result, color=False)
    assert text.endswith("}\n")
    assert text.startswith('{\n  "$schema"')
    assert "Ünïcode" not in text  # the path is percent-encoded ...
    assert "ünï 😀" in text  # ... while code stays readable UTF-8
    assert json.loads(text) == to_sarif(result)
    custom = SarifReporter(category="ci/lint").render(result)
    assert json.loads(custom)["runs"][0]["automationDetails"]["id"] == "ci/lint/"


# --------------------------------------------------------------------------- limits


def test_result_count_is_capped_dropping_the_least_severe_first() -> None:
    extra = 7
    low = [finding(severity="low", fingerprint=f"low-{i}", start_line=i + 1) for i in range(extra)]
    high = [
        finding(severity="high", fingerprint=f"high-{i}", start_line=i + 1)
        for i in range(GITHUB_MAX_RESULTS)
    ]
    # The low ones first, so a cut from the end would keep them.
    log = to_sarif(review(findings=(*low, *high)))
    run = run_of(log)
    assert len(run["results"]) == GITHUB_MAX_RESULTS
    assert {r["level"] for r in run["results"]} == {"error"}
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning"
    assert note["message"]["text"].startswith(f"{extra} results of the lowest severity")
    assert "25,000" in note["message"]["text"]
    # A log this size is written compact: it is for machines, and GitHub counts gzipped bytes.
    assert "\n" not in render_sarif(log).rstrip("\n")


def test_gzipped_size_is_capped(validator: Draft4Validator) -> None:
    # Incompressible messages, so the size limit bites at a few dozen results.
    findings = tuple(
        finding(
            severity="medium" if i % 2 else "high",
            fingerprint=f"fp-{i}",
            message=base64.b64encode(random.Random(i).randbytes(600)).decode(),
        )
        for i in range(200)
    )
    limit = 40_000
    log = to_sarif(review(findings=findings), max_gzip_bytes=limit)
    assert_valid(validator, log)
    assert len(gzip.compress(render_sarif(log).encode())) <= limit
    run = run_of(log)
    kept = len(run["results"])
    assert 0 < kept < 200
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["message"]["text"].startswith(f"{200 - kept} results of the lowest severity")
    assert "40,000 bytes" in note["message"]["text"]
    # 100 are high, 100 medium: the medium ones go first.
    levels = [r["level"] for r in run["results"]]
    assert levels.count("error") == min(kept, 100)


def test_not_reviewed_notifications_are_capped() -> None:
    skipped = tuple(
        NotReviewed(path=f"vendor/f{i}.js", reason="vendored")
        for i in range(MAX_NOT_REVIEWED_NOTIFICATIONS + 5)
    )
    notes = run_of(to_sarif(review(not_reviewed=skipped)))["invocations"][0][
        "toolExecutionNotifications"
    ]
    assert len(notes) == MAX_NOT_REVIEWED_NOTIFICATIONS + 1
    assert notes[-1]["message"]["text"].startswith("5 more files were not reviewed")


# --------------------------------------------------------------------------- third-party check


def test_microsoft_sarif_multitool_accepts_the_output(tmp_path: Path) -> None:
    if not MULTITOOL.exists() or shutil.which("node") is None:
        message = "tools/node_modules not installed (npm ci --prefix tools)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the SARIF multitool")
        pytest.skip(message)
    result = review(
        findings=rich_findings(),
        failures=(
            ChunkFailure(
                chunk_id="c1", index=0, paths=("a.py",), lines=3, kind="timeout", message="slow"
            ),
        ),
        not_reviewed=(NotReviewed(path="x.bin", reason="binary"),),
    )
    sarif = tmp_path / "review.sarif"
    sarif.write_text(SarifReporter().render(result), encoding="utf-8")
    proc = subprocess.run(
        [str(REPO / "tools/sarif-validate"), str(sarif)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 errors, 0 warnings" in proc.stdout
