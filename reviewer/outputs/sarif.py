"""SARIF 2.1.0 output, shaped for GitHub code scanning.

One run per file (GitHub rejects two runs with the same category in one upload), one rule per
finding category, one location per result. GitHub's upload limits are enforced here rather than
discovered at upload time: at most 25,000 results per run (lowest severity dropped first) and
at most 10 MB gzipped; whatever is dropped is said in a tool-execution notification.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from reviewer.core.values import (
    CATEGORIES,
    SEVERITY_RANK,
    Category,
    ChunkFailure,
    Finding,
    NotReviewed,
    ReviewResult,
)
from reviewer.outputs.github.markdown import sanitize as inert_markdown

SARIF_VERSION: Final = "2.1.0"
SARIF_SCHEMA_URI: Final = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI: Final = "https://github.com/reviewer-dev/reviewer"
SRCROOT: Final = "%SRCROOT%"
FINGERPRINT_KEY: Final = "reviewerFingerprint/v1"

# GitHub code scanning's limits (docs: "SARIF support for code scanning").
GITHUB_MAX_RESULTS: Final = 25_000
GITHUB_MAX_GZIP_BYTES: Final = 10 * 1000 * 1000  # "10 MB"; the decimal reading is the safe one
MAX_MESSAGE_CHARS: Final = 8_000
PRETTY_MAX_RESULTS: Final = 2_000
# A long list of skipped files (a vendored tree) must not crowd out the results in the size budget.
MAX_NOT_REVIEWED_NOTIFICATIONS: Final = 1_000

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
SECURITY_RULE_SEVERITY: Final = "8.0"

# Reasons a file was skipped on purpose are notes; the rest mean code went unreviewed by accident.
_QUIET_REASONS: Final = frozenset(
    {
        "deleted",
        "binary",
        "lockfile",
        "minified",
        "generated",
        "vendored",
        "submodule",
        "symlink",
        "mode-only",
        "excluded",
        "not-included",
        "secret-file",
        "empty",
    }
)


@dataclass(frozen=True)
class _RuleText:
    name: str
    short: str
    full: str
    level: str  # defaultConfiguration.level
    problem_severity: str  # error | warning | recommendation
    tags: tuple[str, ...]


_RULES: Final[dict[Category, _RuleText]] = {
    "bug": _RuleText(
        "Bug",
        "Likely bug in changed code.",
        "Code that probably does not do what it intends: wrong logic, off-by-one errors, "
        "wrong types, unhandled cases or broken invariants.",
        "error",
        "error",
        ("correctness", "reliability"),
    ),
    "security": _RuleText(
        "SecurityIssue",
        "Possible security vulnerability in changed code.",
        "Code that may be exploitable: injection, unsafe deserialization, missing "
        "authorization, secrets in code, weak cryptography or unsafe handling of untrusted input.",
        "error",
        "error",
        ("security",),
    ),
    "performance": _RuleText(
        "PerformanceIssue",
        "Performance problem in changed code.",
        "Code that does needless work: repeated computation, quadratic loops over growing "
        "data, blocking calls on hot paths or unbounded memory use.",
        "warning",
        "warning",
        ("performance", "efficiency"),
    ),
    "maintainability": _RuleText(
        "MaintainabilityIssue",
        "Maintainability problem in changed code.",
        "Code that will be hard to change safely: duplication, tangled responsibilities, "
        "misleading names or hidden coupling.",
        "note",
        "recommendation",
        ("maintainability",),
    ),
    "error-handling": _RuleText(
        "ErrorHandlingIssue",
        "Error handling problem in changed code.",
        "Errors that are swallowed, reported misleadingly, or leave state inconsistent; "
        "resources that are not released on failure.",
        "warning",
        "warning",
        ("reliability", "error-handling"),
    ),
    "concurrency": _RuleText(
        "ConcurrencyIssue",
        "Concurrency problem in changed code.",
        "Races, deadlocks, unsynchronized shared state or misuse of async primitives.",
        "warning",
        "warning",
        ("reliability", "concurrency"),
    ),
    "style": _RuleText(
        "StyleIssue",
        "Style problem in changed code.",
        "Code that departs from the project's conventions or reads poorly without being wrong.",
        "note",
        "recommendation",
        ("style",),
    ),
    "docs": _RuleText(
        "DocumentationIssue",
        "Documentation problem in changed code.",
        "Missing, outdated or misleading comments, docstrings or documentation.",
        "note",
        "recommendation",
        ("documentation",),
    ),
    "tests": _RuleText(
        "TestIssue",
        "Testing problem in changed code.",
        "Missing tests for changed behaviour, tests that cannot fail, or fragile tests.",
        "note",
        "recommendation",
        ("testing",),
    ),
}

_NOTIFICATIONS: Final[tuple[tuple[str, str, str], ...]] = (
    ("reviewer/chunk-failed", "ChunkFailed", "A chunk of changes could not be reviewed."),
    ("reviewer/not-reviewed", "FileNotReviewed", "A changed file was not reviewed."),
    ("reviewer/results-dropped", "ResultsDropped", "Results were left out of this log."),
    ("reviewer/dry-run", "DryRun", "Nothing was sent to the model."),
)
_NOTIFICATION_INDEX: Final = {nid: i for i, (nid, _, _) in enumerate(_NOTIFICATIONS)}

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_SENTENCE_END = (".", "!", "?", ":")


@dataclass(frozen=True)
class SarifReporter:
    """``--output sarif``. ``category`` becomes ``automationDetails.id`` (``<category>/``)."""

    name: str = "sarif"
    category: str = "reviewer"
    root: str | None = None

    def render(self, result: ReviewResult, *, color: bool = False) -> str:
        # SARIF is a file format: color is meaningless and ignored.
        del color
        return render_sarif(to_sarif(result, category=self.category, root=self.root))


def render_sarif(log: dict[str, Any]) -> str:
    """The file's text: indented for people, compact once it is too big for people to read.

    Past ``PRETTY_MAX_RESULTS`` indentation only costs: it can nearly double the gzipped size
    that GitHub's 10 MB limit counts, and Python's indenting encoder is several times slower.
    """
    if sum(len(run["results"]) for run in log["runs"]) > PRETTY_MAX_RESULTS:
        return json.dumps(log, ensure_ascii=False, separators=(",", ":")) + "\n"
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def to_sarif(
    result: ReviewResult,
    *,
    category: str = "reviewer",
    root: str | None = None,
    max_results: int = GITHUB_MAX_RESULTS,
    max_gzip_bytes: int = GITHUB_MAX_GZIP_BYTES,
) -> dict[str, Any]:
    """The SARIF log of ``result``.

    ``root`` is the directory finding paths are relative to; when given it is recorded as
    ``%SRCROOT%`` and absolute paths under it are made relative. ``max_results`` and
    ``max_gzip_bytes`` default to GitHub's upload limits.
    """
    rules, rule_index = _rules(result.findings)
    kept = _keep_most_severe(result.findings, max_results)
    dropped_for_count = len(result.findings) - len(kept)
    root_path = Path(root).resolve() if root is not None else None

    def build(findings: list[Finding], dropped_for_size: int) -> dict[str, Any]:
        results = [_result(f, rule_index, root_path) for f in findings]
        dropped = _Dropped(dropped_for_count, max_results, dropped_for_size, max_gzip_bytes)
        notifications = _notifications(result, dropped, root_path)
        return _log(
            result,
            category=category,
            rules=rules,
            results=results,
            notifications=notifications,
            root=root_path,
        )

    log = build(kept, 0)
    # Shrink by the measured ratio (with a margin) until the gzipped file fits; each pass drops
    # the least severe of what is left, so this converges in a few renders.
    dropped_for_size = 0
    size = _gzip_size(log, max_gzip_bytes)
    while kept and size > max_gzip_bytes:
        target = min(int(len(kept) * max_gzip_bytes / size * 0.95), len(kept) - 1)
        dropped_for_size += len(kept) - target
        kept = _keep_most_severe(kept, target)
        log = build(kept, dropped_for_size)
        size = _gzip_size(log, max_gzip_bytes)
    return log


# --------------------------------------------------------------------------- the log


def _log(
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
        "notifications": [
            {
                "id": nid,
                "name": name,
                "shortDescription": {"text": text},
                "fullDescription": {"text": text},
                # GitHub's ingestion rules (GH2012) want help on every descriptor.
                "help": {"text": f"{text} The notification's message says which and why."},
            }
            for nid, name, text in _NOTIFICATIONS
        ],
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
    if result.base_sha:
        props["baseSha"] = result.base_sha
    if result.head_sha:
        props["headSha"] = result.head_sha
    return props


# --------------------------------------------------------------------------- rules


def _rules(findings: tuple[Finding, ...]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every category's rule in a fixed order (so ``ruleIndex`` is stable across runs), then any
    other rule id a finding carries, sorted."""
    rules = [_rule(f"reviewer/{cat}", cat) for cat in CATEGORIES]
    known = {r["id"] for r in rules}
    extra: dict[str, Category] = {}
    for f in findings:
        if f.rule_id not in known:
            extra.setdefault(f.rule_id, f.category)
    rules.extend(_rule(rid, extra[rid]) for rid in sorted(extra))
    return rules, {r["id"]: i for i, r in enumerate(rules)}


def _rule(rule_id: str, category: Category) -> dict[str, Any]:
    text = _RULES[category]
    tags = ["reviewer", "ai-review", *text.tags]
    props: dict[str, Any] = {
        "tags": list(dict.fromkeys(tags)),
        "precision": "medium",  # a model's judgement: often right, never certain
        "problem.severity": text.problem_severity,
        "category": category,
    }
    if category == "security":
        props["security-severity"] = SECURITY_RULE_SEVERITY
    help_text = (
        f"{text.full} Findings come from an AI review of the change; "
        "check each one before acting on it."
    )
    help_md = (
        f"**{text.short}**\n\n{text.full}\n\n"
        "Findings come from an AI review of the change; check each one before acting on it. "
        "A finding's suggestion, when present, replaces exactly the reported lines."
    )
    return {
        "id": rule_id,
        "name": text.name,
        "shortDescription": {"text": text.short},
        "fullDescription": {"text": text.full},
        "help": {"text": help_text, "markdown": help_md},
        "helpUri": INFORMATION_URI,
        "defaultConfiguration": {"level": text.level},
        "properties": props,
    }


# --------------------------------------------------------------------------- results


def _keep_most_severe(findings: tuple[Finding, ...] | list[Finding], limit: int) -> list[Finding]:
    """The ``limit`` most severe findings, in their original order."""
    if len(findings) <= limit:
        return list(findings)
    order = sorted(range(len(findings)), key=lambda i: (-SEVERITY_RANK[findings[i].severity], i))
    keep = sorted(order[: max(limit, 0)])
    return [findings[i] for i in keep]


def _result(f: Finding, rule_index: dict[str, int], root: Path | None) -> dict[str, Any]:
    artifact = _artifact_location(f.path, root)
    region = _region(f)
    location = {"artifactLocation": artifact, "region": _with_snippet(region, f)}
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
        out["fixes"] = [
            {
                "description": {"text": "Replace the reported lines with the suggestion."},
                "artifactChanges": [
                    {
                        "artifactLocation": artifact,
                        "replacements": [
                            {
                                # Same region as the location: the suggestion replaces exactly
                                # start_line..end_line, excluding the final newline.
                                "deletedRegion": region,
                                "insertedContent": {"text": _strip_one_newline(f.suggestion)},
                            }
                        ],
                    }
                ],
            }
        ]
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


def _message(f: Finding) -> dict[str, str]:
    # GitHub shows the first sentence as the alert's title, so the title must end one.
    title = _sentence(f.title)
    body = _sentence(f.message)
    text = _clip(f"{title} {body}" if body else title)
    # Viewers render this Markdown: model text must not mention, link or inject HTML.
    markdown = f"**{_escape_md(inert_markdown(title))}**"
    if body:
        markdown += f"\n\n{inert_markdown(body)}"
    if f.suggestion is not None:
        fence = _fence(f.suggestion)
        markdown += (
            f"\n\nSuggested replacement:\n\n{fence}\n{_strip_one_newline(f.suggestion)}\n{fence}"
        )
    return {"text": text, "markdown": _clip(markdown)}


def _sentence(text: str) -> str:
    text = text.strip()
    if text and not text.endswith(_SENTENCE_END):
        text += "."
    return text


def _clip(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return text[: MAX_MESSAGE_CHARS - 1].rstrip() + "…"


def _escape_md(text: str) -> str:
    return text.replace("*", r"\*")


def _fence(code: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    return "`" * max(3, longest + 1)


def _strip_one_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def _region(f: Finding) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": f.start_line, "endLine": max(f.end_line, f.start_line)}
    last = _last_line(f)
    if last is not None:
        # columnKind is utf16CodeUnits (what GitHub's viewer counts in).
        region["startColumn"] = 1
        region["endColumn"] = len(last.encode("utf-16-le")) // 2 + 1
    return region


def _with_snippet(region: dict[str, Any], f: Finding) -> dict[str, Any]:
    """The location's region: the fix's region plus the code, so viewers can show it offline."""
    if "endColumn" not in region:
        return region
    return {**region, "snippet": {"text": _strip_one_newline(f.code)}}


def _last_line(f: Finding) -> str | None:
    """The text of ``end_line``, when ``code`` holds exactly the range's lines."""
    if not f.code:
        return None
    lines = _strip_one_newline(f.code).split("\n")
    if len(lines) != max(f.end_line, f.start_line) - f.start_line + 1:
        return None
    return lines[-1].removesuffix("\r")


def _artifact_location(path: str, root: Path | None) -> dict[str, str]:
    if path.startswith("/"):
        if root is None or not Path(path).is_relative_to(root):
            return {"uri": Path(path).as_uri()}
        path = Path(path).relative_to(root).as_posix()
    rel = path
    while rel.startswith("./"):
        rel = rel[2:]
    # Everything but unreserved characters and "/" is percent-encoded (UTF-8), so spaces,
    # non-ASCII names and a ":" in the first segment (which would read as a scheme) are safe.
    return {"uri": quote(rel, safe="/"), "uriBaseId": SRCROOT}


# --------------------------------------------------------------------------- notifications


@dataclass(frozen=True)
class _Dropped:
    """Results left out, and the limits that made it so."""

    for_count: int
    max_results: int
    for_size: int
    max_gzip_bytes: int


def _notifications(
    result: ReviewResult, dropped: _Dropped, root: Path | None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [_chunk_failure(f, root) for f in result.failures]
    # Accidental skips first, so the cap below never hides one behind a list of lockfiles.
    loud_first = sorted(result.not_reviewed, key=lambda n: n.reason in _QUIET_REASONS)
    out.extend(_not_reviewed(n, root) for n in loud_first[:MAX_NOT_REVIEWED_NOTIFICATIONS])
    if len(loud_first) > MAX_NOT_REVIEWED_NOTIFICATIONS:
        more = len(loud_first) - MAX_NOT_REVIEWED_NOTIFICATIONS
        out.append(
            _notification(
                "reviewer/not-reviewed",
                "note",
                f"{more} more files were not reviewed; the JSON output lists them all.",
            )
        )
    if dropped.for_count:
        out.append(
            _notification(
                "reviewer/results-dropped",
                "warning",
                f"{dropped.for_count} results of the lowest severity were left out to stay "
                f"within the limit of {dropped.max_results:,} results per run "
                "(GitHub code scanning's).",
            )
        )
    if dropped.for_size:
        out.append(
            _notification(
                "reviewer/results-dropped",
                "warning",
                f"{dropped.for_size} results of the lowest severity were left out to keep the "
                f"gzipped SARIF file within {dropped.max_gzip_bytes:,} bytes "
                "(GitHub code scanning's upload limit).",
            )
        )
    if result.dry_run:
        out.append(
            _notification(
                "reviewer/dry-run",
                "note",
                "Dry run: nothing was sent to the model, so there are no findings.",
            )
        )
    return out


def _chunk_failure(f: ChunkFailure, root: Path | None) -> dict[str, Any]:
    paths = ", ".join(f.paths) or "(no paths)"
    text = (
        f"Chunk {f.index} ({f.lines} changed lines) was not reviewed ({f.kind}): "
        f"{_sentence(f.message)} Paths: {paths}."
    )
    note = _notification("reviewer/chunk-failed", "error", text)
    note["locations"] = [
        {"physicalLocation": {"artifactLocation": _artifact_location(p, root)}} for p in f.paths
    ]
    note["properties"] = {"chunkId": f.chunk_id, "kind": f.kind, "lines": f.lines}
    return note


def _not_reviewed(n: NotReviewed, root: Path | None) -> dict[str, Any]:
    detail = f" ({n.detail})" if n.detail else ""
    level = "note" if n.reason in _QUIET_REASONS else "warning"
    note = _notification(
        "reviewer/not-reviewed", level, f"{n.path} was not reviewed: {n.reason}{detail}."
    )
    note["locations"] = [
        {"physicalLocation": {"artifactLocation": _artifact_location(n.path, root)}}
    ]
    note["properties"] = {"reason": n.reason}
    return note


def _notification(descriptor: str, level: str, text: str) -> dict[str, Any]:
    return {
        "descriptor": {"id": descriptor, "index": _NOTIFICATION_INDEX[descriptor]},
        "level": level,
        "message": {"text": _clip(text)},
    }


def _gzip_size(log: dict[str, Any], limit: int) -> int:
    """The gzipped size of the rendered log, or an upper bound of it when that is under ``limit``.

    gzip adds at most a few bytes per 16 KiB block to its input, so a file that fits raw (with
    that margin) fits gzipped, and the usual small log is never compressed here.
    """
    data = render_sarif(log).encode("utf-8")
    bound = len(data) + len(data) // 1000 + 64
    if bound <= limit:
        return bound
    return len(gzip.compress(data, compresslevel=6))
