"""``run_review``: the pipeline as one plain function, its collaborators passed in.

changes -> screen (filters, secret files, redaction) -> plan (chunks, prompts, cache keys,
estimate) -> cache -> cost limit -> send (llm) -> collect findings (anchor, aggregate) -> result
"""

from __future__ import annotations

import time
from collections.abc import Callable

from reviewer.core.settings import Settings
from reviewer.core.values import ChangeSet, ReviewResult
from reviewer.findings.collect import collect_findings
from reviewer.llm.backend import Backend
from reviewer.pipeline.execute import execute_plan
from reviewer.pipeline.plan import enforce_cost_limit, plan_review, with_cached_answers
from reviewer.pipeline.ports import AnswerCache, Endpoint, Progress
from reviewer.pipeline.report import Report
from reviewer.prepare.screen import screen_files
from reviewer.prepare.tokens import Tokenizer


def run_review(
    changes: ChangeSet,
    settings: Settings,
    *,
    endpoint: Endpoint,
    backend: Backend,
    tokenizer: Tokenizer,
    dry_run: bool = False,
    cache: AnswerCache | None = None,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReviewResult:
    started = clock()
    screened = screen_files(changes.files, settings)
    plan = plan_review(screened, settings, endpoint, tokenizer)
    report = Report(changes, endpoint, screened, plan)
    if progress:
        progress.planned(len(plan.chunks), len(plan.reviewed_paths), plan.estimate(plan.chunks)[0])
    if dry_run or not plan.chunks:
        return report.unsent(dry_run, clock() - started)
    plan = with_cached_answers(plan, cache)
    enforce_cost_limit(plan, settings, endpoint.model)
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
        tokenizer=tokenizer,
    )
    collected = collect_findings(executed.answers(plan), settings)
    return report.reviewed(executed, collected, clock() - started)
