"""Ad hoc whole-file review (``review path/to/file.py``): paths -> a ``ChangeSet``, no git needed.

Each readable text file becomes one ``FileDiff`` with ``whole_file=True``: status "added", one
hunk whose lines are all "add" lines numbered 1..n, so every line is reviewable. Paths are
shown relative to ``cwd`` in POSIX form. Directories are walked recursively in sorted order,
skipping version-control directories; filtering (lockfiles, vendored, globs) is left to
``reviewer.prepare.filters`` like for any other source.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from reviewer.core.errors import UsageError
from reviewer.core.text import human_size
from reviewer.core.values import ChangeSet, DiffLine, FileDiff, Hunk, NotReviewed
from reviewer.source.diffparse import split_lines

SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})
# Git's own rule: a NUL byte in the first 8000 bytes makes a file binary; we look at 8 KiB.
BINARY_SNIFF_BYTES = 8192


def read_paths(paths: Sequence[str], cwd: Path, max_file_bytes: int) -> ChangeSet:
    """Read ``paths`` (files or directories, relative to ``cwd``) for whole-file review.

    A path that does not exist is the user's mistake: ``UsageError("no such file: X")``.
    Files that cannot be reviewed (binary, empty, too large, unreadable) are ``NotReviewed``.
    """
    if not paths:
        raise UsageError("no paths to review")
    files: list[FileDiff] = []
    skipped: list[NotReviewed] = []
    seen: set[str] = set()
    for raw in paths:
        target = cwd / Path(raw).expanduser()
        if not os.path.lexists(target):
            raise UsageError(f"no such file: {raw}")
        for path in _expand(target):
            key = os.path.normpath(os.path.abspath(path))
            if key in seen:
                continue
            seen.add(key)
            display = Path(os.path.relpath(key, os.path.abspath(cwd))).as_posix()
            result = read_file(Path(key), display, max_file_bytes)
            if isinstance(result, FileDiff):
                files.append(result)
            else:
                skipped.append(result)
    count = len(files) + len(skipped)
    return ChangeSet(
        description=f"{count} file{'' if count == 1 else 's'}",
        files=tuple(files),
        not_reviewed=tuple(skipped),
        root=str(cwd),
    )


def read_file(path: Path, display: str, max_file_bytes: int) -> FileDiff | NotReviewed:
    """One file as a whole-file ``FileDiff``, or the reason it cannot be reviewed."""
    data = _read_bytes(path, display, max_file_bytes)
    if isinstance(data, NotReviewed):
        return data
    lines = split_lines(data.decode("utf-8", errors="replace"))
    return FileDiff(
        path=display,
        status="added",
        whole_file=True,
        size=len(data),
        hunks=(
            Hunk(
                old_start=0,
                old_len=0,
                new_start=1,
                new_len=len(lines),
                lines=tuple(
                    DiffLine(kind="add", text=text, new_no=no)
                    for no, text in enumerate(lines, start=1)
                ),
            ),
        ),
    )


def _read_bytes(path: Path, display: str, max_file_bytes: int) -> bytes | NotReviewed:
    """A text file's bytes, or the reason it cannot be reviewed."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return NotReviewed(path=display, reason="unreadable", detail="broken symbolic link")
    except OSError as exc:
        return NotReviewed(path=display, reason="unreadable", detail=exc.strerror or str(exc))
    if not stat.S_ISREG(info.st_mode):
        # Reading a FIFO or a device would block or never end.
        return NotReviewed(path=display, reason="unreadable", detail="not a regular file")
    if info.st_size > max_file_bytes:
        return _too_large(display, info.st_size, max_file_bytes)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_file_bytes + 1)  # +1: notice a file that grew meanwhile
    except OSError as exc:
        return NotReviewed(path=display, reason="unreadable", detail=exc.strerror or str(exc))
    if len(data) > max_file_bytes:
        return _too_large(display, len(data), max_file_bytes)
    if not data:
        return NotReviewed(path=display, reason="empty", detail="empty file")
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return NotReviewed(path=display, reason="binary", detail=human_size(len(data)))
    return data


class PathContents:
    """Files on disk, for context, by their path relative to ``root`` (read on request, one at
    a time). A file that is missing, not regular, larger than ``max_bytes``, binary or
    unreadable reads as None."""

    def __init__(self, root: str | Path, max_bytes: int) -> None:
        self._root = Path(root)
        self._max_bytes = max_bytes

    def read(self, path: str) -> str | None:
        data = _read_bytes(self._root / path, path, self._max_bytes)
        return None if isinstance(data, NotReviewed) else data.decode("utf-8", errors="replace")

    def close(self) -> None:
        """Nothing stays open between reads."""


def _too_large(display: str, size: int, limit: int) -> NotReviewed:
    return NotReviewed(
        path=display, reason="too-large", detail=f"{human_size(size)} > {human_size(limit)}"
    )


def _expand(target: Path) -> Iterator[Path]:
    """The files a user-named path stands for: itself, or a directory's files, sorted."""
    if not target.is_dir():
        yield target
        return
    for dirpath, dirnames, filenames in os.walk(target):
        # os.walk does not follow symlinked directories, so a link cycle cannot loop.
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for name in sorted(filenames):
            yield Path(dirpath) / name
