"""The reporter and ``to_sarif``: GitHub's limits on results and on the gzipped size.

At most 25,000 results per run (lowest severity dropped first) and at most 10 MB gzipped;
whatever is dropped is said in a tool-execution notification.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from reviewer.core.values import Finding, ReviewResult
from reviewer.outputs.sarif.log import log as build_log
from reviewer.outputs.sarif.notifications import Dropped, notifications
from reviewer.outputs.sarif.results import keep_most_severe
from reviewer.outputs.sarif.results import result as result_of
from reviewer.outputs.sarif.rules import rule_descriptors

# GitHub code scanning's limits (docs: "SARIF support for code scanning").
GITHUB_MAX_RESULTS: Final = 25_000
GITHUB_MAX_GZIP_BYTES: Final = 10 * 1000 * 1000  # "10 MB"; the decimal reading is the safe one
PRETTY_MAX_RESULTS: Final = 2_000


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
    rules, rule_index = rule_descriptors(result.findings)
    kept = keep_most_severe(result.findings, max_results)
    dropped_for_count = len(result.findings) - len(kept)
    root_path = Path(root).resolve() if root is not None else None

    def build(findings: list[Finding], dropped_for_size: int) -> dict[str, Any]:
        results = [result_of(f, rule_index, root_path) for f in findings]
        dropped = Dropped(dropped_for_count, max_results, dropped_for_size, max_gzip_bytes)
        notes = notifications(result, dropped, root_path)
        return build_log(
            result,
            category=category,
            rules=rules,
            results=results,
            notifications=notes,
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
        kept = keep_most_severe(kept, target)
        log = build(kept, dropped_for_size)
        size = _gzip_size(log, max_gzip_bytes)
    return log


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
