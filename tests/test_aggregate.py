from __future__ import annotations

import itertools

import pytest

from reviewer.core.values import SEVERITIES, Category, Finding, Severity
from reviewer.findings.aggregate import aggregate, blocking, counts_by_severity
from reviewer.findings.scoring import finding_score


def finding(
    title: str = "Off-by-one in loop bound",
    *,
    path: str = "src/app.py",
    start: int = 10,
    end: int | None = None,
    severity: Severity = "high",
    category: Category = "bug",
    confidence: float = 0.9,
    fp: str | None = None,
    chunk_id: str = "c1",
) -> Finding:
    return Finding(
        path=path,
        start_line=start,
        end_line=start if end is None else end,
        severity=severity,
        category=category,
        confidence=confidence,
        title=title,
        message="m",
        rule_id=f"reviewer/{category}",
        fingerprint=fp or f"{path}:{start}:{title}:{category}",
        score=finding_score(severity, confidence),
        chunk_id=chunk_id,
    )


def run(findings: list[Finding], **kw: object) -> tuple[list[str], int, int]:
    args: dict[str, object] = {"min_severity": "info", "min_confidence": 0.0, "max_findings": 0}
    args.update(kw)
    out = aggregate(findings, **args)  # type: ignore[arg-type]
    return [f.title for f in out.findings], out.duplicates, out.filtered


def test_same_fingerprint_keeps_the_higher_score() -> None:
    low = finding("a", confidence=0.6, fp="same", chunk_id="c1")
    high = finding("b", confidence=0.95, fp="same", chunk_id="c2", start=30)
    assert run([low, high]) == (["b"], 1, 0)
    assert run([high, low]) == (["b"], 1, 0)


@pytest.mark.parametrize(
    ("other", "duplicate"),
    [
        (finding("Off by one in the loop bound", start=9, end=11, confidence=0.7), True),
        (finding("off-by-one in loop bound!", start=10, confidence=0.7), True),
        (finding("Possible off-by-one in loop bound", start=10, confidence=0.7), True),
        (finding("Off-by-one in loop bound", start=11, confidence=0.7), False),  # no overlap
        (finding("Off-by-one in loop bound", category="tests", confidence=0.7), False),  # rule
        (finding("Off-by-one in loop bound", path="src/b.py", confidence=0.7), False),
        (finding("Unchecked None return value", confidence=0.7), False),
        (finding("Off-by-one in loop start", confidence=0.7), False),
    ],
)
def test_near_duplicates_across_chunks(other: Finding, duplicate: bool) -> None:
    base = finding()
    titles, dups, _ = run([other, base])
    assert dups == int(duplicate)
    assert titles == (["Off-by-one in loop bound"] if duplicate else [base.title, other.title])


def test_identifiers_in_titles_keep_findings_apart() -> None:
    a = finding("Unused variable x")
    b = finding("Unused variable y", confidence=0.8)
    assert run([a, b]) == (["Unused variable x", "Unused variable y"], 0, 0)


def test_sort_order_severity_score_path_line() -> None:
    items = [
        finding("low", severity="low", path="a.py"),
        finding("high-b-20", path="b.py", start=20),
        finding("high-b-5", path="b.py", start=5),
        finding("high-a", path="a.py", start=50),
        finding("high-confident", path="z.py", confidence=1.0),
        finding("crit", severity="critical", path="z.py", confidence=0.5),
    ]
    expected = ["crit", "high-confident", "high-a", "high-b-5", "high-b-20", "low"]
    for perm in itertools.permutations(items):
        assert run(list(perm))[0] == expected


def test_filters_then_cap() -> None:
    items = [
        finding("crit", severity="critical", path="a.py"),
        finding("high", severity="high", path="b.py"),
        finding("unsure", severity="high", confidence=0.3, path="c.py"),
        finding("med", severity="medium", path="d.py"),
        finding("low", severity="low", path="e.py"),
    ]
    assert run(items, min_severity="medium", min_confidence=0.5) == (["crit", "high", "med"], 0, 2)
    assert run(items, min_severity="medium", min_confidence=0.5, max_findings=2) == (
        ["crit", "high"],
        0,
        3,
    )
    assert run(items, max_findings=1) == (["crit"], 0, 4)
    # 0 means unlimited, so "--max-findings 0" can never hide every finding.
    assert len(run(items, max_findings=0)[0]) == 5


def test_confidence_threshold_is_inclusive() -> None:
    assert run([finding(confidence=0.7)], min_confidence=0.7)[0] == ["Off-by-one in loop bound"]


def test_duplicates_are_removed_before_filtering() -> None:
    strong = finding(confidence=0.95, fp="x")
    weak = finding(confidence=0.2, fp="x", chunk_id="c2")
    assert run([weak, strong], min_confidence=0.5) == (["Off-by-one in loop bound"], 1, 0)


def test_empty() -> None:
    out = aggregate([], "low", 0.5, 50)
    assert (out.findings, out.duplicates, out.filtered) == ((), 0, 0)


def test_counts_by_severity_has_every_key_worst_first() -> None:
    counts = counts_by_severity([finding(severity="low"), finding(severity="low"), finding()])
    assert counts == {"critical": 0, "high": 1, "medium": 0, "low": 2, "info": 0}
    assert list(counts) == list(SEVERITIES)
    assert counts_by_severity([]) == dict.fromkeys(SEVERITIES, 0)


def test_blocking() -> None:
    items = [
        finding("c", severity="critical"),
        finding("m", severity="medium"),
        finding("i", severity="info"),
    ]
    assert [f.title for f in blocking(items, "high")] == ["c"]
    assert [f.title for f in blocking(items, "medium")] == ["c", "m"]
    assert [f.title for f in blocking(items, "info")] == ["c", "m", "i"]
    assert blocking(items, None) == ()
