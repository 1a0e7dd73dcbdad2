"""The figures of a run, overall, per category and per language.

Only scored cases count towards quality; a failed case is listed as failed, never as a miss
(its problems are not in ``known``) nor as a pass (a failed clean change is not in ``clean``).

* recall = problems found / known problems, over scored cases with known problems;
* precision = findings that match a known problem / all findings, over the same cases;
* false findings on clean changes = every finding on a scored clean change (and how many clean
  changes got at least one);
* category agreement = found problems with a matching finding of the same category / found.

A category row counts the problems of that category (recall, agreement), the findings the
review put in that category (precision, false findings), and, for cases, tokens, cost and
latency, the cases with a problem of that category. Tokens and cost add up every case, failed
ones too (they were paid for); latency is over scored cases: the nearest-rank 50th and 90th
percentile and the maximum of the seconds one case's review took.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from reviewer import __version__
from reviewer.core.values import CATEGORIES
from reviewer.evaluate.report import CaseOutcome, CorpusInfo, EvalReport, Metrics

RATIO_DIGITS = 4


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, RATIO_DIGITS) if whole else None


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least ``fraction`` of values <= it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summarise(cases: Sequence[CaseOutcome], category: str | None = None) -> Metrics:
    """One row: every case, or (``category``) the problems, findings and cases of a category."""

    def wanted(item_category: str) -> bool:
        return category is None or item_category == category

    scored = [c for c in cases if c.status == "scored"]
    labelled = [c for c in scored if not c.clean]
    clean = [c for c in scored if c.clean]
    problems = [p for c in labelled for p in c.problems if wanted(p.category)]
    findings = [f for c in labelled for f in c.findings if wanted(f.category)]
    false = [[f for f in c.findings if wanted(f.category)] for c in clean]
    row = [c for c in cases if category is None or any(p.category == category for p in c.problems)]
    found = [p for p in problems if p.found]
    matched = [f for f in findings if f.matches]
    same = [p for p in found if p.same_category]
    latencies = [c.duration_s for c in row if c.status == "scored"]
    costs = [c.cost_usd for c in row if c.cost_usd is not None]
    return Metrics(
        cases=len(row),
        failed=sum(c.status == "failed" for c in row),
        labelled=sum(c.status == "scored" and not c.clean for c in row),
        clean=len(clean),
        known=len(problems),
        found=len(found),
        recall=ratio(len(found), len(problems)),
        findings=len(findings),
        matched=len(matched),
        precision=ratio(len(matched), len(findings)),
        same_category=len(same),
        category_agreement=ratio(len(same), len(found)),
        clean_findings=sum(len(f) for f in false),
        clean_flagged=sum(bool(f) for f in false),
        tokens_in=sum(c.tokens_in for c in row),
        tokens_out=sum(c.tokens_out for c in row),
        cost_usd=round(sum(costs), 6) if costs else None,
        latency_p50_s=percentile(latencies, 0.5),
        latency_p90_s=percentile(latencies, 0.9),
        latency_max_s=max(latencies) if latencies else None,
    )


def by_category(cases: Sequence[CaseOutcome]) -> dict[str, Metrics]:
    """A row for every category that has known problems or findings, in ``CATEGORIES`` order."""
    present = {p.category for c in cases for p in c.problems}
    present |= {f.category for c in cases if c.status == "scored" for f in c.findings}
    return {name: summarise(cases, name) for name in CATEGORIES if name in present}


def by_language(cases: Sequence[CaseOutcome]) -> dict[str, Metrics]:
    return _grouped(cases, lambda c: c.language)


def _grouped(cases: Sequence[CaseOutcome], key: Callable[[CaseOutcome], str]) -> dict[str, Metrics]:
    names = sorted({key(c) for c in cases})
    return {name: summarise([c for c in cases if key(c) == name]) for name in names}


def make_report(
    cases: Sequence[CaseOutcome],
    *,
    model: str,
    provider: str,
    settings: dict[str, Any],
    corpus: CorpusInfo,
    started_at: str,
    duration_s: float,
    jobs: int,
    warnings: Sequence[str] = (),
) -> EvalReport:
    return EvalReport(
        tool_version=__version__,
        model=model,
        provider=provider,
        settings=settings,
        corpus=corpus,
        started_at=started_at,
        duration_s=round(duration_s, 3),
        jobs=jobs,
        overall=summarise(cases),
        by_category=by_category(cases),
        by_language=by_language(cases),
        cases=tuple(cases),
        warnings=tuple(dict.fromkeys(warnings)),
    )
