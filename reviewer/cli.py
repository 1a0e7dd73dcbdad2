"""The ``review`` command: options -> settings -> collaborators -> pipeline -> reporters -> exit.

Errors become a one-line message and an exit code here and nowhere else.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import click
from click.core import ParameterSource

from reviewer import __version__
from reviewer.core.errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    ReviewerError,
    UsageError,
)
from reviewer.core.levels import SEVERITY_NAMES as SEVERITIES

SEVERITY_CHOICE = click.Choice(SEVERITIES, case_sensitive=False)
FAIL_ON_CHOICE = click.Choice([*SEVERITIES, "never"], case_sensitive=False)
MODE_CHOICE = click.Choice(
    ["auto", "json_schema", "json_object_schema", "json_object", "prompt"], case_sensitive=False
)

# Options that map one-to-one onto a Settings field (the rest drive the run itself).
SETTING_OPTIONS = (
    "provider",
    "model",
    "base_url",
    "api_key_env",
    "response_format",
    "temperature",
    "timeout",
    "max_retries",
    "deadline",
    "jobs",
    "context_window",
    "max_output_tokens",
    "max_chunk_tokens",
    "context_lines",
    "include",
    "exclude",
    "max_file_bytes",
    "language",
    "min_severity",
    "min_confidence",
    "max_findings",
    "fail_on",
    "redact",
    "max_cost",
    "fail_open",
    "cache",
    "cache_dir",
)


def _env(name: str) -> str:
    return f"REVIEWER_{name.upper()}"


@click.command(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Exit codes: 0 clean; 1 findings at or above --fail-on; 2 usage or config error; "
    "3 operational failure (git, auth, provider, a failed chunk); 130 interrupted.",
)
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--staged", is_flag=True, help="Review the staged changes (the default without PATHS)."
)
@click.option("--base", metavar="REF", help="Review the merge-base diff BASE...HEAD (like a PR).")
@click.option("--head", metavar="REF", help="The head of --base (default HEAD).")
@click.option(
    "--provider",
    envvar=_env("provider"),
    help="Provider preset: openai, deepseek, qwen, doubao, siliconflow, 01ai, ollama, "
    "llamacpp, vllm, lmstudio, azure, custom (default openai).",
)
@click.option("--model", envvar=_env("model"), help="Model name (default: the provider's).")
@click.option("--base-url", envvar=_env("base_url"), help="OpenAI-compatible endpoint URL.")
@click.option(
    "--api-key-env",
    envvar=_env("api_key_env"),
    metavar="VAR",
    help="Environment variable holding the API key (default: the provider's).",
)
@click.option(
    "--response-format",
    envvar=_env("response_format"),
    type=MODE_CHOICE,
    help="Structured-output form; auto tries the strongest and falls back.",
)
@click.option(
    "--temperature",
    envvar=_env("temperature"),
    type=float,
    help="Sampling temperature (default 0.2).",
)
@click.option(
    "--timeout",
    envvar=_env("timeout"),
    type=float,
    help="Seconds per request attempt (default 120).",
)
@click.option(
    "--max-retries",
    envvar=_env("max_retries"),
    type=int,
    help="Retries per request on 429/5xx/timeouts (default 3).",
)
@click.option(
    "--deadline",
    envvar=_env("deadline"),
    type=float,
    help="Seconds for the whole run (default 900).",
)
@click.option(
    "-j", "--jobs", envvar=_env("jobs"), type=int, help="Chunks reviewed concurrently (default 4)."
)
@click.option(
    "--context-window",
    envvar=_env("context_window"),
    type=int,
    help="Model context window in tokens (default: known per model, else 8192).",
)
@click.option(
    "--max-output-tokens",
    envvar=_env("max_output_tokens"),
    type=int,
    help="Tokens reserved for the answer (default: per model).",
)
@click.option(
    "--max-chunk-tokens",
    envvar=_env("max_chunk_tokens"),
    type=int,
    help="Largest chunk in tokens (default 12000).",
)
@click.option(
    "--context-lines",
    envvar=_env("context_lines"),
    type=int,
    help="Context lines around each hunk (default 3).",
)
@click.option(
    "--include",
    envvar=_env("include"),
    multiple=True,
    metavar="GLOB",
    help="Review only matching paths (repeatable).",
)
@click.option(
    "--exclude",
    envvar=_env("exclude"),
    multiple=True,
    metavar="GLOB",
    help="Skip matching paths (repeatable).",
)
@click.option(
    "--max-file-bytes",
    envvar=_env("max_file_bytes"),
    type=int,
    help="Skip files larger than this (default 1000000).",
)
@click.option(
    "--language",
    envvar=_env("language"),
    help="Language of the review text, e.g. en, zh (default en).",
)
@click.option(
    "--min-severity",
    envvar=_env("min_severity"),
    type=SEVERITY_CHOICE,
    help="Hide findings below this severity (default low).",
)
@click.option(
    "--min-confidence",
    envvar=_env("min_confidence"),
    type=float,
    help="Hide findings below this confidence 0-1 (default 0.5).",
)
@click.option(
    "--max-findings",
    envvar=_env("max_findings"),
    type=int,
    help="Show at most this many findings, 0 for all (default 50).",
)
@click.option(
    "--fail-on",
    envvar=_env("fail_on"),
    type=FAIL_ON_CHOICE,
    help="Exit 1 on findings at or above this severity (default high; never to disable).",
)
@click.option(
    "--redact/--no-redact",
    envvar=_env("redact"),
    default=None,
    help="Redact secrets before sending (default on).",
)
@click.option(
    "--max-cost",
    envvar=_env("max_cost"),
    type=float,
    metavar="USD",
    help="Refuse to send when the estimated cost is higher (exit 3).",
)
@click.option(
    "--fail-open/--fail-closed",
    envvar=_env("fail_open"),
    default=None,
    help="Treat operational failures as warnings (exit 0) or as failures (default).",
)
@click.option(
    "--cache/--no-cache",
    envvar=_env("cache"),
    default=None,
    help="Reuse earlier answers for unchanged chunks (default on).",
)
@click.option(
    "--cache-dir",
    envvar=_env("cache_dir"),
    type=click.Path(path_type=str),
    help="Where the review cache lives.",
)
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    metavar="FORMAT[=PATH]",
    help="terminal, json, sarif, github (repeatable; default terminal on stdout).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (default: nearest .reviewer.toml or pyproject.toml [tool.reviewer]).",
)
@click.option(
    "--hook",
    type=click.Choice(["pre-commit", "pre-push"]),
    help="Run as a git hook: pre-commit reviews the staged changes, pre-push the commits "
    "being pushed (PRE_COMMIT_FROM_REF/TO_REF); fails open unless --fail-closed.",
)
@click.option(
    "--github-pr",
    envvar=_env("github_pr"),
    is_flag=True,
    help="Review the pull request of this GitHub Actions run and publish the review on it.",
)
@click.option(
    "--comment/--no-comment",
    envvar=_env("comment"),
    default=True,
    help="With --github-pr: post inline comments and the summary (default on).",
)
@click.option(
    "--full", is_flag=True, help="With --github-pr: review the whole PR, not only new commits."
)
@click.option("--clear-cache", is_flag=True, help="Delete the review cache, then exit.")
@click.option(
    "--dry-run", is_flag=True, help="Show files, chunks, tokens and estimated cost; send nothing."
)
@click.option(
    "--show-config", is_flag=True, help="Print the effective settings and their sources, then exit."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@click.version_option(__version__, "-V", "--version", prog_name="reviewer")
@click.pass_context
def review(ctx: click.Context, /, **options: Any) -> None:
    """Strict, scored AI review of your git changes.

    \b
      review                      the staged changes
      review --base main          the branch, as a pull request would show it
      review path/to/file.py      whole files, in or out of a repository
    """
    from reviewer.app.run import run  # the heavy wiring stays out of --help and --version

    explicit = _explicit_settings(ctx, options)
    code = run(options, explicit)
    ctx.exit(code)


def _explicit_settings(
    ctx: click.Context, options: Mapping[str, Any]
) -> dict[str, tuple[Any, str]]:
    """Settings given on the command line or in REVIEWER_* variables, with their source."""
    explicit: dict[str, tuple[Any, str]] = {}
    for name in SETTING_OPTIONS:
        source = ctx.get_parameter_source(name)
        if source == ParameterSource.COMMANDLINE:
            label = "command line"
        elif source == ParameterSource.ENVIRONMENT:
            label = f"env {_env(name)}"
        else:
            continue
        value = options[name]
        if value is None or value == ():
            continue
        explicit[name] = (value, label)
    return explicit


def _scrub(message: str, environ: Mapping[str, str]) -> str:
    """Belt and braces: no key or token value from the environment ever reaches the output."""
    for name, value in environ.items():
        if len(value) >= 8 and re.search(r"KEY|TOKEN|SECRET|PASSWORD", name, re.IGNORECASE):
            message = message.replace(value, "***")
    return message


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"review: error: {_scrub(message, os.environ)}", err=True)
    sys.exit(code)


def main() -> None:
    """Console entry point: the one place errors become messages and exit codes."""
    try:
        code = review.main(standalone_mode=False, prog_name="review")
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        click.echo("review: interrupted", err=True)
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("review: interrupted", err=True)
        sys.stderr.flush()
        # In-flight requests run in worker threads; don't wait for their timeouts.
        os._exit(EXIT_INTERRUPTED)
    except UsageError as exc:
        fail(str(exc), exc.exit_code)
    except ReviewerError as exc:
        fail(str(exc), exc.exit_code)
    except BrokenPipeError:
        sys.exit(EXIT_FAILURE)
    except Exception as exc:
        if os.environ.get("REVIEWER_DEBUG"):
            raise
        fail(
            f"internal error: {type(exc).__name__}: {exc} "
            "(set REVIEWER_DEBUG=1 for a traceback and please report it)",
            EXIT_FAILURE,
        )


def console() -> None:
    """The installed ``review`` script: ``main()``, then exit without interpreter teardown.

    Teardown (joining idle worker threads, freeing the tokenizer and the SDK) costs
    0.15-0.2 s after the report is already out; a hook runs on every commit.
    """
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        code = code or EXIT_FAILURE
    os._exit(code)
