"""What to post, skip, move to the summary, resolve and reopen: a pure function of the review,
GitLab's diff of the MR version and the threads already on the MR.

**Where a thread may go.** On the rows of GitLab's own diff (``positions``): a finding inside
one run of new-file lines of one hunk is a thread on exactly its lines (with a suggestion when
it has one); a finding overlapping such runs is a thread on its largest overlap, with a note
naming its real lines; a finding outside them all moves to the summary, never dropped.

**Ours.** A thread is ours when its first note starts with our fingerprint marker and its
author is the token's user (``GET /user``). Duplicates are found on the marker alone (any
author): a hidden marker is not something people type, and skipping is harmless.

**Across pushes.** GitLab's way to say "fixed" is a resolved thread, so a thread of ours whose
finding is gone is *resolved*, never deleted (its replies stay readable), when this run really
looked at its lines again: in a full review, when its file was reviewed (or left the MR's
diff); in an incremental review, when its file was re-reviewed *and* one of its lines was
rewritten since the last reviewed head (an incremental review sees only the new changes, so a
finding it does not repeat on untouched lines is not gone). Files whose chunks failed or that
were not reviewed keep their threads open. A thread a person resolved stays resolved, and its
finding is not posted again; a thread *we* resolved whose finding came back is reopened.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal

from reviewer.core.values import ChangeSet, Finding, Frozen, ReviewResult
from reviewer.outputs.github.markdown import fingerprint_in, safe_fingerprint
from reviewer.outputs.github.plan import Region, place
from reviewer.outputs.gitlab.markdown import thread_body
from reviewer.outputs.gitlab.positions import GitLabFile, position
from reviewer.outputs.gitlab.wire import Discussion, Note, Version

MoveReason = Literal["outside-diff", "rejected-by-gitlab"]


class NewThread(Frozen):
    fingerprint: str  # as written in the marker (``safe_fingerprint``)
    path: str
    start_line: int
    line: int
    body: str
    position: dict[str, Any]


class MovedFinding(Frozen):
    finding: Finding
    reason: MoveReason
    detail: str = ""  # GitLab's answer, for a refused thread


class ThreadRef(Frozen):
    discussion_id: str
    note_id: int  # the thread's first note (``web_url#note_<id>``)
    path: str | None


class ThreadPlan(Frozen):
    new: tuple[NewThread, ...] = ()
    duplicates: tuple[tuple[Finding, int], ...] = ()  # finding, first note id of its thread
    moved: tuple[MovedFinding, ...] = ()
    resolve: tuple[ThreadRef, ...] = ()
    reopen: tuple[ThreadRef, ...] = ()
    resolved_by_people: int = 0  # findings whose thread a person resolved: left resolved


def regions_of(file: GitLabFile) -> tuple[Region, ...]:
    """Runs of consecutive new-file lines within one hunk of GitLab's diff."""
    regions: list[Region] = []
    for line in sorted(file.rows_by_new):
        if regions and line == regions[-1][1] + 1 and file.hunk_of[line] == file.hunk_of[line - 1]:
            regions[-1] = (regions[-1][0], line)
        else:
            regions.append((line, line))
    return tuple(regions)


def first_note(discussion: Discussion) -> Note | None:
    return discussion.notes[0] if discussion.notes else None


def is_own(discussion: Discussion, own_id: int) -> bool:
    note = first_note(discussion)
    if note is None or note.system or note.author is None:
        return False
    return note.author.id == own_id and fingerprint_in(note.body) is not None


def plan_threads(
    result: ReviewResult,
    files: Mapping[str, GitLabFile],
    version: Version,
    discussions: Sequence[Discussion],
    *,
    own_id: int,
    reviewed_paths: Collection[str],
    incremental_base: str | None = None,
    changes: ChangeSet | None = None,
) -> ThreadPlan:
    """See the module docstring. ``files``: GitLab's diff of ``version``, by new path;
    ``reviewed_paths``: the files this run reviewed to completion; ``incremental_base``: the
    last reviewed head when ``changes`` (what this run reviewed) is ``incremental_base..head``.
    """
    on_mr = _by_fingerprint(discussions)
    regions = {path: regions_of(f) for path, f in files.items()}
    plan: dict[str, list[Any]] = {"new": [], "duplicates": [], "moved": [], "reopen": []}
    by_people = 0
    seen: set[str] = set()
    for finding in result.findings:
        fp = safe_fingerprint(finding.fingerprint)
        if fp in seen:
            continue
        seen.add(fp)
        if fp in on_mr:
            discussion = on_mr[fp]
            note = discussion.notes[0]
            plan["duplicates"].append((finding, note.id))
            if note.resolved:
                if _resolved_by(note) == own_id and is_own(discussion, own_id):
                    plan["reopen"].append(_ref(discussion))
                else:
                    by_people += 1
            continue
        placed = place(finding, regions.get(finding.path, ()))
        if placed is None:
            plan["moved"].append(MovedFinding(finding=finding, reason="outside-diff"))
            continue
        plan["new"].append(_new_thread(finding, fp, placed, files[finding.path], version))
    resolve = _to_resolve(
        result,
        discussions,
        own_id=own_id,
        current=seen,
        reviewed=set(reviewed_paths),
        in_diff=set(files),
        rewritten=_rewritten(changes) if incremental_base and changes else None,
        incremental_base=incremental_base,
    )
    return ThreadPlan(
        new=tuple(plan["new"]),
        duplicates=tuple(plan["duplicates"]),
        moved=tuple(plan["moved"]),
        resolve=resolve,
        reopen=tuple(plan["reopen"]),
        resolved_by_people=by_people,
    )


def _by_fingerprint(discussions: Sequence[Discussion]) -> dict[str, Discussion]:
    """Our threads already on the MR, by the fingerprint in their first note (first one wins)."""
    on_mr: dict[str, Discussion] = {}
    for discussion in discussions:
        note = first_note(discussion)
        fp = fingerprint_in(note.body) if note is not None and not note.system else None
        if fp is not None:
            on_mr.setdefault(fp, discussion)
    return on_mr


def _new_thread(
    finding: Finding,
    fp: str,
    placed: tuple[tuple[int, int], bool],
    file: GitLabFile,
    version: Version,
) -> NewThread:
    (lo, hi), exact = placed
    return NewThread(
        fingerprint=fp,
        path=finding.path,
        start_line=lo,
        line=hi,
        body=thread_body(finding, shown=(lo, hi), exact=exact),
        position=dict(position(file, version, lo, hi)),
    )


def _to_resolve(
    result: ReviewResult,
    discussions: Sequence[Discussion],
    *,
    own_id: int,
    current: set[str],
    reviewed: set[str],
    in_diff: set[str],
    rewritten: Mapping[str, frozenset[int]] | None,
    incremental_base: str | None,
) -> tuple[ThreadRef, ...]:
    if result.dry_run:
        return ()  # a dry run has no findings; it must not resolve the MR's threads
    out: list[ThreadRef] = []
    for discussion in discussions:
        if not is_own(discussion, own_id):
            continue
        note = discussion.notes[0]
        if note.resolved or not note.resolvable or fingerprint_in(note.body) in current:
            continue
        ref = _ref(discussion)
        if rewritten is None:
            gone = ref.path in reviewed or ref.path not in in_diff
        else:
            lines = _lines_at(note, incremental_base)
            gone = ref.path in reviewed and bool(lines & rewritten.get(ref.path or "", set()))
        if gone:
            out.append(ref)
    return tuple(out)


def _rewritten(changes: ChangeSet) -> dict[str, frozenset[int]]:
    """Per file, the lines of the last reviewed head that ``changes`` removed or replaced."""
    out: dict[str, frozenset[int]] = {}
    for f in changes.files:
        old = frozenset(
            ln.old_no for h in f.hunks for ln in h.lines if ln.kind == "del" and ln.old_no
        )
        out[f.path] = out.get(f.path, frozenset()) | old
        if f.old_path:
            out[f.old_path] = out.get(f.old_path, frozenset()) | old
    return out


def _lines_at(note: Note, head: str | None) -> frozenset[int]:
    """The new-file lines a thread sits on, when its position is on ``head`` (else none:
    GitLab carries a thread forward to later versions only while its lines are untouched)."""
    pos = note.position
    if pos is None or pos.new_line is None or pos.head_sha != head:
        return frozenset()
    start = pos.new_line
    if pos.line_range is not None and pos.line_range.start is not None:
        start = pos.line_range.start.new_line or pos.new_line
    return frozenset(range(min(start, pos.new_line), pos.new_line + 1))


def _resolved_by(note: Note) -> int | None:
    return note.resolved_by.id if note.resolved_by is not None else None


def _ref(discussion: Discussion) -> ThreadRef:
    note = discussion.notes[0]
    path = note.position.new_path if note.position is not None else None
    return ThreadRef(discussion_id=discussion.id, note_id=note.id, path=path)
