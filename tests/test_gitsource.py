from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from git_cases import Case, params, prepare
from gitrepo import commit, git, make_repo, scrub_git_env, write

from reviewer.core.errors import GitError, NotAGitRepository, UsageError
from reviewer.core.settings import Settings
from reviewer.core.values import ChangeSet, FileDiff
from reviewer.prepare.filters import select_files
from reviewer.source.git import EMPTY_TREE_SHA1, open_repo


@pytest.fixture(autouse=True)
def _scrubbed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    scrub_git_env(monkeypatch)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = make_repo(tmp_path)
    write(path, "app.py", "def f():\n    return 1\n")
    write(path, "README.md", "# demo\n")
    commit(path, "initial")
    return path


def by_path(changes: ChangeSet) -> dict[str, FileDiff]:
    return {f.path: f for f in changes.files}


def lines(diff: FileDiff) -> list[tuple[str, str, int | None, int | None]]:
    return [(ln.kind, ln.text, ln.old_no, ln.new_no) for h in diff.hunks for ln in h.lines]


# --------------------------------------------------------------------------- opening


def test_not_a_git_repository(tmp_path: Path) -> None:
    with pytest.raises(NotAGitRepository, match=r"^not a git repository: .*nothing-here$"):
        open_repo(tmp_path / "nothing-here")
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotAGitRepository, match="not a git repository"):
        open_repo(tmp_path / "plain")


def test_bare_repository_is_refused(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    with pytest.raises(NotAGitRepository, match="bare"):
        open_repo(tmp_path / "bare.git")


def test_from_a_subdirectory_paths_are_relative_to_it(repo: Path) -> None:
    write(repo, "pkg/sub/mod.py", "x = 1\n")
    write(repo, "pkg/other.py", "y = 2\n")
    write(repo, "top.py", "z = 3\n")
    git(repo, "add", "-A")
    with open_repo(repo / "pkg") as source:
        assert source.root == repo.resolve()
        everything = source.staged()
        assert sorted(by_path(everything)) == ["pkg/other.py", "pkg/sub/mod.py", "top.py"]
        assert [f.path for f in source.staged(["sub"]).files] == ["pkg/sub/mod.py"]
        assert [f.path for f in source.staged(["other.py"]).files] == ["pkg/other.py"]
        assert len(source.staged([".."]).files) == 3
        assert [f.path for f in source.staged(["../top.py"]).files] == ["top.py"]
        assert [f.path for f in source.staged([str(repo / "top.py")]).files] == ["top.py"]
        with pytest.raises(UsageError, match="outside the repository"):
            source.staged(["../../elsewhere.py"])


def test_a_git_worktree(repo: Path, tmp_path: Path) -> None:
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "topic", str(worktree))
    write(worktree, "app.py", "def f():\n    return 2\n")
    git(worktree, "add", "app.py")
    write(repo, "README.md", "# changed in the main checkout only\n")
    git(repo, "add", "README.md")
    source = open_repo(worktree)
    assert source.root == worktree.resolve()
    changes = source.staged()
    assert [f.path for f in changes.files] == ["app.py"]
    assert changes.head_sha == git(worktree, "rev-parse", "HEAD")
    assert changes.root == str(worktree.resolve())


# --------------------------------------------------------------------------- staged


def test_staged_in_an_empty_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write(repo, "first.py", "print('hi')\n")
    write(repo, "docs/guide.md", "one\ntwo\n")
    git(repo, "add", "-A")
    changes = open_repo(repo).staged()
    assert (changes.description, changes.head_sha, changes.base_sha) == (
        "staged changes",
        None,
        None,
    )
    files = by_path(changes)
    assert sorted(files) == ["docs/guide.md", "first.py"]
    assert all(f.status == "added" for f in files.values())
    assert files["docs/guide.md"].size == 8
    assert lines(files["docs/guide.md"]) == [("add", "one", None, 1), ("add", "two", None, 2)]


def test_staged_is_what_commit_records_not_the_work_tree(repo: Path) -> None:
    write(repo, "app.py", "def f():\n    return 2\n")
    git(repo, "add", "app.py")
    write(repo, "app.py", "def f():\n    return 3  # not staged\n")
    write(repo, "untracked.py", "nope\n")
    changes = open_repo(repo).staged()
    assert changes.head_sha == git(repo, "rev-parse", "HEAD")
    assert changes.root == str(repo.resolve())
    (app,) = changes.files
    assert (app.path, app.status, app.size) == (
        "app.py",
        "modified",
        len("def f():\n    return 2\n"),
    )
    assert lines(app) == [
        ("ctx", "def f():", 1, 1),
        ("del", "    return 1", 2, None),
        ("add", "    return 2", None, 2),
    ]


def test_context_lines_are_honoured(repo: Path) -> None:
    write(repo, "long.txt", "".join(f"{i}\n" for i in range(1, 21)))
    commit(repo)
    write(repo, "long.txt", "".join(f"{i if i != 10 else 'ten'}\n" for i in range(1, 21)))
    git(repo, "add", "-A")
    source = open_repo(repo)
    assert [ln.kind for ln in source.staged(context_lines=0).files[0].hunks[0].lines] == [
        "del",
        "add",
    ]
    wide = source.staged(context_lines=5).files[0].hunks[0]
    assert (wide.new_start, wide.new_len) == (5, 11)
    with pytest.raises(UsageError):
        source.staged(context_lines=-1)


def test_staged_on_a_detached_head(repo: Path) -> None:
    sha = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach")
    write(repo, "new.py", "x = 1\n")
    git(repo, "add", "new.py")
    changes = open_repo(repo).staged()
    assert changes.head_sha == sha
    assert [f.path for f in changes.files] == ["new.py"]


def test_staged_during_a_conflicted_merge(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "topic")
    write(repo, "app.py", "def f():\n    return 'topic'\n")
    write(repo, "clean.py", "merged = True\n")
    commit(repo, "topic")
    git(repo, "checkout", "-q", "main")
    write(repo, "app.py", "def f():\n    return 'main'\n")
    commit(repo, "main")
    git(repo, "merge", "topic", check=False)
    assert (repo / ".git" / "MERGE_HEAD").exists()
    changes = open_repo(repo).staged()
    assert [f.path for f in changes.files] == ["clean.py"]
    assert [(n.path, n.reason) for n in changes.not_reviewed] == [("app.py", "unreadable")]
    assert "unmerged" in changes.not_reviewed[0].detail


def test_staged_during_a_clean_merge(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "topic")
    write(repo, "feature.py", "feature = 1\n")
    commit(repo, "topic")
    git(repo, "checkout", "-q", "main")
    write(repo, "README.md", "# demo\nmore\n")
    commit(repo, "main")
    git(repo, "merge", "--no-commit", "--no-ff", "topic")
    changes = open_repo(repo).staged()
    assert [f.path for f in changes.files] == ["feature.py"]
    assert changes.head_sha == git(repo, "rev-parse", "HEAD")


def test_staged_reads_the_index_git_points_at(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Inside a pre-commit hook git sets GIT_INDEX_FILE (e.g. for `git commit -a`).
    other_index = repo / ".git" / "other-index"
    env = {"GIT_INDEX_FILE": str(other_index)}
    git(repo, "read-tree", "HEAD", env=env)
    write(repo, "hook.py", "only in the other index\n")
    git(repo, "add", "hook.py", env=env)
    assert open_repo(repo).staged().files == ()
    monkeypatch.setenv("GIT_INDEX_FILE", str(other_index))
    assert [f.path for f in open_repo(repo).staged().files] == ["hook.py"]


# --------------------------------------------------------------------------- kinds of change


def test_rename_with_edits_copy_and_deletion(repo: Path) -> None:
    body = "".join(f"line {i}\n" for i in range(1, 21))
    write(repo, "orig.txt", body)
    write(repo, "doomed.txt", "bye\n")
    commit(repo)
    git(repo, "mv", "orig.txt", "moved.txt")
    write(repo, "moved.txt", body.replace("line 20", "line twenty"))
    write(repo, "app_copy.py", "def f():\n    return 1\n# copied\n")
    write(repo, "app.py", "def f():\n    return 1\n# edited\n")
    git(repo, "rm", "-q", "doomed.txt")
    git(repo, "add", "-A")
    files = by_path(open_repo(repo).staged())
    moved = files["moved.txt"]
    assert (moved.status, moved.old_path) == ("renamed", "orig.txt")
    assert [ln for ln in lines(moved) if ln[0] != "ctx"] == [
        ("del", "line 20", 20, None),
        ("add", "line twenty", None, 20),
    ]
    copied = files["app_copy.py"]  # no copy detection: a new file, every line of it new
    assert (copied.status, copied.old_path) == ("added", None)
    assert [ln[0] for ln in lines(copied)] == ["add", "add", "add"]
    assert files["doomed.txt"].status == "deleted"
    assert files["doomed.txt"].size == 0
    assert lines(files["doomed.txt"]) == [("del", "bye", 1, None)]


def test_pure_rename_gets_its_size_by_path(repo: Path) -> None:
    git(repo, "mv", "app.py", "renamed.py")
    (renamed,) = open_repo(repo).staged().files
    assert (renamed.path, renamed.old_path, renamed.hunks) == ("renamed.py", "app.py", ())
    assert renamed.size == len("def f():\n    return 1\n")


def test_binary_symlink_and_mode_change(repo: Path) -> None:
    write(repo, "blob.bin", b"\x00\x01\x02" * 100)
    os.symlink("app.py", repo / "link.py")
    (repo / "README.md").chmod(0o755)
    git(repo, "add", "-A")
    files = by_path(open_repo(repo).staged())
    assert (files["blob.bin"].binary, files["blob.bin"].size) == (True, 300)
    link = files["link.py"]
    assert (link.new_mode, link.size, lines(link)) == ("120000", 6, [("add", "app.py", None, 1)])
    mode = files["README.md"]
    assert (mode.mode_only, mode.old_mode, mode.new_mode) == (True, "100644", "100755")
    kept, skipped = select_files(tuple(files.values()), Settings())
    assert {(n.path, n.reason) for n in skipped} == {
        ("blob.bin", "binary"),
        ("README.md", "mode-only"),
        ("link.py", "symlink"),
    }
    assert kept == ()


def test_submodule_pointer(repo: Path, tmp_path: Path) -> None:
    library = make_repo(tmp_path, "library")
    write(library, "lib.py", "v = 1\n")
    first = commit(library, "v1")
    git(
        repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(library), "deps/lib"
    )
    files = by_path(open_repo(repo).staged())
    assert files["deps/lib"].submodule
    assert files["deps/lib"].status == "added"
    assert files["deps/lib"].new_mode == "160000"
    assert files[".gitmodules"].status == "added"
    commit(repo, "add submodule")
    write(library, "lib.py", "v = 2\n")
    second = commit(library, "v2")
    git(repo / "deps" / "lib", "-c", "protocol.file.allow=always", "pull", "-q", "origin", "main")
    git(repo, "add", "deps/lib")
    (pointer,) = open_repo(repo).staged().files
    assert (pointer.path, pointer.submodule, pointer.size) == ("deps/lib", True, 0)
    assert [ln.text for h in pointer.hunks for ln in h.lines] == [
        f"Subproject commit {first}",
        f"Subproject commit {second}",
    ]
    _, skipped = select_files([pointer], Settings())
    assert skipped[0].reason == "submodule"


def test_non_utf8_crlf_and_missing_final_newline(repo: Path) -> None:
    write(repo, "latin1.txt", "caf\xe9\nna\xefve\n".encode("latin-1"))
    write(repo, "windows.txt", b"one\r\ntwo\r\nthree\r\n")
    write(repo, "open.txt", "no newline at the end")
    git(repo, "add", "-A")
    files = by_path(open_repo(repo).staged())
    assert lines(files["latin1.txt"]) == [
        ("add", "caf\ufffd", None, 1),
        ("add", "na\ufffdve", None, 2),
    ]
    assert files["latin1.txt"].size == 11
    assert lines(files["windows.txt"]) == [
        ("add", "one", None, 1),
        ("add", "two", None, 2),
        ("add", "three", None, 3),
    ]
    assert files["windows.txt"].size == 17
    assert lines(files["open.txt"]) == [("add", "no newline at the end", None, 1)]


def test_paths_with_spaces_and_non_ascii(repo: Path) -> None:
    names = [
        "dir with space/café.py",
        "日本語/ファイル.txt",
        'quote"and\\back.txt',
        "tab\there.txt",
    ]
    for name in names:
        write(repo, name, f"{name}\n")
    git(repo, "add", "-A")
    files = by_path(open_repo(repo).staged())
    assert sorted(files) == sorted(names)
    for name in names:
        assert files[name].size == len(f"{name}\n".encode())
        assert lines(files[name]) == [("add", name, None, 1)]
    git(repo, "commit", "-q", "-m", "names")
    git(repo, "mv", "dir with space/café.py", "dir with space/crème.py")
    (moved,) = open_repo(repo).staged().files
    assert (moved.path, moved.old_path) == ("dir with space/crème.py", "dir with space/café.py")


def test_pathspec_restricts_to_a_non_ascii_directory(repo: Path) -> None:
    write(repo, "données/a.py", "a\n")
    write(repo, "other/b.py", "b\n")
    git(repo, "add", "-A")
    assert [f.path for f in open_repo(repo).staged(["données"]).files] == ["données/a.py"]


def test_ten_megabyte_minified_file(repo: Path) -> None:
    minified = "var a=1;" * (10_000_000 // 8)
    write(repo, "bundle.js", minified)
    git(repo, "add", "bundle.js")
    started = time.perf_counter()
    (bundle,) = open_repo(repo).staged().files
    elapsed = time.perf_counter() - started
    assert bundle.size == 10_000_000
    assert len(bundle.hunks[0].lines) == 1
    assert elapsed < 5, f"10 MB staged diff took {elapsed:.2f}s"
    _, skipped = select_files([bundle], Settings())
    assert (skipped[0].reason, skipped[0].detail) == ("too-large", "10.0 MB > 1.0 MB")
    _, skipped = select_files([bundle], Settings(max_file_bytes=50_000_000))
    assert (skipped[0].reason, skipped[0].detail) == ("minified", "a line of 10,000,000 characters")


# --------------------------------------------------------------------------- ranges


@pytest.fixture
def branched(repo: Path) -> Path:
    """main: initial -> main-only; topic (from initial): topic change."""
    git(repo, "checkout", "-q", "-b", "topic")
    write(repo, "app.py", "def f():\n    return 'topic'\n")
    commit(repo, "topic")
    git(repo, "checkout", "-q", "main")
    write(repo, "README.md", "# demo\nmain only\n")
    commit(repo, "main moves on")
    git(repo, "checkout", "-q", "topic")
    return repo


def test_range_is_the_three_dot_merge_base_diff(branched: Path) -> None:
    source = open_repo(branched)
    changes = source.range("main")
    assert changes.description == "main...HEAD"
    assert [f.path for f in changes.files] == ["app.py"]  # main's README change is not ours
    assert changes.base_sha == git(branched, "merge-base", "main", "HEAD")
    assert changes.head_sha == git(branched, "rev-parse", "HEAD")
    assert changes.files[0].size == len("def f():\n    return 'topic'\n")
    assert [f.path for f in source.range("topic", "main").files] == ["README.md"]


def test_range_restricted_to_paths(branched: Path) -> None:
    assert open_repo(branched).range("main", paths=["README.md"]).files == ()


def test_unknown_revision(branched: Path) -> None:
    source = open_repo(branched)
    with pytest.raises(GitError, match=r"^unknown revision: no-such-branch$"):
        source.range("no-such-branch")
    with pytest.raises(GitError, match=r"^unknown revision: nope$"):
        source.range("main", "nope")
    with pytest.raises(GitError, match="unknown revision: --output=x"):
        source.changed_since("--output=x")


def test_unrelated_histories(branched: Path) -> None:
    git(branched, "checkout", "-q", "--orphan", "island")
    commit(branched, "island")
    with pytest.raises(GitError, match=r"no merge base between main and HEAD \(unrelated"):
        open_repo(branched).range("main")


def test_shallow_clone_without_the_merge_base(branched: Path, tmp_path: Path) -> None:
    write(branched, "more.py", "x\n")
    commit(branched, "one more on topic")
    clone = tmp_path / "shallow"
    git(
        tmp_path,
        "clone",
        "-q",
        "--depth",
        "1",
        "--no-single-branch",
        "-b",
        "topic",
        f"file://{branched}",
        str(clone),
    )
    with pytest.raises(GitError) as info:
        open_repo(clone).range("origin/main")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("no merge base between origin/main and HEAD")
    assert "shallow clone" in message and "--deepen" in message and "--unshallow" in message
    # after fetching the history, the same question has an answer
    git(clone, "fetch", "-q", "--unshallow")
    assert [f.path for f in open_repo(clone).range("origin/main").files] == ["app.py", "more.py"]


def test_changed_since_is_two_dot_and_ancestry(branched: Path) -> None:
    source = open_repo(branched)
    reviewed = git(branched, "rev-parse", "HEAD")
    write(branched, "later.py", "later\n")
    commit(branched, "later")
    changes = source.changed_since(reviewed)
    assert changes.description == f"{reviewed[:12]}..HEAD"
    assert [f.path for f in changes.files] == ["later.py"]
    assert (changes.base_sha, changes.head_sha) == (reviewed, git(branched, "rev-parse", "HEAD"))
    assert source.is_ancestor(reviewed, "HEAD")
    assert not source.is_ancestor("main", "HEAD")
    assert source.is_ancestor("HEAD", "HEAD")
    with pytest.raises(GitError, match="unknown revision: ghost"):
        source.is_ancestor("ghost", "HEAD")
    # two dots: main's own commit shows up, reversed
    assert sorted(f.path for f in source.changed_since("main").files) == [
        "README.md",
        "app.py",
        "later.py",
    ]


def test_resolve(branched: Path) -> None:
    source = open_repo(branched)
    assert source.resolve("main") == git(branched, "rev-parse", "main")
    assert source.resolve("HEAD~1") == git(branched, "rev-parse", "HEAD~1")
    assert source.resolve("nope") is None
    assert source.resolve("") is None
    assert source.resolve("-h") is None
    assert source.resolve(EMPTY_TREE_SHA1) is None  # a tree, not a commit
    assert open_repo(make_repo(branched.parent, "empty")).resolve("HEAD") is None


# --------------------------------------------------------------------------- failures


def test_git_failure_is_one_line(repo: Path) -> None:
    (repo / ".git" / "index").write_bytes(b"DIRC garbage")
    source = open_repo(repo)
    with pytest.raises(GitError) as info:
        source.staged()
    message = str(info.value)
    assert message.startswith("git diff failed: ")
    assert "\n" not in message and "Traceback" not in message


def test_only_gitsource_imports_gitpython() -> None:
    package = Path(__file__).resolve().parents[1] / "reviewer"
    importers = sorted(
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if any(
            line.strip().startswith(("import git", "from git ", "from git."))
            and not line.strip().startswith("import github")
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    )
    assert importers == ["source/git.py"]


def test_user_diff_config_does_not_change_what_we_parse(repo: Path) -> None:
    for key, value in [
        ("diff.noprefix", "true"),
        ("diff.mnemonicPrefix", "true"),
        ("color.ui", "always"),
        ("color.diff", "always"),
        ("diff.renames", "false"),
        ("diff.external", "false"),
        ("diff.suppressBlankEmpty", "true"),
        ("diff.relative", "true"),
        ("diff.context", "10"),
        ("diff.ignoreSubmodules", "all"),
        ("core.quotePath", "false"),
        ("diff.upper.textconv", "tr a-z A-Z"),
    ]:
        git(repo, "config", key, value)
    write(repo, ".gitattributes", "*.txt diff=upper\n")
    write(repo, "notes.txt", "lower case\n\nafter a blank line\n")
    commit(repo, "attributes")
    write(repo, "notes.txt", "lower case\n\nafter a blank line, edited\n")
    git(repo, "mv", "app.py", "café.py")
    git(repo, "add", "-A")
    with open_repo(repo / ".git" / "..") as source:
        files = by_path(source.staged(context_lines=3))
    assert files["café.py"].old_path == "app.py"
    assert lines(files["notes.txt"]) == [
        ("ctx", "lower case", 1, 1),
        ("ctx", "", 2, 2),
        ("del", "after a blank line", 3, None),
        ("add", "after a blank line, edited", None, 3),
    ]


# --------------------------------------------------------------------------- every new line


@pytest.mark.parametrize(("case", "mode"), params(fast_modes=2))
def test_every_line_git_adds_is_reviewable(tmp_path: Path, case: Case, mode: str) -> None:
    repo = make_repo(tmp_path)
    prepared = prepare(repo, case, mode)
    with open_repo(repo) as source:
        if mode == "staged":
            changes = source.staged()
        elif mode == "base":
            changes = source.range("main", "feature")
        else:
            assert prepared.head is not None
            changes = source.changed_since(prepared.main, prepared.head)
    reviewable = {
        f.path: {ln.new_no for h in f.hunks for ln in h.lines if ln.kind == "add"}
        for f in changes.files
    }
    assert {path: found for path, found in reviewable.items() if found} == prepared.oracle
    assert not [f.path for f in changes.files if f.status == "copied"]
    assert len({f.path for f in changes.files}) == len(changes.files)  # one entry per path


@pytest.mark.parametrize(("case", "mode"), params(fast_modes=2))
def test_a_lazy_change_lists_and_loads_exactly_what_the_whole_diff_holds(
    tmp_path: Path, case: Case, mode: str
) -> None:
    """Big changes are read a few files at a time (``lazy=True``): the listing names every
    file the whole diff has (same status, same counts) and loading them gives the same diffs,
    renames paired as in the whole diff, whatever subset is asked for."""
    repo = make_repo(tmp_path)
    prepared = prepare(repo, case, mode)
    with open_repo(repo) as source:
        if mode == "staged":
            whole, lazy = source.staged(), source.staged(lazy=True)
        elif mode == "base":
            whole, lazy = (
                source.range("main", "feature"),
                source.range("main", "feature", lazy=True),
            )
        else:
            assert prepared.head is not None
            whole = source.changed_since(prepared.main, prepared.head)
            lazy = source.changed_since(prepared.main, prepared.head, lazy=True)
        listed = {e.path: e for e in lazy.entries()}
        assert sorted(listed) == sorted(whole.paths) == sorted(lazy.paths)
        for f in whole.files:
            entry = listed[f.path]
            assert (entry.status, entry.old_path) == (f.status, f.old_path)
            assert (entry.added, entry.removed) == (f.added_lines, f.removed_lines) or f.binary
        assert lazy.load(whole.paths) == whole.files
        for f in whole.files:  # one at a time, as the smallest wave would
            assert lazy.load([f.path]) == (f,)
        assert lazy.not_reviewed == whole.not_reviewed


def test_git_finds_the_files_with_security_sensitive_changed_lines(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write(repo, "README.md", "readme\n")
    commit(repo, "base")
    write(repo, "plain.py", "total = price * quantity\n")
    write(repo, "shell.py", "import subprocess\nsubprocess.run(cmd, shell=True)\n")
    write(repo, "query.py", 'sql = "SELECT name FROM users WHERE id=" + uid\n')
    git(repo, "add", "-A")
    with open_repo(repo) as source:
        changes = source.staged(lazy=True)
        found = None
        for _ in range(200):  # the search runs beside the review; poll as the pipeline does
            found = changes.sensitive()
            if found is not None:
                break
            time.sleep(0.02)
        changes.close()
    assert found == {"shell.py", "query.py"}
