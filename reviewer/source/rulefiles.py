"""The repository's review instructions: which files hold them, and what they apply to.

Read, in this order (the order also decides which files fit the instruction budget first,
``reviewer.prepare.instructions``):

* ``.reviewer/instructions.md``: every file.
* ``.reviewer/instructions/**/*.md``: the files matching its front matter's ``globs`` (every
  file without).
* ``AGENTS.md``, ``CLAUDE.md`` at the root: every file. ``<dir>/AGENTS.md`` and
  ``<dir>/CLAUDE.md``: the files under ``<dir>``; looked for in the directories of the
  changed files only.
* ``.github/copilot-instructions.md``: every file. ``.github/instructions/**/*.instructions.md``:
  its front matter's ``applyTo`` globs.
* ``.cursor/rules/**/*.mdc``: ``alwaysApply: true``, every file; ``globs``, the matching files;
  neither (a rule an agent picks by its description, or a manual one): skipped and listed.

Front matter is the block between a first line ``---`` and the next ``---`` line, with
``key: value`` lines; globs are a comma-separated string, a ``[a, b]`` list or ``- a`` lines
(``.gitignore`` syntax, ``reviewer.core.globs``). A file whose text repeats an earlier one
(a ``CLAUDE.md`` copied from ``AGENTS.md``) is skipped. Files over ``MAX_FILE_BYTES``,
binary files and symbolic links are skipped, and listed.

Where they are read from is the caller's choice (``reviewer.app.rules``): the base of a pull
request, never its head, so a change cannot rewrite the rules it is reviewed by.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Protocol

from reviewer.core.values import InstructionFile, InstructionSource

MAX_FILE_BYTES = 256 * 1024
MAX_NESTED_DIRS = 100  # directories of changed files whose AGENTS.md/CLAUDE.md are looked for
NESTED_NAMES = ("AGENTS.md", "CLAUDE.md")
# What to list or read, by path prefix (a directory is read whole, a file if it exists).
ROOTS = (
    ".reviewer/instructions.md",
    ".reviewer/instructions",
    "AGENTS.md",
    "CLAUDE.md",
    ".github/copilot-instructions.md",
    ".github/instructions",
    ".cursor/rules",
)
_GLOB_KEYS = ("globs", "applyto", "paths")


class FileTree(Protocol):
    """Files of one revision (or the work tree): ``read(paths)`` takes files or directories
    and returns every regular file under them, path -> content, or None when it was too large
    or not a regular file."""

    @property
    def revision(self) -> str: ...

    def read(self, paths: Sequence[str], max_bytes: int) -> Mapping[str, bytes | None]: ...


def candidate_paths(changed: Iterable[str]) -> tuple[str, ...]:
    """``ROOTS`` and the nested ``AGENTS.md``/``CLAUDE.md`` of the changed files' directories."""
    dirs: dict[str, None] = {}
    for path in changed:
        for parent in PurePosixPath(path).parents:
            text = parent.as_posix()
            if text not in (".", ""):
                dirs.setdefault(text)
    nested = sorted(dirs, key=lambda d: (d.count("/"), d))[:MAX_NESTED_DIRS]
    return (*ROOTS, *(f"{d}/{name}" for d in nested for name in NESTED_NAMES))


def read_rule_files(
    tree: FileTree, changed: Iterable[str]
) -> tuple[tuple[InstructionFile, ...], tuple[InstructionSource, ...]]:
    """(the instruction files that apply, the ones found but skipped with why)."""
    found = tree.read(candidate_paths(changed), MAX_FILE_BYTES)
    files: list[InstructionFile] = []
    skipped: list[InstructionSource] = []
    seen: dict[str, str] = {}  # text -> the path that had it first
    for path in sorted(found, key=_order):
        convention = _convention(path)
        if convention is None:
            continue
        data = found[path]
        why = _unusable(data)
        if why:
            skipped.append(_skipped(path, tree.revision, why))
            continue
        assert data is not None
        meta, body = split_front_matter(data.decode("utf-8", errors="replace"))
        globs, why = _scope(path, convention, meta)
        if why:
            skipped.append(_skipped(path, tree.revision, why, globs))
            continue
        if not body.strip():
            skipped.append(_skipped(path, tree.revision, "empty", globs))
            continue
        if body.strip() in seen:
            skipped.append(_skipped(path, tree.revision, f"same text as {seen[body.strip()]}"))
            continue
        seen[body.strip()] = path
        files.append(
            InstructionFile(
                path=path,
                convention=convention,
                text=body.strip(),
                globs=globs,
                revision=tree.revision,
            )
        )
    return tuple(files), tuple(skipped)


def split_front_matter(text: str) -> tuple[dict[str, str | list[str]], str]:
    """(the front matter's keys, lower-cased -> value, the text after it)."""
    text = text.lstrip("\ufeff")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        return {}, text
    meta: dict[str, str | list[str]] = {}
    key: str | None = None
    for line in lines[1:end]:
        item = re.match(r"^\s*-\s+(.*)$", line)
        if item and key is not None:
            current = meta.get(key)
            values = current if isinstance(current, list) else []
            meta[key] = [*values, _unquote(item.group(1))]
            continue
        pair = re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$", line)
        if pair:
            key = pair.group(1).lower()
            meta[key] = _unquote(pair.group(2))
    return meta, "\n".join(lines[end + 1 :])


def parse_globs(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    globs: list[str] = []
    for item in items:
        text = _unquote(item)
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        globs.extend(_unquote(part) for part in text.split(","))
    return tuple(dict.fromkeys(g for g in globs if g))


class WorkTree:
    """The files as they are on disk under ``root`` (no commits yet, or whole-file review)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    @property
    def revision(self) -> str:
        return "work tree"

    def read(self, paths: Sequence[str], max_bytes: int) -> dict[str, bytes | None]:
        found: dict[str, bytes | None] = {}
        for rel in paths:
            target = self._root / rel
            if target.is_symlink():
                found[rel] = None
            elif target.is_file():
                found[rel] = _read(target, max_bytes)
            elif target.is_dir():
                for dirpath, dirnames, names in os.walk(target):
                    dirnames.sort()
                    for name in sorted(names):
                        full = Path(dirpath) / name
                        key = full.relative_to(self._root).as_posix()
                        found[key] = None if full.is_symlink() else _read(full, max_bytes)
        return found


def _read(path: Path, max_bytes: int) -> bytes | None:
    try:
        if path.stat().st_size > max_bytes:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _convention(path: str) -> str | None:
    name = PurePosixPath(path).name
    if path == ".reviewer/instructions.md" or (
        path.startswith(".reviewer/instructions/") and path.endswith(".md")
    ):
        return "reviewer"
    if name == "AGENTS.md":
        return "agents"
    if name == "CLAUDE.md":
        return "claude"
    if path == ".github/copilot-instructions.md" or (
        path.startswith(".github/instructions/") and path.endswith(".instructions.md")
    ):
        return "copilot"
    if path.startswith(".cursor/rules/") and path.endswith(".mdc"):
        return "cursor"
    return None


def _order(path: str) -> tuple[int, int, str]:
    rank = {
        ".reviewer/instructions.md": 0,
        "AGENTS.md": 2,
        "CLAUDE.md": 3,
        ".github/copilot-instructions.md": 5,
    }
    if path in rank:
        return rank[path], 0, path
    if path.startswith(".reviewer/"):
        return 1, 0, path
    if path.startswith(".github/"):
        return 6, 0, path
    if path.startswith(".cursor/"):
        return 7, 0, path
    return 4, path.count("/"), path  # nested AGENTS.md / CLAUDE.md, shallowest first


def _scope(
    path: str, convention: str, meta: Mapping[str, str | list[str]]
) -> tuple[tuple[str, ...], str]:
    """(the globs a file applies to, why it is skipped or "")."""
    globs = next((parse_globs(meta[k]) for k in _GLOB_KEYS if k in meta), ())
    directory = PurePosixPath(path).parent.as_posix()
    if convention in ("agents", "claude") and directory != ".":
        return (f"{directory}/**",), ""
    if convention == "cursor":
        always = str(meta.get("alwaysapply", "")).strip().lower() == "true"
        if always:
            return (), ""
        if not globs:
            return (), "a Cursor rule without globs or alwaysApply (picked by an agent, or manual)"
    if convention == "copilot" and path.startswith(".github/instructions/") and not globs:
        return (), "no applyTo in its front matter"
    return globs, ""


def _unusable(data: bytes | None) -> str:
    if data is None:
        return f"not a regular file, or over {MAX_FILE_BYTES // 1024} KB"
    if b"\0" in data[:8192]:
        return "binary"
    return ""


def _skipped(path: str, revision: str, why: str, globs: tuple[str, ...] = ()) -> InstructionSource:
    return InstructionSource(
        path=path, revision=revision, globs=globs, status="skipped", detail=why
    )


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].strip()
    return text
