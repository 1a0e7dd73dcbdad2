"""The cases of ``review eval``, each as a review: built, planned, sent, scored.

How a case becomes a review: its files are committed into a throwaway git repository
(``reviewer.source.scratch``: ``base`` before the change, ``main`` after it) and the change is
read back with ``GitRepo.range("base", "main")``, exactly what ``review --base`` reads. It then
goes through ``reviewer.app.run._run_pipeline``, the function a real review calls, with the
same endpoint, backend, tokenizer and cache: chunking, prompts, anchoring on changed lines and
whatever later stages a review gains apply to every case unchanged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import click

from reviewer.app.endpoint import Endpoint
from reviewer.app.run import _run_pipeline
from reviewer.core.errors import AuthError, ModelNotFound, ReviewerError, UsageError
from reviewer.core.settings import Settings
from reviewer.core.values import ChangeSet, ReviewResult
from reviewer.evaluate.corpus import Case, check_reachable
from reviewer.evaluate.match import case_outcome, failed_outcome
from reviewer.evaluate.render import clean_text, usd
from reviewer.evaluate.report import CaseOutcome
from reviewer.source.scratch import build_change

# Building a case is mostly waiting for git processes: a few at once.
PREPARE_WORKERS = 4


@dataclass(frozen=True, slots=True)
class Prepared:
    case: Case
    changes: ChangeSet


@dataclass(frozen=True, slots=True)
class Estimate:
    cases: int
    chunks: int
    tokens_in: int
    cost_usd: float | None  # None: the model's price is unknown

    def line(self, model: str) -> str:
        cost = (
            f"estimated cost {usd(self.cost_usd)}"
            if self.cost_usd is not None
            else f"cost unknown (no price for {model}: set price-in/price-out)"
        )
        cases = f"{self.cases} case{'' if self.cases == 1 else 's'}"
        return (
            f"review eval: {cases} in {self.chunks} chunk(s), ~{self.tokens_in:,} tokens in, {cost}"
        )


def prepare_cases(cases: Sequence[Case], workdir: Path, settings: Settings) -> list[Prepared]:
    """Each case as a change read from its own scratch repository, its labels checked. Git
    processes dominate, so a few cases are built at once."""
    with ThreadPoolExecutor(max_workers=PREPARE_WORKERS) as pool:
        return list(
            pool.map(
                lambda item: prepare_case(item[1], workdir / f"case-{item[0]:04d}", settings),
                enumerate(cases),
            )
        )


def prepare_case(case: Case, directory: Path, settings: Settings) -> Prepared:
    from reviewer.source.git import open_repo

    try:
        base, head = build_change(
            directory, case.before, after=case.after, deleted=case.spec.deleted, patch=case.patch
        )
    except UsageError as exc:
        raise UsageError(f"corpus case {case.id}: {exc}") from None
    with open_repo(directory) as repo:
        changes = repo.range(base, head, context_lines=settings.context_lines)
    check_reachable(case, changes.files)
    return Prepared(case, changes)


def estimate_cases(
    prepared: Sequence[Prepared], settings: Settings, endpoint: Endpoint
) -> Estimate:
    """What sending every case would take: each planned as ``review --dry-run`` plans it."""
    chunks = tokens = 0
    costs: list[float | None] = []
    for item in prepared:
        stats = _run_pipeline(
            item.changes, settings, endpoint, True, quiet=True, source="eval"
        ).stats
        chunks += stats.chunks
        tokens += stats.estimated_tokens_in
        costs.append(stats.estimated_cost_usd)
    known = [c for c in costs if c is not None]
    cost = round(sum(known), 6) if known and len(known) == len(costs) else None
    return Estimate(len(prepared), chunks, tokens, cost)


def run_cases(
    prepared: Sequence[Prepared], settings: Settings, endpoint: Endpoint, *, quiet: bool
) -> tuple[list[CaseOutcome], list[str]]:
    """Every case through the pipeline, ``settings.jobs`` at a time, in corpus order.

    A case whose review fails is a failed outcome. Errors every other case would hit too (no
    valid key, an unknown model) end the run, like they end a review.
    """
    outcomes: dict[int, CaseOutcome] = {}
    warnings: list[str] = []
    # Set by the worker that hits a run-ending error before its future completes: a worker
    # picks up the next case at once, before the main thread can cancel it.
    ended = threading.Event()

    def work(item: Prepared) -> tuple[CaseOutcome, tuple[str, ...]]:
        if ended.is_set():
            return failed_outcome(item.case, "cancelled: the run ended"), ()
        try:
            return review_case(item, settings, endpoint)
        except BaseException:
            ended.set()
            raise

    pool = ThreadPoolExecutor(max_workers=max(1, min(settings.jobs, len(prepared))))
    try:
        pending = {pool.submit(work, item): index for index, item in enumerate(prepared)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                outcome, case_warnings = future.result()
                outcomes[index] = outcome
                warnings.extend(case_warnings)
                if not quiet and not ended.is_set():
                    click.echo(progress_line(len(outcomes), len(prepared), outcome), err=True)
    except BaseException:
        ended.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [outcomes[i] for i in range(len(prepared))], warnings


def review_case(
    item: Prepared, settings: Settings, endpoint: Endpoint
) -> tuple[CaseOutcome, tuple[str, ...]]:
    started = time.monotonic()
    try:
        result: ReviewResult = _run_pipeline(
            item.changes, settings, endpoint, False, quiet=True, source="eval"
        )
    except (AuthError, ModelNotFound):
        raise
    except ReviewerError as exc:
        failed = failed_outcome(item.case, f"{type(exc).__name__}: {exc}")
        return failed.model_copy(update={"duration_s": round(time.monotonic() - started, 3)}), ()
    return case_outcome(item.case, result), result.warnings


def progress_line(done: int, total: int, outcome: CaseOutcome) -> str:
    head = f"review eval: [{done}/{total}] {clean_text(outcome.id)}"
    if outcome.status == "failed":
        return f"{head}: FAILED ({clean_text(outcome.error or 'failed')})"
    found = sum(p.found for p in outcome.problems)
    other = sum(not f.matches for f in outcome.findings)
    what = "clean change" if outcome.clean else f"{found}/{len(outcome.problems)} found"
    return f"{head}: {what}, {other} other finding(s), {outcome.duration_s:.1f} s"
