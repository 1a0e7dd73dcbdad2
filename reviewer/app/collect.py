"""Which changes an invocation asks for: staged, base...head, the commits being pushed, or
whole files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.core.errors import NotAGitRepository, UsageError
from reviewer.core.settings import Settings
from reviewer.core.values import ChangeSet

if TYPE_CHECKING:
    from typing import TypeAlias

    from reviewer.prepare.context.gather import ContentReader
    from reviewer.source.git import GitRepo, LazyChanges

    # What a review is of: every diff in memory, or a git change read as the review goes.
    Collected: TypeAlias = ChangeSet | LazyChanges


ZERO_SHA = "0" * 40


def source_kind(options: Mapping[str, Any]) -> str:
    """How the run was started, for the ledger: hook, pr, branch, path, staged (or eval)."""
    if options.get("github_pr") or options.get("gitlab_mr"):
        return "pr"
    if options.get("hook"):
        return "hook"
    if options.get("base"):
        return "branch"
    if options.get("paths") and not options.get("staged"):
        return "path"
    return "staged"


def collect(options: Mapping[str, Any], settings: Settings, cwd: Path) -> Collected:
    """The changes this invocation asks for: staged, base...head, pushed commits, whole files.
    A git change is listed now and read a few files at a time as the review goes (close it
    after the run: it keeps the repository open)."""
    paths: tuple[str, ...] = tuple(options["paths"])
    base, head, staged = options["base"], options["head"], options["staged"]
    if head and not base:
        raise UsageError("--head needs --base")
    if base and staged:
        raise UsageError("--staged and --base cannot be combined")
    if options["hook"] == "pre-push":
        return _pushed(settings, cwd, paths)
    if base or staged or not paths or options["hook"]:
        repo = open_git(cwd)
        lines = settings.context_lines
        try:
            if base:
                return repo.range(base, head or "HEAD", paths, context_lines=lines, lazy=True)
            return repo.staged(paths, context_lines=lines, lazy=True)
        except BaseException:
            repo.close()
            raise
    from reviewer.source.paths import read_paths

    return read_paths(paths, cwd, settings.max_file_bytes)


def open_contents(changes: Collected, settings: Settings) -> ContentReader | None:
    """Where context reads the new side of the changed files: the index or the head commit
    (git), the files themselves (whole-file review); None in ``lines`` mode or with nothing
    to review. Nothing is read (no process started) before the first file is."""
    if settings.context == "lines" or not changes.paths or changes.root is None:
        return None
    if changes.content_rev is not None:
        from reviewer.source.git import GitContents

        return GitContents(changes.root, changes.content_rev, settings.max_file_bytes)
    from reviewer.source.paths import PathContents

    return PathContents(changes.root, settings.max_file_bytes)


def open_git(cwd: Path) -> GitRepo:
    from reviewer.source.git import open_repo

    try:
        return open_repo(cwd)
    except NotAGitRepository as exc:
        raise NotAGitRepository(
            f"{exc}; to review files outside git, name them: review path/to/file.py"
        ) from exc


def _pushed(settings: Settings, cwd: Path, paths: tuple[str, ...]) -> LazyChanges:
    """pre-push: the commits being pushed, from pre-commit's PRE_COMMIT_FROM/TO_REF."""
    repo = open_git(cwd)
    try:
        return _pushed_from(repo, settings.context_lines, paths)
    except BaseException:
        repo.close()
        raise


def _pushed_from(repo: GitRepo, lines: int, paths: tuple[str, ...]) -> LazyChanges:
    from_ref = os.environ.get("PRE_COMMIT_FROM_REF") or os.environ.get("PRE_COMMIT_SOURCE")
    to_ref = os.environ.get("PRE_COMMIT_TO_REF") or os.environ.get("PRE_COMMIT_ORIGIN") or "HEAD"
    if from_ref and from_ref != ZERO_SHA and repo.resolve(from_ref):
        if repo.is_ancestor(from_ref, to_ref):
            return repo.changed_since(from_ref, to_ref, paths, context_lines=lines, lazy=True)
        # after a rewrite
        return repo.range(from_ref, to_ref, paths, context_lines=lines, lazy=True)
    # A new branch: what it adds over the remote's default branch, else every commit no
    # remote has (all of them on a repository's first push).
    for upstream in ("origin/HEAD", "origin/main", "origin/master"):
        if repo.resolve(upstream) and repo.merge_base(upstream, to_ref):
            return repo.range(upstream, to_ref, paths, context_lines=lines, lazy=True)
    return repo.unpushed(to_ref, paths, context_lines=lines, lazy=True)
