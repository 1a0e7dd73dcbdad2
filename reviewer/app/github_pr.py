"""``review --github-pr``: review a pull request in a GitHub Actions workflow and publish it.

Reads the PR from the workflow's environment, makes sure a shallow checkout has the history
``base...head`` needs, reviews only what changed since the last reviewed head when that head
is still an ancestor (a full review after a force-push), and publishes one review plus one
living summary comment.

An incremental review covers ``last..head`` restricted to the files of the PR's diff: merging
the base branch into the PR brings the base's changes into ``last..head``, and those are not
the PR's to review.

``REVIEWER_GITHUB_WRITE_INTERVAL`` (seconds, default 1) spaces GitHub writes; GitHub asks for
one second against its secondary rate limits, a GitHub Enterprise Server may not need it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from reviewer.core.errors import ConfigError, UsageError
from reviewer.core.settings import Settings
from reviewer.core.values import ChangeSet, ReviewResult
from reviewer.outputs.github.event import PullRequestContext

if TYPE_CHECKING:
    from reviewer.outputs.github.client import GitHubClient

WRITE_INTERVAL_ENV = "REVIEWER_GITHUB_WRITE_INTERVAL"
DEFAULT_WRITE_INTERVAL = 1.0


class PullRequestRun:
    """The GitHub side of one run: what to review, then where to publish it."""

    def __init__(self, ctx: PullRequestContext, client: GitHubClient) -> None:
        self.ctx = ctx
        self.client = client
        self.incremental_base: str | None = None
        self.pr_diff: ChangeSet | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> PullRequestRun:
        from reviewer.outputs.github.client import GitHubClient

        ctx = PullRequestContext.from_env(environ)
        if ctx is None:
            raise UsageError(
                "--github-pr needs a pull_request or pull_request_target workflow event "
                "(GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_TOKEN)"
            )
        interval = _seconds(environ.get(WRITE_INTERVAL_ENV), DEFAULT_WRITE_INTERVAL)
        return cls(ctx, GitHubClient.for_context(ctx, write_interval=interval))

    def collect(
        self, cwd: Path, settings: Settings, paths: tuple[str, ...], full: bool
    ) -> ChangeSet:
        from reviewer.outputs.github.publish import last_reviewed_head
        from reviewer.source.git import open_repo

        ctx = self.ctx
        lines = settings.context_lines
        with open_repo(cwd) as repo:
            repo.ensure_history(
                ctx.base_sha,
                ctx.head_sha,
                refspecs=(
                    f"+refs/heads/{ctx.base_ref}:refs/remotes/origin/{ctx.base_ref}",
                    ctx.head_sha,
                ),
            )
            pr_diff = repo.range(ctx.base_sha, ctx.head_sha, paths, context_lines=lines)
            self.pr_diff = pr_diff
            last = None if full else last_reviewed_head(ctx, self.client)
            if (
                not last
                or last == ctx.head_sha
                or repo.resolve(last) is None
                or not repo.is_ancestor(last, ctx.head_sha)
            ):
                return pr_diff  # first run, re-run, or the reviewed head was rewritten
            self.incremental_base = last
            since = repo.changed_since(last, ctx.head_sha, paths, context_lines=lines)
        in_pr = {f.path for f in pr_diff.files} | {nr.path for nr in pr_diff.not_reviewed}
        return since.model_copy(
            update={
                "files": tuple(f for f in since.files if f.path in in_pr),
                "not_reviewed": tuple(nr for nr in since.not_reviewed if nr.path in in_pr),
            }
        )

    def dismissed(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """Fingerprints the PR's team marked as false positives, and warnings."""
        from reviewer.outputs.github.dismissed import dismissed_fingerprints

        return dismissed_fingerprints(self.ctx, self.client)

    def publish(self, result: ReviewResult, changes: ChangeSet, out: TextIO) -> str:
        from reviewer.outputs.github.publish import publish_review

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


def _seconds(raw: str | None, default: float) -> float:
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{WRITE_INTERVAL_ENV} must be a number of seconds >= 0, got {raw!r}")
    return value
