"""``--output codequality``: GitLab's Code Quality report, field by field."""

from __future__ import annotations

import json

from fake_github import make_finding, make_result

from reviewer.core.values import ChunkFailure
from reviewer.outputs import get_reporter
from reviewer.outputs.codequality import to_codequality

REQUIRED = {"description", "check_name", "fingerprint", "severity", "location"}


def test_a_finding_becomes_one_issue_with_every_field() -> None:
    finding = make_finding(
        "src/app.py",
        14,
        12,  # reversed: begin/end come out ordered
        severity="critical",
        category="security",
        title="SQL  built from\nuser input",
        message="Use a parameterised query.",
        suggestion="cur.execute(q, (name,))\n",
        rule_id="reviewer/security",
        fingerprint="0123456789abcdef",
    )

    (issue,) = json.loads(get_reporter("codequality").render(make_result([finding]), color=True))

    assert issue == {
        "type": "issue",
        "check_name": "reviewer/security",
        "description": "SQL built from user input",
        "content": {
            "body": "Use a parameterised query.\n\nSuggested replacement:\n\n"
            "cur.execute(q, (name,))\n"
        },
        "categories": ["Security"],
        "severity": "blocker",
        "fingerprint": "0123456789abcdef",
        "location": {"path": "src/app.py", "lines": {"begin": 12, "end": 14}},
        "engine_name": "reviewer",
    }
    assert set(issue) >= REQUIRED


def test_severities_and_categories_map_in_order() -> None:
    pairs = [
        ("critical", "bug", "blocker", "Bug Risk"),
        ("high", "performance", "critical", "Performance"),
        ("medium", "maintainability", "major", "Complexity"),
        ("low", "style", "minor", "Style"),
        ("info", "docs", "info", "Clarity"),
    ]
    findings = [
        make_finding("a.py", i + 1, severity=sev, category=cat)
        for i, (sev, cat, _, _) in enumerate(pairs)
    ]

    issues = to_codequality(make_result(findings))

    assert [(i["severity"], i["categories"]) for i in issues] == [
        (sev, [cat]) for _, _, sev, cat in pairs
    ]


def test_fingerprints_are_unique_and_do_not_depend_on_the_line() -> None:
    moved = [
        make_finding("a.py", 3, fingerprint="f" * 16),
        make_finding("a.py", 9, fingerprint="f" * 16),
    ]
    issues = to_codequality(make_result(moved))
    assert [i["fingerprint"] for i in issues] == ["f" * 16, "f" * 16 + "-2"]

    before = to_codequality(make_result([make_finding("a.py", 3, fingerprint="e" * 16)]))
    after = to_codequality(make_result([make_finding("a.py", 30, fingerprint="e" * 16)]))
    assert before[0]["fingerprint"] == after[0]["fingerprint"]


def test_a_failed_chunk_is_an_issue_not_a_clean_report() -> None:
    failure = ChunkFailure(
        chunk_id="c1",
        index=2,
        paths=("src/a.py", "src/b.py"),
        lines=40,
        kind="timeout",
        message="no answer in 120s",
    )

    (issue,) = to_codequality(make_result([], failures=(failure,)))

    assert issue["check_name"] == "reviewer/failed-chunk"
    assert issue["severity"] == "major"
    assert issue["description"] == (
        "Not reviewed: chunk 2 (40 changed lines of src/a.py, src/b.py) failed: timeout"
    )
    assert issue["content"] == {"body": "no answer in 120s"}
    assert issue["location"] == {"path": "src/a.py", "lines": {"begin": 1, "end": 1}}
    assert len(issue["fingerprint"]) == 16


def test_no_findings_is_an_empty_array() -> None:
    assert get_reporter("codequality").render(make_result([]), color=False) == "[]\n"
