"""One ``review`` invocation: settings -> changes -> the pipeline -> outputs -> exit code.

Kept apart from ``reviewer.cli`` so ``review --help``/``--version`` import none of it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reviewer.app.collect import collect, open_contents, source_kind
from reviewer.app.config import (
    ResolvedSettings,
    find_config_file,
    format_config,
    read_config_file,
    resolve_settings,
)
from reviewer.app.endpoint import Endpoint
from reviewer.app.outputs import check_destinations, write_outputs
from reviewer.app.progress import make_progress
from reviewer.app.resources import open_store, outliner_for, tokenizer_for
from reviewer.core.errors import (
    EXIT_FAILURE,
    EXIT_FINDINGS,
    EXIT_OK,
    AuthError,
    ReviewerError,
    UsageError,
)
from reviewer.core.settings import Settings
from reviewer.core.values import RepoRules, ReviewResult
from reviewer.findings.aggregate import blocking
from reviewer.llm.providers import get_provider
from reviewer.outputs import OutputSpec, get_reporter, parse_output_spec

if TYPE_CHECKING:
    from reviewer.app.collect import Collected
    from reviewer.app.github_pr import PullRequestRun
    from reviewer.app.gitlab_mr import MergeRequestRun
    from reviewer.llm.ratelimit import SharedLimiter
    from reviewer.store.cache import ReviewCache
    from reviewer.store.team import TeamStore


def run(options: Mapping[str, Any], explicit: Mapping[str, tuple[Any, str]]) -> int:
    cwd = Path.cwd()
    resolved = _resolve(options, explicit, cwd)
    settings = resolved.settings
    if options["clear_cache"]:
        return _clear_cache(settings, cwd)
    endpoint = Endpoint(get_provider(settings.provider), settings, os.environ)
    if options["show_config"]:
        click.echo(_show_config(resolved, endpoint, settings))
        return EXIT_OK
    specs = [parse_output_spec(o) for o in options["outputs"]] or [OutputSpec(format="terminal")]
    for spec in specs:
        get_reporter(spec.format)  # unknown formats fail before any work
    check_destinations(specs)
    try:
        return _review(options, settings, endpoint, specs, cwd)
    except UsageError:
        raise
    except ReviewerError as exc:
        if not settings.fail_open:
            raise
        click.echo(f"review: warning: {exc} (failing open: exit 0)", err=True)
        return EXIT_OK


def _clear_cache(settings: Settings, cwd: Path) -> int:
    store = open_store(settings.model_copy(update={"cache": True}), cwd, os.environ)
    try:
        removed, shared = store.clear()
    finally:
        store.close()
    click.echo(f"review: cleared the review cache in {store.directory} ({removed} file(s))")
    if store.shared_label:
        click.echo(
            f"review: cleared {shared} shared key(s) of project {store.namespace} "
            f"in {store.shared_label}"
        )
    return EXIT_OK


def _resolve(
    options: Mapping[str, Any], explicit: Mapping[str, tuple[Any, str]], cwd: Path
) -> ResolvedSettings:
    config_path: Path | None = options["config_path"]
    if config_path is not None and not config_path.is_file():
        raise UsageError(f"config file not found: {config_path}")
    config_path = config_path or find_config_file(cwd)
    file_values = read_config_file(config_path) if config_path else {}
    # A hook fails open unless the team says otherwise (--fail-closed or fail-open = false).
    # Only when not given explicitly: an explicit value must stay above the config file.
    hook_default = options["hook"] and "fail_open" not in explicit
    defaults = {"fail_open": (True, "hook default")} if hook_default else {}
    return resolve_settings(
        {**defaults, **explicit},
        file_values,
        str(config_path) if config_path else None,
        under_file=set(defaults),
    )


def exit_code(result: ReviewResult, settings: Settings) -> int:
    """Failures beat findings (3 over 1) unless failing open, where only findings decide."""
    if result.failures and not settings.fail_open:
        return EXIT_FAILURE
    if blocking(result.findings, settings.fail_on):
        return EXIT_FINDINGS
    return EXIT_OK


def _show_config(resolved: ResolvedSettings, endpoint: Endpoint, settings: Settings) -> str:
    key_state = "set" if endpoint.key_env and os.environ.get(endpoint.key_env) else "not set"
    return format_config(
        resolved,
        {
            "effective-model": (
                endpoint.model or "(the model the server has loaded)",
                resolved.sources["model"] if settings.model else "provider preset",
            ),
            "effective-base-url": (
                endpoint.base_url,
                resolved.sources["base_url"] if settings.base_url else "provider preset",
            ),
            "api-key": (
                f"${endpoint.key_env} ({key_state})" if endpoint.key_env else "not needed",
                "environment only",
            ),
            "response-modes": (list(endpoint.response_modes), "provider preset"),
        },
    )


def _review(
    options: Mapping[str, Any],
    settings: Settings,
    endpoint: Endpoint,
    specs: list[OutputSpec],
    cwd: Path,
) -> int:
    key = os.environ.get(endpoint.key_env) if endpoint.key_env else None
    dry_run = bool(options["dry_run"])
    if options["mr"] is not None and not options["gitlab_mr"]:
        raise UsageError("--mr names the merge request for --gitlab-mr: add --gitlab-mr")
    if not options["github_pr"] and not options["gitlab_mr"]:
        changes = collect(options, settings, cwd)
        try:
            result = _reviewed(options, settings, endpoint, changes, cwd, key=key)
        finally:
            changes.close()
        return _report(options, settings, specs, result)
    pr: PullRequestRun | MergeRequestRun | None
    dismissed: tuple[frozenset[str], tuple[str, ...]] = (frozenset(), ())
    if options["github_pr"]:
        github = _pull_request(endpoint, key, dry_run)
        if github is None:
            return EXIT_OK  # a fork's PR without secrets: skipped with a notice
        pr = github
        request = github.collect(cwd, settings, tuple(options["paths"]), options["full"])
        if request.files:
            dismissed = github.dismissed()
    else:
        pr = _merge_request(options, endpoint, key, dry_run)
        request = pr.collect(cwd, settings, tuple(options["paths"]), options["full"])
    result = _reviewed(
        options, settings, endpoint, request, cwd, key=key, pr=pr, dismissed=dismissed
    )
    code = _report(options, settings, specs, result)
    if not dry_run and options["comment"]:
        click.echo(f"review: {pr.publish(result, request, sys.stdout)}", err=True)
    return code


def _reviewed(
    options: Mapping[str, Any],
    settings: Settings,
    endpoint: Endpoint,
    changes: Collected,
    cwd: Path,
    *,
    key: str | None,
    pr: PullRequestRun | MergeRequestRun | None = None,
    dismissed: tuple[frozenset[str], tuple[str, ...]] = (frozenset(), ()),
) -> ReviewResult:
    if not changes.paths and not changes.not_reviewed and not options["quiet"]:
        click.echo(f"review: nothing to review in {changes.description}", err=True)
    if changes.paths and not options["dry_run"] and endpoint.needs_key and not key:
        raise AuthError(
            f"no API key: set the environment variable {endpoint.key_env} "
            f"(provider {endpoint.provider}), or choose another with --api-key-env"
        )
    rules = _rules(options, settings, changes, cwd, pr=pr, dismissed=dismissed)
    return _run_pipeline(
        changes,
        settings,
        endpoint,
        bool(options["dry_run"]),
        quiet=options["quiet"],
        source=source_kind(options),
        show_redactions=bool(options["show_redactions"]),
        rules=rules,
    )


def _report(
    options: Mapping[str, Any], settings: Settings, specs: list[OutputSpec], result: ReviewResult
) -> int:
    write_outputs(result, specs, verbose=options["verbose"])
    if not any(s.format == "terminal" and s.path is None for s in specs):
        # The terminal report shows them; without it on stdout, a response-format fallback
        # or a cache problem must still reach the person or CI log running the review.
        for warning in result.warnings:
            click.echo(f"review: warning: {warning}", err=True)
    if result.failures and settings.fail_open:
        click.echo(
            f"review: warning: {len(result.failures)} chunk(s) failed; failing open", err=True
        )
    return exit_code(result, settings)


def _pull_request(endpoint: Endpoint, key: str | None, dry_run: bool) -> PullRequestRun | None:
    """The pull request of this Actions run; None when it must be skipped (a fork's PR gets
    no secrets). A same-repository PR without a key is a misconfigured workflow, never a green
    run: that fails before any git or GitHub work."""
    from reviewer.app.github_pr import PullRequestRun

    pr = PullRequestRun.from_env(os.environ)
    if not endpoint.needs_key or key or dry_run:
        return pr
    if pr.ctx.is_fork:
        skipped = (
            f"skipped: pull request #{pr.ctx.number} comes from a fork, and "
            f"workflows on forks get no secrets ({endpoint.key_env} is empty)"
        )
        click.echo(f"review: {skipped}", err=True)
        click.echo(f"::notice title=reviewer::{skipped}")  # shown on the run's page
        return None
    raise AuthError(
        f"no API key for pull request #{pr.ctx.number}: {endpoint.key_env} is empty "
        f"(provider {endpoint.provider}); pass it from a repository secret "
        "(the GitHub Action's api-key input)"
    )


def _merge_request(
    options: Mapping[str, Any], endpoint: Endpoint, key: str | None, dry_run: bool
) -> MergeRequestRun:
    """The merge request to review. A missing API key fails before any GitLab or git work."""
    from reviewer.app.gitlab_mr import merge_request_run

    if options["github_pr"] or options["hook"] or options["staged"] or options["base"]:
        raise UsageError(
            "--gitlab-mr reviews the merge request: drop --github-pr/--hook/--staged/--base"
        )
    if endpoint.needs_key and not key and not dry_run:
        raise AuthError(
            f"no API key for the merge request: {endpoint.key_env} is empty (provider "
            f"{endpoint.provider}); add it as a masked CI/CD variable"
        )
    return merge_request_run({**options, "comment": options["comment"] and not dry_run})


def _rules(
    options: Mapping[str, Any],
    settings: Settings,
    changes: Collected,
    cwd: Path,
    *,
    pr: PullRequestRun | MergeRequestRun | None,
    dismissed: tuple[frozenset[str], tuple[str, ...]],
) -> RepoRules:
    if not changes.paths:
        return RepoRules()  # nothing to review: no git, no files read
    from reviewer.app.rules import repo_rules, rules_revision

    revision, name = rules_revision(options, changes, pr.rules_base if pr else None)
    fingerprints, warnings = dismissed
    return repo_rules(
        settings, changes, cwd, revision, name=name, dismissed=fingerprints, warnings=warnings
    )


def _run_pipeline(
    changes: Collected,
    settings: Settings,
    endpoint: Endpoint,
    dry_run: bool,
    *,
    quiet: bool,
    source: str,
    show_redactions: bool = False,
    rules: RepoRules = RepoRules(),  # noqa: B008 - frozen, so sharing it is safe
) -> ReviewResult:
    if not changes.paths:
        return _nothing_to_send(changes, settings, endpoint, dry_run, rules)
    from reviewer.app.budget import budget_warnings, month_budget, record_run
    from reviewer.pipeline.review import run_review

    root = Path(changes.root) if changes.root else Path.cwd()
    warnings: list[str] = []
    # Everything opened is closed at the end, last opened first: no keep-alive connection or
    # Redis client outlives the run (ResourceWarning), and the progress line is cleared.
    with contextlib.ExitStack() as opened:
        store = open_store(settings, root, os.environ)
        if store is not None:
            opened.callback(store.close)
        cache = store.local_cache if store is not None else None
        contents = open_contents(changes, settings)
        if contents is not None:
            opened.callback(contents.close)
        if endpoint.preset.server is not None:
            endpoint, settings = _configure_from_server(endpoint, settings, cache, warnings, quiet)
        backend = endpoint.backend(os.environ)
        opened.callback(backend.close)
        progress = make_progress(quiet)
        if progress is not None:
            opened.callback(progress.close)
        tokenizer = tokenizer_for(endpoint.model, cache)
        if not dry_run and len(changes.paths) >= WARM_UP_FILES:
            _warm_up(backend, tokenizer)
        ledger = store.ledger if store is not None else None
        budget = None if dry_run or ledger is None else month_budget(settings, ledger)
        result = run_review(
            changes,
            settings,
            endpoint=endpoint,
            backend=backend,
            tokenizer=tokenizer,
            dry_run=dry_run,
            show_redactions=show_redactions,
            cache=store.answers if store is not None else None,
            progress=progress,
            limiter=_limiter(store, endpoint, settings),
            budget=budget,
            contents=contents,
            outliner=outliner_for(cache),
            rules=rules,
        )
        if store is not None and ledger is not None and not dry_run and result.chunks:
            record_run(ledger, result, repository=store.namespace, source=source)
            warnings += budget_warnings(budget, result)
    if warnings:
        result = result.model_copy(update={"warnings": (*result.warnings, *warnings)})
    return result


def _nothing_to_send(
    changes: Collected, settings: Settings, endpoint: Endpoint, dry_run: bool, rules: RepoRules
) -> ReviewResult:
    """No file to review: the result lists what was not reviewed, as the pipeline's would,
    without importing the pipeline (the no-op hook's start-up)."""
    from reviewer.pipeline.report import Report

    report = Report(changes, endpoint, settings, len(changes.entries()), rules=rules)
    return report.unsent(dry_run, 0.0)


# From this many changed files a review is large: it will count tokens and send requests, so
# the SDK's import (~0.6-1 s) and the encoding's load start at once, beside the listing's git
# run, instead of on the way to the first request. A small change (a hook's) never pays this.
WARM_UP_FILES = 25


def _warm_up(backend: Any, tokenizer: Any) -> None:
    def quietly(step: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            # A warm-up only: whatever fails here fails again, reported, where it is needed.
            with contextlib.suppress(Exception):
                step()

        return run

    prepare = getattr(backend, "prepare", None)
    load = getattr(tokenizer, "load", None)
    for step in (prepare, load):
        if callable(step):
            threading.Thread(target=quietly(step), name="reviewer-warm-up", daemon=True).start()


def _limiter(
    store: TeamStore | None, endpoint: Endpoint, settings: Settings
) -> SharedLimiter | None:
    if store is None:
        return None
    return store.limiter(
        base_url=endpoint.base_url,
        model=endpoint.model,
        requests_per_minute=settings.requests_per_minute,
        tokens_per_minute=settings.tokens_per_minute,
    )


def _configure_from_server(
    endpoint: Endpoint,
    settings: Settings,
    cache: ReviewCache | None,
    warnings: list[str],
    quiet: bool,
) -> tuple[Endpoint, Settings]:
    """A local server's model and window, for what the user did not give."""
    from reviewer.app.local_server import configure_from_server

    def note(message: str) -> None:
        if not quiet:
            click.echo(f"review: {message}", err=True)

    return configure_from_server(
        endpoint, settings, cache, os.environ, warn=warnings.append, note=note
    )
