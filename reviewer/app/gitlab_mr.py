"""``review --gitlab-mr``: review a GitLab merge request and publish the review on it.

In a merge-request pipeline everything comes from GitLab CI's predefined variables; outside CI
from ``--gitlab-url``, ``--gitlab-project`` and ``--mr`` (``reviewer.outputs.gitlab.context``).
Before anything is sent to the model the run checks the token (``GET /user``, and its scopes
when it must write), reads the MR, and waits for GitLab's diff version of the reviewed head
(GitLab computes it after the push, possibly after the pipeline started:
``REVIEWER_GITLAB_DIFF_WAIT`` seconds, default 60). That version's SHAs and diff decide where
threads go. Without a token and with ``--no-comment`` the review needs no API at all: the
pipeline's ``CI_MERGE_REQUEST_DIFF_BASE_SHA`` and commit say what to review (for the Code
Quality report).

Every GitLab failure is one ``GitLabError`` line saying what to fix (exit 3, or a warning
under ``--fail-open``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.app.github_pr import seconds_setting
from reviewer.app.request_diff import collect_request
from reviewer.core.errors import GitLabError
from reviewer.core.settings import Settings
from reviewer.core.values import ChangeSet, ReviewResult
from reviewer.outputs.gitlab.client import GitLabClient
from reviewer.outputs.gitlab.context import MergeRequestContext, ssl_context
from reviewer.outputs.gitlab.wire import MergeRequest, Version

if TYPE_CHECKING:
    from reviewer.outputs.gitlab.publish import ReviewTarget

DIFF_WAIT_ENV = "REVIEWER_GITLAB_DIFF_WAIT"
DEFAULT_DIFF_WAIT = 60.0


class MergeRequestRun:
    """The GitLab side of one run: what to review, then where to publish it."""

    def __init__(
        self,
        ctx: MergeRequestContext,
        client: GitLabClient | None,
        *,
        comment: bool,
        diff_wait: float = DEFAULT_DIFF_WAIT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.comment = comment
        self.diff_wait = diff_wait
        self.sleep = sleep
        self.target: ReviewTarget | None = None
        self.incremental_base: str | None = None

    @classmethod
    def from_options(
        cls, environ: Mapping[str, str], options: Mapping[str, Any], *, comment: bool
    ) -> MergeRequestRun:
        ctx = MergeRequestContext.from_env(
            environ,
            url=options["gitlab_url"],
            project=options["gitlab_project"],
            iid=options["mr"],
            ca_file=options["gitlab_ca_file"],
        )
        diff_wait = seconds_setting(environ, DIFF_WAIT_ENV, DEFAULT_DIFF_WAIT)
        if ctx.token is None:
            if comment:
                raise GitLabError(_no_token(ctx))
            return cls(ctx, None, comment=False, diff_wait=diff_wait)
        client = GitLabClient(
            ctx.api_url, ctx.token.get_secret_value(), ssl_context=ssl_context(ctx.ca_file)
        )
        return cls(ctx, client, comment=comment, diff_wait=diff_wait)

    # ------------------------------------------------------------------ what to review

    def collect(
        self, cwd: Path, settings: Settings, paths: tuple[str, ...], full: bool
    ) -> ChangeSet:
        if self.client is None:
            return self._collect_without_api(cwd, settings, paths)
        from reviewer.outputs.gitlab.publish import last_reviewed_head

        client = self.client
        target, target_branch = self._read_target(client)
        collected = collect_request(
            cwd,
            settings,
            paths,
            base=target.version.base_commit_sha,
            head=target.version.head_commit_sha,
            refspecs=self._refspecs(target_branch),
            last_reviewed=None if full else lambda: last_reviewed_head(target, client),
        )
        self.incremental_base = collected.incremental_base
        return collected.changes

    @property
    def rules_base(self) -> str | None:
        """Where the review rules are read from: the MR's base, which the MR cannot change."""
        if self.target is not None:
            return self.target.version.base_commit_sha
        return self.ctx.diff_base_sha

    def _collect_without_api(
        self, cwd: Path, settings: Settings, paths: tuple[str, ...]
    ) -> ChangeSet:
        ctx = self.ctx
        if not ctx.diff_base_sha or not ctx.head_sha:
            raise GitLabError(
                f"{ctx.name}: without a GitLab token the review needs a merge-request "
                "pipeline's CI_MERGE_REQUEST_DIFF_BASE_SHA and CI_COMMIT_SHA; set "
                "REVIEWER_GITLAB_TOKEN to read the MR through the API"
            )
        collected = collect_request(
            cwd,
            settings,
            paths,
            base=ctx.diff_base_sha,
            head=ctx.head_sha,
            refspecs=self._refspecs(ctx.target_branch or ""),
            last_reviewed=None,
        )
        return collected.changes

    def _refspecs(self, target_branch: str) -> tuple[str, ...]:
        mr = f"+{self.ctx.mr_ref}:refs/remotes/origin/merge-requests/{self.ctx.iid}/head"
        if not target_branch:
            return (mr,)
        return (f"+refs/heads/{target_branch}:refs/remotes/origin/{target_branch}", mr)

    # ------------------------------------------------------------------ GitLab reads

    def _read_target(self, client: GitLabClient) -> tuple[ReviewTarget, str]:
        """The MR as GitLab shows it, and its target branch."""
        from reviewer.outputs.gitlab.positions import parse_version_diffs
        from reviewer.outputs.gitlab.publish import ReviewTarget

        ctx = self.ctx
        try:
            user = client.current_user()
            if self.comment:
                self._check_scopes(client)
            mr = client.merge_request(ctx.project_id, ctx.iid)
            version = self._version(client, mr)
            detail = client.version(ctx.project_id, ctx.iid, version.id)
        except GitLabError as exc:
            raise GitLabError(_explain(exc, ctx, writing=False), status=exc.status) from None
        self.target = ReviewTarget(
            project_id=ctx.project_id,
            iid=ctx.iid,
            web_url=mr.web_url,
            own_id=user.id,
            version=version,
            files=parse_version_diffs(detail.diffs),
        )
        return self.target, mr.target_branch

    def _check_scopes(self, client: GitLabClient) -> None:
        scopes = client.token_scopes()
        if scopes is not None and "api" not in scopes:
            raise GitLabError(
                f"the GitLab token in {self.ctx.token_variable} has the scopes "
                f"{', '.join(scopes) or 'none'}; posting threads needs the api scope "
                "(or run with --no-comment)"
            )

    def _version(self, client: GitLabClient, mr: MergeRequest) -> Version:
        ctx = self.ctx
        head = ctx.head_sha or mr.sha or (mr.diff_refs.head_sha if mr.diff_refs else None)
        if not head:
            raise GitLabError(f"{ctx.name} has no commits to review")
        waited, delay = 0.0, 2.0
        while True:
            versions = client.versions(ctx.project_id, ctx.iid)
            found = next((v for v in versions if v.head_commit_sha.lower() == head.lower()), None)
            if found is not None:
                return found
            if waited >= self.diff_wait:
                latest = versions[0].head_commit_sha[:12] if versions else "none yet"
                raise GitLabError(
                    f"GitLab has no diff of {ctx.name} at {head[:12]} after {waited:.0f}s "
                    f"(its latest diff is of {latest}): re-run the job, or raise "
                    f"{DIFF_WAIT_ENV}"
                )
            step = min(delay, self.diff_wait - waited)
            self.sleep(step)
            waited += step
            delay *= 2

    # ------------------------------------------------------------------ publishing

    def publish(self, result: ReviewResult, changes: ChangeSet, out: Any = None) -> str:
        from reviewer.outputs.gitlab.publish import publish_review

        del out  # GitLab has no annotations to print
        if self.client is None or self.target is None:
            return f"not published on {self.ctx.name}: no GitLab token"
        try:
            outcome = publish_review(
                result,
                changes,
                self.target,
                self.client,
                incremental_base=self.incremental_base,
            )
        except GitLabError as exc:
            raise GitLabError(_explain(exc, self.ctx, writing=True), status=exc.status) from None
        text = (
            f"published on MR !{self.ctx.iid}: {outcome.posted} thread(s) posted, "
            f"{outcome.skipped_duplicates} already there, {outcome.moved_to_summary} in the "
            f"summary, {outcome.resolved} resolved"
        )
        return text + (f", {outcome.reopened} reopened" if outcome.reopened else "")


def _no_token(ctx: MergeRequestContext) -> str:
    text = (
        f"no GitLab token for {ctx.name}: set REVIEWER_GITLAB_TOKEN (or GITLAB_TOKEN) to a "
        "project access token with the api scope and the Developer role, as a masked CI/CD "
        "variable; or run with --no-comment"
    )
    if ctx.job_token_only:
        text += " (CI_JOB_TOKEN is set, but GitLab does not let a job token write MR notes)"
    return text


def _explain(exc: GitLabError, ctx: MergeRequestContext, *, writing: bool) -> str:
    variable = ctx.token_variable or "REVIEWER_GITLAB_TOKEN"
    if exc.status == 401:
        hint = f"GitLab rejected the token in {variable}: it is wrong, expired or revoked"
    elif exc.status == 403 and writing:
        hint = (
            f"the token in {variable} may not write to {ctx.name}: it needs the api scope and "
            "at least the Reporter role (or run with --no-comment)"
        )
    elif exc.status == 403:
        hint = f"the token in {variable} may not read {ctx.name}"
    elif exc.status == 404 and not writing:
        hint = (
            f"{ctx.name} was not found at {ctx.api_url}: check the MR number and the project, "
            "and that the token's user is a member of the project"
        )
    elif exc.status is not None and exc.status >= 500:
        hint = f"GitLab failed ({ctx.name}); try again later"
    else:
        return str(exc)
    return f"{hint} ({exc})"


def merge_request_run(options: Mapping[str, Any]) -> MergeRequestRun:
    return MergeRequestRun.from_options(os.environ, options, comment=bool(options["comment"]))
