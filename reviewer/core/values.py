"""Typed, immutable values that flow between the pipeline's stages.

git source -> FileDiff -> (filters, redactor) -> Chunk -> backend -> Finding -> ReviewResult
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from reviewer.core.levels import SEVERITY_NAMES

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
assert SEVERITIES == SEVERITY_NAMES  # reviewer.core.levels is the light copy for the CLI
# Higher is worse; used for sorting and thresholds.
SEVERITY_RANK: dict[str, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}

Category = Literal[
    "bug",
    "security",
    "performance",
    "maintainability",
    "error-handling",
    "concurrency",
    "style",
    "docs",
    "tests",
]
CATEGORIES: tuple[Category, ...] = get_args(Category)

LineKind = Literal["add", "del", "ctx"]
FileStatus = Literal["added", "modified", "deleted", "renamed", "copied"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- diffs


class DiffLine(Frozen):
    """One line of a hunk. ``new_no`` is None for deleted lines, ``old_no`` for added ones."""

    kind: LineKind
    text: str
    old_no: int | None = None
    new_no: int | None = None


class Hunk(Frozen):
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    header: str = ""  # the text after the second @@ (function context)
    lines: tuple[DiffLine, ...] = ()

    @property
    def added_new_lines(self) -> tuple[int, ...]:
        return tuple(ln.new_no for ln in self.lines if ln.kind == "add" and ln.new_no is not None)


class FileDiff(Frozen):
    """A file's change. ``path`` is the new path (renames are reviewed under it)."""

    path: str
    old_path: str | None = None
    status: FileStatus = "modified"
    hunks: tuple[Hunk, ...] = ()
    binary: bool = False
    submodule: bool = False
    mode_only: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    size: int = 0  # bytes of the new content, when known
    whole_file: bool = False  # ad hoc path review: every line is reviewable
    language: str | None = None

    @property
    def added_lines(self) -> int:
        return sum(1 for h in self.hunks for ln in h.lines if ln.kind == "add")

    @property
    def removed_lines(self) -> int:
        return sum(1 for h in self.hunks for ln in h.lines if ln.kind == "del")


NotReviewedReason = Literal[
    "deleted",
    "binary",
    "lockfile",
    "minified",
    "generated",
    "vendored",
    "submodule",
    "symlink",
    "mode-only",
    "too-large",
    "excluded",
    "not-included",
    "secret-file",
    "unreadable",
    "empty",
    "over-budget",
    "not-found",
]


class NotReviewed(Frozen):
    path: str
    reason: NotReviewedReason
    detail: str = ""


class FileEntry(Frozen):
    """A changed file as a listing shows it before its diff is read: enough to rank it
    (``reviewer.prepare.priority``) and to tell what is left out, cheaply."""

    path: str
    old_path: str | None = None
    status: FileStatus = "modified"
    added: int = 0
    removed: int = 0
    binary: bool = False
    # Security-sensitive changed lines: the pattern found in ``sample`` (the first added lines,
    # when the diff is at hand), or "changed lines" when git's own search (-G) found one.
    sensitive: str | None = None
    sample: str = ""

    @property
    def changed_lines(self) -> int:
        return self.added + self.removed


SAMPLE_CHARS = 4000  # of a file's added lines, for the content half of its priority


class ChangeSet(Frozen):
    """What a git source (or the ad hoc path reader) hands the pipeline: every file's diff.

    ``reviewer.source.git.LazyChanges`` is the same with the diffs read on demand
    (``entries``/``load``): the pipeline takes either (``reviewer.pipeline.ports.Changes``).
    """

    description: str  # e.g. "staged changes", "main...HEAD", "2 files"
    files: tuple[FileDiff, ...] = ()
    not_reviewed: tuple[NotReviewed, ...] = ()
    base_sha: str | None = None
    head_sha: str | None = None
    root: str | None = None  # repository root (or cwd for ad hoc paths)
    # Where the new side's content lives, for context (reviewer.prepare.context): "" is the
    # index, a sha that commit's tree; None when the files themselves are the source.
    content_rev: str | None = None

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)

    def entries(self) -> tuple[FileEntry, ...]:
        return tuple(
            FileEntry(
                path=f.path,
                old_path=f.old_path,
                status=f.status,
                added=f.added_lines,
                removed=f.removed_lines,
                binary=f.binary,
                sample=added_sample(f),
            )
            for f in self.files
        )

    def load(self, paths: Sequence[str]) -> tuple[FileDiff, ...]:
        """The files named by ``paths``, in the order given (already in memory)."""
        wanted = set(paths)
        by_path = {f.path: f for f in self.files if f.path in wanted}
        return tuple(by_path[p] for p in paths if p in by_path)

    def sensitive(self) -> frozenset[str] | None:
        """No search needed: every file's added lines are at hand (``FileEntry.sample``)."""
        return None

    def close(self) -> None:
        """Nothing to release: every diff is in memory."""


def added_sample(diff: FileDiff) -> str:
    """The first ``SAMPLE_CHARS`` of a file's added lines."""
    out: list[str] = []
    size = 0
    for hunk in diff.hunks:
        for line in hunk.lines:
            if line.kind == "add":
                out.append(line.text)
                size += len(line.text) + 1
                if size >= SAMPLE_CHARS:
                    return "\n".join(out)
    return "\n".join(out)


# --------------------------------------------------------------------------- chunks


class ChunkFile(Frozen):
    """The part of one file a chunk carries: whole hunks or a slice of one hunk."""

    path: str
    old_path: str | None = None
    status: FileStatus = "modified"
    hunks: tuple[Hunk, ...] = ()
    # ``changed_lines`` are the new-file line numbers findings may anchor on (added lines; every
    # line in whole-file mode); context lines are shown to the model but cannot be anchored on.
    whole_file: bool = False
    part: int = 1  # >1 when an oversized hunk was split
    parts: int = 1
    # Lines of the new file shown around the hunks (the enclosing scope, called signatures, or
    # the whole file; reviewer.prepare.context), sorted, none inside a hunk. Never reviewable.
    context: tuple[DiffLine, ...] = ()

    @property
    def changed_lines(self) -> frozenset[int]:
        if self.whole_file:
            return frozenset(
                ln.new_no for h in self.hunks for ln in h.lines if ln.new_no is not None
            )
        return frozenset(
            ln.new_no
            for h in self.hunks
            for ln in h.lines
            if ln.kind == "add" and ln.new_no is not None
        )

    @property
    def visible_lines(self) -> frozenset[int]:
        return frozenset(ln.new_no for h in self.hunks for ln in h.lines if ln.new_no is not None)


class Chunk(Frozen):
    """One request's worth of code. ``id`` is a stable hash of the content."""

    id: str
    index: int
    files: tuple[ChunkFile, ...]
    tokens: int  # tokens of the rendered user message (without the system prompt)
    # An upper bound of ``tokens`` when that is an estimate (a chunk that fits by its length
    # in bytes is never counted); None when ``tokens`` was counted.
    tokens_max: int | None = None
    context_tokens: int = 0  # of which the context lines take about this many

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.path for f in self.files))

    @property
    def changed_lines(self) -> int:
        """How many reviewable lines the chunk carries (what a failure leaves unreviewed)."""
        return sum(len(f.changed_lines) for f in self.files)


# --------------------------------------------------------------------------- findings


class Finding(Frozen):
    path: str
    start_line: int = Field(ge=1)
    end_line: int = Field(ge=1)
    severity: Severity
    category: Category
    confidence: float = Field(ge=0.0, le=1.0)
    title: str
    message: str
    suggestion: str | None = None  # replacement text for exactly start_line..end_line
    rule_id: str
    fingerprint: str
    score: float  # severity weight x confidence, see reviewer.findings.scoring
    chunk_id: str = ""
    code: str = ""  # the new-file code of the range, as shown to the model
    # The verification pass (--verify): True when it confirmed the finding, False when its
    # request failed and the finding is shown unchecked, None when no check ran (--no-verify).
    verified: bool | None = None


DroppedKind = Literal["refuted", "suppressed"]


class DroppedFinding(Frozen):
    """A finding the run did not report, and why: refuted by the verification pass, or
    suppressed by the repository (a ``reviewer: ignore`` comment, a false positive marked on
    the pull request). Listed in the JSON output and by ``--verbose``; never silently lost."""

    kind: DroppedKind
    reason: str
    finding: Finding


class ChunkFailure(Frozen):
    chunk_id: str
    index: int
    paths: tuple[str, ...]
    lines: int  # changed lines the chunk carried, now not reviewed
    kind: str  # e.g. "invalid-output", "rate-limited", "timeout", "auth", "length"
    message: str


class RedactionSite(Frozen):
    """Where a value was replaced before sending (``--show-redactions``): never the value.

    ``line`` is the new-file line number; a removed line has ``old_line`` instead, and a
    hunk header (function context) neither.
    """

    path: str
    line: int | None = None
    old_line: int | None = None
    family: str  # the marker's name: [REDACTED:<family>]
    kind: Literal["secret", "pii"]


class Usage(Frozen):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # True when the server reported no usage and the figures are a local token count.
    estimated: bool = False


class Stats(Frozen):
    files_total: int = 0
    files_reviewed: int = 0
    files_not_reviewed: int = 0
    chunks: int = 0
    chunks_failed: int = 0
    chunks_over_budget: int = 0  # left out by --max-cost/--max-chunks
    lines_over_budget: int = 0  # changed lines in them
    chunks_cached: int = 0
    requests: int = 0
    retries: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    # tokens_in/tokens_out include local counts for answers whose server reported no usage
    usage_estimated: bool = False
    estimated_tokens_in: int = 0
    context_tokens: int = 0  # of estimated_tokens_in, what the context around hunks takes
    cost_usd: float | None = None
    estimated_cost_usd: float | None = None
    duration_s: float = 0.0
    findings_total: int = 0
    findings_by_severity: dict[str, int] = Field(default_factory=dict)
    discarded_findings: int = 0  # model findings outside the chunk, or invalid
    clamped_findings: int = 0
    duplicate_findings: int = 0
    filtered_findings: int = 0  # below --min-severity/--min-confidence or over --max-findings
    redactions: int = 0  # secrets and personal data replaced before sending
    redactions_secrets: int = 0
    redactions_pii: int = 0
    redactions_by_family: dict[str, int] = Field(default_factory=dict)
    response_format: str | None = None  # the structured-output mode the endpoint accepted
    # The verification pass (--verify). Counts are of the chunks' anchored findings, before
    # dedupe and filters; its requests and tokens are also in requests/tokens_in/tokens_out.
    verify_chunks: int = 0  # chunks whose findings were checked (sent or from the cache)
    verify_cached: int = 0
    verify_failed: int = 0  # checks that failed: those findings are shown, unverified
    verify_requests: int = 0
    verify_tokens_in: int = 0
    verify_tokens_out: int = 0
    estimated_verify_tokens_in: int = 0  # part of estimated_tokens_in
    confirmed_findings: int = 0
    corrected_findings: int = 0  # confirmed with another severity, confidence, range or fix
    refuted_findings: int = 0
    unverified_findings: int = 0
    # The repository's own rules.
    suppressed_findings: int = 0  # ``reviewer: ignore`` comments, false positives on the PR
    instruction_tokens: int = 0  # of the repository's instruction files sent
    context_window: int | None = None  # the window chunks were planned for
    streamed: bool | None = None  # answers were streamed (None: nothing was sent)


# --------------------------------------------------------------------------- repository rules


class InstructionFile(Frozen):
    """A review-instructions file of the repository (``.reviewer/instructions.md``,
    ``AGENTS.md``, ``.cursor/rules/*.mdc``, ...), read from the revision the rules come from."""

    path: str
    convention: str  # "reviewer", "agents", "claude", "copilot", "cursor"
    text: str
    globs: tuple[str, ...] = ()  # the files it applies to; empty: every file
    revision: str = ""  # a commit, or "work tree"


InstructionStatus = Literal["used", "truncated", "over-budget", "skipped"]


class InstructionSource(Frozen):
    """How one instruction file was used (the outputs list these, never the text)."""

    path: str
    revision: str
    globs: tuple[str, ...] = ()
    tokens: int = 0  # sent (after truncation)
    status: InstructionStatus = "used"
    detail: str = ""


class RepoRules(Frozen):
    """What the repository says about its own review: instruction files and the fingerprints
    of findings its team marked as false positives (on the pull request under review)."""

    instructions: tuple[InstructionFile, ...] = ()
    skipped: tuple[InstructionSource, ...] = ()  # found but not applicable (e.g. manual rules)
    dismissed: frozenset[str] = frozenset()
    warnings: tuple[str, ...] = ()


class ChunkInfo(Frozen):
    """What a chunk carried: for ``--dry-run`` and the JSON output."""

    index: int
    id: str
    paths: tuple[str, ...]
    tokens: int
    changed_lines: int
    # "review": sent (or, in a dry run, to be sent); "cached": answered by an earlier run;
    # "over-budget": left out by --max-cost/--max-chunks. Chunks are listed highest priority first.
    status: Literal["review", "cached", "over-budget"] = "review"


class ReviewResult(Frozen):
    """Everything a reporter needs. Its JSON form is the documented ``--output json``."""

    schema_version: int = 1
    tool_version: str
    source: str  # ChangeSet.description
    base_sha: str | None = None
    head_sha: str | None = None
    model: str
    provider: str
    score: int = Field(ge=1, le=10)
    summary: str
    findings: tuple[Finding, ...] = ()
    not_reviewed: tuple[NotReviewed, ...] = ()
    failures: tuple[ChunkFailure, ...] = ()
    stats: Stats
    dry_run: bool = False
    reviewed_paths: tuple[str, ...] = ()
    chunks: tuple[ChunkInfo, ...] = ()
    warnings: tuple[str, ...] = ()  # loud notes: response-format fallbacks, cache problems...
    redaction_sites: tuple[RedactionSite, ...] = ()  # with --show-redactions
    dropped: tuple[DroppedFinding, ...] = ()  # refuted or suppressed findings, with the reason
    instructions: tuple[InstructionSource, ...] = ()  # the repository's rules, as used

    @property
    def complete(self) -> bool:
        return not self.failures
