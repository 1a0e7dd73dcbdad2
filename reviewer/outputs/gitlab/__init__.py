"""Publishing a review to a GitLab merge request.

* ``context``: the pipeline's variables and the options -> ``MergeRequestContext``; the TLS
  context for a self-managed instance's own CA.
* ``client``: **the only module that talks HTTP to GitLab** (stdlib ``urllib``): retries,
  ``Retry-After``, ``X-Next-Page`` pagination, ``GitLabError``.
* ``wire``: the GitLab objects we read, validated.
* ``positions``: GitLab's diff of the MR -> rows with ``line_code``s -> thread positions (pure).
* ``plan``: what to post, skip, move to the summary, resolve and reopen (pure).
* ``markdown``: what GitLab adds to the shared sanitising: quick actions and references made
  inert, the thread body with GitLab's suggestion syntax.
* ``publish``: ``publish_review`` / ``last_reviewed_head``: runs a plan against the client.
"""
