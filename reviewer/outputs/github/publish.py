"""Publishing one review to a pull request: runs a ``ReviewPlan`` against the ``GitHubClient``.

Order: list our earlier comments -> plan -> ONE review (event COMMENT, commit_id = the PR's
head) with every inline comment -> delete stale comments -> create or update (PATCH, in place)
the one summary comment. Writes are sequential.

* **422 on the review.** GitHub says a comment is not on the diff but not which, so the batch
  is bisected: each half is posted as its own review, down to single comments; the ones still
  refused move to the summary. This only happens when our view of the diff disagrees with
  GitHub's, and then costs a few reviews instead of one. A 422 naming ``commit_id`` (the head
  moved while we reviewed) is not bisected: every comment moves to the summary.
* **403/404 on a write** (a fork PR's read-only token): fall back to annotations on ``out`` for
  every finding and the summary appended to ``$GITHUB_STEP_SUMMARY``; the run does not fail.
* **Incremental runs** (``incremental_base`` = the head of the previous review): ``changes`` is
  the reviewed diff ``incremental_base..head`` and ``pr_diff`` the PR's whole diff, which
  decides where comments may go (defaults to ``changes``). Only comments on re-reviewed files
  can be stale. The summary describes this run and says it was incremental; findings of
  earlier runs stay as their inline comments (the summary is not cumulative: keeping state
  across runs in a comment is fragile, and the inline comments are the record).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from reviewer.core.errors import GitHubError
from reviewer.core.values import ChangeSet, Frozen, ReviewResult
from reviewer.outputs.github.annotations import append_step_summary, write_annotations
from reviewer.outputs.github.client import GitHubClient
from reviewer.outputs.github.event import PullRequestContext
from reviewer.outputs.github.markdown import head_in, is_summary, plural, safe_fingerprint
from reviewer.outputs.github.plan import InlineComment, MovedFinding, ReviewPlan, plan_review
from reviewer.outputs.github.summary import diff_link, render_summary
from reviewer.outputs.github.wire import IssueComment

_NO_ACCESS = frozenset({403, 404})


class PublishOutcome(Frozen):
    posted: int = 0  # inline comments created this run
    skipped_duplicates: int = 0  # findings already on the PR
    moved_to_summary: int = 0  # off the diff, or refused by GitHub
    deleted_stale: int = 0
    kept_with_replies: int = 0  # stale, but someone replied: left alone
    review_ids: tuple[int, ...] = ()  # more than one only after a 422 bisection
    summary_comment_id: int | None = None
    summary_updated: bool = False  # PATCHed in place rather than created
    fallback_used: bool = False
    annotations: int = 0
    step_summary_written: bool = False
    incremental_base: str | None = None


def last_reviewed_head(ctx: PullRequestContext, client: GitHubClient) -> str | None:
    """The head SHA recorded in our summary comment, or None (no summary, or not readable).

    The caller decides what to do with it: review ``sha..head`` when ``sha`` is an ancestor of
    the head, else (a force-push rewrote it) a full review.
    """
    try:
        summary = _find_summary(client.list_issue_comments(ctx.repository, ctx.number), ctx)
    except GitHubError as exc:
        if exc.status in _NO_ACCESS:
            return None
        raise
    return head_in(summary.body) if summary is not None else None


def reviewed_paths(result: ReviewResult, changes: ChangeSet) -> frozenset[str]:
    """Files this run reviewed to completion: their findings were re-evaluated."""
    skipped = {nr.path for nr in result.not_reviewed} | {
        p for failure in result.failures for p in failure.paths
    }
    return frozenset(f.path for f in changes.files) - skipped


def publish_review(
    result: ReviewResult,
    changes: ChangeSet,
    ctx: PullRequestContext,
    client: GitHubClient,
    *,
    incremental_base: str | None = None,
    pr_diff: ChangeSet | None = None,
    out: TextIO | None = None,
) -> PublishOutcome:
    """Publish ``result`` on the PR (see the module docstring). Raises ``GitHubError`` for
    failures other than a missing write permission, which falls back to annotations.
    """
    stream = out if out is not None else sys.stdout
    try:
        existing = client.list_review_comments(ctx.repository, ctx.number)
    except GitHubError as exc:
        if exc.status not in _NO_ACCESS:
            raise
        return _fallback(result, ctx, stream, incremental_base, reason=str(exc))
    plan = plan_review(
        result,
        pr_diff if pr_diff is not None else changes,
        existing,
        reviewed_paths=reviewed_paths(result, changes),
        incremental=incremental_base is not None,
        own_login=ctx.own_login,
    )
    return _Publisher(result, ctx, client, stream, incremental_base).run(plan)


class _Publisher:
    def __init__(
        self,
        result: ReviewResult,
        ctx: PullRequestContext,
        client: GitHubClient,
        out: TextIO,
        incremental_base: str | None,
    ) -> None:
        self.result = result
        self.ctx = ctx
        self.client = client
        self.out = out
        self.incremental_base = incremental_base
        self.posted: list[InlineComment] = []
        self.rejected: list[InlineComment] = []
        self.review_ids: list[int] = []

    def run(self, plan: ReviewPlan) -> PublishOutcome:
        try:
            self._post(list(plan.inline))
        except GitHubError as exc:
            if exc.status not in _NO_ACCESS:
                raise
            return _fallback(
                self.result, self.ctx, self.out, self.incremental_base, reason=str(exc)
            )
        deleted = self._delete_stale(plan)
        moved = self._moved(plan)
        links = {c.fingerprint: diff_link(self.ctx.pr_url, c.path, c.line) for c in self.posted}
        for finding, url in plan.duplicates:
            links[safe_fingerprint(finding.fingerprint)] = url or diff_link(
                self.ctx.pr_url, finding.path, finding.end_line
            )
        notes = _notes(self.posted, plan, moved, deleted)
        body = render_summary(
            self.result,
            inline_links=links,
            head_sha=self.ctx.head_sha,
            incremental_base=self.incremental_base,
            notes=notes,
        )
        outcome = PublishOutcome(
            posted=len(self.posted),
            skipped_duplicates=len(plan.duplicates),
            moved_to_summary=len(moved),
            deleted_stale=deleted,
            kept_with_replies=len(plan.kept_with_replies),
            review_ids=tuple(self.review_ids),
            incremental_base=self.incremental_base,
        )
        try:
            summary, updated = self._upsert_summary(body)
        except GitHubError as exc:
            if exc.status not in _NO_ACCESS:
                raise
            # inline comments are up; only the summary needs a place to go
            written = self._step_summary(body)
            count = write_annotations([m.finding for m in moved], self.out)
            return outcome.model_copy(
                update={
                    "fallback_used": True,
                    "annotations": count,
                    "step_summary_written": written,
                }
            )
        return outcome.model_copy(
            update={"summary_comment_id": summary.id, "summary_updated": updated}
        )

    def _post(self, comments: list[InlineComment]) -> None:
        if not comments:
            return
        payload = {
            "commit_id": self.ctx.head_sha,
            "event": "COMMENT",
            "body": _review_body(len(comments), self.ctx.head_sha),
            "comments": [c.payload() for c in comments],
        }
        try:
            review_id = self.client.create_review(self.ctx.repository, self.ctx.number, payload)
        except GitHubError as exc:
            if exc.status != 422:
                raise
            if len(comments) == 1 or _names_commit(exc):
                self.rejected.extend(comments)
                return
            middle = len(comments) // 2
            self._post(comments[:middle])
            self._post(comments[middle:])
            return
        self.review_ids.append(review_id)
        self.posted.extend(comments)

    def _delete_stale(self, plan: ReviewPlan) -> int:
        deleted = 0
        for comment in plan.stale:
            try:
                self.client.delete_review_comment(self.ctx.repository, comment.id)
            except GitHubError as exc:
                if exc.status == 404:
                    continue  # already gone
                if exc.status == 403:
                    break  # not allowed to delete: nothing else will be either
                raise
            deleted += 1
        return deleted

    def _moved(self, plan: ReviewPlan) -> list[MovedFinding]:
        rejected = {c.fingerprint for c in self.rejected}
        moved = list(plan.moved)
        for finding in self.result.findings:
            if safe_fingerprint(finding.fingerprint) in rejected:
                moved.append(MovedFinding(finding=finding, reason="rejected-by-github"))
        return moved

    def _upsert_summary(self, body: str) -> tuple[IssueComment, bool]:
        repo, number = self.ctx.repository, self.ctx.number
        current = _find_summary(self.client.list_issue_comments(repo, number), self.ctx)
        if current is None:
            return self.client.create_issue_comment(repo, number, body), False
        return self.client.update_issue_comment(repo, current.id, body), True

    def _step_summary(self, body: str) -> bool:
        if not self.ctx.step_summary:
            return False
        append_step_summary(self.ctx.step_summary, body)
        return True


def _fallback(
    result: ReviewResult,
    ctx: PullRequestContext,
    out: TextIO,
    incremental_base: str | None,
    *,
    reason: str,
) -> PublishOutcome:
    count = write_annotations(result.findings, out)
    notes = [f"Could not write to the pull request ({reason}); findings are annotations."]
    body = render_summary(
        result,
        inline_links={},
        head_sha=ctx.head_sha,
        incremental_base=incremental_base,
        notes=notes,
        markers=False,
    )
    written = False
    if ctx.step_summary:
        append_step_summary(ctx.step_summary, body)
        written = True
    return PublishOutcome(
        fallback_used=True,
        annotations=count,
        step_summary_written=written,
        incremental_base=incremental_base,
    )


def _find_summary(comments: Sequence[IssueComment], ctx: PullRequestContext) -> IssueComment | None:
    for comment in comments:  # oldest first: a racing second summary is left alone
        user = comment.user
        if not is_summary(comment.body) or user is None:
            continue
        if user.type == "Bot" or (ctx.own_login is not None and user.login == ctx.own_login):
            return comment
    return None


def _names_commit(exc: GitHubError) -> bool:
    text = " ".join((str(exc), *exc.errors)).lower()
    return "commit_id" in text or "commit id" in text


def _review_body(count: int, head_sha: str) -> str:
    noun = "comment" if count == 1 else "comments"
    return f"**reviewer**: {count} inline {noun} on `{head_sha[:12]}`; the summary is below."


def _notes(
    posted: Sequence[InlineComment],
    plan: ReviewPlan,
    moved: Sequence[MovedFinding],
    deleted: int,
) -> list[str]:
    outside = sum(1 for m in moved if m.reason == "outside-diff")
    kept = len(plan.kept_with_replies)
    candidates = [
        (len(posted), f"{plural(len(posted), 'new inline comment')}."),
        (
            len(plan.duplicates),
            f"{plural(len(plan.duplicates), 'finding')} already commented on; not repeated.",
        ),
        (outside, f"{plural(outside, 'finding')} outside the PR's diff, written out below."),
        (
            len(moved) - outside,
            f"{plural(len(moved) - outside, 'inline comment')} refused by GitHub, "
            "written out below.",
        ),
        (deleted, f"{plural(deleted, 'earlier comment')} removed: the finding is gone."),
        (
            kept,
            f"{plural(kept, 'earlier comment')} kept although the finding is gone: "
            "it has replies or a thumbs-down.",
        ),
    ]
    return [text for count, text in candidates if count]
