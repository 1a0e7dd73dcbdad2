"""Changes where new lines could vanish from a review, as real git repositories.

Each ``Case`` commits ``base`` on ``main``, switches to a branch ``feature``, applies ``change``
to the work tree and stages everything; ``prepare`` then commits it too for the modes that
review commits. The oracle (``git_oracle.added_lines``, git's defaults) is taken before the
``config`` the case sets as a user's would be: whatever that says, the same lines must be
reviewable. ``tests/test_gitsource.py`` checks ``GitRepo`` against it, ``tests/test_git_matrix.py``
the whole CLI (``--staged``, ``--base``, the pre-push hook).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from git_oracle import added_lines
from gitrepo import commit, git, write


def numbered(name: str, count: int, changed: Mapping[int, str] | None = None) -> str:
    """``count`` distinct lines ``name_i = i``; ``changed`` replaces some (1-based)."""
    changed = changed or {}
    return "".join(f"{changed.get(i, f'{name}_{i} = {i}')}\n" for i in range(1, count + 1))


BODY = numbered("value", 20)
BUG = "value_7 = 1 / 0  # the planted bug"


@dataclass(frozen=True)
class Case:
    id: str
    base: Mapping[str, str]
    change: Callable[[Path], None]
    config: Mapping[str, str] = field(default_factory=dict)
    # path -> the not-reviewed reason the CLI gives for a file whose added lines are, by
    # design, not sent (a symlink's "line" is its target's name)
    skipped: Mapping[str, str] = field(default_factory=dict)
    base_links: Mapping[str, str] = field(default_factory=dict)  # symlink -> its target


def writes(files: Mapping[str, str]) -> Callable[[Path], None]:
    def change(repo: Path) -> None:
        for path, text in files.items():
            write(repo, path, text)

    return change


def _copy_of_a_modified_file(repo: Path) -> None:
    write(repo, "orig.py", BODY + "extra = 1\n")  # -C takes copy sources from modified files
    write(repo, "copy.py", numbered("value", 20, {7: BUG}))


def _exact_copy(repo: Path) -> None:
    write(repo, "orig.py", BODY + "extra = 1\n")
    write(repo, "copy.py", BODY)  # identical to orig.py before the change: "copy", no hunks


def _pure_rename(repo: Path) -> None:
    git(repo, "mv", "orig.py", "moved.py")


def _rename_with_edits(repo: Path) -> None:
    git(repo, "mv", "orig.py", "moved.py")
    write(repo, "moved.py", numbered("value", 20, {7: BUG, 15: "value_15 = 150"}))


def _rename_past_the_threshold(repo: Path) -> None:
    # 12 of 20 lines rewritten: under git's 50% similarity, a deletion plus a new file
    git(repo, "mv", "orig.py", "moved.py")
    write(repo, "moved.py", numbered("value", 20, {i: f"new_{i} = {i}" for i in range(1, 13)}))


def _one_source_two_destinations(repo: Path) -> None:
    git(repo, "rm", "-q", "orig.py")
    write(repo, "first.py", BODY)
    write(repo, "second.py", numbered("value", 20, {7: BUG}))


def _rename_mode_change_and_edits(repo: Path) -> None:
    git(repo, "mv", "orig.py", "tool.py")
    write(repo, "tool.py", numbered("value", 20, {7: BUG}))
    (repo / "tool.py").chmod(0o755)


def _mode_change_with_content(repo: Path) -> None:
    write(repo, "orig.py", numbered("value", 20, {7: BUG}))
    (repo / "orig.py").chmod(0o755)


def _type_changes(repo: Path) -> None:
    (repo / "link.py").unlink()
    write(repo, "link.py", "def now_a_file():\n    return 1\n")
    (repo / "orig.py").unlink()
    os.symlink("target.py", repo / "orig.py")


def _many_renames(repo: Path) -> None:
    for i in range(3):
        git(repo, "mv", f"m{i}.py", f"n{i}.py")
        write(repo, f"n{i}.py", numbered(f"m{i}", 20, {3: f"m{i}_3 = 30"}))


def _whitespace(repo: Path) -> None:
    text = BODY.replace("value_3 = 3", "value_3 =  3").replace("value_5 = 5", "value_5 = 5   ")
    write(repo, "orig.py", text.replace("value_9 = 9", "\tvalue_9 = 9"))
    write(repo, "crlf.py", numbered("crlf", 5).replace("\n", "\r\n"))


def _big_file(repo: Path) -> None:
    write(repo, "big.py", numbered("big", 200, {150: "big_150 = 1 / 0"}))  # ~2.4 KB
    write(repo, "orig.py", BODY + numbered("more", 100))


SWAPPED = (
    "def first():\n    x = 1\n    return x\n\n\n"
    "def second():\n    y = 2\n    return y\n\n\n"
    "def third():\n    z = 3\n    return z\n"
)


def _alignment(repo: Path) -> None:
    # Swapped functions: patience marks other lines added than myers does.
    write(repo, "swap.py", "\n\n\n".join(reversed(SWAPPED.split("\n\n\n"))) + "\n")
    # A block added next to a copy of itself: where it lands depends on the indent heuristic.
    write(repo, "slide.py", "def g():\n    return 2\n\ndef g():\n    return 2\n\n    return 1\n")


def _merge_a_branch(repo: Path) -> None:
    """A topic branch merged into feature, with an evil merge: a line neither parent has."""
    git(repo, "checkout", "-q", "-b", "topic", "main")
    write(repo, "topic.py", numbered("topic", 5))
    commit(repo, "topic")
    git(repo, "checkout", "-q", "feature")
    write(repo, "feature.py", numbered("feature", 5))
    commit(repo, "feature work")
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "topic")
    write(repo, "topic.py", numbered("topic", 5, {3: "topic_3 = 'only in the merge'"}))


def _merge_main_in(repo: Path) -> None:
    """main moves on and is merged into feature; the merge also edits a feature file."""
    write(repo, "feature.py", numbered("feature", 5))
    commit(repo, "feature work")
    git(repo, "checkout", "-q", "main")
    write(repo, "main.py", numbered("main", 5))
    commit(repo, "main moves on")
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "main")
    write(repo, "feature.py", numbered("feature", 6, {6: "feature_6 = 'in the merge'"}))


CASES = (
    Case("copy-of-a-modified-file", {"orig.py": BODY}, _copy_of_a_modified_file),
    Case("exact-copy", {"orig.py": BODY}, _exact_copy),
    Case(
        "copy-with-diff.renames=copies",
        {"orig.py": BODY},
        _copy_of_a_modified_file,
        config={"diff.renames": "copies"},
    ),
    Case("pure-rename", {"orig.py": BODY}, _pure_rename),
    Case("rename-with-edits", {"orig.py": BODY}, _rename_with_edits),
    Case("rename-past-the-threshold", {"orig.py": BODY}, _rename_past_the_threshold),
    Case("one-source-two-destinations", {"orig.py": BODY}, _one_source_two_destinations),
    Case("rename-mode-change-and-edits", {"orig.py": BODY}, _rename_mode_change_and_edits),
    Case("mode-change-with-content", {"orig.py": BODY}, _mode_change_with_content),
    Case(
        "type-changes",
        {"orig.py": BODY, "target.py": "x = 1\n"},
        _type_changes,
        skipped={"orig.py": "symlink"},
        base_links={"link.py": "target.py"},
    ),
    Case(
        "diff.renameLimit=1",
        {f"m{i}.py": numbered(f"m{i}", 20) for i in range(3)},
        _many_renames,
        config={"diff.renameLimit": "1"},
    ),
    Case(
        "whitespace",
        {"orig.py": BODY, "crlf.py": numbered("crlf", 5)},
        _whitespace,
        config={"core.whitespace": "-trailing-space,cr-at-eol", "diff.wsErrorHighlight": "all"},
    ),
    Case(
        "core.bigFileThreshold=1k",
        {"orig.py": BODY},
        _big_file,
        config={"core.bigFileThreshold": "1k"},
    ),
    Case(
        "global-attributes-py-diff-unset",
        {"orig.py": BODY},
        writes({"new.py": numbered("new", 5, {2: BUG}), "orig.py": BODY + "extra = 1\n"}),
        config={"core.attributesFile": "GLOBAL_ATTRIBUTES"},
    ),
    Case(
        "diff.algorithm=patience",
        {"swap.py": SWAPPED, "slide.py": "def g():\n    return 2\n\n    return 1\n"},
        _alignment,
        config={"diff.algorithm": "patience", "diff.indentHeuristic": "false"},
    ),
    # staged: a merge in progress (no conflicts); committed: a merge commit in the range
    Case("merge-a-branch", {"orig.py": BODY}, _merge_a_branch),
    Case("merge-main-in", {"orig.py": BODY}, _merge_main_in),
)

MODES = ("staged", "base", "pre-push")
ALL_MODES_BY_DEFAULT = frozenset({"copy-of-a-modified-file", "exact-copy"})


def params(fast_modes: int) -> list[Any]:
    """``(case, mode)`` for every case and mode. The default suite runs each case in
    ``fast_modes`` of the modes (taking turns, and the copy cases in all of them); the rest is
    ``slow`` (CI runs it too): one ``git diff`` serves every mode, so more is mostly repetition.
    """
    out = []
    for i, case in enumerate(CASES):
        for j, mode in enumerate(MODES):
            fast = case.id in ALL_MODES_BY_DEFAULT or (j - i) % len(MODES) < fast_modes
            marks = () if fast else (pytest.mark.slow,)
            out.append(pytest.param(case, mode, id=f"{case.id}-{mode}", marks=marks))
    return out


@dataclass(frozen=True)
class Prepared:
    oracle: dict[str, set[int]]
    main: str  # main's commit before the change (what a pre-push hook has on the remote)
    head: str | None  # feature's head, once committed


def prepare(repo: Path, case: Case, mode: str) -> Prepared:
    """Build ``case`` in the fresh repository ``repo`` for ``mode``; the oracle, then config."""
    for path, text in case.base.items():
        write(repo, path, text)
    for path, target in case.base_links.items():
        os.symlink(target, repo / path)
    main = commit(repo, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    case.change(repo)
    git(repo, "add", "-A")
    head = None
    if mode == "staged":
        oracle = added_lines(repo, "--cached", "HEAD")
    else:
        head = commit(repo, "change")
        oracle = added_lines(repo, "main...feature" if mode == "base" else f"{main}..{head}")
    for key, value in case.config.items():
        attributes = repo.parent / "attributes"  # a user's global gitattributes file
        if value == "GLOBAL_ATTRIBUTES":
            write(repo.parent, "attributes", "*.py -diff\n")
        git(repo, "config", key, str(attributes) if value == "GLOBAL_ATTRIBUTES" else value)
    return Prepared(oracle=oracle, main=main, head=head)
