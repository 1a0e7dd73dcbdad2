"""Where the reports go: stdout (coloured on a TTY) or files written atomically (progress on
stderr is ``reviewer.app.progress``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from reviewer.core.errors import UsageError
from reviewer.core.values import ReviewResult
from reviewer.outputs import OutputSpec, get_reporter


def write_outputs(result: ReviewResult, specs: list[OutputSpec], *, verbose: bool = False) -> None:
    from reviewer.outputs.atomicio import write_atomic
    from reviewer.outputs.terminal import TerminalReporter

    for spec in specs:
        reporter = get_reporter(spec.format)
        if verbose and isinstance(reporter, TerminalReporter):
            reporter = TerminalReporter(verbose=True)
        if spec.path is None:
            color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
            click.echo(reporter.render(result, color=color))
        else:
            write_atomic(Path(spec.path), reporter.render(result, color=False))


def check_destinations(specs: list[OutputSpec]) -> None:
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
