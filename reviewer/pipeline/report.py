"""The ``ReviewResult`` of a run, built up wave by wave: what was planned (``add_plan``), what
each chunk left behind (``ChunkResult``s), and what it all cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reviewer import __version__
from reviewer.core.settings import Settings
from reviewer.core.values import (
    ChunkFailure,
    ChunkInfo,
    FileEntry,
    InstructionSource,
    NotReviewed,
    RedactionSite,
    RepoRules,
    ReviewResult,
    Stats,
)
from reviewer.findings.aggregate import counts_by_severity
from reviewer.findings.anchor import sanitize
from reviewer.findings.collect import aggregate_findings
from reviewer.findings.scoring import overall_score
from reviewer.llm.modelinfo import estimate_cost

if TYPE_CHECKING:  # the pipeline's types; a run with nothing to send imports none of it
    from reviewer.pipeline.budget import Decision
    from reviewer.pipeline.check import Checked
    from reviewer.pipeline.execute import ChunkResult
    from reviewer.pipeline.plan import PlannedChunk, ReviewPlan
    from reviewer.pipeline.ports import Changes, Endpoint
    from reviewer.prepare.screen import Screened

_STATUS = {"send": "review", "cached": "cached", "over-budget": "over-budget"}


@dataclass
class Report:
    """What every result of one run says, accumulated while the run goes (planning thread)."""

    changes: Changes
    endpoint: Endpoint
    settings: Settings
    files_listed: int
    show_redactions: bool = False  # list where values were redacted (--show-redactions)
    rules: RepoRules = field(default_factory=RepoRules)
    window: int | None = None
    prices: tuple[float | None, float | None] = (None, None)
    not_reviewed: list[NotReviewed] = field(default_factory=list)
    infos: list[ChunkInfo] = field(default_factory=list)
    reviewed: set[str] = field(default_factory=set)
    left_out: dict[str, list[int]] = field(default_factory=dict)  # path -> chunk lines over budget
    unread: dict[str, int] = field(default_factory=dict)  # path -> changed lines, never read
    sites: list[RedactionSite] = field(default_factory=list)
    sources: tuple[InstructionSource, ...] = ()
    warnings: list[str] = field(default_factory=list)
    estimated_in: int = 0
    estimated_cost: float | None = 0.0
    estimated_verify_in: int = 0
    context_tokens: int = 0

    def add_wave(self, screened: Screened) -> None:
        self.not_reviewed.extend(screened.not_reviewed)
        self.sites.extend(screened.sites)

    def add_plan(
        self, plan: ReviewPlan, decisions: Sequence[tuple[PlannedChunk, Decision]]
    ) -> None:
        if plan.chunks:
            self.window = plan.window
            self.prices = plan.prices
            self.sources = plan.instruction_sources
        self.not_reviewed.extend(plan.over_budget)
        self.sites.extend(plan.context_sites)
        self.warnings.extend(plan.warnings)
        tokens, cost = plan.estimate(plan.chunks)
        self.estimated_in += tokens
        self.estimated_cost = _add(self.estimated_cost, cost)
        self.estimated_verify_in += plan.verify_estimate(plan.chunks)[0]
        self.context_tokens += plan.context_tokens
        for planned, decision in decisions:
            chunk = planned.chunk
            self.infos.append(
                ChunkInfo(
                    index=chunk.index,
                    id=chunk.id,
                    paths=chunk.paths,
                    tokens=planned.tokens,
                    changed_lines=chunk.changed_lines,
                    status=_STATUS[decision],
                )
            )
            if decision == "over-budget":
                for f in chunk.files:
                    self.left_out.setdefault(f.path, []).extend(sorted(f.changed_lines))
            else:
                self.reviewed.update(chunk.paths)

    def left_unread(self, entries: Iterable[FileEntry]) -> None:
        """Files the budget had no room for, listed from the change's listing (not read)."""
        for entry in entries:
            self.unread[entry.path] = entry.changed_lines

    # ------------------------------------------------------------------ results

    def unsent(self, dry_run: bool, duration: float) -> ReviewResult:
        """A dry run, or nothing to send."""
        summary = "Dry run: nothing was sent." if dry_run else combine_summaries([], 0, 0)
        stats = Stats(**self._base_stats(), duration_s=round(duration, 3))
        return self._result(
            score=10,
            summary=summary,
            stats=stats,
            dry_run=dry_run,
            warnings=self._warnings(),
        )

    def finished(
        self,
        results: Sequence[ChunkResult],
        duration: float,
        *,
        warnings: Sequence[str] = (),
        response_format: str | None = None,
    ) -> ReviewResult:
        from reviewer.pipeline.check import Checked

        checked = sum((r.checked for r in results), Checked())
        collected = aggregate_findings(
            checked.findings,
            self.settings,
            discarded=sum(r.discarded for r in results),
            clamped=sum(r.clamped for r in results),
        )
        failures = failures_of(results)
        findings = collected.aggregated.findings
        outcomes = [r.outcome for r in results]
        usage_in = sum(o.usage.prompt_tokens for o in outcomes) + checked.usage.prompt_tokens
        usage_out = (
            sum(o.usage.completion_tokens for o in outcomes) + checked.usage.completion_tokens
        )
        modes = [o.mode_used for o in outcomes if o.mode_used]
        sent = [r.outcome for r in results if not r.cached and r.outcome.requests]
        stats = Stats(
            **self._base_stats(),
            **_check_stats(checked),
            chunks_failed=len(failures),
            chunks_cached=sum(r.cached for r in results),
            requests=sum(o.requests for o in outcomes) + checked.requests,
            retries=sum(o.retries for o in outcomes) + checked.retries,
            tokens_in=usage_in,
            tokens_out=usage_out,
            usage_estimated=any(o.usage.estimated for o in sent),
            cost_usd=estimate_cost(usage_in, usage_out, *self.prices),
            duration_s=round(duration, 3),
            findings_total=len(findings),
            findings_by_severity=counts_by_severity(findings),
            discarded_findings=collected.discarded,
            clamped_findings=collected.clamped,
            duplicate_findings=collected.aggregated.duplicates,
            filtered_findings=collected.aggregated.filtered,
            response_format=response_format or (modes[-1] if modes else None),
            streamed=any(o.streamed for o in sent) if sent else None,
        )
        summaries = [r.outcome.answer.summary for r in results if r.outcome.answer is not None]
        return self._result(
            score=overall_score(findings),
            summary=combine_summaries(summaries, len(self.reviewed), len(failures)),
            findings=findings,
            failures=failures,
            stats=stats,
            warnings=self._warnings(*warnings, *checked.warnings),
            dropped=checked.dropped,
        )

    def _warnings(self, *more: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.warnings, *more, *self.rules.warnings)))

    def _all_not_reviewed(self) -> tuple[NotReviewed, ...]:
        over = tuple(
            _over_budget(path, lines, path in self.reviewed)
            for path, lines in self.left_out.items()
        ) + tuple(
            NotReviewed(
                path=path,
                reason="over-budget",
                detail=f"left out by the budget ({lines} changed lines): higher priorities first",
            )
            for path, lines in self.unread.items()
        )
        return (*self.changes.not_reviewed, *self.not_reviewed, *over)

    def _base_stats(self) -> dict[str, Any]:
        sites = self.sites
        over = [i for i in self.infos if i.status == "over-budget"]
        return {
            "files_total": self.files_listed + len(self.changes.not_reviewed),
            "files_reviewed": len(self.reviewed),
            "files_not_reviewed": len({n.path for n in self._all_not_reviewed()}),
            "chunks": len(self.infos),
            "chunks_over_budget": len(over),
            "lines_over_budget": sum(i.changed_lines for i in over) + sum(self.unread.values()),
            "estimated_tokens_in": self.estimated_in,
            "context_tokens": self.context_tokens,
            "estimated_cost_usd": self.estimated_cost,
            "redactions": len(sites),
            "redactions_secrets": sum(1 for s in sites if s.kind == "secret"),
            "redactions_pii": sum(1 for s in sites if s.kind == "pii"),
            "redactions_by_family": dict(sorted(Counter(s.family for s in sites).items())),
            "estimated_verify_tokens_in": self.estimated_verify_in,
            "instruction_tokens": sum(s.tokens for s in self.sources),
            "context_window": self.window if self.infos else None,
        }

    def _result(self, **fields: object) -> ReviewResult:
        return ReviewResult.model_validate(
            {
                "tool_version": __version__,
                "source": self.changes.description,
                "base_sha": self.changes.base_sha,
                "head_sha": self.changes.head_sha,
                "model": self.endpoint.model,
                "provider": self.endpoint.provider,
                "not_reviewed": self._all_not_reviewed(),
                "reviewed_paths": tuple(sorted(self.reviewed)),
                "chunks": tuple(self.infos),
                "redaction_sites": tuple(self.sites) if self.show_redactions else (),
                "instructions": (*self.sources, *self.rules.skipped),
                **fields,
            }
        )


def _add(total: float | None, cost: float | None) -> float | None:
    if total is None or cost is None:
        return None
    return round(total + cost, 6)


def _over_budget(path: str, lines: list[int], partly_reviewed: bool) -> NotReviewed:
    if not partly_reviewed:
        detail = f"left out by the budget ({len(lines)} changed lines): higher priorities first"
        return NotReviewed(path=path, reason="over-budget", detail=detail)
    return NotReviewed(
        path=path,
        reason="over-budget",
        detail=f"lines {_ranges(lines)} left out by the budget; the rest of the file was reviewed",
    )


def _ranges(lines: list[int], shown: int = 10) -> str:
    ranges: list[list[int]] = []
    for n in sorted(set(lines)):
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1][1] = n
        else:
            ranges.append([n, n])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges[:shown])
    return text + (f" and {len(ranges) - shown} more ranges" if len(ranges) > shown else "")


def _check_stats(checked: Checked) -> dict[str, int]:
    return {
        "verify_chunks": checked.chunks,
        "verify_cached": checked.cached,
        "verify_failed": checked.failed,
        "verify_requests": checked.requests,
        "verify_tokens_in": checked.usage.prompt_tokens,
        "verify_tokens_out": checked.usage.completion_tokens,
        "confirmed_findings": checked.confirmed,
        "corrected_findings": checked.corrected,
        "refuted_findings": checked.refuted,
        "unverified_findings": checked.unverified,
        "suppressed_findings": checked.suppressed,
    }


def failures_of(results: Sequence[ChunkResult]) -> tuple[ChunkFailure, ...]:
    return tuple(
        ChunkFailure(
            chunk_id=r.chunk_id,
            index=r.index,
            paths=r.paths,
            lines=r.changed_lines,
            kind=r.outcome.failure_kind or "failed",
            message=sanitize(r.outcome.failure_message or "the chunk could not be reviewed"),
        )
        for r in results
        if r.outcome.answer is None
    )


def combine_summaries(summaries: Sequence[str], files: int, failed: int) -> str:
    # Model text, like a finding's: no control characters or bidi overrides in any output.
    parts = list(dict.fromkeys(sanitize(s).strip() for s in summaries if s and s.strip()))
    text = "\n".join(parts)
    if len(text) > 2000:
        text = text[:1999] + "…"
    if failed:
        note = f"Review incomplete: {failed} chunk(s) failed."
        text = f"{note}\n{text}" if text else note
    if not text:
        text = f"Reviewed {files} file(s)." if files else "Nothing to review."
    return text
