"""``review eval``: options -> explicit settings -> ``reviewer.app.eval_run`` -> exit code."""

from __future__ import annotations

from typing import Any

import click

from reviewer.cli.options import EVAL_PARAMS
from reviewer.cli.review import explicit_settings

EPILOG = (
    "Exit codes: 0 every case scored; 2 usage, config or corpus error; 3 operational failure "
    "(auth, provider, --max-cost) or some cases failed (listed, never scored); 130 interrupted."
)


def _run(ctx: click.Context, /, **options: Any) -> None:
    """Measure a model on a labelled corpus of changes: recall, precision, false findings on
    clean changes, tokens, cost and latency, per category and overall.

    \b
      review eval                             the built-in corpus, the configured model
      review eval --provider deepseek -o json=deepseek.json
      review eval --corpus my-cases/ --cases 'go/*'
      review eval --compare a.json b.json     two runs side by side
    """
    from reviewer.app.eval_run import run_eval  # the wiring stays out of --help

    ctx.exit(run_eval(options, explicit_settings(ctx, options)))


eval_command = click.Command(
    "eval",
    callback=click.pass_context(_run),
    params=EVAL_PARAMS,
    help=_run.__doc__,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
