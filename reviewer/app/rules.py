"""The repository's rules for one run: its instruction files, read from a revision the change
under review cannot rewrite, and (with ``--github-pr``) what its team dismissed on the PR.

Where the instruction files come from:

| run | revision |
| --- | --- |
| ``--github-pr`` | the pull request's base commit (never its head) |
| ``--base REF`` | ``REF`` |
| ``--staged``, the pre-commit hook | ``HEAD`` (the commit being made is the change) |
| the pre-push hook | the base of the pushed commits |
| ``review PATH`` (whole files) | the work tree |
| a repository without commits | the work tree |

Nothing is read when nothing is to be reviewed (a hook with nothing staged stays fast), or
with ``repo-instructions = false``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.core.settings import Settings
from reviewer.core.values import RepoRules
from reviewer.source.rulefiles import WorkTree, read_rule_files

if TYPE_CHECKING:
    from reviewer.app.collect import Collected

WORK_TREE = None  # ``revision`` value: read the files as they are on disk


def rules_revision(
    options: Mapping[str, Any], changes: Collected, pr_base: str | None
) -> tuple[str | None, str]:
    """(the commit-ish to read the instruction files from, ``WORK_TREE`` for the disk; how
    the outputs name it)."""
    if pr_base:
        return pr_base, "base"
    if options["base"]:
        return str(options["base"]), str(options["base"])
    if options["hook"] == "pre-push":
        return (changes.base_sha, "push base") if changes.base_sha else ("HEAD", "HEAD")
    if options["paths"] and not options["staged"] and not options["hook"]:
        return WORK_TREE, "work tree"
    # Staged: the HEAD the diff was taken against (none yet: the work tree).
    return changes.head_sha or WORK_TREE, "HEAD" if changes.head_sha else "work tree"


def repo_rules(
    settings: Settings,
    changes: Collected,
    cwd: Path,
    revision: str | None,
    *,
    name: str | None = None,
    dismissed: frozenset[str] = frozenset(),
    warnings: tuple[str, ...] = (),
) -> RepoRules:
    if not settings.repo_instructions or not changes.paths:
        return RepoRules(dismissed=dismissed, warnings=warnings)
    changed = list(changes.paths)
    if revision is WORK_TREE or not _in_git(cwd):
        files, skipped = read_rule_files(WorkTree(Path(changes.root or cwd)), changed)
    else:
        from reviewer.source.git import open_repo

        with open_repo(cwd) as repo:
            tree = repo.tree(revision, name)
            if tree is None:  # no commits yet: what there is, is on disk
                files, skipped = read_rule_files(WorkTree(repo.root), changed)
            else:
                files, skipped = read_rule_files(tree, changed)
    return RepoRules(instructions=files, skipped=skipped, dismissed=dismissed, warnings=warnings)


def _in_git(cwd: Path) -> bool:
    here = cwd.resolve()
    return any((d / ".git").exists() for d in (here, *here.parents))
