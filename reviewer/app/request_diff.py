"""What a pull or merge request run reviews: the request's diff, or only what changed since the
last reviewed head.

Shared by ``--github-pr`` and ``--gitlab-mr``. A CI checkout is shallow and may lack the target
branch: the history ``base...head`` needs is fetched first. The review is incremental
(``last..head``) when the last reviewed head is still an ancestor of the head; a force-push
that rewrote it gets a full review. An incremental review is restricted to the files of the
request's diff: merging the target branch into the request brings the target's changes into
``last..head``, and those are not the request's to review.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reviewer.core.settings import Settings
from reviewer.core.values import ChangeSet


@dataclass(frozen=True)
class RequestChanges:
    changes: ChangeSet  # what to review
    request_diff: ChangeSet  # the request's whole diff, base...head
    incremental_base: str | None  # the last reviewed head, when incremental


def collect_request(
    cwd: Path,
    settings: Settings,
    paths: tuple[str, ...],
    *,
    base: str,
    head: str,
    refspecs: Sequence[str],
    last_reviewed: Callable[[], str | None] | None,
) -> RequestChanges:
    """``last_reviewed``: reads the head of the previous review (None: a full review)."""
    from reviewer.source.git import open_repo

    lines = settings.context_lines
    with open_repo(cwd) as repo:
        repo.ensure_history(base, head, refspecs=refspecs)
        request_diff = repo.range(base, head, paths, context_lines=lines)
        last = last_reviewed() if last_reviewed is not None else None
        if (
            not last
            or last == head
            or repo.resolve(last) is None
            or not repo.is_ancestor(last, head)
        ):
            return RequestChanges(request_diff, request_diff, None)
        since = repo.changed_since(last, head, paths, context_lines=lines)
    in_request = {f.path for f in request_diff.files} | {
        nr.path for nr in request_diff.not_reviewed
    }
    changes = since.model_copy(
        update={
            "files": tuple(f for f in since.files if f.path in in_request),
            "not_reviewed": tuple(nr for nr in since.not_reviewed if nr.path in in_request),
        }
    )
    return RequestChanges(changes, request_diff, last)
