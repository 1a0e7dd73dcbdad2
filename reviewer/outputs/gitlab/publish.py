"""Publishing one review to a merge request: runs a ``ThreadPlan`` against the ``GitLabClient``.

Order: list the MR's threads -> plan -> one new thread per finding (GitLab has no batch of diff
notes outside its draft-notes API) -> resolve the threads whose finding is gone, reopen ours
whose finding is back -> create or edit (in place) the one summary note. Writes are sequential.

* **A thread GitLab refuses** (400/422: a position it will not take) moves to the summary with
  GitLab's answer and the file and line; the others are posted. Our positions come from
  GitLab's own diff, so this only happens when GitLab disagrees with itself (a diff it changed
  while we reviewed).
* **Resolving** needs the Developer role (or authorship of the MR): a 403 there stops resolving
  and says so in the summary; the review still counts.
* **Incremental runs**: ``incremental_base`` (the head of the previous review) limits which
  threads can be resolved to lines this run re-reviewed (``plan``); the summary describes this
  run.
"""

from __future__ import annotations

from collections.abc import Sequence

from reviewer.core.errors import GitLabError
from reviewer.core.values import ChangeSet, Finding, Frozen, ReviewResult
from reviewer.outputs.github.markdown import (
    code_span,
    head_in,
    is_summary,
    lines_label,
    plural,
    safe_fingerprint,
)
from reviewer.outputs.github.publish import reviewed_paths
from reviewer.outputs.github.summary import render_summary
from reviewer.outputs.gitlab.client import GitLabClient
from reviewer.outputs.gitlab.markdown import inert_result, without_quick_actions
from reviewer.outputs.gitlab.plan import MovedFinding, NewThread, ThreadPlan, plan_threads
from reviewer.outputs.gitlab.positions import GitLabFile
from reviewer.outputs.gitlab.wire import Note, Version

_REFUSED = frozenset({400, 422})


class ReviewTarget(Frozen):
    """The merge request as GitLab showed it at the start of the run."""

    project_id: str  # one URL path segment
    iid: int
    web_url: str
    own_id: int  # the token's user
    version: Version  # the diff version of the reviewed head
    files: dict[str, GitLabFile]  # GitLab's diff of that version, by new path


class PublishOutcome(Frozen):
    posted: int = 0  # threads created this run
    skipped_duplicates: int = 0  # findings that already have a thread
    moved_to_summary: int = 0  # off GitLab's diff, or refused by GitLab
    resolved: int = 0
    reopened: int = 0
    unresolvable: int = 0  # threads to resolve the token was not allowed to
    summary_note_id: int | None = None
    summary_updated: bool = False  # edited in place rather than created
    incremental_base: str | None = None


def find_summary(notes: Sequence[Note], own_id: int) -> Note | None:
    for note in notes:  # oldest first: a racing second summary is left alone
        if is_summary(note.body) and note.author is not None and note.author.id == own_id:
            return note
    return None


def last_reviewed_head(target: ReviewTarget, client: GitLabClient) -> str | None:
    """The head SHA recorded in our summary note, or None (no summary yet)."""
    summary = find_summary(client.notes(target.project_id, target.iid), target.own_id)
    return head_in(summary.body) if summary is not None else None


def publish_review(
    result: ReviewResult,
    changes: ChangeSet,
    target: ReviewTarget,
    client: GitLabClient,
    *,
    incremental_base: str | None = None,
) -> PublishOutcome:
    """Publish ``result`` on the MR (see the module docstring); raises ``GitLabError``."""
    plan = plan_threads(
        result,
        target.files,
        target.version,
        client.discussions(target.project_id, target.iid),
        own_id=target.own_id,
        reviewed_paths=reviewed_paths(result, changes),
        incremental_base=incremental_base,
        changes=changes,
    )
    return _Publisher(result, target, client, incremental_base).run(plan)


class _Publisher:
    def __init__(
        self,
        result: ReviewResult,
        target: ReviewTarget,
        client: GitLabClient,
        incremental_base: str | None,
    ) -> None:
        self.result = result
        self.target = target
        self.client = client
        self.incremental_base = incremental_base
        self.links: dict[str, str] = {}
        self.moved: list[MovedFinding] = []

    def run(self, plan: ThreadPlan) -> PublishOutcome:
        findings = {safe_fingerprint(f.fingerprint): f for f in self.result.findings}
        posted = sum(self._post(thread, findings[thread.fingerprint]) for thread in plan.new)
        self.moved = [*plan.moved, *self.moved]
        for finding, note_id in plan.duplicates:
            self.links[safe_fingerprint(finding.fingerprint)] = self._note_url(note_id)
        resolved, unresolvable = self._set_resolved([r.discussion_id for r in plan.resolve], True)
        reopened, _ = self._set_resolved([r.discussion_id for r in plan.reopen], False)
        outcome = PublishOutcome(
            posted=posted,
            skipped_duplicates=len(plan.duplicates),
            moved_to_summary=len(self.moved),
            resolved=resolved,
            reopened=reopened,
            unresolvable=unresolvable,
            incremental_base=self.incremental_base,
        )
        body = render_summary(
            inert_result(self.result),
            inline_links=self.links,
            head_sha=self.target.version.head_commit_sha,
            incremental_base=self.incremental_base,
            notes=_notes(outcome, plan, self.moved),
            host="GitLab",
            request="MR",
        )
        note, updated = self._upsert_summary(without_quick_actions(body))
        return outcome.model_copy(update={"summary_note_id": note.id, "summary_updated": updated})

    def _post(self, thread: NewThread, finding: Finding) -> bool:
        t = self.target
        try:
            discussion = self.client.create_discussion(
                t.project_id, t.iid, thread.body, thread.position
            )
        except GitLabError as exc:
            if exc.status not in _REFUSED:
                raise
            self.moved.append(
                MovedFinding(finding=finding, reason="rejected-by-gitlab", detail=str(exc))
            )
            return False
        if discussion.notes:
            self.links[thread.fingerprint] = self._note_url(discussion.notes[0].id)
        return True

    def _set_resolved(self, discussion_ids: Sequence[str], resolved: bool) -> tuple[int, int]:
        """(threads changed, threads the token may not change)."""
        done = 0
        for index, discussion_id in enumerate(discussion_ids):
            try:
                self.client.resolve_discussion(
                    self.target.project_id, self.target.iid, discussion_id, resolved=resolved
                )
            except GitLabError as exc:
                if exc.status == 404:
                    continue  # deleted meanwhile
                if exc.status == 403:
                    return done, len(discussion_ids) - index  # the rest will be refused too
                raise
            done += 1
        return done, 0

    def _upsert_summary(self, body: str) -> tuple[Note, bool]:
        t = self.target
        current = find_summary(self.client.notes(t.project_id, t.iid), t.own_id)
        if current is None:
            return self.client.create_note(t.project_id, t.iid, body), False
        return self.client.update_note(t.project_id, t.iid, current.id, body), True

    def _note_url(self, note_id: int) -> str:
        return f"{self.target.web_url}#note_{note_id}"


def _notes(outcome: PublishOutcome, plan: ThreadPlan, moved: Sequence[MovedFinding]) -> list[str]:
    outside = sum(1 for m in moved if m.reason == "outside-diff")
    refused = [m for m in moved if m.reason == "rejected-by-gitlab"]
    candidates = [
        (outcome.posted, f"{plural(outcome.posted, 'new thread')}."),
        (
            outcome.skipped_duplicates,
            f"{plural(outcome.skipped_duplicates, 'finding')} already in a thread; not repeated.",
        ),
        (outside, f"{plural(outside, 'finding')} outside the MR's diff, written out below."),
        (
            len(refused),
            f"{plural(len(refused), 'thread')} refused by GitLab, written out below: "
            + "; ".join(_refusal(m) for m in refused),
        ),
        (
            outcome.resolved,
            f"{plural(outcome.resolved, 'earlier thread')} resolved: the finding is gone.",
        ),
        (outcome.reopened, f"{plural(outcome.reopened, 'thread')} reopened: the finding is back."),
        (
            plan.resolved_by_people,
            f"{plural(plan.resolved_by_people, 'finding')} in a thread someone resolved; "
            "left resolved.",
        ),
        (
            outcome.unresolvable,
            f"{plural(outcome.unresolvable, 'thread')} not resolved although the finding is gone: "
            "the token may not resolve threads (it needs the Developer role).",
        ),
    ]
    return [text for count, text in candidates if count]


def _refusal(moved: MovedFinding) -> str:
    f = moved.finding
    where = code_span(f"{f.path}:{lines_label(f.start_line, f.end_line)}")
    return f"{where} ({code_span(moved.detail[:300])})"
