"""``review --github-pr``: review a pull request in a GitHub Actions workflow and publish it.

Reads the PR from the workflow's environment, reviews it (``reviewer.app.request_diff``: the
history a shallow checkout lacks, incremental reviews since the last reviewed head) and
publishes one review plus one living summary comment.

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
        interval = seconds_setting(environ, WRITE_INTERVAL_ENV, DEFAULT_WRITE_INTERVAL)
        return cls(ctx, GitHubClient.for_context(ctx, write_interval=interval))

    def collect(
        self, cwd: Path, settings: Settings, paths: tuple[str, ...], full: bool
    ) -> ChangeSet:
        from reviewer.app.request_diff import collect_request
        from reviewer.outputs.github.publish import last_reviewed_head

        ctx = self.ctx
        collected = collect_request(
            cwd,
            settings,
            paths,
            base=ctx.base_sha,
            head=ctx.head_sha,
            refspecs=(
                f"+refs/heads/{ctx.base_ref}:refs/remotes/origin/{ctx.base_ref}",
                ctx.head_sha,
            ),
            last_reviewed=None if full else lambda: last_reviewed_head(ctx, self.client),
        )
        self.pr_diff = collected.request_diff
        self.incremental_base = collected.incremental_base
        return collected.changes

    def dismissed(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """Fingerprints the PR's team marked as false positives, and warnings."""
        from reviewer.outputs.github.dismissed import dismissed_fingerprints

        return dismissed_fingerprints(self.ctx, self.client)

    @property
    def rules_base(self) -> str:
        """Where the review rules are read from: the base, which the PR cannot change."""
        return self.ctx.base_sha

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


def seconds_setting(environ: Mapping[str, str], name: str, default: float) -> float:
    """A number of seconds >= 0 from the environment variable ``name``."""
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a number of seconds >= 0, got {raw!r}")
    return value
