"""Shared fixtures: a scrubbed environment, real temp git repos, the fake model server,
and a way to run the real ``review`` entry point in-process or as a subprocess."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, Received, Reply, reply_json
from gitrepo import make_repo, scrub_git_env
from redis_server import own_redis, redis_server, redis_session  # noqa: F401 - fixtures

TEST_KEY = "sk-test-THIS-KEY-MUST-NEVER-BE-PRINTED-0123456789"

_ADDED = re.compile(r"^\s*(\d+) \+ \|", re.MULTILINE)
_FILE = re.compile(r"^=== FILE: (.+?) \((?:added|modified|renamed|copied|deleted)", re.MULTILINE)


def chunk_files(req: Received) -> dict[str, list[int]]:
    """path -> the changed (``+``) new-file line numbers in the request's rendered chunk."""
    user = next((m["content"] for m in req.messages if m.get("role") == "user"), "")
    result: dict[str, list[int]] = {}
    blocks = re.split(r"^(?==== FILE: )", user, flags=re.MULTILINE)
    for block in blocks:
        match = _FILE.match(block)
        if not match:
            continue
        lines = [int(n) for n in _ADDED.findall(block)]
        if "(whole file" in block.split("\n", 1)[0]:
            lines = [int(n) for n in re.findall(r"^\s*(\d+)   \|", block, re.MULTILINE)] + lines
        result[match.group(1)] = sorted(lines)
    return result


def sent_lines(requests: Iterable[Received]) -> dict[str, set[int]]:
    """path -> every changed line number sent in ``requests``, over all chunks and parts."""
    sent: dict[str, set[int]] = {}
    for request in requests:
        for path, found in chunk_files(request).items():
            sent.setdefault(path, set()).update(found)
    return sent


def finding_on_changes(
    severity: str = "medium", category: str = "bug", confidence: float = 0.9, **extra: Any
) -> Any:
    """A default reply: one finding on the first changed line of every file in the chunk."""

    def answer(req: Received) -> Reply:
        findings = []
        for path, lines in chunk_files(req).items():
            if lines:
                findings.append(
                    {
                        "path": path,
                        "start_line": lines[0],
                        "end_line": lines[0],
                        "severity": severity,
                        "category": category,
                        "confidence": confidence,
                        "title": f"Problem in {path}",
                        "message": "This line is wrong.",
                        "suggestion": None,
                        **extra,
                    }
                )
        return reply_json({"summary": "Reviewed.", "findings": findings})

    return answer


def clean_answer(_req: Received) -> Reply:
    return reply_json({"summary": "Looks fine.", "findings": []})


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No developer setting leaks into a test: keys, REVIEWER_*, caches, git config, colour."""
    for key in list(os.environ):
        if key.startswith(("REVIEWER_", "OPENAI_", "GITHUB_", "GITLAB_", "CI_")) or key.endswith(
            "_API_KEY"
        ):
            monkeypatch.delenv(key)
    scrub_git_env(monkeypatch)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("NO_COLOR", raising=False)
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):  # a CA bundle decides TLS tests
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(default=finding_on_changes()) as server:
        yield server


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = make_repo(tmp_path)
    monkeypatch.chdir(path)
    return path


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(*args: str, env: dict[str, str] | None = None) -> Run:
    """Run ``review`` in-process through the real entry point (``reviewer.cli.main``)."""
    from reviewer.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_argv, saved_env = sys.argv, dict(os.environ)
    sys.argv = ["review", *args]
    os.environ.update(env or {})
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
    return Run(code=code, out=out.getvalue(), err=err.getvalue())


def run_subprocess(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> Run:
    """Run the installed ``review`` console script, exactly as a user would."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("review")), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return Run(code=proc.returncode, out=proc.stdout, err=proc.stderr)


def endpoint_env(server: FakeOpenAI) -> dict[str, str]:
    return {"OPENAI_API_KEY": TEST_KEY, "REVIEWER_BASE_URL": server.base_url}
