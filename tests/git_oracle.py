"""What git itself says a change adds: the oracle for "every new line is reviewable".

``git diff --no-renames`` marks every line that is new at its path. The one departure the review
makes on purpose is rename detection, as a pull request shows it: a file git pairs as a rename
(``-M``, git's default similarity) shows only its edits, because its other lines were in the
deleted source. So a renamed file's lines are the ones ``git diff -M`` marks added in that file;
every other file's are the ones ``git diff --no-renames`` marks. Copies get no such treatment.

Run it with git's defaults (before a test applies the user config under test): the review must
find these lines whatever the user's configuration says.
"""

from __future__ import annotations

import re
from pathlib import Path

from gitrepo import git

_HUNK = re.compile(r"@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def added_lines(repo: Path, *revs: str) -> dict[str, set[int]]:
    """path -> new-side line numbers git marks added, for ``git diff <revs>`` (e.g.
    ``--cached HEAD``, ``main...feature``, ``a..b``); files with none are left out."""
    lines = _added(repo, "--no-renames", *revs)
    renamed = _added(repo, "-M", *revs)
    status = git(repo, "diff", "-M", "--name-status", "-z", *revs).split("\0")
    i = 0
    while i < len(status) - 1:
        if status[i].startswith("R"):  # R<score>, old path, new path
            lines[status[i + 2]] = renamed.get(status[i + 2], set())
            i += 3
        else:
            i += 2
    return {path: found for path, found in lines.items() if found}


def _added(repo: Path, *options: str) -> dict[str, set[int]]:
    text = git(
        repo,
        "-c",
        "core.quotePath=false",
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "-U0",
        *options,
    )
    lines = text.split("\n")
    found: dict[str, set[int]] = {}
    path: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("diff --git "):
            path = None
        elif line.startswith("+++ "):
            name = line[4:].split("\t", 1)[0]
            path = None if name == "/dev/null" else name.removeprefix("b/")
        elif line.startswith("@@ "):
            match = _HUNK.match(line)
            assert match, line
            start = int(match.group(2))
            count = int(match.group(3) if match.group(3) is not None else 1)
            if path is not None:  # None: a deleted file
                found.setdefault(path, set()).update(range(start, start + count))
            # Skip the hunk's body (its removed, then its added lines, and "\ No newline"
            # markers), so that a line reading "+++ x" in it is not taken for a header.
            left = int(match.group(1) if match.group(1) is not None else 1) + count
            while left > 0 or (i < len(lines) and lines[i].startswith("\\")):
                left -= 0 if lines[i].startswith("\\") else 1
                i += 1
    return found
