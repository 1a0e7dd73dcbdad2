"""The ``ReviewResult`` of a run: what was planned, what came back, and what it all cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reviewer import __version__
from reviewer.core.values import (
    ChangeSet,
    ChunkFailure,
    RedactionSite,
    RepoRules,
    ReviewResult,
    Stats,
)
from reviewer.findings.aggregate import counts_by_severity
from reviewer.findings.anchor import sanitize
from reviewer.findings.collect import Collected
from reviewer.findings.scoring import overall_score
from reviewer.llm.conversation import ChunkOutcome
from reviewer.llm.modelinfo import estimate_cost
from reviewer.pipeline.execute import Executed
from reviewer.pipeline.plan import ReviewPlan
from reviewer.pipeline.ports import Endpoint
from reviewer.prepare.screen import Screened

if TYPE_CHECKING:
    from reviewer.pipeline.check import Checked


@dataclass(frozen=True, slots=True)
class Report:
    """What every result of one run says, whether or not anything was sent."""

    changes: ChangeSet
    endpoint: Endpoint
    screened: Screened
    plan: ReviewPlan
    show_redactions: bool = False  # list where values were redacted (--show-redactions)
    rules: RepoRules = RepoRules()  # noqa: RUF009 - frozen, so sharing it is safe

    def unsent(self, dry_run: bool, duration: float) -> ReviewResult:
        """A dry run, or nothing to send."""
        summary = "Dry run: nothing was sent." if dry_run else combine_summaries([], 0, 0)
        stats = Stats(**self._base_stats(), duration_s=round(duration, 3))
        return self._result(
            score=10,
            summary=summary,
            stats=stats,
            dry_run=dry_run,
            warnings=(*self.plan.warnings, *self.rules.warnings),
        )

    def reviewed(
        self,
        executed: Executed,
        collected: Collected,
        duration: float,
        checked: Checked | None = None,
    ) -> ReviewResult:
        if checked is None:
            from reviewer.pipeline.check import Checked

            checked = Checked()
        outcomes = [executed.outcomes[p.chunk.id] for p in self.plan.chunks]
        failures = failures_of(self.plan, executed)
        findings = collected.aggregated.findings
        usage_in = sum(o.usage.prompt_tokens for o, _ in outcomes) + checked.usage.prompt_tokens
        usage_out = (
            sum(o.usage.completion_tokens for o, _ in outcomes) + checked.usage.completion_tokens
        )
        modes = [o.mode_used for o, _ in outcomes if o.mode_used]
        sent = [o for o, from_cache in outcomes if not from_cache and o.requests]
        stats = Stats(
            **self._base_stats(),
            **_check_stats(checked),
            chunks_failed=len(failures),
            chunks_cached=sum(from_cache for _, from_cache in outcomes),
            requests=sum(o.requests for o, _ in outcomes) + checked.requests,
            retries=sum(o.retries for o, _ in outcomes) + checked.retries,
            tokens_in=usage_in,
            tokens_out=usage_out,
            usage_estimated=any(o.usage.estimated for o in sent),
            cost_usd=estimate_cost(usage_in, usage_out, *self.plan.prices),
            duration_s=round(duration, 3),
            findings_total=len(findings),
            findings_by_severity=counts_by_severity(findings),
            discarded_findings=collected.discarded,
            clamped_findings=collected.clamped,
            duplicate_findings=collected.aggregated.duplicates,
            filtered_findings=collected.aggregated.filtered,
            response_format=modes[-1] if modes else None,
            streamed=any(o.streamed for o in sent) if sent else None,
        )
        summaries = [o.answer.summary for o, _ in outcomes if o.answer is not None]
        return self._result(
            score=overall_score(findings),
            summary=combine_summaries(summaries, len(self.plan.reviewed_paths), len(failures)),
            findings=findings,
            failures=failures,
            stats=stats,
            warnings=tuple(
                dict.fromkeys(
                    (
                        *self.plan.warnings,
                        *executed.warnings,
                        *self.rules.warnings,
                        *checked.warnings,
                    )
                )
            ),
            dropped=checked.dropped,
        )

    @property
    def not_reviewed(self) -> tuple[Any, ...]:
        return (*self.changes.not_reviewed, *self.screened.not_reviewed, *self.plan.over_budget)

    def _base_stats(self) -> dict[str, Any]:
        est_in, est_cost = self.plan.estimate(self.plan.chunks)
        return {
            "files_total": len(self.changes.files) + len(self.changes.not_reviewed),
            "files_reviewed": len(self.plan.reviewed_paths),
            "files_not_reviewed": len({n.path for n in self.not_reviewed}),
            "chunks": len(self.plan.chunks),
            "estimated_tokens_in": est_in,
            "context_tokens": self.plan.context_tokens,
            "estimated_cost_usd": est_cost,
            "redactions": len(self.sites),
            "redactions_secrets": sum(1 for s in self.sites if s.kind == "secret"),
            "redactions_pii": sum(1 for s in self.sites if s.kind == "pii"),
            "redactions_by_family": dict(sorted(Counter(s.family for s in self.sites).items())),
            "estimated_verify_tokens_in": self.plan.verify_estimate(self.plan.chunks)[0],
            "instruction_tokens": sum(s.tokens for s in self.plan.instruction_sources),
            "context_window": self.plan.window if self.plan.chunks else None,
        }

    @property
    def sites(self) -> tuple[RedactionSite, ...]:
        """Every redaction in what was (or would be) sent: the diffs and their context."""
        return (*self.screened.sites, *self.plan.context_sites)

    def _result(self, **fields: object) -> ReviewResult:
        return ReviewResult.model_validate(
            {
                "tool_version": __version__,
                "source": self.changes.description,
                "base_sha": self.changes.base_sha,
                "head_sha": self.changes.head_sha,
                "model": self.endpoint.model,
                "provider": self.endpoint.provider,
                "not_reviewed": self.not_reviewed,
                "reviewed_paths": self.plan.reviewed_paths,
                "chunks": self.plan.infos,
                "redaction_sites": self.sites if self.show_redactions else (),
                "instructions": (*self.plan.instruction_sources, *self.rules.skipped),
                **fields,
            }
        )


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


def failures_of(plan: ReviewPlan, executed: Executed) -> tuple[ChunkFailure, ...]:
    failures: list[ChunkFailure] = []
    for planned in plan.chunks:
        outcome: ChunkOutcome = executed.outcomes[planned.chunk.id][0]
        if outcome.answer is None:
            chunk = planned.chunk
            failures.append(
                ChunkFailure(
                    chunk_id=chunk.id,
                    index=chunk.index,
                    paths=chunk.paths,
                    lines=chunk.changed_lines,
                    kind=outcome.failure_kind or "failed",
                    message=sanitize(outcome.failure_message or "the chunk could not be reviewed"),
                )
            )
    return tuple(failures)


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
