"""Findings against known problems, for one case.

A finding matches a known problem when it is on the same file and the two line ranges overlap
(they share at least one line). Nothing else is required: the category is compared separately
(``same_category``), and severity, confidence and wording are not judged. One finding may match
several problems and several findings one problem; a problem is found when any finding matches
it, a finding is right when it matches any problem. The findings are those the review reports,
after anchoring, de-duplication and the ``--min-severity``/``--min-confidence``/
``--max-findings`` filters: what a user of the same settings would see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reviewer.core.values import Finding, ReviewResult
from reviewer.evaluate.corpus import Case, Problem
from reviewer.evaluate.report import CaseOutcome, FindingOutcome, ProblemOutcome

# Skip reasons that leave nothing to look at (a deletion, a pure rename): not a failure.
NOTHING_TO_REVIEW = frozenset({"deleted", "empty", "mode-only"})


def overlaps(finding: Finding, problem: Problem) -> bool:
    return (
        finding.path == problem.path
        and finding.start_line <= problem.end_line
        and problem.start_line <= finding.end_line
    )


def match_case(
    problems: Sequence[Problem], findings: Sequence[Finding]
) -> tuple[tuple[ProblemOutcome, ...], tuple[FindingOutcome, ...]]:
    """Each problem with the findings that match it, each finding with the problems it matches."""
    pairs = [(p, f) for p in range(len(problems)) for f in range(len(findings))]
    hits = [(p, f) for p, f in pairs if overlaps(findings[f], problems[p])]
    problem_outcomes = []
    for index, problem in enumerate(problems):
        by = tuple(f for p, f in hits if p == index)
        problem_outcomes.append(
            ProblemOutcome(
                **problem.model_dump(),
                found=bool(by),
                same_category=any(findings[f].category == problem.category for f in by),
                found_by=by,
            )
        )
    finding_outcomes = tuple(
        FindingOutcome(
            path=finding.path,
            start_line=finding.start_line,
            end_line=finding.end_line,
            category=finding.category,
            severity=finding.severity,
            confidence=finding.confidence,
            title=finding.title,
            matches=tuple(p for p, f in hits if f == index),
        )
        for index, finding in enumerate(findings)
    )
    return tuple(problem_outcomes), finding_outcomes


def case_outcome(case: Case, result: ReviewResult) -> CaseOutcome:
    """A case's outcome from its review. A failed chunk, or a file of the change left
    unreviewed (other than a deletion or a pure rename), fails the case: the review did not
    look at everything, so neither a miss nor a clean pass would be true."""
    usage = _usage(result)
    problem_outcomes, finding_outcomes = match_case(case.spec.problems, result.findings)
    error = _failure(result)
    return CaseOutcome(
        id=case.id,
        language=case.spec.language,
        title=case.spec.title,
        clean=case.clean,
        status="failed" if error else "scored",
        error=error,
        problems=problem_outcomes,
        findings=finding_outcomes,
        **usage,
    )


def failed_outcome(case: Case, error: str, result: ReviewResult | None = None) -> CaseOutcome:
    """A case whose review raised: no figures but what it cost, if anything is known."""
    return CaseOutcome(
        id=case.id,
        language=case.spec.language,
        title=case.spec.title,
        clean=case.clean,
        status="failed",
        error=error,
        problems=tuple(ProblemOutcome(**p.model_dump()) for p in case.spec.problems),
        **(_usage(result) if result is not None else {}),
    )


def _usage(result: ReviewResult) -> dict[str, Any]:
    stats = result.stats
    return {
        "chunks": stats.chunks,
        "requests": stats.requests,
        "tokens_in": stats.tokens_in,
        "tokens_out": stats.tokens_out,
        "cost_usd": stats.cost_usd,
        "duration_s": stats.duration_s,
    }


def _failure(result: ReviewResult) -> str | None:
    if result.failures:
        first = result.failures[0]
        more = (
            f" (and {len(result.failures) - 1} more chunk(s))" if len(result.failures) > 1 else ""
        )
        return f"{first.kind}: {first.message}{more}"
    skipped = [n for n in result.not_reviewed if n.reason not in NOTHING_TO_REVIEW]
    if skipped:
        listed = ", ".join(f"{n.path} ({n.reason})" for n in skipped[:3])
        return f"not reviewed: {listed}"
    if result.stats.chunks == 0:
        return "nothing was reviewed"
    return None
