"""Unified diff text -> ``FileDiff`` values. Pure: no I/O, no git.

Reads what ``git diff --no-color --no-ext-diff -M --src-prefix=a/ --dst-prefix=b/ -U<n>
--submodule=short`` prints (new/deleted/renamed files, mode changes, binary files, submodule
pointers, C-quoted paths; copies too, from patches made with ``-C``), and plain unified diffs
(``--- a``/``+++ b`` without a ``diff --git`` line, as ``difflib`` or GNU diff write them).

Conventions every later stage relies on:

* Text is split on ``"\\n"`` only, never with ``str.splitlines`` (which also breaks on ``\\r``,
  ``\\x0b``, ``\\x1c``, ``\\u2028``, ...), so line numbers are git's line numbers.
* One trailing ``"\\r"`` is dropped from ``DiffLine.text``: a CRLF file's lines read like any
  other's and the model is not shown stray carriage returns. Line numbers are unaffected.
* ``\\ No newline at end of file`` markers are dropped.
* Paths are repo-relative POSIX paths without the ``a/``/``b/`` prefixes; C-quoted paths
  (``"caf\\303\\251.py"``) are unquoted and their bytes decoded as UTF-8.

Only input that cannot be a diff raises ``GitError`` (a hunk header that does not parse, a hunk
cut short, a line inside a hunk that is not `` ``/``+``/``-``/``\\``). Text outside a file's
header and hunks (a mail preamble, a patch signature) is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from reviewer.core.errors import GitError
from reviewer.core.values import DiffLine, FileDiff, FileStatus, Frozen, Hunk

# At most 18 digits: int() refuses very long digit strings, and no real file is that long.
_HUNK_RE = re.compile(r"@@ -([0-9]{1,18})(?:,([0-9]{1,18}))? \+([0-9]{1,18})(?:,([0-9]{1,18}))? @@")
_OCTAL_RE = re.compile(r"[0-7]{1,3}")
_INDEX_RE = re.compile(r"index ([0-9a-f]+)\.\.([0-9a-f]+)(?: ([0-7]+))?\Z")
_SUBMODULE_MODE = "160000"
_DEV_NULL = "/dev/null"
_ESCAPES = {
    "a": 7,
    "b": 8,
    "t": 9,
    "n": 10,
    "v": 11,
    "f": 12,
    "r": 13,
    '"': 34,
    "\\": 92,
}


class ParsedDiff(Frozen):
    """A parsed ``git diff``: the files, plus what only the git source needs."""

    files: tuple[FileDiff, ...] = ()
    # Parallel to ``files``: the new blob id from the ``index`` line (None when git printed
    # none, e.g. a pure rename or a mode change, or the file was deleted).
    new_blobs: tuple[str | None, ...] = ()
    # ``* Unmerged path X`` lines (``git diff --cached`` during a conflicted merge).
    unmerged: tuple[str, ...] = ()


def parse_unified_diff(text: str) -> list[FileDiff]:
    """Parse ``git diff`` (or plain unified diff) output into one ``FileDiff`` per file."""
    return list(parse_git_diff(text).files)


def parse_git_diff(text: str) -> ParsedDiff:
    """Like ``parse_unified_diff``, keeping blob ids and unmerged paths for the git source."""
    return _Parser(text).run()


def split_lines(text: str) -> list[str]:
    """Text -> lines the way git counts them: on ``"\\n"`` only, one trailing ``"\\r"`` dropped.

    A final newline ends the last line rather than starting an empty one.
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


# --------------------------------------------------------------------------- paths


def c_unquote(quoted: str) -> tuple[str, str]:
    """Unquote a C-style quoted string at the start of ``quoted``; return (value, rest).

    Git quotes paths with control characters, ``"`` and ``\\`` (and bytes >= 0x80 unless
    ``core.quotePath`` is off) as ``"..."`` with C escapes and 3-digit octal bytes.
    """
    if not quoted.startswith('"'):
        raise GitError(f"malformed diff: expected a quoted path: {quoted[:80]!r}")
    out = bytearray()
    i, n = 1, len(quoted)
    while i < n:
        ch = quoted[i]
        if ch == '"':
            return out.decode("utf-8", errors="replace"), quoted[i + 1 :]
        if ch != "\\":
            out += ch.encode("utf-8", errors="replace")
            i += 1
            continue
        nxt = quoted[i + 1 : i + 2]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        octal = _OCTAL_RE.match(quoted, i + 1)
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i = octal.end()
            continue
        # An unknown escape: keep it literally rather than guess.
        out += b"\\"
        i += 1
    raise GitError(f"malformed diff: unterminated quoted path: {quoted[:80]!r}")


def _label(raw: str) -> str:
    """The path in a ``---``/``+++`` line (without the ``--- `` part), prefix still on."""
    if raw.startswith('"'):
        return c_unquote(raw)[0]
    # Git appends a tab to names containing a space; GNU diff puts a timestamp after a tab.
    return raw.split("\t", 1)[0]


def _strip_prefix(path: str, prefix: str) -> str:
    return path[len(prefix) :] if path.startswith(prefix) else path


def _git_line_paths(rest: str) -> tuple[str | None, str | None]:
    """Old and new path from ``diff --git <rest>``; None where it cannot be told apart.

    Unquoted paths may contain spaces, so ``a/x y b/x y`` is split where both halves agree,
    which is always the case when this line is the only source of the name (no rename).
    """
    if rest.startswith('"'):
        old, tail = c_unquote(rest)
        tail = tail[1:] if tail.startswith(" ") else tail
        new = c_unquote(tail)[0] if tail.startswith('"') else tail
        return _strip_prefix(old, "a/"), _strip_prefix(new, "b/")
    if rest.endswith('"'):
        start = rest.rfind(' "')
        while start >= 0:
            try:
                new, tail = c_unquote(rest[start + 1 :])
            except GitError:
                new, tail = "", "x"
            if tail == "":
                return _strip_prefix(rest[:start], "a/"), _strip_prefix(new, "b/")
            start = rest.rfind(' "', 0, start)
        return None, None
    if (len(rest) - 1) % 2 == 0:
        half = (len(rest) - 1) // 2
        old, sep, new = rest[:half], rest[half], rest[half + 1 :]
        if sep == " " and old.startswith("a/") and new.startswith("b/") and old[2:] == new[2:]:
            return old[2:], new[2:]
    cut = rest.find(" b/")
    if cut < 0:
        return None, None
    return _strip_prefix(rest[:cut], "a/"), rest[cut + 3 :]


def _header_path(raw: str) -> str:
    """A path in a ``rename from``/``copy to``/... line: no prefix, maybe quoted."""
    return c_unquote(raw)[0] if raw.startswith('"') else raw


# --------------------------------------------------------------------------- parser


@dataclass
class _File:
    """Everything seen for one file so far (mutable while parsing)."""

    git_old: str | None = None
    git_new: str | None = None
    minus: str | None = None  # label of the ``---`` line, prefix stripped
    plus: str | None = None
    rename_from: str | None = None
    rename_to: str | None = None
    copy_from: str | None = None
    copy_to: str | None = None
    status: FileStatus | None = None
    old_mode: str | None = None
    new_mode: str | None = None
    index_mode: str | None = None
    new_blob: str | None = None
    binary: bool = False
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def has_labels(self) -> bool:
        return self.minus is not None or self.plus is not None

    def build(self) -> FileDiff:
        minus = None if self.minus == _DEV_NULL else self.minus
        plus = None if self.plus == _DEV_NULL else self.plus
        old = self.rename_from or self.copy_from or minus or self.git_old
        new = self.rename_to or self.copy_to or plus or self.git_new
        status = self.status
        if status is None:
            if self.minus == _DEV_NULL:
                status = "added"
            elif self.plus == _DEV_NULL:
                status = "deleted"
            else:
                status = "modified"
        path = (old or new) if status == "deleted" else (new or old)
        if not path:
            raise GitError("malformed diff: a file section names no path")
        old_mode = self.old_mode or self.index_mode
        new_mode = self.new_mode or self.index_mode
        hunks = tuple(self.hunks)
        submodule = _SUBMODULE_MODE in (old_mode, new_mode) or (
            bool(hunks)
            and all(ln.text.startswith("Subproject commit ") for h in hunks for ln in h.lines)
        )
        mode_changed = (
            self.old_mode is not None
            and self.new_mode is not None
            and self.old_mode != self.new_mode
            and status in ("modified", "renamed", "copied")
        )
        return FileDiff(
            path=path,
            old_path=old if status in ("renamed", "copied") else None,
            status=status,
            hunks=hunks,
            binary=self.binary,
            submodule=submodule,
            mode_only=mode_changed and not hunks and not self.binary,
            old_mode=old_mode,
            new_mode=new_mode,
        )


class _Parser:
    def __init__(self, text: str) -> None:
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the final newline ends the last line; it does not start one
        self.lines = lines
        self.i = 0
        self.files: list[FileDiff] = []
        self.blobs: list[str | None] = []
        self.unmerged: list[str] = []
        self.cur: _File | None = None
        self.skipping = False  # inside a binary patch or a combined diff: wait for the next file

    def run(self) -> ParsedDiff:
        lines, n = self.lines, len(self.lines)
        while self.i < n:
            line = lines[self.i].removesuffix("\r")
            if line.startswith("diff --git "):
                git_old, git_new = _git_line_paths(line[len("diff --git ") :])
                self._start(_File(git_old=git_old, git_new=git_new))
            elif line.startswith(("diff --cc ", "diff --combined ")):
                self._start(None)
                self.skipping = True  # combined diffs are for unmerged files: not reviewed
            elif self.skipping:
                pass
            elif line.startswith("* Unmerged path "):
                raw = line[len("* Unmerged path ") :]
                self.unmerged.append(_header_path(raw))
            elif (
                line.startswith("--- ") and self.i + 1 < n and lines[self.i + 1].startswith("+++ ")
            ):
                if self.cur is None or self.cur.hunks or self.cur.has_labels:
                    self._start(_File())  # a plain unified diff: no ``diff --git`` line
                assert self.cur is not None
                self.cur.minus = _strip_prefix(_label(line[4:]), "a/")
                plus_raw = lines[self.i + 1].removesuffix("\r")
                self.cur.plus = _strip_prefix(_label(plus_raw[4:]), "b/")
                self.i += 1
            elif line.startswith("@@"):
                if self.cur is None:
                    raise GitError(
                        f"malformed diff: hunk before any file header (line {self.i + 1})"
                    )
                self.cur.hunks.append(self._hunk(line))
                continue  # _hunk moved self.i past the hunk
            elif self.cur is not None and not self.cur.hunks and not self.cur.has_labels:
                self._extended_header(line)
            self.i += 1
        self._start(None)
        files, blobs = _without_type_change_deletions(self.files, self.blobs)
        return ParsedDiff(files=files, new_blobs=blobs, unmerged=tuple(self.unmerged))

    def _start(self, new: _File | None) -> None:
        if self.cur is not None:
            self.files.append(self.cur.build())
            self.blobs.append(self.cur.new_blob)
        self.cur = new
        self.skipping = False

    def _extended_header(self, line: str) -> None:
        cur = self.cur
        assert cur is not None
        if line.startswith("old mode "):
            cur.old_mode = line[len("old mode ") :]
        elif line.startswith("new mode "):
            cur.new_mode = line[len("new mode ") :]
        elif line.startswith("new file mode "):
            cur.status, cur.new_mode = "added", line[len("new file mode ") :]
        elif line.startswith("deleted file mode "):
            cur.status, cur.old_mode = "deleted", line[len("deleted file mode ") :]
        elif line.startswith("rename from "):
            cur.status, cur.rename_from = "renamed", _header_path(line[len("rename from ") :])
        elif line.startswith("rename to "):
            cur.status, cur.rename_to = "renamed", _header_path(line[len("rename to ") :])
        elif line.startswith("copy from "):
            cur.status, cur.copy_from = "copied", _header_path(line[len("copy from ") :])
        elif line.startswith("copy to "):
            cur.status, cur.copy_to = "copied", _header_path(line[len("copy to ") :])
        elif line.startswith("index "):
            match = _INDEX_RE.match(line)
            if match:
                new_blob = match.group(2)
                cur.new_blob = None if set(new_blob) == {"0"} else new_blob
                cur.index_mode = match.group(3)
        elif line.startswith("Binary files ") and line.endswith(" differ"):
            cur.binary = True
        elif line == "GIT binary patch":
            cur.binary = True
            self.skipping = True  # base85 payload until the next file
        # similarity/dissimilarity index and anything unknown: nothing to keep

    def _hunk(self, header_line: str) -> Hunk:
        match = _HUNK_RE.match(header_line)
        if not match:
            raise GitError(f"malformed diff: bad hunk header {header_line[:80]!r}")
        old_start, new_start = int(match.group(1)), int(match.group(3))
        old_len = int(match.group(2)) if match.group(2) is not None else 1
        new_len = int(match.group(4)) if match.group(4) is not None else 1
        header = header_line[match.end() :].removeprefix(" ")
        old_left, new_left = old_len, new_len
        old_no, new_no = old_start, new_start
        out: list[DiffLine] = []
        lines, n = self.lines, len(self.lines)
        i = self.i + 1
        while old_left > 0 or new_left > 0:
            if i >= n:
                raise GitError(f"malformed diff: hunk {header_line[:60]!r} is cut short")
            raw = lines[i]
            tag = raw[:1]
            text = raw[1:].removesuffix("\r")
            # An empty line is a blank context line whose space was stripped (mailers,
            # diff.suppressBlankEmpty).
            if (tag == " " or raw in ("", "\r")) and old_left > 0 and new_left > 0:
                out.append(DiffLine(kind="ctx", text=text, old_no=old_no, new_no=new_no))
                old_no, new_no, old_left, new_left = (
                    old_no + 1,
                    new_no + 1,
                    old_left - 1,
                    new_left - 1,
                )
            elif tag == "-" and old_left > 0:
                out.append(DiffLine(kind="del", text=text, old_no=old_no))
                old_no, old_left = old_no + 1, old_left - 1
            elif tag == "+" and new_left > 0:
                out.append(DiffLine(kind="add", text=text, new_no=new_no))
                new_no, new_left = new_no + 1, new_left - 1
            elif tag != "\\":
                raise GitError(
                    f"malformed diff: unexpected line {i + 1} in hunk {header_line[:60]!r}: "
                    f"{raw[:60]!r}"
                )
            i += 1
        while i < n and lines[i].startswith("\\"):
            i += 1  # "\ No newline at end of file" after the hunk's last line
        self.i = i
        return Hunk(
            old_start=old_start,
            old_len=old_len,
            new_start=new_start,
            new_len=new_len,
            header=header,
            lines=tuple(out),
        )


def _without_type_change_deletions(
    files: list[FileDiff], blobs: list[str | None]
) -> tuple[tuple[FileDiff, ...], tuple[str | None, ...]]:
    """Git shows a change of type (file <-> symlink or submodule) as the path's deletion plus
    its addition. Only the addition is kept: the path was not deleted, and a "deleted" entry
    beside the reviewed new file would say it was."""
    added = {f.path for f in files if f.status == "added"}
    kept = [
        (f, blob)
        for f, blob in zip(files, blobs, strict=True)
        if not (f.status == "deleted" and f.path in added)
    ]
    return tuple(f for f, _ in kept), tuple(blob for _, blob in kept)
