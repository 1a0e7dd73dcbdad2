"""The few GitLab REST objects we read, validated (extra fields ignored: GitLab adds fields)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class User(Wire):
    """``GET /user``; a note's ``author``. A project or group access token is a bot user."""

    id: int
    username: str = ""
    bot: bool = False


class DiffRefs(Wire):
    base_sha: str | None = None
    head_sha: str | None = None
    start_sha: str | None = None


class MergeRequest(Wire):
    """``GET /projects/:id/merge_requests/:iid``."""

    iid: int
    state: str = ""  # opened, closed, locked, merged
    sha: str | None = None  # the source branch's head
    diff_refs: DiffRefs | None = None  # null while GitLab is still preparing the diff
    source_branch: str = ""
    target_branch: str = ""
    web_url: str = ""


class Version(Wire):
    """One entry of ``GET .../merge_requests/:iid/versions`` (newest first): a diff GitLab
    computed for one push. Thread positions name one version's three SHAs."""

    id: int
    head_commit_sha: str
    base_commit_sha: str
    start_commit_sha: str
    state: str = ""  # "collected"; "overflow" when the diff was cut


class VersionDiff(Wire):
    """One file of a version's ``diffs``: ``diff`` holds its hunks only (from ``@@``), empty
    when GitLab collapsed it or it is binary."""

    old_path: str
    new_path: str
    diff: str = ""
    new_file: bool = False
    renamed_file: bool = False
    deleted_file: bool = False


class VersionDetail(Version):
    """``GET .../versions/:version_id``."""

    diffs: tuple[VersionDiff, ...] = ()


class RangeEnd(Wire):
    line_code: str | None = None
    type: str | None = None
    old_line: int | None = None
    new_line: int | None = None


class LineRange(Wire):
    start: RangeEnd | None = None
    end: RangeEnd | None = None


class Position(Wire):
    position_type: str = "text"
    base_sha: str | None = None
    start_sha: str | None = None
    head_sha: str | None = None
    old_path: str | None = None
    new_path: str | None = None
    old_line: int | None = None
    new_line: int | None = None
    line_range: LineRange | None = None


class Note(Wire):
    id: int
    body: str = ""
    author: User | None = None
    system: bool = False  # "added 2 commits", "resolved all threads", ...
    resolvable: bool = False
    resolved: bool = False
    resolved_by: User | None = None
    position: Position | None = None


class Discussion(Wire):
    """``GET .../merge_requests/:iid/discussions`` item: a thread and its notes, oldest first."""

    id: str
    individual_note: bool = False
    notes: tuple[Note, ...] = ()
