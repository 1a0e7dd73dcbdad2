"""Reporters turn a ``ReviewResult`` into text; the CLI picks them by name from ``REPORTERS``.

A reporter is any object with a ``name`` and ``render(result, *, color) -> str``. To add one,
write a module with a class satisfying ``Reporter`` and add it to the ``REPORTERS`` literal
below; there is no runtime registration on purpose, so the list of formats is readable here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from reviewer.core.errors import UsageError
from reviewer.core.values import Frozen, ReviewResult
from reviewer.outputs.codequality import CodeQualityReporter
from reviewer.outputs.github_summary import GitHubReporter
from reviewer.outputs.json_report import JsonReporter
from reviewer.outputs.sarif import SarifReporter
from reviewer.outputs.terminal import TerminalReporter


class Reporter(Protocol):
    @property
    def name(self) -> str: ...

    def render(self, result: ReviewResult, *, color: bool) -> str:
        """The whole report. ``color`` allows ANSI styling (the CLI decides: TTY, NO_COLOR)."""
        ...


REPORTERS: dict[str, Reporter] = {
    "terminal": TerminalReporter(),
    "json": JsonReporter(),
    "sarif": SarifReporter(),
    "github": GitHubReporter(),
    "codequality": CodeQualityReporter(),
}

STDOUT = "-"


class OutputSpec(Frozen):
    """One ``--output FORMAT[=PATH]``: ``path`` None means stdout."""

    format: str
    path: Path | None = None


def get_reporter(name: str) -> Reporter:
    try:
        return REPORTERS[name]
    except KeyError:
        raise UsageError(
            f"unknown output format {name!r}; known formats: {', '.join(sorted(REPORTERS))}"
        ) from None


def parse_output_spec(spec: str) -> OutputSpec:
    """``"json"`` -> json to stdout; ``"json=out.json"`` -> json to a file; ``"json=-"`` -> stdout.

    The format must be a known reporter, so a typo fails before anything is sent to a model.
    """
    name, sep, target = spec.partition("=")
    name = name.strip().lower()
    get_reporter(name)
    if not sep or target == STDOUT:
        return OutputSpec(format=name)
    if not target.strip():
        raise UsageError(f"--output {spec!r}: missing path after '='; use {name}=PATH")
    return OutputSpec(format=name, path=Path(target))
