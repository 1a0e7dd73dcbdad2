"""The ``review`` command's options, grouped by concern; ``reviewer.cli.review`` assembles them.

Options that map one-to-one onto a ``Settings`` field are listed in ``SETTING_OPTIONS``: only
they become explicit settings (command line and ``REVIEWER_*`` environment, with their source).
"""

from __future__ import annotations

from pathlib import Path

import click

from reviewer.core.levels import SEVERITY_NAMES as SEVERITIES

SEVERITY_CHOICE = click.Choice(SEVERITIES, case_sensitive=False)
FAIL_ON_CHOICE = click.Choice([*SEVERITIES, "never"], case_sensitive=False)
CONTEXT_CHOICE = click.Choice(["lines", "scope", "file"], case_sensitive=False)
MODE_CHOICE = click.Choice(
    ["auto", "json_schema", "json_object_schema", "json_object", "prompt"], case_sensitive=False
)


def env_name(name: str) -> str:
    return f"REVIEWER_{name.upper()}"


_env = env_name

# What to review.
WHAT: list[click.Parameter] = [
    click.Argument(["paths"], nargs=-1, type=click.Path(path_type=str)),
    click.Option(
        ["--staged"], is_flag=True, help="Review the staged changes (the default without PATHS)."
    ),
    click.Option(
        ["--base"], metavar="REF", help="Review the merge-base diff BASE...HEAD (like a PR)."
    ),
    click.Option(["--head"], metavar="REF", help="The head of --base (default HEAD)."),
    click.Option(
        ["--include"],
        envvar=_env("include"),
        multiple=True,
        metavar="GLOB",
        help="Review only matching paths (repeatable).",
    ),
    click.Option(
        ["--exclude"],
        envvar=_env("exclude"),
        multiple=True,
        metavar="GLOB",
        help="Skip matching paths (repeatable).",
    ),
    click.Option(
        ["--max-file-bytes"],
        envvar=_env("max_file_bytes"),
        type=int,
        help="Skip files larger than this (default 1000000).",
    ),
    click.Option(
        ["--context-lines"],
        envvar=_env("context_lines"),
        type=int,
        help="Context lines around each hunk (default 3).",
    ),
    click.Option(
        ["--context"],
        envvar=_env("context"),
        type=CONTEXT_CHOICE,
        help="Code shown around each hunk: lines (only --context-lines), scope (the enclosing "
        "function or class, called signatures, small files whole) or file (default scope).",
    ),
]

# Who answers, and how patiently.
ENDPOINT: list[click.Parameter] = [
    click.Option(
        ["--provider"],
        envvar=_env("provider"),
        help="Provider preset: openai, deepseek, qwen, doubao, siliconflow, 01ai, ollama, "
        "llamacpp, vllm, lmstudio, azure, custom (default openai).",
    ),
    click.Option(["--model"], envvar=_env("model"), help="Model name (default: the provider's)."),
    click.Option(["--base-url"], envvar=_env("base_url"), help="OpenAI-compatible endpoint URL."),
    click.Option(
        ["--api-key-env"],
        envvar=_env("api_key_env"),
        metavar="VAR",
        help="Environment variable holding the API key (default: the provider's).",
    ),
    click.Option(
        ["--response-format"],
        envvar=_env("response_format"),
        type=MODE_CHOICE,
        help="Structured-output form; auto tries the strongest and falls back.",
    ),
    click.Option(
        ["--temperature"],
        envvar=_env("temperature"),
        type=float,
        help="Sampling temperature (default 0.2).",
    ),
    click.Option(
        ["--timeout"],
        envvar=_env("timeout"),
        type=float,
        help="Seconds the server may take to start answering: connect, queue, prompt, first "
        "token; for an answer that is not streamed, all of it (default 120).",
    ),
    click.Option(
        ["--idle-timeout"],
        envvar=_env("idle_timeout"),
        type=float,
        help="Seconds a server may fall silent once it answers; then the request is retried "
        "(default 60).",
    ),
    click.Option(
        ["--stream/--no-stream"],
        envvar=_env("stream"),
        default=None,
        help="Stream answers, with live progress (default on; endpoints that reject it are "
        "read whole, and remembered).",
    ),
    click.Option(
        ["--max-retries"],
        envvar=_env("max_retries"),
        type=int,
        help="Retries per request on 429/5xx/timeouts (default 3).",
    ),
    click.Option(
        ["--deadline"],
        envvar=_env("deadline"),
        type=float,
        help="Seconds for the whole run (default 900).",
    ),
    click.Option(
        ["-j", "--jobs"],
        envvar=_env("jobs"),
        type=int,
        help="Chunks reviewed concurrently (default 4).",
    ),
    click.Option(
        ["--requests-per-minute"],
        envvar=_env("requests_per_minute"),
        type=float,
        metavar="N",
        help="One limit for every process using the store (--cache-url, else this machine).",
    ),
    click.Option(
        ["--tokens-per-minute"],
        envvar=_env("tokens_per_minute"),
        type=float,
        metavar="N",
        help="Tokens (prompt + max answer) per minute, shared like --requests-per-minute.",
    ),
]

# How much may be sent.
BUDGET: list[click.Parameter] = [
    click.Option(
        ["--context-window"],
        envvar=_env("context_window"),
        type=int,
        help="Model context window in tokens (default: known per model, else 8192).",
    ),
    click.Option(
        ["--max-output-tokens"],
        envvar=_env("max_output_tokens"),
        type=int,
        help="Tokens reserved for the answer (default: per model).",
    ),
    click.Option(
        ["--max-chunk-tokens"],
        envvar=_env("max_chunk_tokens"),
        type=int,
        help="Largest chunk in tokens (default 12000).",
    ),
    click.Option(
        ["--max-cost"],
        envvar=_env("max_cost"),
        type=float,
        metavar="USD",
        help="Review the highest-priority changes whose estimated cost fits; list the rest.",
    ),
    click.Option(
        ["--max-chunks"],
        envvar=_env("max_chunks"),
        type=int,
        metavar="N",
        help="Send at most N chunks (requests), highest priority first; list the rest.",
    ),
    click.Option(
        ["--over-budget"],
        envvar=_env("over_budget"),
        type=click.Choice(["review", "refuse"], case_sensitive=False),
        help="Over --max-cost/--max-chunks: review what fits (default) or refuse (exit 3).",
    ),
    click.Option(
        ["--priority"],
        envvar=_env("priority"),
        multiple=True,
        metavar="GLOB",
        help="Review matching paths first (repeatable).",
    ),
    click.Option(
        ["--deprioritize"],
        envvar=_env("deprioritize"),
        multiple=True,
        metavar="GLOB",
        help="Review matching paths last (repeatable).",
    ),
    click.Option(
        ["--monthly-budget"],
        envvar=_env("monthly_budget"),
        type=float,
        metavar="USD",
        help="Warn past 80% of this month's spending in the store; refuse to send past 100%.",
    ),
]

# Which findings are shown and which fail the run.
FINDINGS: list[click.Parameter] = [
    click.Option(
        ["--language"],
        envvar=_env("language"),
        help="Language of the review text, e.g. en, zh (default en).",
    ),
    click.Option(
        ["--min-severity"],
        envvar=_env("min_severity"),
        type=SEVERITY_CHOICE,
        help="Hide findings below this severity (default low).",
    ),
    click.Option(
        ["--min-confidence"],
        envvar=_env("min_confidence"),
        type=float,
        help="Hide findings below this confidence 0-1 (default 0.5).",
    ),
    click.Option(
        ["--max-findings"],
        envvar=_env("max_findings"),
        type=int,
        help="Show at most this many findings, 0 for all (default 50).",
    ),
    click.Option(
        ["--fail-on"],
        envvar=_env("fail_on"),
        type=FAIL_ON_CHOICE,
        help="Exit 1 on findings at or above this severity (default high; never to disable).",
    ),
    click.Option(
        ["--verify/--no-verify"],
        envvar=_env("verify"),
        default=None,
        help="Have the model check each chunk's findings against the code in one more "
        "request; refuted ones are dropped (default on).",
    ),
]

# What leaves the machine, and what a failure means.
SAFETY: list[click.Parameter] = [
    click.Option(
        ["--redact/--no-redact"],
        envvar=_env("redact"),
        default=None,
        help="Redact secrets before sending (default on).",
    ),
    click.Option(
        ["--redact-pii/--no-redact-pii"],
        envvar=_env("redact_pii"),
        default=None,
        help="Redact personal data before sending: e-mail addresses, phone and ID numbers, "
        "card numbers, IBANs (default on).",
    ),
    click.Option(
        ["--fail-open/--fail-closed"],
        envvar=_env("fail_open"),
        default=None,
        help="Treat operational failures as warnings (exit 0) or as failures (default).",
    ),
]

# The review cache.
CACHE: list[click.Parameter] = [
    click.Option(
        ["--cache/--no-cache"],
        envvar=_env("cache"),
        default=None,
        help="Reuse earlier answers for unchanged chunks (default on).",
    ),
    click.Option(
        ["--cache-dir"],
        envvar=_env("cache_dir"),
        type=click.Path(path_type=str),
        help="Where the review cache lives.",
    ),
    click.Option(
        ["--cache-url"],
        envvar=_env("cache_url"),
        metavar="URL",
        help="redis:// or rediss:// store shared by a team: cache, rate limit, usage ledger "
        "(password in the URL or REVIEWER_CACHE_PASSWORD).",
    ),
    click.Option(["--clear-cache"], is_flag=True, help="Delete the review cache, then exit."),
]

# What is printed or written.
OUTPUT: list[click.Parameter] = [
    click.Option(
        ["-o", "--output", "outputs"],
        multiple=True,
        metavar="FORMAT[=PATH]",
        help="terminal, json, sarif, github, codequality (repeatable; default terminal on stdout).",
    ),
    click.Option(
        ["--dry-run"],
        is_flag=True,
        help="Show files, chunks, tokens and estimated cost; send nothing.",
    ),
    click.Option(
        ["--show-redactions"],
        is_flag=True,
        help="List file:line and family of every redaction (never the value).",
    ),
    click.Option(
        ["--show-config"],
        is_flag=True,
        help="Print the effective settings and their sources, then exit.",
    ),
    click.Option(["-q", "--quiet"], is_flag=True, help="No progress on stderr."),
    click.Option(
        ["-v", "--verbose"],
        is_flag=True,
        help="Also list the findings dropped (refuted or suppressed) and why.",
    ),
    click.Option(
        ["--config", "config_path"],
        type=click.Path(path_type=Path, dir_okay=False),
        help="Config file (default: nearest .reviewer.toml or pyproject.toml [tool.reviewer]).",
    ),
]

# Running as a hook or in a pull request.
MODES: list[click.Parameter] = [
    click.Option(
        ["--hook"],
        type=click.Choice(["pre-commit", "pre-push"]),
        help="Run as a git hook: pre-commit reviews the staged changes, pre-push the commits "
        "being pushed (PRE_COMMIT_FROM_REF/TO_REF); fails open unless --fail-closed.",
    ),
    click.Option(
        ["--github-pr"],
        envvar=_env("github_pr"),
        is_flag=True,
        help="Review the pull request of this GitHub Actions run and publish the review on it.",
    ),
    click.Option(
        ["--comment/--no-comment"],
        envvar=_env("comment"),
        default=True,
        help="With --github-pr or --gitlab-mr: post inline comments and the summary (default on).",
    ),
    click.Option(
        ["--full"],
        is_flag=True,
        help="With --github-pr or --gitlab-mr: review the whole PR/MR, not only new commits.",
    ),
    click.Option(
        ["--gitlab-mr"],
        envvar=_env("gitlab_mr"),
        is_flag=True,
        help="Review the merge request of this GitLab CI pipeline (or --mr) and publish the "
        "review on it.",
    ),
    click.Option(
        ["--gitlab-url"],
        envvar=_env("gitlab_url"),
        metavar="URL",
        help="With --gitlab-mr: the GitLab instance (default: CI_API_V4_URL).",
    ),
    click.Option(
        ["--gitlab-project"],
        envvar=_env("gitlab_project"),
        metavar="ID|PATH",
        help="With --gitlab-mr: the project, by id or group/project path (default: the "
        "pipeline's).",
    ),
    click.Option(
        ["--mr"],
        envvar=_env("mr"),
        type=click.IntRange(min=1),
        metavar="IID",
        help="With --gitlab-mr: the merge request's number (default: CI_MERGE_REQUEST_IID).",
    ),
    click.Option(
        ["--gitlab-ca-file"],
        envvar=_env("gitlab_ca_file"),
        type=click.Path(dir_okay=False, path_type=str),
        metavar="PEM",
        help="With --gitlab-mr: a CA certificate to trust, for a self-managed instance "
        "(also REQUESTS_CA_BUNDLE, SSL_CERT_FILE).",
    ),
]

# Options that map one-to-one onto a Settings field (the rest drive the run itself).
SETTING_OPTIONS = (
    "provider",
    "model",
    "base_url",
    "api_key_env",
    "response_format",
    "temperature",
    "timeout",
    "idle_timeout",
    "stream",
    "max_retries",
    "deadline",
    "jobs",
    "requests_per_minute",
    "tokens_per_minute",
    "context_window",
    "max_output_tokens",
    "max_chunk_tokens",
    "context_lines",
    "context",
    "include",
    "exclude",
    "max_file_bytes",
    "language",
    "min_severity",
    "min_confidence",
    "max_findings",
    "fail_on",
    "verify",
    "redact",
    "redact_pii",
    "max_cost",
    "max_chunks",
    "over_budget",
    "priority",
    "deprioritize",
    "monthly_budget",
    "fail_open",
    "cache",
    "cache_dir",
    "cache_url",
)

# review eval: which corpus and cases, how many at once, and comparing two runs. Its own
# --jobs, --cache and --output: they mean something else there (cases, not chunks; off by
# default; other formats).
EVAL: list[click.Parameter] = [
    click.Option(
        ["--corpus"],
        type=click.Path(path_type=Path, file_okay=False),
        metavar="DIR",
        help="A corpus of your own (see the README; default: the built-in corpus).",
    ),
    click.Option(
        ["--cases"],
        multiple=True,
        metavar="GLOB",
        help="Only the cases whose id matches, e.g. 'python/*' (repeatable).",
    ),
    click.Option(
        ["--compare"],
        nargs=2,
        type=click.Path(path_type=Path, dir_okay=False),
        metavar="A.json B.json",
        help="Print two runs' -o json reports side by side, then exit.",
    ),
    click.Option(
        ["-j", "--jobs"],
        envvar=_env("jobs"),
        type=int,
        help="Cases reviewed concurrently (default 4).",
    ),
    click.Option(
        ["--cache/--no-cache"],
        envvar=_env("cache"),
        default=None,
        help="Reuse earlier answers (default off: an eval measures the model).",
    ),
    click.Option(
        ["-o", "--output", "outputs"],
        multiple=True,
        metavar="FORMAT[=PATH]",
        help="terminal, json, markdown (repeatable; default terminal on stdout).",
    ),
]


REVIEW_PARAMS: list[click.Parameter] = [
    *WHAT,
    *ENDPOINT,
    *BUDGET,
    *FINDINGS,
    *SAFETY,
    *CACHE,
    *OUTPUT,
    *MODES,
]

# review eval takes every review option except those choosing what to review or what happens
# after (and its own --jobs, --cache and --output): what a review gains, an eval measures.
NOT_FOR_EVAL = frozenset(
    {
        "paths",
        "staged",
        "base",
        "head",
        "include",
        "exclude",
        "jobs",
        "fail_on",
        "fail_open",
        "cache",
        "clear_cache",
        # Budgets and priorities choose what of one change is reviewed: eval reviews every case.
        "max_chunks",
        "over_budget",
        "priority",
        "deprioritize",
        "outputs",
        "show_config",
        "hook",
        "github_pr",
        "comment",
        "full",
    }
)
EVAL_PARAMS: list[click.Parameter] = [
    *EVAL,
    *(p for p in REVIEW_PARAMS if p.name not in NOT_FOR_EVAL),
]
