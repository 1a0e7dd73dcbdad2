"""``review --github-pr``: review a pull request in a GitHub Actions workflow and publish it.

Reads the PR from the workflow's environment, makes sure a shallow checkout has the history
``base...head`` needs, reviews only what changed since the last reviewed head when that head
is still an ancestor (a full review after a force-push), and publishes one review plus one
living summary comment.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from reviewer.errors import UsageError
from reviewer.github.event import PullRequestContext
from reviewer.models import ChangeSet, ReviewResult
from reviewer.settings import Settings


class PullRequestRun:
    """The GitHub side of one run: what to review, then where to publish it."""

    def __init__(self, ctx: PullRequestContext) -> None:
        from reviewer.github.client import GitHubClient

        self.ctx = ctx
        self.client = GitHubClient.for_context(ctx)
        self.incremental_base: str | None = None
        self.pr_diff: ChangeSet | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> PullRequestRun:
        ctx = PullRequestContext.from_env(environ)
        if ctx is None:
            raise UsageError(
                "--github-pr needs a pull_request or pull_request_target workflow event "
                "(GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_TOKEN)"
            )
        return cls(ctx)

    def collect(
        self, cwd: Path, settings: Settings, paths: tuple[str, ...], full: bool
    ) -> ChangeSet:
        from reviewer.github.publish import last_reviewed_head
        from reviewer.gitsource import open_repo

        repo = open_repo(cwd)
        ctx = self.ctx
        repo.ensure_history(
            ctx.base_sha,
            ctx.head_sha,
            refspecs=(
                f"+refs/heads/{ctx.base_ref}:refs/remotes/origin/{ctx.base_ref}",
                ctx.head_sha,
            ),
        )
        self.pr_diff = repo.range(
            ctx.base_sha, ctx.head_sha, paths, context_lines=settings.context_lines
        )
        last = None if full else last_reviewed_head(ctx, self.client)
        if (
            last
            and last != ctx.head_sha
            and repo.resolve(last) is not None
            and repo.is_ancestor(last, ctx.head_sha)
        ):
            self.incremental_base = last
            return repo.changed_since(
                last, ctx.head_sha, paths, context_lines=settings.context_lines
            )
        return self.pr_diff

    def publish(self, result: ReviewResult, changes: ChangeSet, out: TextIO) -> str:
        from reviewer.github.publish import publish_review

        outcome = publish_review(
            result,
            changes,
            self.ctx,
            self.client,
            incremental_base=self.incremental_base,
            pr_diff=self.pr_diff,
            out=out,
        )
        if outcome.fallback_used:
            return (
                f"no write access to the pull request: {outcome.annotations} annotation(s) "
                "and the job summary instead"
            )
        return (
            f"published on PR #{self.ctx.number}: {outcome.posted} comment(s) posted, "
            f"{outcome.skipped_duplicates} already there, {outcome.moved_to_summary} in the "
            f"summary, {outcome.deleted_stale} stale removed"
        )
