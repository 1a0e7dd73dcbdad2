"""The result of ``review eval`` as typed values; its JSON form is ``-o json`` (``schema_version``
1) and what ``--compare`` reads back."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from reviewer.core.values import Category, Frozen, Severity

REPORT_KIND: Literal["reviewer-eval"] = "reviewer-eval"
CaseStatus = Literal["scored", "failed"]


class ProblemOutcome(Frozen):
    """A known problem of a case and whether the review found it."""

    path: str
    start_line: int
    end_line: int
    category: Category
    severity: Severity | None = None
    description: str = ""
    found: bool = False
    same_category: bool = False  # a matching finding has the problem's category
    found_by: tuple[int, ...] = ()  # indices into the case's findings


class FindingOutcome(Frozen):
    """A finding the review reported on a case, and the known problems it matches."""

    path: str
    start_line: int
    end_line: int
    category: Category
    severity: Severity
    confidence: float
    title: str
    matches: tuple[int, ...] = ()  # indices into the case's problems


class CaseOutcome(Frozen):
    """One case: scored, or failed (then never counted as a miss or a pass)."""

    id: str
    language: str
    title: str
    clean: bool
    status: CaseStatus
    error: str | None = None  # why it failed
    problems: tuple[ProblemOutcome, ...] = ()
    findings: tuple[FindingOutcome, ...] = ()
    chunks: int = 0
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None
    duration_s: float = 0.0


class Metrics(Frozen):
    """The figures of one row (overall, a category or a language); see ``metrics.py``."""

    cases: int = 0
    failed: int = 0
    labelled: int = 0  # scored cases with known problems
    clean: int = 0  # scored clean changes
    known: int = 0
    found: int = 0
    recall: float | None = None
    findings: int = 0  # on scored cases with known problems
    matched: int = 0
    precision: float | None = None
    same_category: int = 0
    category_agreement: float | None = None
    clean_findings: int = 0  # false findings: every finding on a clean change
    clean_flagged: int = 0  # clean changes with at least one finding
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None
    latency_p50_s: float | None = None
    latency_p90_s: float | None = None
    latency_max_s: float | None = None


class CorpusInfo(Frozen):
    name: str
    cases: int
    fingerprint: str


class EvalReport(Frozen):
    schema_version: int = 1
    report: Literal["reviewer-eval"] = REPORT_KIND
    tool_version: str
    model: str
    provider: str
    settings: dict[str, Any] = Field(default_factory=dict)  # those that change the answers
    corpus: CorpusInfo
    started_at: str
    duration_s: float
    jobs: int
    overall: Metrics
    by_category: dict[str, Metrics]
    by_language: dict[str, Metrics]
    cases: tuple[CaseOutcome, ...]
    warnings: tuple[str, ...] = ()

    @property
    def failed_cases(self) -> tuple[CaseOutcome, ...]:
        return tuple(c for c in self.cases if c.status == "failed")
