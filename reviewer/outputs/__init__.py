"""Reporters turn a ``ReviewResult`` into text; the CLI picks them by name from ``REPORTERS``.

A reporter is any object with a ``name`` and ``render(result, *, color) -> str``. To add one,
write a module with a class satisfying ``Reporter`` and add it to the ``REPORTERS`` literal
below; there is no runtime registration on purpose, so the list of formats is readable here.
A reporter's module is imported only when its format is asked for.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol, cast

from reviewer.core.errors import UsageError
from reviewer.core.values import Frozen, ReviewResult


class Reporter(Protocol):
    @property
    def name(self) -> str: ...

    def render(self, result: ReviewResult, *, color: bool) -> str:
        """The whole report. ``color`` allows ANSI styling (the CLI decides: TTY, NO_COLOR)."""
        ...


# name -> "module:class"
REPORTERS: dict[str, str] = {
    "terminal": "reviewer.outputs.terminal:TerminalReporter",
    "json": "reviewer.outputs.json_report:JsonReporter",
    "sarif": "reviewer.outputs.sarif:SarifReporter",
    "github": "reviewer.outputs.github_summary:GitHubReporter",
    "codequality": "reviewer.outputs.codequality:CodeQualityReporter",
}

STDOUT = "-"


class OutputSpec(Frozen):
    """One ``--output FORMAT[=PATH]``: ``path`` None means stdout."""

    format: str
    path: Path | None = None


def get_reporter(name: str) -> Reporter:
    where = REPORTERS.get(name)
    if where is None:
        raise UsageError(
            f"unknown output format {name!r}; known formats: {', '.join(sorted(REPORTERS))}"
        )
    module, _, cls = where.partition(":")
    return cast(Reporter, getattr(importlib.import_module(module), cls)())


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
