"""GitLab's diff of a merge request -> the rows a thread may sit on, and their positions.

GitLab accepts a diff thread when, in *its* diff of the file between the position's
``base_sha``/``start_sha``/``head_sha``, one row has exactly the position's ``old_line`` and
``new_line``; that row's ``line_code`` is ``<sha1 of the path>_<old>_<new>``. Otherwise it
answers ``400 Bad request - Note {:line_code=>["can't be blank", "must be a valid line code"]}``.
So the rows come from GitLab's own diff of one MR version, never from a local diff:

* an added row has ``new_line`` only, a removed row ``old_line`` only, an unchanged row inside
  a hunk both (they differ once earlier lines were added or removed);
* a new file's rows have no ``old_line``; a renamed file's position names its old path;
* the line code's numbers are GitLab's running counters, which also exist for the side a row
  lacks (an added row's old counter is the next old line), and a new file counts from 0.

A finding over several lines is one thread on its last row with a ``line_range`` from its first
row's code to its last row's (``type`` ``new`` for an added row, ``old`` otherwise), inside one
hunk. Lines outside every hunk are not offered: the web UI can comment there after expanding
the diff, but the API's acceptance of such positions depends on the GitLab version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from reviewer.core.errors import GitError
from reviewer.core.values import FileDiff, Frozen, LineKind
from reviewer.outputs.gitlab.wire import Version, VersionDiff
from reviewer.source.diffparse import parse_unified_diff


class Row(Frozen):
    kind: LineKind
    old_line: int | None
    new_line: int | None
    line_code: str


class GitLabFile(Frozen):
    """One file of GitLab's diff of the MR version."""

    path: str  # new path
    old_path: str
    diff: FileDiff  # the hunks, parsed
    rows_by_new: dict[int, Row]  # new-file line -> its row (added or unchanged)
    hunk_of: dict[int, int]  # new-file line -> index of its hunk


def line_code(path: str, old_pos: int, new_pos: int) -> str:
    digest = hashlib.sha1(path.encode("utf-8", "surrogateescape"), usedforsecurity=False)
    return f"{digest.hexdigest()}_{old_pos}_{new_pos}"


def parse_version_diffs(diffs: Sequence[VersionDiff]) -> dict[str, GitLabFile]:
    """GitLab's ``diffs`` -> new path -> file. A diff GitLab collapsed or could not show (empty,
    binary) has no rows: findings there go to the summary."""
    return {d.new_path: _parse_one(d) for d in diffs if not d.deleted_file}


def _parse_one(d: VersionDiff) -> GitLabFile:
    text = d.diff if d.diff.startswith("@@") else ""
    try:
        # GitLab sends the hunks without the file header; our parser wants one.
        parsed = parse_unified_diff(f"--- a/f\n+++ b/f\n{text}") if text else []
    except GitError:
        parsed = []  # a diff we cannot read: no inline threads on it, nothing worse
    hunks = parsed[0].hunks if parsed else ()
    rows: dict[int, Row] = {}
    hunk_of: dict[int, int] = {}
    for index, hunk in enumerate(hunks):
        old_pos, new_pos = hunk.old_start, hunk.new_start
        for ln in hunk.lines:
            row = Row(
                kind=ln.kind,
                old_line=old_pos if ln.kind != "add" else None,
                new_line=new_pos if ln.kind != "del" else None,
                line_code=line_code(d.new_path, old_pos, new_pos),
            )
            if row.new_line is not None:
                rows[row.new_line] = row
                hunk_of[row.new_line] = index
            old_pos += ln.kind != "add"
            new_pos += ln.kind != "del"
    return GitLabFile(
        path=d.new_path,
        old_path=d.old_path,
        diff=FileDiff(path=d.new_path, old_path=d.old_path, hunks=hunks),
        rows_by_new=rows,
        hunk_of=hunk_of,
    )


def row_position(row: Row) -> dict[str, Any]:
    """A row as GitLab's ``line_range`` start/end names it."""
    out: dict[str, Any] = {
        "line_code": row.line_code,
        "type": "new" if row.kind == "add" else "old",
    }
    if row.old_line is not None:
        out["old_line"] = row.old_line
    if row.new_line is not None:
        out["new_line"] = row.new_line
    return out


def position(file: GitLabFile, version: Version, start: int, end: int) -> Mapping[str, Any]:
    """The ``position`` of a thread on new-file lines ``start..end`` of ``file`` (rows of one
    hunk, as ``plan`` places them)."""
    first, last = file.rows_by_new[start], file.rows_by_new[end]
    out: dict[str, Any] = {
        "position_type": "text",
        "base_sha": version.base_commit_sha,
        "start_sha": version.start_commit_sha,
        "head_sha": version.head_commit_sha,
        "old_path": file.old_path,
        "new_path": file.path,
    }
    if last.old_line is not None:
        out["old_line"] = last.old_line
    if last.new_line is not None:
        out["new_line"] = last.new_line
    if start != end:
        out["line_range"] = {"start": row_position(first), "end": row_position(last)}
    return out
