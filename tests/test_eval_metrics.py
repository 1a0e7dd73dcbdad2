"""The pure parts of ``review eval``: matching, the metrics, and the comparison, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from reviewer.core.values import Finding
from reviewer.evaluate.compare import found_only, render_compare
from reviewer.evaluate.corpus import Problem
from reviewer.evaluate.match import match_case, overlaps
from reviewer.evaluate.metrics import make_report, percentile, summarise
from reviewer.evaluate.report import CaseOutcome, CorpusInfo, FindingOutcome, ProblemOutcome


def finding(path: str, start: int, end: int, category: str = "bug") -> Finding:
    return Finding(
        path=path,
        start_line=start,
        end_line=end,
        severity="high",
        category=category,  # type: ignore[arg-type]
        confidence=0.9,
        title="t",
        message="m",
        rule_id=f"reviewer/{category}",
        fingerprint="f",
        score=6.3,
    )


PROBLEM = Problem(path="a.py", start_line=10, end_line=12, category="security")


@pytest.mark.parametrize(
    ("path", "start", "end", "expected"),
    [
        ("a.py", 10, 10, True),  # the first line
        ("a.py", 12, 14, True),  # shares the last line
        ("a.py", 5, 20, True),  # covers it
        ("a.py", 11, 11, True),  # inside
        ("a.py", 9, 9, False),  # the line before: adjacent is not overlapping
        ("a.py", 13, 13, False),  # the line after
        ("b.py", 10, 12, False),  # another file, same lines
        ("./a.py", 10, 12, False),  # paths are compared as the review reports them
    ],
)
def test_a_finding_matches_on_the_same_file_and_an_overlapping_range(
    path: str, start: int, end: int, expected: bool
) -> None:
    assert overlaps(finding(path, start, end), PROBLEM) is expected


def test_matching_many_to_many_and_category_apart() -> None:
    problems = [PROBLEM, Problem(path="a.py", start_line=20, end_line=20, category="bug")]
    findings = [
        finding("a.py", 11, 11, "bug"),  # the first problem, another category
        finding("a.py", 12, 20, "bug"),  # both problems
        finding("a.py", 30, 30, "security"),  # nothing
    ]
    outcomes, matched = match_case(problems, findings)
    assert [(o.found, o.found_by, o.same_category) for o in outcomes] == [
        (True, (0, 1), False),
        (True, (1,), True),
    ]
    assert [f.matches for f in matched] == [(0,), (0, 1), ()]


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.5, None),
        ([3.0], 0.9, 3.0),
        ([1.0, 2.0], 0.5, 1.0),  # nearest rank: ceil(0.5 * 2) = 1st
        ([4.0, 1.0, 3.0, 2.0], 0.5, 2.0),
        ([4.0, 1.0, 3.0, 2.0], 0.9, 4.0),
        ([float(n) for n in range(1, 11)], 0.9, 9.0),
    ],
)
def test_percentiles_are_nearest_rank(
    values: list[float], fraction: float, expected: float | None
) -> None:
    assert percentile(values, fraction) == expected


def case(
    case_id: str,
    problems: list[tuple[str, bool, bool]] = (),  # type: ignore[assignment]
    findings: list[tuple[str, bool]] = (),  # type: ignore[assignment]
    *,
    status: str = "scored",
    **usage: Any,
) -> CaseOutcome:
    """A case outcome: problems as (category, found, same category), findings as
    (category, matches a problem)."""
    return CaseOutcome(
        id=case_id,
        language=usage.pop("language", "python"),
        title=case_id,
        clean=not problems,
        status=status,  # type: ignore[arg-type]
        error="timeout: slow" if status == "failed" else None,
        problems=tuple(
            ProblemOutcome(
                path="a.py", start_line=1, end_line=1, category=c, found=f, same_category=s
            )
            for c, f, s in problems
        ),
        findings=tuple(
            FindingOutcome(
                path="a.py",
                start_line=1,
                end_line=1,
                category=c,
                severity="high",
                confidence=0.9,
                title="t",
                matches=(0,) if m else (),
            )
            for c, m in findings
        ),
        **usage,
    )


CASES = [
    case(
        "a", [("bug", True, True)], [("bug", True), ("style", False)], tokens_in=100, duration_s=2.0
    ),
    case("b", [("security", False, False), ("bug", True, False)], [("performance", True)]),
    case("c", [], [("style", False)], tokens_in=10, duration_s=1.0, cost_usd=0.5),
    case("d", [], [], duration_s=3.0),
    # Failed: its problem is no miss, its findings nothing; its tokens and cost were paid.
    case("e", [("bug", False, False)], status="failed", tokens_in=7, cost_usd=0.25),
]


def test_overall_figures_leave_failed_cases_out_but_count_their_cost() -> None:
    m = summarise(CASES)
    assert (m.cases, m.failed, m.labelled, m.clean) == (5, 1, 2, 2)
    assert (m.known, m.found, m.recall) == (3, 2, 0.6667)
    assert (m.findings, m.matched, m.precision) == (3, 2, 0.6667)
    assert (m.same_category, m.category_agreement) == (1, 0.5)
    assert (m.clean_findings, m.clean_flagged) == (1, 1)
    assert (m.tokens_in, m.cost_usd) == (117, 0.75)
    assert (m.latency_p50_s, m.latency_max_s) == (1.0, 3.0)  # scored cases: 2, 0, 1, 3


def test_a_category_row() -> None:
    bug = summarise(CASES, "bug")
    # Problems of the category (a: found, b: found in another category); e failed.
    assert (bug.known, bug.found, bug.same_category) == (2, 2, 1)
    # Findings the model put in the category, on cases with known problems.
    assert (bug.findings, bug.matched) == (1, 1)
    # Cases with a problem of the category, for cases, tokens and cost.
    assert (bug.cases, bug.failed, bug.tokens_in, bug.cost_usd) == (3, 1, 107, 0.25)
    style = summarise(CASES, "style")
    assert (style.known, style.findings, style.matched, style.precision) == (0, 1, 0, 0.0)
    assert (style.clean_findings, style.clean_flagged, style.clean) == (1, 1, 2)
    assert style.recall is None and style.cases == 0


def test_no_findings_is_no_precision_rather_than_zero() -> None:
    m = summarise([case("a", [("bug", False, False)])])
    assert (m.recall, m.precision) == (0.0, None)


def report(cases: list[CaseOutcome], fingerprint: str = "f" * 16) -> Any:
    return make_report(
        cases,
        model="m",
        provider="p",
        settings={},
        corpus=CorpusInfo(name="t", cases=len(cases), fingerprint=fingerprint),
        started_at="2024-01-01T00:00:00+00:00",
        duration_s=1.0,
        jobs=1,
    )


def test_compare_counts_problems_found_by_one_run_only() -> None:
    a = report(CASES)
    b = report([case("a", [("bug", False, False)]), *CASES[1:]])
    assert found_only(a, b) == (1, 0)
    text = render_compare(a, b, ("a.json", "b.json"), markdown=False)
    assert "different corpora" not in text
    other = report(CASES, fingerprint="0" * 16)
    assert "different corpora" in render_compare(a, other, ("a", "b"), markdown=False)
