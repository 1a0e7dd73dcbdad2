"""``GitRepo.ensure_history`` on the checkouts CI makes: real ``git clone --depth 1`` (file://)
of a temp origin, so every fetch goes through git's shallow protocol."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from gitrepo import commit, git, make_repo, write

from reviewer.core.errors import GitError
from reviewer.source.git import GitRepo, open_repo


@dataclass(frozen=True)
class Origin:
    path: Path
    fork_point: str  # where the feature branch left main
    base: str  # main's tip
    head: str  # the feature's tip

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def refspecs(self) -> tuple[str, ...]:
        # what ghmode asks for: the base branch by refspec, the PR head by sha
        return ("+refs/heads/main:refs/remotes/origin/main", self.head)


def empty_commits(repo: Path, count: int, label: str) -> str:
    for i in range(count):
        git(repo, "commit", "-q", "--allow-empty", "-m", f"{label} {i}")
    return git(repo, "rev-parse", "HEAD")


def make_origin(tmp_path: Path, *, before: int = 3, feature: int = 2, after: int = 1) -> Origin:
    """main: ``before`` commits, then the feature branch leaves with ``feature`` commits (one
    of them adds feature.py), then main moves on by ``after`` commits."""
    origin = make_repo(tmp_path, "origin")
    write(origin, "base.py", "x = 1\n")
    commit(origin, "initial")
    fork_point = (
        empty_commits(origin, before - 1, "main")
        if before > 1
        else git(origin, "rev-parse", "HEAD")
    )
    git(origin, "checkout", "-q", "-b", "feature")
    write(origin, "feature.py", "def f():\n    return 1\n")
    commit(origin, "add feature.py")
    head = (
        empty_commits(origin, feature - 1, "feature")
        if feature > 1
        else git(origin, "rev-parse", "HEAD")
    )
    git(origin, "checkout", "-q", "main")
    base = empty_commits(origin, after, "main later") if after else fork_point
    return Origin(path=origin, fork_point=fork_point, base=base, head=head)


def shallow_clone(origin: Origin, dest: Path, branch: str = "feature", depth: int = 1) -> Path:
    git(dest.parent, "clone", "-q", f"--depth={depth}", "--branch", branch, origin.url, dest.name)
    return dest


@pytest.fixture
def opened() -> Iterator[list[GitRepo]]:
    repos: list[GitRepo] = []
    yield repos
    for repo in repos:
        repo.close()


def open_(path: Path, opened: list[GitRepo]) -> GitRepo:
    repo = open_repo(path)
    opened.append(repo)
    return repo


def commit_count(repo: Path, ref: str) -> int:
    return int(git(repo, "rev-list", "--count", ref))


def test_depth_one_clone_fetches_the_base_branch_and_finds_the_merge_base(
    tmp_path: Path, opened: list[GitRepo]
) -> None:
    origin = make_origin(tmp_path)
    work = shallow_clone(origin, tmp_path / "work")
    repo = open_(work, opened)
    assert repo.is_shallow() and repo.resolve(origin.base) is None

    repo.ensure_history(origin.base, origin.head, refspecs=origin.refspecs())

    assert repo.merge_base(origin.base, origin.head) == origin.fork_point
    # the base branch came by its refspec, under the remote-tracking name
    assert git(work, "rev-parse", "refs/remotes/origin/main") == origin.base
    changes = repo.range(origin.base, origin.head)
    assert [f.path for f in changes.files] == ["feature.py"]


def test_deepens_step_by_step_without_fetching_all_history(
    tmp_path: Path, opened: list[GitRepo]
) -> None:
    origin = make_origin(tmp_path, before=30, feature=8, after=1)
    work = shallow_clone(origin, tmp_path / "work")
    repo = open_(work, opened)

    # depth 3 from the tips cannot reach the fork point 8 commits down; deepening by 10 can
    repo.ensure_history(origin.base, origin.head, refspecs=origin.refspecs(), depths=(3, 10))

    assert repo.merge_base(origin.base, origin.head) == origin.fork_point
    assert repo.is_shallow()  # deepened, not unshallowed
    assert commit_count(work, "refs/remotes/origin/main") < 30
    assert [f.path for f in repo.range(origin.base, origin.head).files] == ["feature.py"]


def test_unshallows_when_the_steps_are_not_enough(tmp_path: Path, opened: list[GitRepo]) -> None:
    origin = make_origin(tmp_path, before=5, feature=6, after=2)
    work = shallow_clone(origin, tmp_path / "work")
    repo = open_(work, opened)

    repo.ensure_history(origin.base, origin.head, refspecs=origin.refspecs(), depths=(1,))

    assert not repo.is_shallow()
    assert repo.merge_base(origin.base, origin.head) == origin.fork_point
    assert commit_count(work, origin.head) == 5 + 6


def test_head_known_only_by_sha_is_fetched_like_a_pull_request_ref(
    tmp_path: Path, opened: list[GitRepo]
) -> None:
    # actions/checkout of a PR: an empty repository fetching one commit by sha, depth 1;
    # the PR's head lives only under refs/pull/N/head on the server (a fork's branch)
    origin = make_origin(tmp_path)
    git(origin.path, "update-ref", "refs/pull/7/head", origin.head)
    git(origin.path, "branch", "-q", "-D", "feature")
    work = make_repo(tmp_path, "work")
    git(work, "remote", "add", "origin", origin.url)
    git(work, "fetch", "-q", "--no-tags", "--depth=1", "origin", origin.base)
    git(work, "checkout", "-q", "--detach", origin.base)
    repo = open_(work, opened)
    assert repo.resolve(origin.head) is None

    repo.ensure_history(origin.base, origin.head, refspecs=origin.refspecs())

    assert repo.resolve(origin.head) == origin.head
    assert repo.merge_base(origin.base, origin.head) == origin.fork_point


def test_complete_clone_missing_the_new_base_is_not_made_shallow(
    tmp_path: Path, opened: list[GitRepo]
) -> None:
    origin = make_origin(tmp_path, before=4, feature=2, after=0)
    git(tmp_path, "clone", "-q", origin.url, "work")
    work = tmp_path / "work"
    new_base = empty_commits(origin.path, 2, "main moved on")  # after the checkout
    repo = open_(work, opened)
    assert repo.resolve(new_base) is None and not repo.is_shallow()

    repo.ensure_history(new_base, origin.head, refspecs=origin.refspecs(), depths=(3,))

    assert not repo.is_shallow()  # `fetch --depth=3` would have cut main's history to 3 commits
    assert commit_count(work, "refs/remotes/origin/main") == 4 + 2
    assert repo.merge_base(new_base, origin.head) == origin.fork_point


def test_nothing_is_fetched_when_the_history_is_already_there(
    tmp_path: Path, opened: list[GitRepo]
) -> None:
    origin = make_origin(tmp_path)
    git(tmp_path, "clone", "-q", origin.url, "work")
    work = tmp_path / "work"
    git(work, "fetch", "-q", "origin", origin.head)
    git(work, "remote", "set-url", "origin", (tmp_path / "gone").as_uri())  # any fetch would fail
    repo = open_(work, opened)

    repo.ensure_history(origin.base, origin.head, refspecs=origin.refspecs())

    assert repo.merge_base(origin.base, origin.head) == origin.fork_point


def test_a_head_missing_on_the_remote_is_a_git_error(tmp_path: Path, opened: list[GitRepo]) -> None:
    origin = make_origin(tmp_path)
    work = shallow_clone(origin, tmp_path / "work")
    repo = open_(work, opened)
    missing = "0123456789abcdef0123456789abcdef01234567"

    with pytest.raises(GitError, match=r"^git fetch from origin failed: (fatal|error): "):
        repo.ensure_history(
            origin.base,
            missing,
            refspecs=("+refs/heads/main:refs/remotes/origin/main", missing),
        )


def test_no_remote_is_a_git_error(tmp_path: Path, opened: list[GitRepo]) -> None:
    origin = make_origin(tmp_path)
    work = shallow_clone(origin, tmp_path / "work")
    git(work, "remote", "remove", "origin")
    repo = open_(work, opened)

    with pytest.raises(GitError, match=r"^git fetch from origin failed: .*origin"):
        repo.ensure_history(origin.base, origin.head, refspecs=origin.refspecs())


def test_unrelated_histories_are_a_git_error_after_the_whole_history(
    tmp_path: Path, opened: list[GitRepo]
) -> None:
    origin = make_origin(tmp_path)
    git(origin.path, "checkout", "-q", "--orphan", "other")
    write(origin.path, "other.py", "y = 2\n")
    other = commit(origin.path, "unrelated root")
    work = shallow_clone(origin, tmp_path / "work")
    repo = open_(work, opened)

    with pytest.raises(GitError, match=r"no merge base between .* \(unrelated histories\)$"):
        repo.ensure_history(
            other,
            origin.head,
            refspecs=("+refs/heads/other:refs/remotes/origin/other", origin.head),
            depths=(1,),
        )
    assert not repo.is_shallow()  # it did try everything first


def test_a_base_that_no_refspec_brings_is_named(tmp_path: Path, opened: list[GitRepo]) -> None:
    origin = make_origin(tmp_path)
    work = shallow_clone(origin, tmp_path / "work")
    repo = open_(work, opened)
    unknown = "fedcba9876543210fedcba9876543210fedcba98"

    with pytest.raises(GitError, match=rf"^unknown revision: {unknown} \(not found on origin"):
        # the refspecs fetch fine, but none of them brings `unknown`
        repo.ensure_history(unknown, origin.head, refspecs=origin.refspecs(), depths=(1,))
