"""``git diff --raw --numstat -z`` output -> ``FileEntry``s (pure).

The listing names every changed file with its status and line counts without the diff text,
so a large change can be ranked before any file is parsed (``reviewer.pipeline.waves``).
With ``-z``, the raw records come first (``:<old mode> <new mode> <old id> <new id>
<status>\\0<path>\\0``, two paths for a rename), then the numstat ones (``<added>\\t<removed>
\\t<path>\\0``, or ``<added>\\t<removed>\\t\\0<old>\\0<new>\\0`` for a rename; ``-`` counts for a
binary file).
"""

from __future__ import annotations

from dataclasses import dataclass

from reviewer.core.errors import GitError
from reviewer.core.values import FileEntry, FileStatus

_STATUS: dict[str, FileStatus] = {
    "A": "added",
    "D": "deleted",
    "M": "modified",
    "R": "renamed",
    "C": "copied",
    "T": "added",  # a type change (file <-> symlink): the diff shows it as the new thing added
}
UNMERGED = "U"


@dataclass(frozen=True, slots=True)
class Listing:
    entries: tuple[FileEntry, ...]
    unmerged: tuple[str, ...]  # paths in a conflicted merge (``--cached`` only)


def parse_listing(out: bytes) -> Listing:
    tokens = out.decode("utf-8", errors="replace").split("\0")
    raw: dict[str, tuple[FileStatus, str | None]] = {}
    counts: dict[str, tuple[int, int, bool]] = {}
    order: list[str] = []
    unmerged: list[str] = []
    retyped: set[str] = set()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token:
            i += 1
        elif token.startswith(":"):
            if token.endswith(" T") and i + 1 < len(tokens):
                retyped.add(tokens[i + 1])
            i = _raw_record(tokens, i, raw, order, unmerged)
        else:
            i = _numstat_record(tokens, i, counts)
    entries = []
    for path in order:
        status, old = raw[path]
        added, removed, binary = counts.get(path, (0, 0, False))
        if path in retyped:
            removed = 0  # what it was (a link's target) is not the change under review
        entries.append(
            FileEntry(
                path=path,
                old_path=old,
                status=status,
                added=added,
                removed=removed,
                binary=binary,
            )
        )
    return Listing(tuple(entries), tuple(dict.fromkeys(unmerged)))


def _raw_record(
    tokens: list[str],
    i: int,
    raw: dict[str, tuple[FileStatus, str | None]],
    order: list[str],
    unmerged: list[str],
) -> int:
    fields = tokens[i][1:].split(" ")
    if len(fields) < 5 or i + 1 >= len(tokens):
        raise GitError(f"git diff --raw: unexpected record {tokens[i][:80]!r}")
    letter = fields[4][:1]
    if letter in ("R", "C"):
        old, new = tokens[i + 1], tokens[i + 2]
        _remember(raw, order, new, _STATUS[letter], old)
        return i + 3
    path = tokens[i + 1]
    if letter == UNMERGED:
        unmerged.append(path)
    elif letter in _STATUS:
        _remember(raw, order, path, _STATUS[letter], None)
    return i + 2


def _remember(
    raw: dict[str, tuple[FileStatus, str | None]],
    order: list[str],
    path: str,
    status: FileStatus,
    old: str | None,
) -> None:
    if path in raw:
        # A type change is listed as the path's deletion and addition: keep what it became.
        if status == "deleted":
            return
    else:
        order.append(path)
    raw[path] = (status, old)


def _numstat_record(tokens: list[str], i: int, counts: dict[str, tuple[int, int, bool]]) -> int:
    parts = tokens[i].split("\t")
    if len(parts) != 3:
        raise GitError(f"git diff --numstat: unexpected record {tokens[i][:80]!r}")
    added, removed, path = parts
    binary = added == "-"
    numbers = (0, 0) if binary else (int(added), int(removed))
    if path == "":  # a rename: old and new path follow
        path = tokens[i + 2]
        i += 2
    previous = counts.get(path)
    if previous is not None:  # a type change's two halves
        numbers = (numbers[0] + previous[0], numbers[1] + previous[1])
    counts[path] = (numbers[0], numbers[1], binary)
    return i + 1
