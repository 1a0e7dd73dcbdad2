"""Findings a pull request's team marked as false positives: read before the review, so that
they are not reported (or posted) again on that PR.

One of our inline comments (fingerprint marker, our author: ``plan.is_own``) marks its
finding as a false positive when

* it has a thumbs-down reaction (``-1``) from anyone: read from the REST list of review
  comments, which carries each comment's reaction counts; or
* its review thread is resolved *and* someone replied in it: thread resolution exists only in
  GitHub's GraphQL API (``reviewThreads { isResolved }``). A thread resolved without a reply
  is not enough (a fixed finding is resolved too, and then does not come back anyway).

When GraphQL cannot be read (a GitHub Enterprise Server without it, a token without access),
only reactions count, and a warning says so. A listing that fails altogether is a warning
too: the review goes on and reports everything.
"""

from __future__ import annotations

from reviewer.core.errors import GitHubError
from reviewer.outputs.github.client import GitHubClient
from reviewer.outputs.github.event import PullRequestContext
from reviewer.outputs.github.markdown import fingerprint_in
from reviewer.outputs.github.plan import is_own
from reviewer.outputs.github.wire import ReviewComment


def is_thumbed_down(comment: ReviewComment) -> bool:
    return comment.reactions is not None and comment.reactions.minus_one > 0


def dismissed_fingerprints(
    ctx: PullRequestContext, client: GitHubClient
) -> tuple[frozenset[str], tuple[str, ...]]:
    """(fingerprints marked as false positives on the PR, warnings)."""
    try:
        comments = client.list_review_comments(ctx.repository, ctx.number)
    except GitHubError as exc:
        return frozenset(), (
            f"could not read the pull request's review comments ({exc}); findings marked "
            "as false positives there are reported again",
        )
    ours = {c.id: c for c in comments if c.in_reply_to_id is None and is_own(c, ctx.own_login)}
    marked = {c.id for c in ours.values() if is_thumbed_down(c)}
    warnings: list[str] = []
    if not ours:
        return frozenset(), ()  # nothing of ours to dismiss: no GraphQL query
    try:
        threads = client.list_review_threads(ctx.repository, ctx.number)
    except GitHubError as exc:
        warnings.append(
            f"could not read the pull request's review threads ({exc}); only thumbs-down "
            "reactions mark false positives in this run"
        )
    else:
        marked |= {t.root_id for t in threads if t.is_resolved and t.comments > 1}
    fingerprints = {fingerprint_in(ours[i].body) for i in marked if i in ours}
    return frozenset(fp for fp in fingerprints if fp), tuple(warnings)
