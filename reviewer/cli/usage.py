"""``review usage``: the usage ledger, grouped (``reviewer.app.usage`` does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from reviewer.cli.options import env_name

# Settings this command reads, as the review command takes them (flag, env, config file).
_SETTINGS = ("cache_url", "cache_dir", "monthly_budget")


def _run(ctx: click.Context, /, **options: Any) -> None:
    """What reviews cost: runs, requests, tokens, cost and cache hits from the usage ledger
    (the team's with --cache-url, else this machine's).

    \b
      review usage                      the last 30 days, by day
      review usage --since 2w --by repo
      review usage --by model -o json
    """
    from reviewer.app.usage import run_usage

    explicit: dict[str, tuple[Any, str]] = {}
    for name in _SETTINGS:
        source = ctx.get_parameter_source(name)
        if options[name] is None or source not in (
            ParameterSource.COMMANDLINE,
            ParameterSource.ENVIRONMENT,
        ):
            continue
        label = "command line" if source == ParameterSource.COMMANDLINE else f"env {env_name(name)}"
        explicit[name] = (options[name], label)
    ctx.exit(run_usage(options, explicit))


usage = click.Command(
    "usage",
    callback=click.pass_context(_run),
    help=_run.__doc__,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    params=[
        click.Option(
            ["--since"],
            default="30d",
            show_default=True,
            metavar="AGE|DATE",
            help="From this long ago (12h, 30d, 2w) or this date (2025-07-01, UTC).",
        ),
        click.Option(
            ["--by"],
            type=click.Choice(["day", "model", "repo", "source"]),
            default="day",
            show_default=True,
            help="Group by day, model, repository or source (hook, pr, path, staged, branch).",
        ),
        click.Option(
            ["-o", "--output"],
            type=click.Choice(["table", "json"]),
            default="table",
            show_default=True,
            help="A table, or JSON on stdout.",
        ),
        click.Option(
            ["--cache-url"],
            envvar=env_name("cache_url"),
            metavar="URL",
            help="The team's Redis (default: the config file's, else this machine's ledger).",
        ),
        click.Option(
            ["--cache-dir"],
            envvar=env_name("cache_dir"),
            type=click.Path(path_type=str),
            help="Where this machine's ledger lives (the review cache's directory).",
        ),
        click.Option(
            ["--monthly-budget"],
            envvar=env_name("monthly_budget"),
            type=float,
            metavar="USD",
            help="Show this month's spending against it (default: the config file's).",
        ),
        click.Option(
            ["--config", "config_path"],
            type=click.Path(path_type=Path, dir_okay=False),
            help="Config file (default: nearest .reviewer.toml or pyproject.toml).",
        ),
    ],
)
