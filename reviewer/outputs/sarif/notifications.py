"""Tool-execution notifications: failed chunks, files not reviewed, results left out, dry runs.

``descriptors`` are the driver's notification descriptors; ``notifications`` the invocation's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from reviewer.core.values import ChunkFailure, NotReviewed, ReviewResult
from reviewer.outputs.sarif.locations import artifact_location
from reviewer.outputs.sarif.text import clip, sentence

# A long list of skipped files (a vendored tree) must not crowd out the results in the size budget.
MAX_NOT_REVIEWED_NOTIFICATIONS: Final = 1_000

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

_NOTIFICATIONS: Final[tuple[tuple[str, str, str], ...]] = (
    ("reviewer/chunk-failed", "ChunkFailed", "A chunk of changes could not be reviewed."),
    ("reviewer/not-reviewed", "FileNotReviewed", "A changed file was not reviewed."),
    ("reviewer/results-dropped", "ResultsDropped", "Results were left out of this log."),
    ("reviewer/dry-run", "DryRun", "Nothing was sent to the model."),
    ("reviewer/warning", "Warning", "The run has a warning (a fallback, the monthly budget)."),
)
_NOTIFICATION_INDEX: Final = {nid: i for i, (nid, _, _) in enumerate(_NOTIFICATIONS)}


def descriptors() -> list[dict[str, Any]]:
    return [
        {
            "id": nid,
            "name": name,
            "shortDescription": {"text": text},
            "fullDescription": {"text": text},
            # GitHub's ingestion rules (GH2012) want help on every descriptor.
            "help": {"text": f"{text} The notification's message says which and why."},
        }
        for nid, name, text in _NOTIFICATIONS
    ]


@dataclass(frozen=True)
class Dropped:
    """Results left out, and the limits that made it so."""

    for_count: int
    max_results: int
    for_size: int
    max_gzip_bytes: int


def notifications(
    result: ReviewResult, dropped: Dropped, root: Path | None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [_chunk_failure(f, root) for f in result.failures]
    out.extend(_notification("reviewer/warning", "warning", w) for w in result.warnings)
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
        f"{sentence(f.message)} Paths: {paths}."
    )
    note = _notification("reviewer/chunk-failed", "error", text)
    note["locations"] = [
        {"physicalLocation": {"artifactLocation": artifact_location(p, root)}} for p in f.paths
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
        {"physicalLocation": {"artifactLocation": artifact_location(n.path, root)}}
    ]
    note["properties"] = {"reason": n.reason}
    return note


def _notification(descriptor: str, level: str, text: str) -> dict[str, Any]:
    return {
        "descriptor": {"id": descriptor, "index": _NOTIFICATION_INDEX[descriptor]},
        "level": level,
        "message": {"text": clip(text)},
    }
