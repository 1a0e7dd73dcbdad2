"""What GitLab adds to the shared sanitising (``reviewer.outputs.github.markdown``).

GitLab Flavored Markdown acts on more than GitHub's does, and a note written through the API
is processed like one a person typed:

* **Quick actions.** A line ``/merge``, ``/approve``, ``/close``... runs with the token's
  rights. Model text never starts a line with one: a zero width space goes in front (the line
  reads the same). A suggestion that would carry such a line is not offered.
* **References.** ``!12`` (merge request), ``&3`` (epic), ``$4`` (snippet), ``%5`` (milestone)
  and ``~6`` (label) link, and the first three add a "mentioned in" note to what they name.
  A zero width space after the sigil keeps model text from doing that (``#12`` and ``@user``
  are already handled by ``sanitize``).
* **Suggestions** are ```` ```suggestion:-N+0 ```` blocks on the thread's last line, ``N`` lines
  above it; GitLab's quick-action parser skips exactly-three-backtick blocks only, so a
  suggestion needing a longer fence is not offered either.
"""

from __future__ import annotations

import re

from reviewer.core.values import Finding, ReviewResult
from reviewer.outputs.github.markdown import ZWSP, inline_body

_QUICK_ACTION = re.compile(r"^(?=[ \t]*/[A-Za-z][\w-]*(?:[ \t]|$))", re.MULTILINE)
_REFERENCE = re.compile(r"([!&$%~])(?=\d)")


def inert(text: str) -> str:
    """Model text -> text GitLab will not act on (see the module docstring)."""
    return _REFERENCE.sub(lambda m: m.group(1) + ZWSP, without_quick_actions(text))


def without_quick_actions(text: str) -> str:
    """No line of ``text`` is a quick action any more; a final pass over every note body."""
    return _QUICK_ACTION.sub(ZWSP, text)


def inert_finding(finding: Finding, *, suggestion: bool = True) -> Finding:
    update: dict[str, object] = {
        "title": inert(finding.title),
        "message": inert(finding.message),
    }
    if suggestion and finding.suggestion is not None:
        update["suggestion"] = without_quick_actions(finding.suggestion)
    return finding.model_copy(update=update)


def inert_result(result: ReviewResult) -> ReviewResult:
    """The result as the summary note shows it: every model-written text made inert."""
    return result.model_copy(
        update={
            "summary": inert(result.summary),
            "findings": tuple(inert_finding(f) for f in result.findings),
            "failures": tuple(
                fl.model_copy(update={"message": inert(fl.message)}) for fl in result.failures
            ),
        }
    )


def suggestion_fits(suggestion: str | None) -> bool:
    """Whether the suggestion can be a GitLab suggestion block, unchanged and inert."""
    if suggestion is None:
        return False
    return "```" not in suggestion and without_quick_actions(suggestion) == suggestion


def thread_body(finding: Finding, *, shown: tuple[int, int], exact: bool) -> str:
    """The first note of a thread on new-file lines ``shown``; with a suggestion block when
    the thread is on exactly the finding's lines."""
    with_suggestion = exact and suggestion_fits(finding.suggestion)
    body = inline_body(
        inert_finding(finding, suggestion=False),
        with_suggestion=with_suggestion,
        shown=shown,
        suggestion_info=f"suggestion:-{shown[1] - shown[0]}+0",
    )
    return without_quick_actions(body)
