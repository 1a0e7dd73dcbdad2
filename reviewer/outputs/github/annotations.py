"""The fallback when the token cannot write to the PR (a fork's read-only ``GITHUB_TOKEN``):
workflow-command annotations on stdout and the summary appended to ``$GITHUB_STEP_SUMMARY``.

Escaping follows the runner's rules: in the message ``%``, CR and LF become ``%25``, ``%0D``,
``%0A``; in a property value ``:`` and ``,`` also become ``%3A``, ``%2C``. So model text stays
on one line and can never start a workflow command of its own (``::add-mask::``, ...).
GitHub shows at most 10 annotations of each level per step; findings come worst first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from reviewer.core.errors import GitHubError
from reviewer.core.values import Finding

LEVEL = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "notice",
    "info": "notice",
}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    start, end = sorted((finding.start_line, finding.end_line))
    title = f"[{finding.severity}] {finding.title}"
    props = (
        f"file={escape_property(finding.path)},line={start},endLine={end},"
        f"title={escape_property(title)}"
    )
    message = finding.message
    if finding.suggestion is not None:
        message += "\n\nSuggested replacement:\n" + finding.suggestion
    return f"::{LEVEL[finding.severity]} {props}::{escape_data(message)}"


def write_annotations(findings: Iterable[Finding], out: TextIO) -> int:
    count = 0
    for finding in findings:
        out.write(annotation(finding) + "\n")
        count += 1
    out.flush()
    return count


def append_step_summary(path: str, markdown: str) -> None:
    """Append to the job summary file (other steps write to it too, so never truncate)."""
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
    except OSError as exc:
        raise GitHubError(f"GITHUB_STEP_SUMMARY {path}: {exc.strerror or exc}") from None
