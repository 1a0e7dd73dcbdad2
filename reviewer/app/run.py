"""Wiring for one ``review`` invocation: settings, source, backend, pipeline, outputs.

Kept apart from ``cli.py`` so ``review --help``/``--version`` import none of it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from reviewer.app.config import (
    ResolvedSettings,
    find_config_file,
    format_config,
    read_config_file,
    resolve_settings,
)
from reviewer.core.errors import (
    EXIT_FAILURE,
    EXIT_FINDINGS,
    EXIT_OK,
    AuthError,
    NotAGitRepository,
    ReviewerError,
    UsageError,
)
from reviewer.core.settings import Settings
from reviewer.core.values import ChangeSet, ReviewResult
from reviewer.findings.aggregate import blocking
from reviewer.llm.backend import ResponseMode
from reviewer.llm.providers import NO_KEY, Provider, get_provider
from reviewer.outputs import OutputSpec, get_reporter, parse_output_spec

if TYPE_CHECKING:
    from reviewer.app.github_pr import PullRequestRun
    from reviewer.llm.openai_backend import OpenAIBackend
    from reviewer.prepare.tokens import Tokenizer
    from reviewer.source.git import GitRepo
    from reviewer.store.cache import ReviewCache


class Endpoint:
    """Who answers the requests; what results and cache keys name. Never holds the key."""

    def __init__(self, provider: Provider, settings: Settings, environ: Mapping[str, str]) -> None:
        self.preset = provider
        self.provider = provider.name
        model = settings.model or provider.default_model
        if not model:
            raise UsageError(
                f"provider {provider.name} has no default model: pass --model "
                "(for azure, the deployment name)"
            )
        base_url = (
            settings.base_url
            or (environ.get(provider.base_url_env) if provider.base_url_env else None)
            or provider.base_url
        )
        if not base_url:
            hint = f" or set {provider.base_url_env}" if provider.base_url_env else ""
            raise UsageError(f"provider {provider.name} needs --base-url{hint}")
        self.model: str = model
        self.base_url: str = base_url
        self.key_env = settings.api_key_env or provider.api_key_env
        self.needs_key = provider.needs_key or settings.api_key_env is not None
        self.response_modes: tuple[ResponseMode, ...] = (
            provider.response_modes
            if settings.response_format == "auto"
            else (cast(ResponseMode, settings.response_format),)
        )

    def backend(self, environ: Mapping[str, str]) -> OpenAIBackend:
        from reviewer.llm.openai_backend import AzureConfig, OpenAIBackend

        key = environ.get(self.key_env) if self.key_env else None
        azure = (
            AzureConfig(endpoint=self.base_url, api_version=self.preset.azure_api_version)
            if self.preset.azure_api_version
            else None
        )
        return OpenAIBackend(
            base_url=self.base_url,
            api_key=key or NO_KEY,
            model=self.model,
            key_env=self.key_env,
            azure=azure,
        )


class LazyTokenizer:
    """Loads the encoding on the first count, so runs with nothing to review never pay for it."""

    def __init__(self, model: str, cache_dir: Path | None = None) -> None:
        self._model = model
        self._cache_dir = cache_dir  # where the parsed ranks are kept (skips a ~0.2 s parse)
        self._inner: Any = None

    def count(self, text: str) -> int:
        if self._inner is None:
            from reviewer.prepare.tokens import load_tokenizer

            self._inner = load_tokenizer(self._model, self._cache_dir)
        return int(self._inner.count(text))


class StderrProgress:
    def __init__(self, live: bool) -> None:
        self._live = live

    def planned(self, chunks: int, files: int, tokens: int) -> None:
        if chunks:
            click.echo(f"review: {files} file(s) in {chunks} chunk(s), ~{tokens} tokens", err=True)

    def chunk_done(self, done: int, total: int, failed: bool) -> None:
        if self._live:
            click.echo(f"\rreview: {done}/{total} chunks done", err=True, nl=done == total)
        elif failed:
            click.echo(f"review: chunk {done}/{total} failed", err=True)


ZERO_SHA = "0" * 40


def collect(options: Mapping[str, Any], settings: Settings, cwd: Path) -> ChangeSet:
    """The changes this invocation asks for: staged, base...head, pushed commits, whole files."""
    paths: tuple[str, ...] = tuple(options["paths"])
    base, head, staged = options["base"], options["head"], options["staged"]
    if head and not base:
        raise UsageError("--head needs --base")
    if base and staged:
        raise UsageError("--staged and --base cannot be combined")
    if options["hook"] == "pre-push":
        return _pushed(settings, cwd, paths)
    if base or staged or not paths or options["hook"]:
        with _repo(cwd) as repo:
            if base:
                return repo.range(base, head or "HEAD", paths, context_lines=settings.context_lines)
            return repo.staged(paths, context_lines=settings.context_lines)
    from reviewer.source.paths import read_paths

    return read_paths(paths, cwd, settings.max_file_bytes)


def _repo(cwd: Path) -> GitRepo:
    from reviewer.source.git import open_repo

    try:
        return open_repo(cwd)
    except NotAGitRepository as exc:
        raise NotAGitRepository(
            f"{exc}; to review files outside git, name them: review path/to/file.py"
        ) from exc


def _pushed(settings: Settings, cwd: Path, paths: tuple[str, ...]) -> ChangeSet:
    """pre-push: the commits being pushed, from pre-commit's PRE_COMMIT_FROM/TO_REF."""
    from_ref = os.environ.get("PRE_COMMIT_FROM_REF") or os.environ.get("PRE_COMMIT_SOURCE")
    to_ref = os.environ.get("PRE_COMMIT_TO_REF") or os.environ.get("PRE_COMMIT_ORIGIN") or "HEAD"
    lines = settings.context_lines
    with _repo(cwd) as repo:
        if from_ref and from_ref != ZERO_SHA and repo.resolve(from_ref):
            if repo.is_ancestor(from_ref, to_ref):
                return repo.changed_since(from_ref, to_ref, paths, context_lines=lines)
            return repo.range(from_ref, to_ref, paths, context_lines=lines)  # after a rewrite
        # A new branch: what it adds over the remote's default branch, else its last commit.
        for upstream in ("origin/HEAD", "origin/main", "origin/master"):
            if repo.resolve(upstream) and repo.merge_base(upstream, to_ref):
                return repo.range(upstream, to_ref, paths, context_lines=lines)
        parent = f"{to_ref}~1"
        if repo.resolve(parent):
            return repo.changed_since(parent, to_ref, paths, context_lines=lines)
        return repo.staged(paths, context_lines=lines)


def exit_code(result: ReviewResult, settings: Settings) -> int:
    """Failures beat findings (3 over 1) unless failing open, where only findings decide."""
    if result.failures and not settings.fail_open:
        return EXIT_FAILURE
    if blocking(result.findings, settings.fail_on):
        return EXIT_FINDINGS
    return EXIT_OK


def write_outputs(result: ReviewResult, specs: list[OutputSpec]) -> None:
    from reviewer.outputs.atomicio import write_atomic

    for spec in specs:
        reporter = get_reporter(spec.format)
        if spec.path is None:
            color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
            click.echo(reporter.render(result, color=color))
        else:
            write_atomic(Path(spec.path), reporter.render(result, color=False))


def run(options: Mapping[str, Any], explicit: Mapping[str, tuple[Any, str]]) -> int:
    cwd = Path.cwd()
    config_path: Path | None = options["config_path"]
    if config_path is not None and not config_path.is_file():
        raise UsageError(f"config file not found: {config_path}")
    config_path = config_path or find_config_file(cwd)
    file_values = read_config_file(config_path) if config_path else {}
    # A hook fails open unless the team says otherwise (--fail-closed or fail-open = false).
    # Only when not given explicitly: an explicit value must stay above the config file.
    hook_default = options["hook"] and "fail_open" not in explicit
    defaults = {"fail_open": (True, "hook default")} if hook_default else {}
    resolved = resolve_settings(
        {**defaults, **explicit},
        file_values,
        str(config_path) if config_path else None,
        under_file=set(defaults),
    )
    settings = resolved.settings

    if options["clear_cache"]:
        from reviewer.store.cache import clear_cache

        directory = _cache_dir(settings)
        removed = clear_cache(directory)
        click.echo(f"review: cleared the review cache in {directory} ({removed} file(s))")
        return EXIT_OK

    endpoint = Endpoint(get_provider(settings.provider), settings, os.environ)
    if options["show_config"]:
        click.echo(_show_config(resolved, endpoint, settings))
        return EXIT_OK

    specs = [parse_output_spec(o) for o in options["outputs"]] or [OutputSpec(format="terminal")]
    for spec in specs:
        get_reporter(spec.format)  # unknown formats fail before any work
    _check_destinations(specs)
    try:
        return _review(options, settings, endpoint, specs, cwd)
    except UsageError:
        raise
    except ReviewerError as exc:
        if not settings.fail_open:
            raise
        click.echo(f"review: warning: {exc} (failing open: exit 0)", err=True)
        return EXIT_OK


def _check_destinations(specs: list[OutputSpec]) -> None:
    """Two reports on stdout (or in one file) would interleave into something neither
    format's reader can parse; refuse before anything is sent."""
    on_stdout = [s.format for s in specs if s.path is None]
    if len(on_stdout) > 1:
        raise UsageError(
            f"only one output can go to stdout, got {', '.join(on_stdout)}; "
            "write the others to files: -o FORMAT=PATH"
        )
    seen: set[Path] = set()
    for spec in specs:
        if spec.path is not None:
            target = spec.path.expanduser().absolute()
            if target in seen:
                raise UsageError(f"two outputs write to {spec.path}")
            seen.add(target)


def _show_config(resolved: ResolvedSettings, endpoint: Endpoint, settings: Settings) -> str:
    key_state = "set" if endpoint.key_env and os.environ.get(endpoint.key_env) else "not set"
    return format_config(
        resolved,
        {
            "effective-model": (
                endpoint.model,
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


def _cache_dir(settings: Settings) -> Path:
    from reviewer.store.cache import default_cache_dir

    return Path(settings.cache_dir) if settings.cache_dir else default_cache_dir(os.environ)


def _cache(settings: Settings) -> ReviewCache | None:
    if not settings.cache:
        return None
    from reviewer.store.cache import ReviewCache

    return ReviewCache(
        _cache_dir(settings), warn=lambda msg: click.echo(f"review: warning: {msg}", err=True)
    )


def _tokenizer(model: str, cache: ReviewCache | None) -> Tokenizer:
    """Counts from the cache first: a fully cached review never loads the encoding."""
    if cache is None:
        return LazyTokenizer(model)
    from reviewer.prepare.tokens import encoding_name_for_model
    from reviewer.store.cache import CountingTokenizer

    return CountingTokenizer(
        LazyTokenizer(model, cache.tokenizer_dir), cache, encoding_name_for_model(model)
    )


def _review(
    options: Mapping[str, Any],
    settings: Settings,
    endpoint: Endpoint,
    specs: list[OutputSpec],
    cwd: Path,
) -> int:
    from reviewer.pipeline.review import run_review

    pr: PullRequestRun | None = None
    key = os.environ.get(endpoint.key_env) if endpoint.key_env else None
    dry_run = bool(options["dry_run"])
    if options["github_pr"]:
        from reviewer.app.github_pr import PullRequestRun

        pr = PullRequestRun.from_env(os.environ)
        if endpoint.needs_key and not key and not dry_run:
            if pr.ctx.is_fork:
                skipped = (
                    f"skipped: pull request #{pr.ctx.number} comes from a fork, and "
                    f"workflows on forks get no secrets ({endpoint.key_env} is empty)"
                )
                click.echo(f"review: {skipped}", err=True)
                click.echo(f"::notice title=reviewer::{skipped}")  # shown on the run's page
                return EXIT_OK
            # Before any git or GitHub work: a same-repository PR without a key is a
            # misconfigured workflow, never a green run.
            raise AuthError(
                f"no API key for pull request #{pr.ctx.number}: {endpoint.key_env} is empty "
                f"(provider {endpoint.provider}); pass it from a repository secret "
                "(the GitHub Action's api-key input)"
            )
        changes = pr.collect(cwd, settings, tuple(options["paths"]), options["full"])
    else:
        changes = collect(options, settings, cwd)
    if not changes.files and not changes.not_reviewed and not options["quiet"]:
        click.echo(f"review: nothing to review in {changes.description}", err=True)
    if changes.files and not dry_run and endpoint.needs_key and not key:
        raise AuthError(
            f"no API key: set the environment variable {endpoint.key_env} "
            f"(provider {endpoint.provider}), or choose another with --api-key-env"
        )
    progress = None if options["quiet"] else StderrProgress(live=sys.stderr.isatty())
    cache = _cache(settings) if changes.files else None
    # Closed at the end so no keep-alive connection outlives the run (ResourceWarning).
    backend = endpoint.backend(os.environ)
    try:
        result = run_review(
            changes,
            settings,
            endpoint=endpoint,
            backend=backend,
            tokenizer=_tokenizer(endpoint.model, cache),
            dry_run=dry_run,
            cache=cache,
            progress=progress,
        )
    finally:
        backend.close()
        if cache is not None:
            cache.close()
    write_outputs(result, specs)
    if not any(s.format == "terminal" and s.path is None for s in specs):
        # The terminal report shows them; without it on stdout, a response-format fallback
        # or a cache problem must still reach the person or CI log running the review.
        for warning in result.warnings:
            click.echo(f"review: warning: {warning}", err=True)
    if pr is not None and not dry_run and options["comment"]:
        click.echo(f"review: {pr.publish(result, changes, sys.stdout)}", err=True)
    code = exit_code(result, settings)
    if result.failures and settings.fail_open:
        click.echo(
            f"review: warning: {len(result.failures)} chunk(s) failed; failing open", err=True
        )
    return code
