"""What to post, skip, move to the summary and delete: a pure function of the review, the PR's
diff and the review comments already on the PR.

**Where a comment may go.** GitHub accepts a RIGHT-side comment on a new-side line of a hunk
of *its* diff of the PR, which has 3 lines of context; a multi-line comment must lie within one
such hunk. Our diff may have more context, so a context line counts only when it is within
``context`` lines of a change, which reproduces GitHub's hunks from ours (git merges two
changes into one hunk exactly when they are at most 2 x context lines apart). A finding:

* inside one region -> a comment on exactly its lines, with a suggestion block if it has one;
* overlapping regions -> a comment on its largest overlap, without the suggestion (it replaces
  exactly the finding's lines) and with a note naming the real lines;
* outside every region -> moved to the summary (``MovedFinding``), never dropped.

**Ours.** A review comment is ours when its body starts with our fingerprint marker *and* its
author is a bot (``user.type == "Bot"``: ``github-actions[bot]`` for ``GITHUB_TOKEN``, or a
GitHub App) or the configured ``own_login`` (a personal token posts as a "User"; ``GET /user``
is not used because it answers 403 to ``GITHUB_TOKEN``). Duplicates are skipped on the marker
alone (any author): a hidden marker is not something people type, and skipping is harmless.

**Stale.** Ours, not in this review's findings, on a file this run re-reviewed (or, in a full
review, a file no longer in the PR's diff), and nobody replied to it (a reply is a discussion
we must not erase) or gave it a thumbs-down (the mark that its finding is a false positive,
``reviewer.outputs.github.dismissed``: deleting the comment would erase the mark). Files
whose chunks failed or that were not reviewed keep their comments: their findings were not
re-evaluated. A comment on an outdated line whose finding is still
present is a duplicate, not stale.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Literal

from reviewer.core.values import ChangeSet, DiffLine, FileDiff, Finding, Frozen, ReviewResult
from reviewer.outputs.github.markdown import fingerprint_in, inline_body, safe_fingerprint
from reviewer.outputs.github.wire import ReviewComment

GITHUB_CONTEXT_LINES = 3

Region = tuple[int, int]  # inclusive new-file line range
MoveReason = Literal["outside-diff", "rejected-by-github"]


class InlineComment(Frozen):
    fingerprint: str  # as written in the marker (``safe_fingerprint``)
    path: str
    start_line: int
    line: int
    body: str

    def payload(self) -> dict[str, Any]:
        """One entry of a review's ``comments`` (or the single-comment endpoint's body)."""
        out: dict[str, Any] = {"path": self.path, "body": self.body, "line": self.line}
        out["side"] = "RIGHT"
        if self.start_line < self.line:
            out["start_line"] = self.start_line
            out["start_side"] = "RIGHT"
        return out


class MovedFinding(Frozen):
    finding: Finding
    reason: MoveReason


class ReviewPlan(Frozen):
    inline: tuple[InlineComment, ...] = ()
    # findings already on the PR, with the URL of the comment carrying them
    duplicates: tuple[tuple[Finding, str], ...] = ()
    moved: tuple[MovedFinding, ...] = ()
    stale: tuple[ReviewComment, ...] = ()
    kept_with_replies: tuple[ReviewComment, ...] = ()


def commentable_regions(
    diff: FileDiff, *, context: int = GITHUB_CONTEXT_LINES
) -> tuple[Region, ...]:
    """The new-file line ranges GitHub's diff of this file can take RIGHT-side comments on."""
    regions: list[Region] = []
    for hunk in diff.hunks:
        current: Region | None = None
        for i, ln in enumerate(hunk.lines):
            if ln.new_no is None:
                continue  # a deleted row: neither extends nor breaks a region
            if ln.kind == "add" or _context_distance(hunk.lines, i) <= context:
                if current is not None and ln.new_no == current[1] + 1:
                    current = (current[0], ln.new_no)
                    continue
                if current is not None:
                    regions.append(current)
                current = (ln.new_no, ln.new_no)
            elif current is not None:
                regions.append(current)
                current = None
        if current is not None:
            regions.append(current)
    return tuple(regions)


def _context_distance(lines: Sequence[DiffLine], index: int) -> int:
    """Context rows from ``lines[index]`` to the nearest added/deleted row, counting itself."""
    best = len(lines) + 1
    for step in (-1, 1):
        j, dist = index, 0
        while 0 <= j < len(lines):
            if lines[j].kind != "ctx":
                best = min(best, dist)
                break
            dist += 1
            j += step
    return best


def place(finding: Finding, regions: Sequence[Region]) -> tuple[Region, bool] | None:
    """The lines to comment on and whether they are exactly the finding's; None: off the diff."""
    start, end = sorted((finding.start_line, finding.end_line))
    best: Region | None = None
    for lo, hi in regions:
        if lo <= start and end <= hi:
            return (start, end), True
        a, b = max(lo, start), min(hi, end)
        if a <= b and (best is None or b - a > best[1] - best[0]):
            best = (a, b)
    return (best, False) if best is not None else None


def is_own(comment: ReviewComment, own_login: str | None) -> bool:
    if fingerprint_in(comment.body) is None or comment.user is None:
        return False
    return comment.user.type == "Bot" or (own_login is not None and comment.user.login == own_login)


def plan_review(
    result: ReviewResult,
    diff: ChangeSet,
    existing: Sequence[ReviewComment],
    *,
    reviewed_paths: Collection[str],
    incremental: bool,
    own_login: str | None = None,
    context: int = GITHUB_CONTEXT_LINES,
) -> ReviewPlan:
    """See the module docstring. ``diff`` is the PR's whole diff (where comments may go);
    ``reviewed_paths`` the files this run reviewed successfully.
    """
    regions = {f.path: commentable_regions(f, context=context) for f in diff.files}
    on_pr: dict[str, str] = {}
    for c in existing:
        fp = fingerprint_in(c.body)
        if fp is not None:
            on_pr.setdefault(fp, c.html_url)
    inline: list[InlineComment] = []
    duplicates: list[tuple[Finding, str]] = []
    moved: list[MovedFinding] = []
    seen: set[str] = set()
    for finding in result.findings:
        fp = safe_fingerprint(finding.fingerprint)
        if fp in seen:
            continue
        seen.add(fp)
        if fp in on_pr:
            duplicates.append((finding, on_pr[fp]))
            continue
        placed = place(finding, regions.get(finding.path, ()))
        if placed is None:
            moved.append(MovedFinding(finding=finding, reason="outside-diff"))
            continue
        (lo, hi), exact = placed
        body = inline_body(finding, with_suggestion=exact, shown=(lo, hi))
        inline.append(
            InlineComment(fingerprint=fp, path=finding.path, start_line=lo, line=hi, body=body)
        )
    stale, kept = _stale(
        result,
        diff,
        existing,
        current=seen,
        reviewed_paths=reviewed_paths,
        incremental=incremental,
        own_login=own_login,
    )
    return ReviewPlan(
        inline=tuple(inline),
        duplicates=tuple(duplicates),
        moved=tuple(moved),
        stale=stale,
        kept_with_replies=kept,
    )


def _stale(
    result: ReviewResult,
    diff: ChangeSet,
    existing: Sequence[ReviewComment],
    *,
    current: set[str],
    reviewed_paths: Collection[str],
    incremental: bool,
    own_login: str | None,
) -> tuple[tuple[ReviewComment, ...], tuple[ReviewComment, ...]]:
    if result.dry_run:
        return (), ()  # a dry run has no findings; it must not clear the PR
    reviewed = set(reviewed_paths)
    in_diff = {f.path for f in diff.files}
    replied_to = {c.in_reply_to_id for c in existing if c.in_reply_to_id is not None}
    stale: list[ReviewComment] = []
    kept: list[ReviewComment] = []
    for c in existing:
        if c.in_reply_to_id is not None or not is_own(c, own_login):
            continue
        if fingerprint_in(c.body) in current:
            continue
        if not (c.path in reviewed or (not incremental and c.path not in in_diff)):
            continue
        thumbed_down = c.reactions is not None and c.reactions.minus_one > 0
        (kept if c.id in replied_to or thumbed_down else stale).append(c)
    return tuple(stale), tuple(kept)
