"""``--output codequality``: GitLab's Code Quality report (its subset of the Code Climate format).

Declared as ``artifacts:reports:codequality`` in a job, it shows the findings in the merge
request's widget and diff without any token: GitLab reads the artifact itself. One JSON array,
one object per finding::

    {
      "type": "issue",
      "check_name": "reviewer/security",        # the rule id
      "description": "SQL built from user input",   # the title (GitLab's one line)
      "content": {"body": "…"},                 # the message, and a suggested replacement
      "categories": ["Security"],               # Code Climate's categories
      "severity": "blocker",                    # info | minor | major | critical | blocker
      "fingerprint": "0123456789abcdef",        # unique in the report, stable across line shifts
      "location": {"path": "src/app.py", "lines": {"begin": 12, "end": 14}},
      "engine_name": "reviewer"
    }

GitLab requires ``description``, ``check_name``, ``fingerprint``, ``severity``,
``location.path`` and ``location.lines.begin``; the rest is Code Climate's and ignored by GitLab.
Severities map one to one, in order: critical -> blocker, high -> critical, medium -> major,
low -> minor, info -> info. The fingerprint is the finding's (path, rule, title and code, no
line number), so GitLab can tell new issues from old ones across pushes. A failed chunk is an
issue too (``reviewer/failed-chunk``, major, on its first file's line 1): an incomplete review
must not look clean in the widget.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from reviewer.core.values import ChunkFailure, Finding, ReviewResult

SEVERITY = {
    "critical": "blocker",
    "high": "critical",
    "medium": "major",
    "low": "minor",
    "info": "info",
}
CATEGORIES = {
    "bug": "Bug Risk",
    "security": "Security",
    "performance": "Performance",
    "maintainability": "Complexity",
    "error-handling": "Bug Risk",
    "concurrency": "Bug Risk",
    "style": "Style",
    "docs": "Clarity",
    "tests": "Bug Risk",
}
FAILED_CHECK = "reviewer/failed-chunk"


class CodeQualityReporter:
    name = "codequality"

    def render(self, result: ReviewResult, *, color: bool) -> str:
        del color  # a file format
        return json.dumps(to_codequality(result), indent=2, ensure_ascii=False) + "\n"


def to_codequality(result: ReviewResult) -> list[dict[str, Any]]:
    issues = [_issue(f) for f in result.findings]
    issues += [_failure(fl) for fl in result.failures]
    seen: set[str] = set()
    for issue in issues:
        # GitLab counts issues by fingerprint: two with one fingerprint would show as one.
        base, n = issue["fingerprint"], 1
        while issue["fingerprint"] in seen:
            n += 1
            issue["fingerprint"] = f"{base}-{n}"
        seen.add(issue["fingerprint"])
    return issues


def _issue(f: Finding) -> dict[str, Any]:
    start, end = sorted((f.start_line, f.end_line))
    body = f.message
    if f.suggestion is not None:
        body += "\n\nSuggested replacement:\n\n" + f.suggestion
    return {
        "type": "issue",
        "check_name": f.rule_id,
        "description": " ".join(f.title.split()) or " ".join(f.message.split())[:200],
        "content": {"body": body},
        "categories": [CATEGORIES[f.category]],
        "severity": SEVERITY[f.severity],
        "fingerprint": f.fingerprint,
        "location": {"path": f.path, "lines": {"begin": start, "end": end}},
        "engine_name": "reviewer",
    }


def _failure(fl: ChunkFailure) -> dict[str, Any]:
    paths = ", ".join(fl.paths)
    payload = "\0".join((FAILED_CHECK, fl.kind, *fl.paths))
    return {
        "type": "issue",
        "check_name": FAILED_CHECK,
        "description": (
            f"Not reviewed: chunk {fl.index} ({fl.lines} changed lines of {paths}) failed: "
            f"{fl.kind}"
        ),
        "content": {"body": fl.message},
        "categories": ["Bug Risk"],
        "severity": "major",
        "fingerprint": hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:16],
        "location": {"path": fl.paths[0] if fl.paths else ".", "lines": {"begin": 1, "end": 1}},
        "engine_name": "reviewer",
    }
