"""Findings the repository asked not to see: ``reviewer: ignore`` comments in the code, and
fingerprints its team marked as false positives on the pull request.

**Comments.** ``reviewer: ignore[<category>, ...]`` after a comment opener (``#``, ``//``,
``--``, ``/*``, ``<!--``) on a line of a finding's range suppresses findings of those
categories there; ``reviewer: ignore`` (or ``ignore[]``) suppresses every category. A
category may be written as its rule id (``reviewer/security``). An unknown category
suppresses nothing and is reported as a warning (a typo must not look like a working
suppression).

**Dismissed.** A finding whose fingerprint is in ``dismissed`` (read from the pull request,
see ``reviewer.outputs.github.dismissed``) is suppressed.

Suppressed findings are dropped with their reason (``DroppedFinding``) and counted.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from reviewer.core.values import CATEGORIES, DroppedFinding, Finding

DIRECTIVE = re.compile(
    r"(?:#|//|--|/\*|<!--)[ \t]*reviewer:[ \t]*ignore(?![\w-])(?:\[(?P<names>[^\]\n]*)\])?",
    re.IGNORECASE,
)
DISMISSED_REASON = "marked as a false positive on the pull request"


@dataclass(frozen=True, slots=True)
class Suppressed:
    findings: tuple[Finding, ...]  # what is left
    dropped: tuple[DroppedFinding, ...] = ()
    warnings: tuple[str, ...] = ()


def suppress(findings: Sequence[Finding], dismissed: Collection[str] = ()) -> Suppressed:
    kept: list[Finding] = []
    dropped: list[DroppedFinding] = []
    warnings: list[str] = []
    for finding in findings:
        reason, unknown = _reason(finding, dismissed)
        warnings.extend(
            f"unknown category {name!r} in a 'reviewer: ignore' comment in {finding.path} "
            f"(known: {', '.join(CATEGORIES)})"
            for name in unknown
        )
        if reason is None:
            kept.append(finding)
        else:
            dropped.append(DroppedFinding(kind="suppressed", reason=reason, finding=finding))
    return Suppressed(tuple(kept), tuple(dropped), tuple(dict.fromkeys(warnings)))


def _reason(finding: Finding, dismissed: Collection[str]) -> tuple[str | None, list[str]]:
    unknown: list[str] = []
    for match in DIRECTIVE.finditer(finding.code):
        names = _names(match.group("names"))
        unknown.extend(n for n in names if n not in CATEGORIES)
        if not names or finding.category in names:
            lines = f"{finding.start_line}"
            if finding.end_line != finding.start_line:
                lines += f"-{finding.end_line}"
            what = "" if not names else f"[{finding.category}]"
            return f"'reviewer: ignore{what}' comment in {finding.path}:{lines}", unknown
    if finding.fingerprint in dismissed:
        return DISMISSED_REASON, unknown
    return None, unknown


def _names(raw: str | None) -> list[str]:
    if raw is None:
        return []
    names = [n.strip().lower().removeprefix("reviewer/") for n in raw.split(",")]
    return [n for n in names if n]
