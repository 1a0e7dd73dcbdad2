"""``--output github``: the PR summary comment's Markdown, without posting anything.

For CI systems other than GitHub Actions (or to post it yourself): the same score, severity
counts, findings table, not-reviewed files, failed chunks and cost as the comment
``reviewer.outputs.github.publish`` keeps on a PR, with every finding written out under "Details"
(there are no inline comments to link to) and no hidden markers. Model text is sanitised the
same way (``reviewer.outputs.github.markdown``, ``reviewer.outputs.github.summary``).
"""

from __future__ import annotations

from reviewer.core.values import ReviewResult
from reviewer.outputs.github.summary import render_summary


class GitHubReporter:
    name = "github"

    def render(self, result: ReviewResult, *, color: bool) -> str:
        del color  # Markdown has no ANSI colour
        return render_summary(result, inline_links={}, head_sha=result.head_sha, markers=False)
