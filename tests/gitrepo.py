"""Real git repositories for tests, in a scrubbed and pinned environment.

Nothing from the developer's git setup leaks in: global and system config are ignored,
inherited ``GIT_DIR``/``GIT_INDEX_FILE``/... are removed, identities and dates are pinned.
Use ``scrub_git_env(monkeypatch)`` so that code under test (which inherits ``os.environ``)
sees the same environment as the helpers here.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

PINNED: dict[str, str] = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.invalid",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_SYSTEM": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ADVICE": "0",
    "LC_ALL": "C",
    "LANGUAGE": "C",
}


def git_env() -> dict[str, str]:
    """``os.environ`` without any inherited ``GIT_*`` variable, plus the pinned values."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(PINNED)
    return env


def scrub_git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the process environment the pinned one (for code that runs git itself)."""
    for key in list(os.environ):
        if key.startswith("GIT_"):
            monkeypatch.delenv(key)
    for key, value in PINNED.items():
        monkeypatch.setenv(key, value)


def git(
    repo: Path,
    *args: str,
    input: bytes | None = None,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run git in ``repo`` with the pinned environment (plus ``env``); return stdout.

    One trailing newline is stripped from the output.
    """
    proc = subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**git_env(), **(env or {})},
        input=input,
        capture_output=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}"
        )
    out = proc.stdout.decode("utf-8", errors="replace")
    return out[:-1] if out.endswith("\n") else out


def make_repo(tmp_path: Path, name: str = "repo") -> Path:
    """A fresh repository at ``tmp_path/name`` on branch ``main``, with no commits."""
    repo = tmp_path / name
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    # Keep content byte-exact whatever the platform defaults are.
    git(repo, "config", "core.autocrlf", "false")
    git(repo, "config", "commit.gpgsign", "false")
    return repo


def write(repo: Path, relpath: str, content: str | bytes) -> Path:
    """Write ``content`` byte-exact (no newline translation) to ``repo/relpath``."""
    path = repo / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def commit(repo: Path, message: str = "commit") -> str:
    """Stage everything and commit; return the new HEAD sha."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")
