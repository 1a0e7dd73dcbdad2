"""``run_review``: the pipeline as one plain function, its collaborators passed in.

changes -> rank (priority, from the listing) -> waves; per wave: load -> screen (filters,
secret files, redaction) -> plan (context, chunks, prompts, cache keys, estimate) -> budget ->
send; per chunk (a worker): review -> anchor -> check (suppressions, verification) ->
then: aggregate -> result.

A wave's chunks go out while the next wave is being prepared; only findings and figures are
kept (``reviewer.pipeline.execute``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from reviewer.core.settings import Settings
from reviewer.core.values import RepoRules, ReviewResult
from reviewer.llm.backend import Backend
from reviewer.llm.ratelimit import SharedLimiter
from reviewer.pipeline.budget import Meter, refuse_if_over
from reviewer.pipeline.execute import ChunkResult, Dispatcher, Job, Session, Tally
from reviewer.pipeline.plan import (
    MonthlyBudget,
    Planner,
    ReviewPlan,
    enforce_budget,
    with_cached_answers,
)
from reviewer.pipeline.ports import AnswerCache, Changes, Endpoint, Progress
from reviewer.pipeline.report import Report
from reviewer.pipeline.waves import Waves, priority_rules, rescore
from reviewer.prepare.screen import Screened, screen_files
from reviewer.prepare.tokens import Tokenizer

if TYPE_CHECKING:
    from reviewer.prepare.context.gather import ContentReader
    from reviewer.prepare.context.outline import Outliner


# The longest the second wave waits for the first chunk to be under way.
FIRST_REQUEST_HEAD_START = 5.0


def run_review(
    changes: Changes,
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
    lines only, as ``--context lines``); ``outliner`` finds their definitions (None: parse).

    Over 60 lines with its signature, on purpose: every collaborator is a parameter (no global
    settings), and the body is the stages in order, each one call."""
    started = clock()
    planner = Planner(
        settings, endpoint, tokenizer, rules.instructions, contents=contents, outliner=outliner
    )
    report = Report(
        changes,
        endpoint,
        settings,
        len(changes.entries()),
        show_redactions=show_redactions,
        rules=rules,
    )
    tally = Tally(progress, planner.prices)
    meter = Meter.for_settings(settings, endpoint.model)
    plans = _plans(
        changes,
        settings,
        rules,
        planner,
        report,
        cache=cache,
        tally=tally,
        stop=lambda: meter.exhausted,
    )
    if dry_run:
        for plan in plans:
            report.add_plan(plan, meter.decide(plan))
        return report.unsent(True, clock() - started)
    if settings.over_budget == "refuse" and meter.limited:
        every = list(plans)  # every wave planned first: nothing is sent over the budget
        refuse_if_over(every, settings, endpoint.model)
        plans, meter = iter(every), Meter(None, None, endpoint.model)
    session = Session(
        settings,
        endpoint=endpoint,
        backend=backend,
        tokenizer=tokenizer,
        cache=cache,
        tally=tally,
        rules=rules,
        window=planner.window,
        clock=clock,
        sleep=sleep,
        deadline=started + settings.deadline,
        limiter=limiter,
    )
    dispatcher = Dispatcher(session.process, settings.jobs, tally, backend)
    results = _send(plans, meter, report, dispatcher, budget, under_way=session.under_way)
    meter.check_something_fits()
    if not results and not report.infos:
        return report.unsent(False, clock() - started)
    warnings, _ = session.finish()
    budget_note = meter.warning()
    return report.finished(
        results, clock() - started, warnings=(*warnings, *([budget_note] if budget_note else []))
    )


def _send(
    plans: Iterator[ReviewPlan],
    meter: Meter,
    report: Report,
    dispatcher: Dispatcher,
    budget: MonthlyBudget | None,
    *,
    under_way: threading.Event,
) -> list[ChunkResult]:
    """Each wave's chunks within the budget go to the workers as soon as the wave is planned;
    the next wave is prepared while they run, once the first chunk is under way (planning
    it would compete with the SDK's import for the interpreter and delay the first request).
    Returns every chunk's result, in plan order."""
    waited = False  # the head start is given once, after the first wave that sends
    try:
        for plan in plans:
            decisions = meter.decide(plan)
            report.add_plan(plan, decisions)
            sends = False
            for planned, decision in decisions:
                if decision == "send":
                    enforce_budget(plan, budget)
                if decision != "over-budget":
                    cached = plan.cached.get(planned.chunk.id)
                    dispatcher.submit(
                        Job(planned, cached, plan.reserve, plan.window, plan.instructions)
                    )
                    sends = sends or cached is None
            if sends and not waited:
                under_way.wait(FIRST_REQUEST_HEAD_START)  # at once when it is already set
                waited = True
        results = dispatcher.results()
    except BaseException:
        dispatcher.close(failed=True)
        raise
    dispatcher.close(failed=False)
    return results


def _plans(
    changes: Changes,
    settings: Settings,
    rules: RepoRules,
    planner: Planner,
    report: Report,
    *,
    cache: AnswerCache | None,
    tally: Tally,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[ReviewPlan]:
    """Each wave's plan, highest priority first, made only when asked for. Once the budget
    fits no further chunk (``stop``), the rest is listed as over budget without being read."""
    entries = changes.entries()
    weights = priority_rules(settings, rules)
    by_path = {e.path: e for e in entries}
    batches = Waves(entries, weights)
    refined = batches.whole
    for wave in batches:
        if stop():
            report.left_unread(by_path[p] for p in wave.paths)
            continue
        files = changes.load(wave.paths)
        screened: Screened = screen_files(files, settings)
        report.add_wave(screened)
        scores = rescore(screened.files, by_path, weights)
        plan = with_cached_answers(planner.plan(screened, scores), cache)
        if plan.chunks:
            tally.planned(len(plan.chunks), len(plan.reviewed_paths), plan.estimate(plan.chunks)[0])
        yield plan
        # A large change: git's search for sensitive lines starts once the first wave is out
        # (the first call), and the files not yet taken are ranked again when it is done.
        if not refined and (found := changes.sensitive()) is not None:
            batches.rerank(found)
            refined = True
