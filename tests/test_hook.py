"""The pre-commit and pre-push hooks.

Two layers:

* ``review --hook ...`` through the real entry point (fast, in the default suite): what each
  hook reviews, when it blocks, and that it fails open unless told otherwise.
* The real ``pre-commit`` package (``@pytest.mark.slow``: the first install of the hook's
  environment pip-installs this project and its dependencies, ~40 s): a snapshot of this work
  tree is committed to a temporary repository so that ``rev`` resolves, installed with
  ``pre-commit install``, and driven by ``git commit`` and ``git push`` against the fake model.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import (
    TEST_KEY,
    Run,
    chunk_files,
    endpoint_env,
    finding_on_changes,
    run_cli,
    sent_lines,
)
from fake_openai import FakeOpenAI
from git_oracle import added_lines
from gitrepo import commit, git, git_env, make_repo, write

ROOT = Path(__file__).resolve().parent.parent
# What pip needs to build and install the project (tests and tooling stay out of the snapshot,
# so editing them does not change its commit and pre-commit reuses the installed environment).
SNAPSHOT_PATHS = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "reviewer")
Z40 = "0" * 40


def closed_port_url() -> str:
    """A base URL nothing listens on: the model "cannot be reached"."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def sent_paths(server: FakeOpenAI) -> set[str]:
    return {path for req in server.requests for path in chunk_files(req)}


def lines(prefix: str, n: int = 6) -> str:
    return "".join(f"{prefix}_{i} = {i}\n" for i in range(n))


@pytest.fixture
def staged(repo: Path) -> Path:
    write(repo, "a.py", lines("a"))
    commit(repo, "base")
    write(repo, "b.py", lines("b"))
    git(repo, "add", "b.py")
    write(repo, "unstaged.py", lines("u"))  # in the work tree only: not reviewed
    return repo


def hook(server: FakeOpenAI | None, *args: str, env: dict[str, str] | None = None) -> Run:
    full = {**(endpoint_env(server) if server else {}), **(env or {})}
    return run_cli("--hook", *args, env=full)


# --------------------------------------------------------------------------- review --hook


def test_pre_commit_reviews_the_staged_changes_and_blocks_on_high(
    staged: Path, llm: FakeOpenAI
) -> None:
    llm.default = finding_on_changes(severity="high")
    run = hook(llm, "pre-commit")
    assert run.code == 1, run.err
    assert "[HIGH] b.py:1" in run.out
    assert sent_paths(llm) == {"b.py"}


def test_pre_commit_lets_findings_below_fail_on_through(staged: Path, llm: FakeOpenAI) -> None:
    run = hook(llm, "pre-commit")  # the fake's default findings are medium
    assert run.code == 0, run.err
    assert "[MEDIUM] b.py:1" in run.out  # printed all the same
    assert hook(llm, "pre-commit", "--fail-on", "medium").code == 1


def test_pre_commit_fails_open_when_the_model_cannot_be_reached(staged: Path) -> None:
    env = {"OPENAI_API_KEY": TEST_KEY, "REVIEWER_BASE_URL": closed_port_url()}
    run = hook(None, "pre-commit", "--max-retries", "0", env=env)
    assert run.code == 0
    warnings = [line for line in run.err.splitlines() if line.startswith("review: warning:")]
    assert warnings and "failing open" in warnings[-1]

    closed = hook(None, "pre-commit", "--max-retries", "0", "--fail-closed", env=env)
    assert closed.code == 3


def test_pre_commit_fails_open_without_a_key(staged: Path, llm: FakeOpenAI) -> None:
    run = run_cli("--hook", "pre-commit", env={"REVIEWER_BASE_URL": llm.base_url})
    assert run.code == 0
    (warning,) = [line for line in run.err.splitlines() if line.startswith("review: warning:")]
    assert "OPENAI_API_KEY" in warning and "failing open" in warning
    assert not llm.requests

    closed = run_cli(
        "--hook", "pre-commit", "--fail-closed", env={"REVIEWER_BASE_URL": llm.base_url}
    )
    assert closed.code == 3
    assert "review: error: no API key" in closed.err


def test_the_config_file_can_make_the_hook_fail_closed(staged: Path) -> None:
    (staged / ".reviewer.toml").write_text("fail-open = false\nmax-retries = 0\n")
    env = {"OPENAI_API_KEY": TEST_KEY, "REVIEWER_BASE_URL": closed_port_url()}
    assert hook(None, "pre-commit", env=env).code == 3
    assert hook(None, "pre-commit", "--fail-open", env=env).code == 0  # the command line wins


@pytest.fixture
def pushed(repo: Path) -> dict[str, str]:
    """main: base (a.py) -> pushed (b.py), then two local commits (c.py, then d.py)."""
    write(repo, "a.py", lines("a"))
    shas = {"base": commit(repo, "base")}
    write(repo, "b.py", lines("b"))
    shas["remote"] = commit(repo, "already pushed")
    write(repo, "c.py", lines("c"))
    commit(repo, "local 1")
    write(repo, "d.py", lines("d"))
    shas["local"] = commit(repo, "local 2")
    return shas


def test_pre_push_reviews_only_the_commits_being_pushed(
    pushed: dict[str, str], llm: FakeOpenAI
) -> None:
    env = {"PRE_COMMIT_FROM_REF": pushed["remote"], "PRE_COMMIT_TO_REF": pushed["local"]}
    run = hook(llm, "pre-push", "-o", "json", env=env)
    assert run.code == 0, run.err
    assert sent_paths(llm) == {"c.py", "d.py"}
    assert run.json()["head_sha"] == pushed["local"]


def test_pre_push_after_a_rewrite_reviews_against_the_merge_base(
    repo: Path, pushed: dict[str, str], llm: FakeOpenAI
) -> None:
    # The remote had a commit (e.py) that the local history no longer has (a force push).
    git(repo, "checkout", "-q", "-b", "old", pushed["remote"])
    write(repo, "e.py", lines("e"))
    old_tip = commit(repo, "rewritten away")
    git(repo, "checkout", "-q", "main")
    env = {"PRE_COMMIT_FROM_REF": old_tip, "PRE_COMMIT_TO_REF": pushed["local"]}
    run = hook(llm, "pre-push", env=env)
    assert run.code == 0, run.err
    assert sent_paths(llm) == {"c.py", "d.py"}


def test_pre_push_of_a_new_branch_reviews_what_it_adds_to_origin(
    repo: Path, pushed: dict[str, str], llm: FakeOpenAI
) -> None:
    git(repo, "update-ref", "refs/remotes/origin/main", pushed["remote"])
    env = {"PRE_COMMIT_FROM_REF": Z40, "PRE_COMMIT_TO_REF": pushed["local"]}
    run = hook(llm, "pre-push", env=env)
    assert run.code == 0, run.err
    assert sent_paths(llm) == {"c.py", "d.py"}


def test_pre_push_of_a_repositorys_first_push_reviews_every_commit(
    repo: Path, pushed: dict[str, str], llm: FakeOpenAI
) -> None:
    # No remote-tracking branch at all (pre-commit then sets no FROM_REF): all four commits
    # are new to the remote, not only the last one.
    empty_tree = git(repo, "hash-object", "-t", "tree", "/dev/null")
    run = hook(llm, "pre-push", env={"PRE_COMMIT_TO_REF": pushed["local"]})
    assert run.code == 0, run.err
    assert sent_lines(llm.requests) == added_lines(repo, empty_tree, pushed["local"])
    assert sent_paths(llm) == {"a.py", "b.py", "c.py", "d.py"}


def test_pre_push_of_a_new_branch_reviews_the_commits_no_remote_has(
    repo: Path, pushed: dict[str, str], llm: FakeOpenAI
) -> None:
    git(repo, "update-ref", "refs/remotes/origin/develop", pushed["remote"])  # not main
    env = {"PRE_COMMIT_FROM_REF": Z40, "PRE_COMMIT_TO_REF": pushed["local"]}
    run = hook(llm, "pre-push", env=env)
    assert run.code == 0, run.err
    assert sent_lines(llm.requests) == added_lines(repo, pushed["remote"], pushed["local"])
    assert sent_paths(llm) == {"c.py", "d.py"}  # both commits, not only the last


# --------------------------------------------------------------------------- real pre-commit


@dataclass(frozen=True)
class HookRepo:
    """Where ``pre-commit`` finds this project: a snapshot repository and its commit."""

    url: str
    rev: str
    home: Path  # PRE_COMMIT_HOME, shared by the session's tests
    install_seconds: float


def _snapshot(dest: Path) -> tuple[str, str]:
    """Commit the work tree's package files (tracked and untracked, not ignored) to ``dest``."""
    listed = subprocess.run(
        [
            "git",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--",
            *SNAPSHOT_PATHS,
        ],
        cwd=ROOT,
        env=git_env(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    make_repo(dest.parent, dest.name)
    for rel in filter(None, listed.split("\0")):
        source = ROOT / rel
        if source.is_file():  # listed but deleted in the work tree: leave it out
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if not (dest / "README.md").exists():
        write(dest, "README.md", "reviewer\n")  # pyproject names it as the readme
    return str(dest), commit(dest, "snapshot")


def _pre_commit(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def _config(hook_repo: HookRepo) -> str:
    return (
        "repos:\n"
        f"  - repo: {hook_repo.url}\n"
        f"    rev: {hook_repo.rev}\n"
        "    hooks:\n"
        "      - id: ai-review\n"
        "      - id: ai-review-push\n"
    )


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> HookRepo:
    """The snapshot, and its hook environment installed once for the session (timed)."""
    root = tmp_path_factory.mktemp("pre-commit")
    url, rev = _snapshot(root / "snapshot")
    home = root / "home"
    template = make_repo(root, "template")
    hook_repo = HookRepo(url=url, rev=rev, home=home, install_seconds=0.0)
    write(template, ".pre-commit-config.yaml", _config(hook_repo))
    env = {**git_env(), "PRE_COMMIT_HOME": str(home)}
    started = time.monotonic()
    proc = _pre_commit("install-hooks", cwd=template, env=env)
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return HookRepo(url=url, rev=rev, home=home, install_seconds=seconds)


@dataclass
class Project:
    path: Path
    env: dict[str, str]

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args),
            cwd=self.path,
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD")


@pytest.fixture
def project(tmp_path: Path, hook_repo: HookRepo, llm: FakeOpenAI) -> Iterator[Project]:
    """A repository using both hooks, its config committed, pointed at the fake model."""
    path = make_repo(tmp_path, "project")
    write(path, ".pre-commit-config.yaml", _config(hook_repo))
    write(path, "a.py", lines("a"))
    git(path, "add", "-A")
    git(path, "commit", "-q", "--no-verify", "-m", "base")
    env = {
        **git_env(),
        "PRE_COMMIT_HOME": str(hook_repo.home),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        **endpoint_env(llm),
    }
    installed = _pre_commit(
        "install", "--hook-type", "pre-commit", "--hook-type", "pre-push", cwd=path, env=env
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    yield Project(path=path, env=env)


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_first_install_of_the_hook_environment_is_timed(hook_repo: HookRepo) -> None:
    # Reported with -rA; over ~20 s is why these tests are marked slow.
    print(f"pre-commit install-hooks took {hook_repo.install_seconds:.1f}s")
    assert hook_repo.install_seconds > 0


@pytest.mark.slow
def test_commit_is_refused_on_a_high_finding(project: Project, llm: FakeOpenAI) -> None:
    llm.default = finding_on_changes(severity="high")
    before = project.head()
    write(project.path, "b.py", lines("b"))
    git(project.path, "add", "b.py")

    proc = project.run("git", "commit", "-m", "add b")

    assert proc.returncode != 0
    assert "AI code review (staged changes)" in output(proc)
    assert "Failed" in output(proc) and "[HIGH] b.py:1" in output(proc)
    assert project.head() == before
    assert sent_paths(llm) == {"b.py"}


@pytest.mark.slow
def test_commit_is_allowed_below_fail_on_and_the_review_is_shown(
    project: Project, llm: FakeOpenAI
) -> None:
    before = project.head()
    write(project.path, "b.py", lines("b"))
    git(project.path, "add", "b.py")

    proc = project.run("git", "commit", "-m", "add b")

    assert proc.returncode == 0, output(proc)
    assert project.head() != before
    assert "Passed" in output(proc)
    assert "[MEDIUM] b.py:1" in output(proc)  # verbose: the review prints either way


@pytest.mark.slow
def test_commit_is_allowed_with_a_warning_when_the_model_is_down(
    project: Project, llm: FakeOpenAI
) -> None:
    before = project.head()
    write(project.path, "b.py", lines("b"))
    git(project.path, "add", "b.py")

    proc = project.run(
        "git",
        "commit",
        "-m",
        "add b",
        REVIEWER_BASE_URL=closed_port_url(),
        REVIEWER_MAX_RETRIES="0",
    )

    assert proc.returncode == 0, output(proc)
    assert project.head() != before
    assert "review: warning:" in output(proc) and "failing open" in output(proc)
    assert not llm.requests


@pytest.mark.slow
def test_skip_skips_the_review(project: Project, llm: FakeOpenAI) -> None:
    llm.default = finding_on_changes(severity="critical")
    before = project.head()
    write(project.path, "b.py", lines("b"))
    git(project.path, "add", "b.py")

    proc = project.run("git", "commit", "-m", "add b", SKIP="ai-review")

    assert proc.returncode == 0, output(proc)
    assert project.head() != before
    assert "Skipped" in output(proc)
    assert not llm.requests


@pytest.mark.slow
def test_pre_push_reviews_only_the_pushed_commits(
    project: Project, llm: FakeOpenAI, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(project.path, "remote", "add", "origin", str(remote))
    write(project.path, "b.py", lines("b"))
    git(project.path, "add", "b.py")
    git(project.path, "commit", "-q", "--no-verify", "-m", "add b")
    first = project.run("git", "push", "-q", "--no-verify", "origin", "main")
    assert first.returncode == 0, output(first)
    for name in ("c", "d"):
        write(project.path, f"{name}.py", lines(name))
        git(project.path, "add", "-A")
        git(project.path, "commit", "-q", "--no-verify", "-m", f"add {name}")

    proc = project.run("git", "push", "origin", "main")

    assert proc.returncode == 0, output(proc)
    assert "AI code review (commits being pushed)" in output(proc)
    assert sent_paths(llm) == {"c.py", "d.py"}
    assert git(remote, "rev-parse", "main") == project.head()

    # And a high finding stops the push.
    llm.default = finding_on_changes(severity="high")
    write(project.path, "e.py", lines("e"))
    git(project.path, "add", "-A")
    git(project.path, "commit", "-q", "--no-verify", "-m", "add e")
    refused = project.run("git", "push", "origin", "main")
    assert refused.returncode != 0
    assert "[HIGH] e.py:1" in output(refused)
    assert git(remote, "rev-parse", "main") != project.head()


def test_the_hook_definitions_match_the_cli() -> None:
    """Cheap guard for the slow tests' subject: ids, stages and entries as documented."""
    import yaml  # pre-commit's own dependency

    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"ai-review", "ai-review-push"}
    for hook_id, stage in (("ai-review", "pre-commit"), ("ai-review-push", "pre-push")):
        spec = hooks[hook_id]
        assert spec["entry"] == f"review --hook {stage}"
        assert spec["stages"] == [stage]
        assert spec["language"] == "python"
        assert spec["pass_filenames"] is False
        assert spec["require_serial"] is True
        assert spec["verbose"] is True
    # `review` is the console script pre-commit's environment gets from installing us.
    with (ROOT / "pyproject.toml").open("rb") as f:
        assert tomllib.load(f)["project"]["scripts"]["review"] == "reviewer.cli:console"
