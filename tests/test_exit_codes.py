"""Exit codes, one test per reason: 0 clean, 1 findings at or above ``--fail-on``,
2 usage or config error, 3 operational failure, 130 interrupted.

Every failing run must also say why in one line on stderr, send nothing it should not have,
and never print the API key (``review`` checks that on every run).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TEST_KEY, clean_answer, endpoint_env, finding_on_changes
from fake_openai import FakeOpenAI, Reply, reply_error
from gitrepo import commit, git, write
from test_cli import change, lines, review


@pytest.fixture
def staged(repo: Path) -> Path:
    """A repository with a staged one-line change to ``a.py``."""
    write(repo, "a.py", lines(10, "a"))
    commit(repo)
    change(repo, "a.py")
    git(repo, "add", "a.py")
    return repo


def error_line(err: str) -> str:
    """The run's one error line (progress notes may precede it)."""
    errors = [line for line in err.splitlines() if line.startswith("review: error: ")]
    assert len(errors) == 1, err
    return errors[0]


# --------------------------------------------------------------------------- 0 and 1


def test_0_when_the_review_is_clean(staged: Path, llm: FakeOpenAI) -> None:
    llm.default = clean_answer
    run = review(server=llm)
    assert run.code == 0, run.err
    assert "No findings: 1 file reviewed in 1 chunk" in run.out
    assert len(llm.requests) == 1


def test_1_for_findings_at_or_above_fail_on(staged: Path, llm: FakeOpenAI) -> None:
    run = review("--fail-on", "medium", server=llm)  # the fake's findings are medium
    assert run.code == 1, run.err
    assert "1 finding: 1 medium" in run.out


def test_findings_below_fail_on_or_with_never_exit_0(staged: Path, llm: FakeOpenAI) -> None:
    assert review("--fail-on", "high", server=llm).code == 0  # medium < high
    llm.default = finding_on_changes(severity="critical")
    assert review("--fail-on", "never", "--no-cache", server=llm).code == 0
    assert review("--no-cache", server=llm).code == 1  # the default is high


# --------------------------------------------------------------------------- 2


@pytest.mark.parametrize(
    ("args", "config", "says"),
    [
        (("--min-confidence", "lots"), None, "'lots' is not a valid float"),
        (("--fail-on", "sometimes"), None, "'sometimes' is not one of"),
        (("--jobs", "0"), None, "invalid setting jobs=0 (from command line)"),
        (("--provider", "nope"), None, "nope"),
        ((), "colour = true\n", "unknown setting 'colour'"),
        ((), "max-findings = 'many'\n", "invalid setting max-findings='many'"),
        (("--head", "HEAD"), None, "--head needs --base"),
        (("-o", "xml"), None, "unknown output format 'xml'"),
        (("--config", "missing.toml"), None, "config file not found: missing.toml"),
        (("-o", "json", "-o", "sarif"), None, "only one output can go to stdout"),
        (("-o", "json=r.json", "-o", "sarif=./r.json"), None, "two outputs write to r.json"),
        (("--staged", "--base", "main"), None, "--staged and --base cannot be combined"),
        (("no-such-file.py",), None, "no such file: no-such-file.py"),
    ],
    ids=[
        "bad-float",
        "bad-choice",
        "out-of-range",
        "unknown-provider",
        "unknown-config-key",
        "bad-config-value",
        "head-without-base",
        "unknown-output",
        "missing-config",
        "two-on-stdout",
        "two-in-one-file",
        "staged-and-base",
        "missing-path",
    ],
)
def test_2_for_usage_and_config_errors(
    staged: Path, llm: FakeOpenAI, args: tuple[str, ...], config: str | None, says: str
) -> None:
    if config is not None:
        write(staged, ".reviewer.toml", config)
    run = review(*args, server=llm)
    assert run.code == 2, run.err
    assert says in run.err
    assert run.out == ""
    assert llm.requests == []


# --------------------------------------------------------------------------- 3


def test_3_for_a_git_error(staged: Path, llm: FakeOpenAI) -> None:
    run = review("--base", "no-such-branch", server=llm)
    assert run.code == 3
    assert error_line(run.err) == "review: error: unknown revision: no-such-branch"
    assert llm.requests == []


def test_3_outside_a_repository_without_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, llm: FakeOpenAI
) -> None:
    monkeypatch.chdir(tmp_path)
    run = review(server=llm)
    assert run.code == 3
    assert "not a git repository" in error_line(run.err)
    assert "review path/to/file.py" in run.err


def test_3_without_an_api_key(staged: Path, llm: FakeOpenAI) -> None:
    run = review(env={"REVIEWER_BASE_URL": llm.base_url})
    assert run.code == 3
    assert "set the environment variable OPENAI_API_KEY" in error_line(run.err)
    assert llm.requests == []


def test_3_when_the_key_is_refused(staged: Path, llm: FakeOpenAI) -> None:
    llm.enqueue(reply_error(401, f"Incorrect API key provided: {TEST_KEY}"))
    run = review(server=llm)
    assert run.code == 3
    assert "check the API key in OPENAI_API_KEY" in error_line(run.err)


def test_3_for_a_failed_chunk_and_0_when_failing_open(staged: Path, llm: FakeOpenAI) -> None:
    llm.default = lambda _req: reply_error(503, "overloaded", type="server_error")
    run = review("--max-retries", "0", server=llm)
    assert run.code == 3
    assert "Review FAILED: 1 of 1 chunks failed" in run.out
    assert "server-error" in run.out

    run = review("--max-retries", "0", "--fail-open", server=llm)
    assert run.code == 0
    assert "1 chunk(s) failed; failing open" in run.err


def test_3_when_the_estimated_cost_is_over_max_cost(staged: Path, llm: FakeOpenAI) -> None:
    run = review("--max-cost", "0.000001", server=llm)
    assert run.code == 3
    assert "exceeds --max-cost $0.0000; nothing was sent" in error_line(run.err)
    assert llm.requests == []


def test_max_cost_counts_only_what_will_be_sent(staged: Path, llm: FakeOpenAI) -> None:
    assert review(server=llm).code == 0  # answers the chunk (and its check) into the cache
    sent = len(llm.requests)
    run = review("--max-cost", "0.000001", "-o", "json", server=llm)
    assert run.code == 0, run.err
    assert run.json()["stats"]["chunks_cached"] == 1
    assert run.json()["stats"]["verify_cached"] == 1
    assert len(llm.requests) == sent


# --------------------------------------------------------------------------- 130


def test_130_when_interrupted(staged: Path) -> None:
    # Its own server: the reply never comes, and stopping the server ends the handler.
    with FakeOpenAI(default=lambda _req: Reply(delay=60)) as slow:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("review")), "--no-cache"],
            cwd=staged,
            env={**os.environ, **endpoint_env(slow)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not slow.requests and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert slow.requests, "the review never reached the model"
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
            elapsed = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 130, err
    assert "review: interrupted" in err
    assert elapsed < 3
    assert TEST_KEY not in out + err
