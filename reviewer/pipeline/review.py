"""``run_review``: the pipeline as one plain function, its collaborators passed in.

changes -> screen (filters, secret files, redaction) -> plan (context, chunks, prompts with
the repository's instructions, cache keys, estimate) -> cache -> cost limit, monthly budget ->
send (llm) -> anchor -> check (suppressions, verification pass) -> aggregate -> result
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from reviewer.core.settings import Settings
from reviewer.core.values import ChangeSet, RepoRules, ReviewResult
from reviewer.findings.collect import aggregate_findings, anchor_answers
from reviewer.llm.backend import Backend
from reviewer.llm.ratelimit import SharedLimiter
from reviewer.pipeline.execute import execute_plan
from reviewer.pipeline.plan import (
    MonthlyBudget,
    enforce_budget,
    enforce_cost_limit,
    plan_review,
    with_cached_answers,
)
from reviewer.pipeline.ports import AnswerCache, Endpoint, Progress
from reviewer.pipeline.report import Report
from reviewer.prepare.screen import screen_files
from reviewer.prepare.tokens import Tokenizer

if TYPE_CHECKING:
    from reviewer.prepare.context.gather import ContentReader
    from reviewer.prepare.context.outline import Outliner


def run_review(
    changes: ChangeSet,
    settings: Settings,
    *,
    endpoint: Endpoint,
    backend: Backend,
    tokenizer: Tokenizer,
    dry_run: bool = False,
    show_redactions: bool = False,
    cache: AnswerCache | None = None,
    progress: Progress | None = None,
    limiter: SharedLimiter | None = None,
    budget: MonthlyBudget | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    contents: ContentReader | None = None,
    outliner: Outliner | None = None,
    rules: RepoRules = RepoRules(),  # noqa: B008 - frozen, so sharing it is safe
) -> ReviewResult:
    """``contents`` reads the new side of changed files for context (None: the diff's context
    lines only, as ``--context lines``); ``outliner`` finds their definitions (None: parse)."""
    started = clock()
    screened = screen_files(changes.files, settings)
    plan = plan_review(
        screened,
        settings,
        endpoint,
        tokenizer,
        rules.instructions,
        contents=contents,
        outliner=outliner,
    )
    report = Report(changes, endpoint, screened, plan, show_redactions=show_redactions, rules=rules)
    if progress:
        progress.planned(len(plan.chunks), len(plan.reviewed_paths), plan.estimate(plan.chunks)[0])
    if dry_run or not plan.chunks:
        return report.unsent(dry_run, clock() - started)
    plan = with_cached_answers(plan, cache)
    enforce_cost_limit(plan, settings, endpoint.model)
    enforce_budget(plan, budget)
    executed = execute_plan(
        plan,
        settings,
        endpoint=endpoint,
        backend=backend,
        cache=cache,
        progress=progress,
        clock=clock,
        sleep=sleep,
        deadline=started + settings.deadline,
        limiter=limiter,
        tokenizer=tokenizer,
    )
    # Loaded only once something was sent or cached: a hook with nothing staged stays lean.
    from reviewer.pipeline.check import Verifier, check_findings

    anchored = anchor_answers(executed.answers(plan))
    verifier = Verifier(
        plan=plan,
        settings=settings,
        endpoint=endpoint,
        backend=backend,
        tokenizer=tokenizer,
        cache=cache,
        clock=clock,
        sleep=sleep,
        deadline=started + settings.deadline,
        learned=executed.learned,
        gate=executed.gate,
        streams=executed.streams,
    )
    checked = check_findings(anchored, rules, verifier)
    collected = aggregate_findings(
        checked.findings, settings, discarded=anchored.discarded, clamped=anchored.clamped
    )
    return report.reviewed(executed, collected, clock() - started, checked)
