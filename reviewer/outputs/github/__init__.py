"""Publishing a review to a GitHub pull request.

* ``event``: the Action's environment -> ``PullRequestContext`` (or None outside a PR run).
* ``client``: **the only module that talks HTTP to GitHub** (stdlib ``urllib``): retries, rate
  limits, pagination, serialised writes, ``GitHubError``.
* ``plan``: what to post, skip, move to the summary and delete (pure).
* ``markdown``: sanitising model text, markers, inline comment bodies (pure).
* ``summary``: the summary comment, also the ``--output github`` report (pure).
* ``publish``: ``publish_review`` / ``last_reviewed_head``: runs a plan against the client.
* ``annotations``: workflow-command fallback when the token cannot write (fork PRs).

Nothing is imported here, so ``reviewer.outputs.github_summary`` can render the summary without
loading ``urllib.request``.
"""
