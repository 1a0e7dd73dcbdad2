"""Git edge cases through ``review -o json`` in real temporary repositories.

Each case ends in a correct review (the paths and changed lines the fake model received are
right) or in a clear one-line reason (a not-reviewed entry, or one error line), never a
traceback. ``tests/test_gitsource.py`` covers ``GitRepo`` itself; this goes through the CLI.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from conftest import Run, chunk_files, endpoint_env, run_cli, sent_lines
from fake_openai import FakeOpenAI
from git_cases import Case, params, prepare
from gitrepo import commit, git, make_repo, write

PY = "def f(x):\n    return x + 1\n"


class Reviewed:
    def __init__(self, run: Run, server: FakeOpenAI) -> None:
        assert "Traceback" not in run.err and "internal error" not in run.err, run.err
        self.run = run
        self.result: dict[str, Any] = run.json() if run.out.startswith("{") else {}
        self.sent: dict[str, list[int]] = {}
        self.users = [r.messages[1]["content"] for r in server.review_requests]
        for request in server.review_requests:
            self.sent.update(chunk_files(request))

    @property
    def not_reviewed(self) -> dict[str, tuple[str, str]]:
        return {n["path"]: (n["reason"], n["detail"]) for n in self.result["not_reviewed"]}


def review(llm: FakeOpenAI, *args: str) -> Reviewed:
    run = run_cli("-o", "json", "--fail-on", "never", "--no-cache", *args, env=endpoint_env(llm))
    return Reviewed(run, llm)


@pytest.fixture
def based(repo: Path) -> Path:
    """A repository with one commit."""
    write(repo, "base.py", PY)
    commit(repo, "base")
    return repo


def test_empty_repository_with_staged_files(repo: Path, llm: FakeOpenAI) -> None:
    write(repo, "src/app.py", "import os\n\nprint(os.getcwd())\n")
    git(repo, "add", "-A")
    r = review(llm)
    assert r.run.code == 0, r.run.err
    assert r.sent == {"src/app.py": [1, 2, 3]}
    assert r.result["head_sha"] is None


def test_detached_head(based: Path, llm: FakeOpenAI) -> None:
    git(based, "checkout", "-q", "--detach")
    write(based, "base.py", PY + "y = f(1)\n")
    git(based, "add", "-A")
    r = review(llm)
    assert r.run.code == 0, r.run.err
    assert r.sent == {"base.py": [3]}
    assert r.result["head_sha"] == git(based, "rev-parse", "HEAD")


def test_shallow_clone(tmp_path: Path, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    origin = make_repo(tmp_path, "origin")
    write(origin, "a.py", PY)
    commit(origin, "c1")
    git(origin, "checkout", "-q", "-b", "feature")
    write(origin, "feature.py", PY)
    commit(origin, "c3")
    git(origin, "checkout", "-q", "main")
    write(origin, "a.py", PY + "z = 2\n")
    commit(origin, "c2")
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", origin.as_uri(), "clone")
    clone = tmp_path / "clone"
    monkeypatch.chdir(clone)
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"

    write(clone, "a.py", PY + "z = 3\n")
    git(clone, "add", "-A")
    r = review(llm)
    assert r.run.code == 0, r.run.err
    assert r.sent == {"a.py": [3]}

    # A range whose merge base was not fetched: one line saying what to do.
    git(clone, "checkout", "-q", "-f", "feature")
    sent_before = len(llm.requests)
    run = run_cli("-o", "json", "--base", "origin/main", env=endpoint_env(llm))
    assert run.code == 3 and run.out == ""
    (line,) = run.err.splitlines()
    assert "shallow clone" in line and "git fetch" in line
    assert len(llm.requests) == sent_before


def test_merge_in_progress(based: Path, llm: FakeOpenAI) -> None:
    git(based, "checkout", "-q", "-b", "other")
    write(based, "base.py", "def f(x):\n    return x + 2\n")
    write(based, "added.py", "A = 1\n")
    commit(based, "other")
    git(based, "checkout", "-q", "main")
    write(based, "base.py", "def f(x):\n    return x + 3\n")
    commit(based, "main")
    git(based, "merge", "-q", "other", check=False)
    r = review(llm)
    assert r.run.code == 0, r.run.err
    assert r.sent == {"added.py": [1]}
    assert r.not_reviewed["base.py"][0] == "unreadable"
    assert "unmerged" in r.not_reviewed["base.py"][1]


def test_rename_with_edits(based: Path, llm: FakeOpenAI) -> None:
    body = "".join(f"line_{i} = {i}\n" for i in range(1, 21))
    write(based, "old_name.py", body)
    commit(based)
    git(based, "mv", "old_name.py", "new_name.py")
    write(based, "new_name.py", body.replace("line_7 = 7", "line_7 = 70"))
    git(based, "add", "-A")
    r = review(llm)
    assert r.run.code == 0, r.run.err
    assert r.sent == {"new_name.py": [7]}
    assert "=== FILE: new_name.py (renamed, renamed from old_name.py) ===" in r.users[0]
    assert r.result["findings"][0]["path"] == "new_name.py"


def test_copy_with_edits(based: Path, llm: FakeOpenAI) -> None:
    body = "".join(f"value_{i} = {i}\n" for i in range(1, 21))
    write(based, "orig.py", body)
    commit(based)
    write(based, "orig.py", body + "extra = 1\n")  # git detects copies of modified files
    write(based, "copy.py", body.replace("value_3 = 3", "value_3 = 30"))
    git(based, "add", "-A")
    r = review(llm)
    assert r.run.code == 0, r.run.err
    # git -C would call it a copy of orig.py and show line 3 only; all 20 lines are new here
    assert r.sent == {"orig.py": [21], "copy.py": list(range(1, 21))}
    assert "=== FILE: copy.py (added) ===" in "".join(r.users)


def test_deletion_binary_submodule_and_mode_change(based: Path, llm: FakeOpenAI) -> None:
    write(based, "gone.py", PY)
    write(based, "tool.sh", "#!/bin/sh\necho hi\n")
    commit(based)
    git(based, "rm", "-q", "gone.py")
    write(based, "logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    git(based, "update-index", "--chmod=+x", "tool.sh")
    sha = git(based, "rev-parse", "HEAD")
    git(based, "update-index", "--add", "--cacheinfo", f"160000,{sha},vendor/lib")
    git(based, "add", "logo.png")
    r = review(llm)
    assert r.run.code == 0, r.run.err
    assert r.sent == {}
    assert not llm.requests
    reasons = {path: reason for path, (reason, _) in r.not_reviewed.items()}
    assert reasons == {
        "gone.py": "deleted",
        "logo.png": "binary",
        "tool.sh": "mode-only",
        "vendor/lib": "submodule",
    }


def test_symlink(based: Path, llm: FakeOpenAI) -> None:
    os.symlink("base.py", based / "link.py")
    git(based, "add", "-A")
    r = review(llm)
    assert r.run.code == 0, r.run.err
    # Git stores a link as its target's name: nothing to review, and it says so.
    assert r.sent == {}
    assert [(n["path"], n["reason"], n["detail"]) for n in r.run.json()["not_reviewed"]] == [
        ("link.py", "symlink", "-> base.py")
    ]


@pytest.mark.parametrize(
    ("content", "expected_lines", "shown"),
    [
        (b"name = 'caf\xe9'\nok = 1\n", [1, 2], "name = 'caf\ufffd'"),  # latin-1, not UTF-8
        (b"a = 1\r\nb = 2\r\n", [1, 2], "   1 + | a = 1\n   2 + | b = 2\n"),  # CRLF
        (b"a = 1\nb = 2", [1, 2], "   2 + | b = 2\n<<<END"),  # no newline at EOF
    ],
    ids=["non-utf8", "crlf", "no-newline-at-eof"],
)
def test_awkward_text(
    based: Path, llm: FakeOpenAI, content: bytes, expected_lines: list[int], shown: str
) -> None:
    write(based, "odd.py", content)
    git(based, "add", "-A")
    r = review(llm)
    assert r.run.code == 0, r.run.err
    assert r.sent == {"odd.py": expected_lines}
    (user,) = r.users
    assert shown in user
    assert "\r" not in user and "No newline at end of file" not in user


def test_a_ten_megabyte_minified_file_is_skipped(based: Path, llm: FakeOpenAI) -> None:
    line = "var a=function(b){return b+1};" * 350_000  # 10.5 MB on one line
    write(based, "assets/bundle.js", line + "\n")
    write(based, "small.py", "x = 1\n")
    git(based, "add", "-A")
    r = review(llm)
    assert r.run.code == 0, r.run.err
    assert r.sent == {"small.py": [1]}
    reason, detail = r.not_reviewed["assets/bundle.js"]
    assert reason in {"too-large", "minified"} and detail
    assert sum(len(u) for u in r.users) < 10_000


def test_paths_with_spaces_and_non_ascii(based: Path, llm: FakeOpenAI) -> None:
    path = "my dir/naïve файл 文件.py"
    write(based, path, "x = 1\ny = 2\n")
    git(based, "add", "-A")
    r = review(llm)
    assert r.run.code == 0, r.run.err
    assert r.sent == {path: [1, 2]}
    assert r.result["findings"][0]["path"] == path
    # Named on the command line too, from inside the directory.
    r2 = review(llm, "--staged", path)
    assert r2.result["reviewed_paths"] == [path]


def test_a_git_worktree(based: Path, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    worktree = based.parent / "wt"
    git(based, "worktree", "add", "-q", str(worktree), "-b", "feature")
    monkeypatch.chdir(worktree)
    write(worktree, "base.py", PY + "w = 1\n")
    git(worktree, "add", "-A")
    r = review(llm)
    assert r.run.code == 0, r.run.err
    assert r.sent == {"base.py": [3]}
    assert r.result["head_sha"] == git(worktree, "rev-parse", "HEAD")


def test_running_from_a_subdirectory(
    based: Path, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(based, "src/pkg/mod.py", "a = 1\n")
    write(based, "top.py", "b = 2\n")
    git(based, "add", "-A")
    monkeypatch.chdir(based / "src")
    r = review(llm)
    assert r.run.code == 0, r.run.err
    assert r.sent == {"src/pkg/mod.py": [1], "top.py": [1]}  # paths from the repository root
    only = review(llm, "--staged", "pkg/mod.py")  # a path relative to where we stand
    assert only.result["reviewed_paths"] == ["src/pkg/mod.py"]


def test_outside_a_repository(
    tmp_path: Path, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    write(plain, "script.py", "print('hi')\nx = 1\n")
    monkeypatch.chdir(plain)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    r = review(llm, "script.py")
    assert r.run.code == 0, r.run.err
    assert r.sent == {"script.py": [1, 2]}

    run = run_cli("--staged", env=endpoint_env(llm))
    assert run.code == 3 and run.out == ""
    (line,) = run.err.splitlines()
    assert line.startswith("review: error: not a git repository")
    assert "review path/to/file.py" in line


# --------------------------------------------------------------------------- every new line


@pytest.mark.parametrize(("case", "mode"), params(fast_modes=1))
def test_every_line_git_adds_reaches_the_model(
    repo: Path, llm: FakeOpenAI, case: Case, mode: str
) -> None:
    """``--staged``, ``--base`` and the pre-push hook send the model exactly the lines
    ``git diff --no-renames`` marks added (a renamed file: its edits), whatever the user's
    git config says (``git_cases``, ``git_oracle``)."""
    prepared = prepare(repo, case, mode)
    if mode == "staged":
        r = review(llm, "--staged")
    elif mode == "base":
        r = review(llm, "--base", "main")
    else:
        assert prepared.head is not None
        pushed = {"PRE_COMMIT_FROM_REF": prepared.main, "PRE_COMMIT_TO_REF": prepared.head}
        run = run_cli(
            "--hook", "pre-push", "-o", "json", "--fail-on", "never", "--no-cache",
            env={**endpoint_env(llm), **pushed},
        )  # fmt: skip
        r = Reviewed(run, llm)
    assert r.run.code == 0, r.run.err
    skipped = {path: why for path, (why, _) in r.not_reviewed.items() if path in prepared.oracle}
    assert skipped == dict(case.skipped)
    assert sent_lines(llm.requests) == {
        p: s for p, s in prepared.oracle.items() if p not in skipped
    }
