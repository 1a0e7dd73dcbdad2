"""One finding -> one SARIF result: level, message, location, fix, fingerprint, properties."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from reviewer.core.values import SEVERITY_RANK, Finding
from reviewer.outputs.github.markdown import sanitize as inert_markdown
from reviewer.outputs.sarif.locations import artifact_location, region, with_snippet
from reviewer.outputs.sarif.text import clip, escape_md, fence, sentence, strip_one_newline

FINGERPRINT_KEY: Final = "reviewerFingerprint/v1"

LEVEL_BY_SEVERITY: Final[dict[str, str]] = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "info": "note",
}
# GitHub reads security-severity from the rule only; the per-result value is for other viewers.
SECURITY_SEVERITY_BY_SEVERITY: Final[dict[str, str]] = {
    "critical": "9.5",
    "high": "8.0",
    "medium": "5.5",
    "low": "3.0",
    "info": "1.0",
}


def keep_most_severe(findings: tuple[Finding, ...] | list[Finding], limit: int) -> list[Finding]:
    """The ``limit`` most severe findings, in their original order."""
    if len(findings) <= limit:
        return list(findings)
    order = sorted(range(len(findings)), key=lambda i: (-SEVERITY_RANK[findings[i].severity], i))
    keep = sorted(order[: max(limit, 0)])
    return [findings[i] for i in keep]


def result(f: Finding, rule_index: dict[str, int], root: Path | None) -> dict[str, Any]:
    artifact = artifact_location(f.path, root)
    where = region(f)
    location = {"artifactLocation": artifact, "region": with_snippet(where, f)}
    out: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index[f.rule_id],
        "level": LEVEL_BY_SEVERITY[f.severity],
        "message": _message(f),
        "locations": [{"physicalLocation": location}],
    }
    if f.fingerprint:
        out["partialFingerprints"] = {FINGERPRINT_KEY: f.fingerprint}
    if f.suggestion is not None:
        out["fixes"] = [_fix(f.suggestion, artifact, where)]
    props: dict[str, Any] = {
        "severity": f.severity,
        "category": f.category,
        "confidence": f.confidence,
        "score": f.score,
        "title": f.title,
    }
    if f.category == "security":
        props["security-severity"] = SECURITY_SEVERITY_BY_SEVERITY[f.severity]
    if f.verified is not None:
        props["verified"] = f.verified  # the verification pass confirmed it (false: failed)
    out["properties"] = props
    return out


def _fix(suggestion: str, artifact: dict[str, str], where: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": {"text": "Replace the reported lines with the suggestion."},
        "artifactChanges": [
            {
                "artifactLocation": artifact,
                "replacements": [
                    {
                        # Same region as the location: the suggestion replaces exactly
                        # start_line..end_line, excluding the final newline.
                        "deletedRegion": where,
                        "insertedContent": {"text": strip_one_newline(suggestion)},
                    }
                ],
            }
        ],
    }


def _message(f: Finding) -> dict[str, str]:
    # GitHub shows the first sentence as the alert's title, so the title must end one.
    title = sentence(f.title)
    body = sentence(f.message)
    text = clip(f"{title} {body}" if body else title)
    # Viewers render this Markdown: model text must not mention, link or inject HTML.
    markdown = f"**{escape_md(inert_markdown(title))}**"
    if body:
        markdown += f"\n\n{inert_markdown(body)}"
    if f.suggestion is not None:
        code_fence = fence(f.suggestion)
        markdown += (
            f"\n\nSuggested replacement:\n\n{code_fence}\n{strip_one_newline(f.suggestion)}\n"
            f"{code_fence}"
        )
    return {"text": text, "markdown": clip(markdown)}
