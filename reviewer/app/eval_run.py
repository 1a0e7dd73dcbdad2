"""One ``review eval`` invocation: settings -> corpus -> each case reviewed
(``reviewer.app.eval_cases``) -> scored outcomes -> report -> outputs -> exit code; or two
reports side by side (``--compare``)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from reviewer.app.config import find_config_file, read_config_file, resolve_settings
from reviewer.app.endpoint import Endpoint
from reviewer.app.eval_cases import Estimate, estimate_cases, prepare_cases, run_cases
from reviewer.app.outputs import check_destinations
from reviewer.core.errors import (
    EXIT_FAILURE,
    EXIT_OK,
    AuthError,
    CostLimitExceeded,
    UsageError,
)
from reviewer.core.settings import Settings
from reviewer.evaluate.compare import parse_report, render_compare
from reviewer.evaluate.corpus import (
    Corpus,
    load_builtin_corpus,
    load_corpus,
)
from reviewer.evaluate.metrics import make_report
from reviewer.evaluate.render import FORMATS, render, usd
from reviewer.evaluate.report import CorpusInfo, EvalReport
from reviewer.llm.providers import get_provider
from reviewer.outputs import OutputSpec

# Every setting goes into the report (later ones too: what changes the answers must be
# comparable), except where things live on this machine.
UNREPORTED_SETTINGS = frozenset({"base_url", "api_key_env", "cache_dir"})
_NOT_CI = {"", "0", "false", "no"}


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
        settings={
            k: v
            for k, v in settings.model_dump(mode="json").items()
            if k not in UNREPORTED_SETTINGS
        },
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
