"""One ``review eval`` invocation: settings -> corpus -> a change per case -> the review pipeline
-> scored outcomes -> report -> exit code.

How a case becomes a review: its files are committed twice into a throwaway git repository
(``reviewer.source.scratch``: before, then after or the patch applied), and the change is read
back with ``GitRepo.range(base, head)``, exactly what ``review --base`` reads. That change goes
through ``reviewer.app.run._run_pipeline``, the function a real review calls, with the same
endpoint, backend, tokenizer and cache: chunking, prompts, anchoring on changed lines and
whatever later stages a review gains apply to every case unchanged.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from reviewer.app.config import find_config_file, read_config_file, resolve_settings
from reviewer.app.endpoint import Endpoint
from reviewer.app.outputs import check_destinations
from reviewer.app.run import _run_pipeline
from reviewer.core.errors import (
    EXIT_FAILURE,
    EXIT_OK,
    AuthError,
    CostLimitExceeded,
    ModelNotFound,
    ReviewerError,
    UsageError,
)
from reviewer.core.settings import Settings
from reviewer.core.values import ChangeSet, ReviewResult
from reviewer.evaluate.compare import parse_report, render_compare
from reviewer.evaluate.corpus import (
    Case,
    Corpus,
    check_reachable,
    load_builtin_corpus,
    load_corpus,
)
from reviewer.evaluate.match import case_outcome, failed_outcome
from reviewer.evaluate.metrics import make_report
from reviewer.evaluate.render import FORMATS, render, usd
from reviewer.evaluate.report import CaseOutcome, CorpusInfo, EvalReport
from reviewer.llm.providers import get_provider
from reviewer.outputs import OutputSpec
from reviewer.source.scratch import build_change

# The settings that change what the model answers or what is counted: kept in the report.
REPORTED_SETTINGS = (
    "temperature",
    "response_format",
    "context_lines",
    "context_window",
    "max_output_tokens",
    "max_chunk_tokens",
    "language",
    "instructions",
    "min_severity",
    "min_confidence",
    "max_findings",
    "redact",
    "cache",
)
_NOT_CI = {"", "0", "false", "no"}
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


def run_eval(options: Mapping[str, Any], explicit: Mapping[str, tuple[Any, str]]) -> int:
    specs = output_specs(options["outputs"])
    if options["compare"]:
        return compare(options["compare"], specs)
    settings = eval_settings(options, explicit, Path.cwd())
    endpoint = Endpoint(get_provider(settings.provider), settings, os.environ)
    corpus = _corpus(options["corpus"]).select(options["cases"])
    dry_run, quiet = bool(options["dry_run"]), bool(options["quiet"])
    key = os.environ.get(endpoint.key_env) if endpoint.key_env else None
    if not dry_run and endpoint.needs_key and not key:
        raise AuthError(
            f"no API key: set the environment variable {endpoint.key_env} "
            f"(provider {endpoint.provider}), or choose another with --api-key-env"
        )
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="reviewer-eval-") as tmp:
        prepared = prepare_cases(corpus.cases, Path(tmp), settings)
        estimate = estimate_cases(prepared, settings, endpoint)
        if dry_run:
            click.echo(estimate.line(endpoint.model).removeprefix("review eval: "))
            return EXIT_OK
        if not quiet:
            click.echo(estimate.line(endpoint.model), err=True)
        confirm_cost(estimate, settings, endpoint.model, interactive=_interactive(os.environ))
        # The whole run's estimate was checked above; one case is never refused on its own.
        per_case = settings.model_copy(update={"max_cost": None})
        started = time.monotonic()
        outcomes, warnings = run_cases(prepared, per_case, endpoint, quiet=quiet)
        wall = time.monotonic() - started
    report = make_report(
        outcomes,
        model=endpoint.model,
        provider=endpoint.provider,
        settings={k: getattr(settings, k) for k in REPORTED_SETTINGS},
        corpus=CorpusInfo(
            name=corpus.name, cases=len(corpus.cases), fingerprint=corpus.fingerprint
        ),
        started_at=started_at,
        duration_s=wall,
        jobs=settings.jobs,
        warnings=warnings,
    )
    write_report(report, specs, quiet=quiet)
    return EXIT_FAILURE if report.failed_cases else EXIT_OK


def eval_settings(
    options: Mapping[str, Any], explicit: Mapping[str, tuple[Any, str]], cwd: Path
) -> Settings:
    """The review settings (command line > environment > config file > defaults), except that
    the cache is off unless asked for here: an eval measures the model, not earlier answers."""
    config_path: Path | None = options["config_path"]
    if config_path is not None and not config_path.is_file():
        raise UsageError(f"config file not found: {config_path}")
    config_path = config_path or find_config_file(cwd)
    file_values = read_config_file(config_path) if config_path else {}
    file_values.pop("cache", None)
    defaults = {} if "cache" in explicit else {"cache": (False, "eval default")}
    return resolve_settings(
        {**defaults, **explicit},
        file_values,
        str(config_path) if config_path else None,
        under_file=set(defaults),
    ).settings


def _corpus(directory: Path | None) -> Corpus:
    return load_builtin_corpus() if directory is None else load_corpus(directory, str(directory))


def output_specs(raw: Sequence[str]) -> list[OutputSpec]:
    specs: list[OutputSpec] = []
    for spec in raw:
        name, sep, target = spec.partition("=")
        name = name.strip().lower()
        if name not in FORMATS:
            known = ", ".join(sorted(FORMATS))
            raise UsageError(f"unknown output format {name!r} for review eval; known: {known}")
        if sep and not target.strip():
            raise UsageError(f"--output {spec!r}: missing path after '='; use {name}=PATH")
        path = Path(target) if sep and target != "-" else None
        specs.append(OutputSpec(format=name, path=path))
    specs = specs or [OutputSpec(format="terminal")]
    check_destinations(specs)
    return specs


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
        stats = _run_pipeline(item.changes, settings, endpoint, True, quiet=True).stats
        chunks += stats.chunks
        tokens += stats.estimated_tokens_in
        costs.append(stats.estimated_cost_usd)
    known = [c for c in costs if c is not None]
    cost = round(sum(known), 6) if known and len(known) == len(costs) else None
    return Estimate(len(prepared), chunks, tokens, cost)


def _interactive(environ: Mapping[str, str]) -> bool:
    stdin_tty = sys.stdin is not None and sys.stdin.isatty()
    return stdin_tty and environ.get("CI", "").strip().lower() in _NOT_CI


def confirm_cost(estimate: Estimate, settings: Settings, model: str, *, interactive: bool) -> None:
    """Above ``--max-cost``, ask on a terminal; without one (or with CI=true), refuse (exit 3)."""
    if settings.max_cost is None:
        return
    if estimate.cost_usd is None:
        raise CostLimitExceeded(
            f"--max-cost is set but the price of model {model} is unknown; "
            "set price-in/price-out in the config; nothing was sent"
        )
    if estimate.cost_usd <= settings.max_cost:
        return
    over = (
        f"the estimated cost of this eval, {usd(estimate.cost_usd)} for {estimate.cases} cases, "
        f"is above --max-cost {usd(settings.max_cost)}"
    )
    if not interactive:
        raise CostLimitExceeded(
            f"{over}; nothing was sent (no terminal to confirm on; raise --max-cost to run it)"
        )
    if not click.confirm(f"review eval: {over}. Run it?", default=False, err=True):
        raise CostLimitExceeded(f"{over}; cancelled, nothing was sent")


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
        result: ReviewResult = _run_pipeline(item.changes, settings, endpoint, False, quiet=True)
    except (AuthError, ModelNotFound):
        raise
    except ReviewerError as exc:
        failed = failed_outcome(item.case, f"{type(exc).__name__}: {exc}")
        return failed.model_copy(update={"duration_s": round(time.monotonic() - started, 3)}), ()
    return case_outcome(item.case, result), result.warnings


def progress_line(done: int, total: int, outcome: CaseOutcome) -> str:
    head = f"review eval: [{done}/{total}] {outcome.id}"
    if outcome.status == "failed":
        return f"{head}: FAILED ({outcome.error})"
    found = sum(p.found for p in outcome.problems)
    other = sum(not f.matches for f in outcome.findings)
    what = "clean change" if outcome.clean else f"{found}/{len(outcome.problems)} found"
    return f"{head}: {what}, {other} other finding(s), {outcome.duration_s:.1f} s"


def write_report(report: EvalReport, specs: Sequence[OutputSpec], *, quiet: bool) -> None:
    from reviewer.evaluate.render import headline
    from reviewer.outputs.atomicio import write_atomic

    for spec in specs:
        if spec.path is None:
            color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
            click.echo(render(report, spec.format, style=click.style if color else None), nl=False)
        else:
            write_atomic(spec.path, render(report, spec.format))
    if not any(s.format == "terminal" and s.path is None for s in specs) and not quiet:
        # Without the terminal report on stdout, the figures and any failure still reach the log.
        click.echo(f"review eval: {headline(report.overall)}", err=True)
        if report.failed_cases:
            click.echo(f"review eval: {len(report.failed_cases)} case(s) failed", err=True)
        for warning in report.warnings:
            click.echo(f"review eval: warning: {warning}", err=True)


def compare(paths: Sequence[Path], specs: Sequence[OutputSpec]) -> int:
    reports = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {path}: {exc}") from None
        reports.append(parse_report(text, str(path)))
    names = (str(paths[0]), str(paths[1]))
    for spec in specs:
        if spec.format == "json":
            raise UsageError("--compare writes terminal or markdown, not json")
        text = render_compare(reports[0], reports[1], names, markdown=spec.format == "markdown")
        if spec.path is None:
            click.echo(text, nl=False)
        else:
            from reviewer.outputs.atomicio import write_atomic

            write_atomic(spec.path, text)
    return EXIT_OK
