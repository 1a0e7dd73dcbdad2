"""The ``review`` command: options -> explicit settings -> ``reviewer.app.run`` -> exit code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
from click.core import ParameterSource

from reviewer import __version__
from reviewer.cli.options import REVIEW_PARAMS, SETTING_OPTIONS, env_name

EPILOG = (
    "Exit codes: 0 clean; 1 findings at or above --fail-on; 2 usage or config error; "
    "3 operational failure (git, auth, provider, a failed chunk); 130 interrupted.\n\n"
    "Which model should you use? review eval measures one on a labelled corpus (precision, "
    "recall, cost): review eval --help."
)


def _run(ctx: click.Context, /, **options: Any) -> None:
    """Strict, scored AI review of your git changes.

    \b
      review                      the staged changes
      review --base main          the branch, as a pull request would show it
      review path/to/file.py      whole files, in or out of a repository
    """
    from reviewer.app.run import run  # the heavy wiring stays out of --help and --version

    ctx.exit(run(options, explicit_settings(ctx, options)))


review = click.version_option(__version__, "-V", "--version", prog_name="reviewer")(
    click.Command(
        "review",
        callback=click.pass_context(_run),
        params=REVIEW_PARAMS,
        help=_run.__doc__,
        epilog=EPILOG,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )
)


def explicit_settings(ctx: click.Context, options: Mapping[str, Any]) -> dict[str, tuple[Any, str]]:
    """Settings given on the command line or in REVIEWER_* variables, with their source."""
    explicit: dict[str, tuple[Any, str]] = {}
    for name in SETTING_OPTIONS:
        source = ctx.get_parameter_source(name)
        if source == ParameterSource.COMMANDLINE:
            label = "command line"
        elif source == ParameterSource.ENVIRONMENT:
            label = f"env {env_name(name)}"
        else:
            continue
        value = options[name]
        if value is None or value == ():
            continue
        explicit[name] = (value, label)
    return explicit
