"""All chunks' findings -> the findings a run reports: dedupe, sort, filter, cap.

1. Dedupe. Two findings are the same when they have the same fingerprint, or when they are on
   the same path with overlapping ranges, the same rule, and near-identical titles (the same
   issue seen by two overlapping chunks, worded slightly differently). The higher scored one
   is kept; ties go to the higher severity, then the earlier location.
2. Sort: severity (worst first), score (highest first), path, start line.
3. Filter: drop findings below ``min_severity`` or ``min_confidence``.
4. Cap at ``max_findings``; ``0`` means unlimited (``--max-findings 0`` would otherwise be a
   way to silently pass every review).

``filtered`` counts what steps 3 and 4 dropped, ``duplicates`` what step 1 dropped.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from reviewer.core.values import SEVERITIES, SEVERITY_RANK, Finding, Frozen, Severity
from reviewer.findings.scoring import severity_at_least

# Word-level difflib ratio at or above which two titles say the same thing. Words, not
# characters: "Unused variable x" / "Unused variable y" are 0.94 alike by characters but two
# issues. "Possible SQL injection in query" / "SQL injection in query" is 0.89 (same issue);
# "Missing null check for user" / "... for order" is 0.8 (kept apart). Merging two real
# issues loses one, so the bar errs on the side of keeping both.
TITLE_SIMILARITY = 0.85
_WORD = re.compile(r"[^\W_]+")


class Aggregated(Frozen):
    findings: tuple[Finding, ...] = ()
    duplicates: int = 0
    filtered: int = 0


def aggregate(
    findings: Iterable[Finding],
    min_severity: Severity,
    min_confidence: float,
    max_findings: int,
) -> Aggregated:
    """Dedupe, sort, filter and cap findings, see the module docstring."""
    unique, duplicates = _dedupe(findings)
    ordered = sorted(unique, key=_report_order)
    shown = [
        f
        for f in ordered
        if severity_at_least(f.severity, min_severity) and f.confidence >= min_confidence
    ]
    if max_findings > 0:
        shown = shown[:max_findings]
    return Aggregated(
        findings=tuple(shown), duplicates=duplicates, filtered=len(ordered) - len(shown)
    )


def counts_by_severity(findings: Iterable[Finding]) -> dict[str, int]:
    """Findings per severity, with all five severities as keys, worst first."""
    counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        counts[f.severity] += 1
    return counts


def blocking(findings: Iterable[Finding], fail_on: Severity | None) -> tuple[Finding, ...]:
    """The findings at or above ``fail_on`` (none when ``fail_on`` is None)."""
    if fail_on is None:
        return ()
    return tuple(f for f in findings if severity_at_least(f.severity, fail_on))


def _report_order(f: Finding) -> tuple[int, float, str, int, int, str, str]:
    return (
        -SEVERITY_RANK[f.severity],
        -f.score,
        f.path,
        f.start_line,
        f.end_line,
        f.title,
        f.fingerprint,
    )


def _dedupe(findings: Iterable[Finding]) -> tuple[list[Finding], int]:
    # Best first, so whichever copy is met first is the one to keep.
    candidates = sorted(
        findings,
        key=lambda f: (
            -f.score,
            -SEVERITY_RANK[f.severity],
            f.path,
            f.start_line,
            f.end_line,
            f.fingerprint,
            f.title,
        ),
    )
    kept: list[Finding] = []
    seen_fingerprints: set[str] = set()
    by_path: dict[str, list[tuple[Finding, tuple[str, ...]]]] = {}
    duplicates = 0
    for f in candidates:
        title = _norm_title(f.title)
        same_place = by_path.get(f.path, [])
        if f.fingerprint in seen_fingerprints or any(
            _same_issue(f, title, other, other_title) for other, other_title in same_place
        ):
            duplicates += 1
            continue
        kept.append(f)
        seen_fingerprints.add(f.fingerprint)
        by_path.setdefault(f.path, []).append((f, title))
    return kept, duplicates


def _same_issue(a: Finding, a_title: tuple[str, ...], b: Finding, b_title: tuple[str, ...]) -> bool:
    return (
        a.rule_id == b.rule_id
        and a.start_line <= b.end_line
        and b.start_line <= a.end_line
        and (
            a_title == b_title
            or difflib.SequenceMatcher(None, a_title, b_title).ratio() >= TITLE_SIMILARITY
        )
    )


def _norm_title(title: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(title.lower()))
