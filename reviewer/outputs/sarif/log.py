"""The log around the results: the tool with its rules and notification descriptors, the
invocation, the run's properties and its ``automationDetails`` category."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from reviewer.core.values import ReviewResult
from reviewer.outputs.sarif.locations import SRCROOT
from reviewer.outputs.sarif.notifications import descriptors
from reviewer.outputs.sarif.rules import INFORMATION_URI

SARIF_VERSION: Final = "2.1.0"
SARIF_SCHEMA_URI: Final = "https://json.schemastore.org/sarif-2.1.0.json"

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


def log(
    result: ReviewResult,
    *,
    category: str,
    rules: list[dict[str, Any]],
    results: list[dict[str, Any]],
    notifications: list[dict[str, Any]],
    root: Path | None,
) -> dict[str, Any]:
    driver: dict[str, Any] = {
        "name": "reviewer",
        "version": result.tool_version,
        "informationUri": INFORMATION_URI,
        "rules": rules,
        "notifications": descriptors(),
    }
    if _SEMVER.match(result.tool_version):
        driver["semanticVersion"] = result.tool_version
    invocation: dict[str, Any] = {
        "executionSuccessful": result.complete,
        "toolExecutionNotifications": notifications,
    }
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "automationDetails": {"id": _automation_id(category)},
        "invocations": [invocation],
        "columnKind": "utf16CodeUnits",
        "results": results,
        "properties": _run_properties(result),
    }
    if root is not None:
        run["originalUriBaseIds"] = {
            SRCROOT: {
                "uri": root.as_uri().rstrip("/") + "/",
                "description": {"text": "The root of the reviewed source tree."},
            }
        }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def _automation_id(category: str) -> str:
    # GitHub reads "<category>/<run-id>"; with an empty run id every upload of this category
    # replaces the previous one for the same commit, which is what a re-review should do.
    cleaned = category.strip().strip("/")
    return f"{cleaned or 'reviewer'}/"


def _run_properties(result: ReviewResult) -> dict[str, Any]:
    props: dict[str, Any] = {
        "score": result.score,
        "summary": result.summary,
        "source": result.source,
        "model": result.model,
        "provider": result.provider,
        # The convention of the multitool's AI rules (AI1006): findings are model-generated.
        "ai/origin": "generated",
        "dryRun": result.dry_run,
        "complete": result.complete,
        "stats": result.stats.model_dump(mode="json"),
    }
    if result.instructions:
        props["instructions"] = [i.path for i in result.instructions if i.tokens]
    over = [n for n in result.not_reviewed if n.reason == "over-budget"]
    if over:
        # Left out by --max-cost/--max-chunks: also in the notifications, listed whole here.
        props["overBudget"] = [{"path": n.path, "detail": n.detail} for n in over]
    if result.base_sha:
        props["baseSha"] = result.base_sha
    if result.head_sha:
        props["headSha"] = result.head_sha
    return props
