"""The provider fault matrix, through the real CLI against the fake server.

Two files, one chunk each (``--max-chunk-tokens 200``): the fault hits ``a.py``'s chunk, the
model answers ``b.py``'s normally. For every fault: no traceback, ``a.py``'s fate is reported
(a recovered review, or a failure of a documented kind in ``-o json``), ``b.py``'s findings are
kept, and the exit code is the documented one: 0 when recovered (the findings are medium,
below ``--fail-on high``), 3 for a failed chunk or a run-level error (auth, unknown model).
"""

from __future__ import annotations

import email.utils
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from conftest import Run, endpoint_env, finding_on_changes, run_cli
from fake_openai import (
    FakeOpenAI,
    Received,
    Reply,
    rejects_json_schema,
    reply_error,
    reply_json,
    reply_refusal,
    reply_reset,
    reply_text,
)
from gitrepo import commit, git, write

from reviewer.prepare.tokens import load_tokenizer

ANSWER = finding_on_changes()
TWO_CHUNKS = ("--max-chunk-tokens", "200", "--no-cache", "-o", "json")


@pytest.fixture(scope="module", autouse=True)
def _warm_tokenizer() -> None:
    # The run's deadline starts before the tokenizer loads: load it once up front, so the
    # short deadlines below measure requests, not the first load.
    load_tokenizer("gpt-4o-mini")


@pytest.fixture
def two_files(repo: Path) -> Path:
    write(repo, "README.md", "hi\n")
    commit(repo)
    for name in ("a", "b"):
        body = "".join(f"def {name}{i}(x):\n    return x * {i}\n" for i in range(3))
        write(repo, f"{name}.py", body)
    git(repo, "add", "-A")
    return repo


@dataclass
class Script:
    """Replies for a.py's requests in order (then normal answers); b.py is always answered."""

    faults: Sequence[Reply | Callable[[Received], Reply]]
    a_times: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, req: Received) -> Reply:
        if "=== FILE: a.py" not in req.messages[1]["content"]:
            return ANSWER(req)
        with self._lock:
            n = len(self.a_times)
            self.a_times.append(req.at)
        if n < len(self.faults):
            fault = self.faults[n]
            return fault(req) if callable(fault) else fault
        # A re-ask ends with our follow-up, not the chunk: answer about the chunk.
        return ANSWER(replace(req, body={**req.body, "messages": req.messages[:2]}))


def _http_date(offset: float) -> str:
    return email.utils.formatdate(time.time() + offset, usegmt=True)


def _truncated(_req: Received) -> Reply:
    return reply_text('{"summary": "cut', finish_reason="length")


@dataclass(frozen=True)
class Case:
    id: str
    faults: Sequence[Reply | Callable[[Received], Reply]]
    code: int
    fate: str  # "ok", or the ChunkFailure.kind of a.py's chunk
    args: tuple[str, ...] = ()
    a_requests: int | None = None  # requests for a.py's chunk
    message: str = ""  # in the failure message
    check: Callable[[Script, dict[str, Any]], None] | None = None


def _gap_at_least(seconds: float) -> Callable[[Script, dict[str, Any]], None]:
    def check(script: Script, _result: dict[str, Any]) -> None:
        assert script.a_times[1] - script.a_times[0] >= seconds

    return check


def _gap_below(seconds: float) -> Callable[[Script, dict[str, Any]], None]:
    def check(script: Script, _result: dict[str, Any]) -> None:
        assert script.a_times[1] - script.a_times[0] < seconds

    return check


def _fell_back(_script: Script, result: dict[str, Any]) -> None:
    assert result["stats"]["response_format"] == "json_object"
    assert any("json_schema" in w for w in result["warnings"])


def _blank_fell_back(_script: Script, result: dict[str, Any]) -> None:
    assert any("blank content" in w for w in result["warnings"])


NO_RETRY = ("--max-retries", "0")
EMPTY = reply_text("")

CASES = [
    Case(
        "429-retry-after-seconds",
        [reply_error(429, "Rate limit reached", {"Retry-After": "0.3"}, type="requests")],
        0,
        "ok",
        a_requests=2,
        check=_gap_at_least(0.25),
    ),
    Case(
        # A date in the past: retry now, not after the default backoff (>= 0.5 s).
        "429-retry-after-http-date",
        [reply_error(429, "Rate limit reached", {"Retry-After": _http_date(-30)})],
        0,
        "ok",
        a_requests=2,
        check=_gap_below(0.45),
    ),
    Case(
        "429-retry-after-beyond-the-deadline",
        [lambda _req: reply_error(429, "Slow down", {"Retry-After": _http_date(3600)})],
        3,
        "rate-limited",
        args=("--deadline", "30"),
        a_requests=1,
        message="after the deadline",
    ),
    Case(
        "500-then-ok",
        [reply_error(500, "The server had an error", type="server_error")],
        0,
        "ok",
        a_requests=2,
        check=_gap_at_least(0.4),  # the default backoff, with jitter
    ),
    Case("502", [reply_error(502, "Bad gateway")], 3, "server-error", NO_RETRY, 1, "HTTP 502"),
    Case(
        "503-retry-after-zero",
        [reply_error(503, "Overloaded", {"Retry-After": "0"})],
        0,
        "ok",
        a_requests=2,
    ),
    Case("connection-reset", [reply_reset()], 3, "server-error", NO_RETRY, 1, "connection"),
    Case(
        "read-timeout",
        [Reply(body={}, delay=5)],
        3,
        "timeout",
        ("--timeout", "0.3", *NO_RETRY),
        1,
        "did not answer within 0.3s",
    ),
    Case(
        # Still streaming when the run's deadline passes: no fixed total ends it, the deadline
        # does, and it is reported as such.
        "trickle-past-the-deadline",
        [reply_json({"summary": "s" * 200, "findings": []}, trickle=0.05)],
        3,
        "deadline",
        ("--deadline", "1"),
        1,
        "deadline passed while",
    ),
    Case(
        "invalid-json-once",
        [reply_text("Sure! Here is the review: {")],
        0,
        "ok",
        a_requests=2,
    ),
    Case(
        "invalid-json-twice",
        [reply_text("not json"), reply_text("still not json")],
        3,
        "invalid-output",
        a_requests=2,
        message="not valid JSON",
    ),
    Case(
        "wrong-shape",
        [reply_json({"result": "ok"}), reply_json({"verdict": "fine"})],
        3,
        "invalid-output",
        a_requests=2,
        message="does not match the schema",
    ),
    Case(
        # Blank in each structured mode (each is dropped), then blank twice in prompt mode.
        "empty-content",
        [EMPTY] * 4,
        3,
        "invalid-output",
        a_requests=4,
        message="empty",
        check=_blank_fell_back,
    ),
    Case("refusal", [reply_refusal("I can't help with that.")], 3, "refusal", (), 1, "can't help"),
    Case("length-once", [_truncated], 0, "ok", a_requests=2),
    Case("length-twice", [_truncated, _truncated], 3, "length", (), 2, "cut off"),
]


def _run(
    script: Callable[[Received], Reply], *args: str, dialects: Sequence[Any] = ()
) -> tuple[Run, list[Received]]:
    with FakeOpenAI(default=script, dialects=dialects) as server:
        run = run_cli(*TWO_CHUNKS, *args, env=endpoint_env(server))
        return run, server.review_requests  # the verification pass is tested on its own


def _no_traceback(run: Run) -> None:
    assert "Traceback" not in run.err and "Traceback" not in run.out
    assert "internal error" not in run.err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_chunk_level_faults(two_files: Path, case: Case) -> None:
    script = Script(case.faults)
    run, _ = _run(script, *case.args)
    _no_traceback(run)
    assert run.code == case.code, run.err
    result = run.json()
    found = {f["path"] for f in result["findings"]}
    assert "b.py" in found  # the other chunk's review is kept
    assert result["stats"]["chunks"] == 2
    if case.fate == "ok":
        assert "a.py" in found and result["failures"] == []
    else:
        (failure,) = result["failures"]
        assert (failure["paths"], failure["kind"]) == (["a.py"], case.fate)
        assert case.message in failure["message"]
        assert "a.py" not in found
        assert result["stats"]["chunks_failed"] == 1
        assert "chunk 1/2 failed" in run.err or "chunk 2/2 failed" in run.err
    if case.a_requests is not None:
        assert len(script.a_times) == case.a_requests
    if case.check is not None:
        case.check(script, result)


def test_a_retry_is_counted_in_the_stats(two_files: Path) -> None:
    run, _ = _run(Script([reply_error(503, "Overloaded", {"Retry-After": "0"})]))
    assert run.code == 0
    stats = run.json()["stats"]
    assert stats["retries"] == 1
    # two chunks, one retry, and a verification request for each chunk's finding
    assert (stats["requests"], stats["verify_requests"]) == (5, 2)


def test_the_length_reask_asks_for_fewer_findings_with_more_room(two_files: Path) -> None:
    run, requests = _run(Script([_truncated]))
    assert run.code == 0
    first, again = (r for r in requests if "=== FILE: a.py" in r.messages[1]["content"])
    assert again.body["max_tokens"] > first.body["max_tokens"]
    assert "cut off" in again.messages[-1]["content"]


def test_fail_open_turns_a_failed_chunk_into_a_warning(two_files: Path) -> None:
    run, _ = _run(Script([reply_refusal()]), "--fail-open")
    _no_traceback(run)
    assert run.code == 0
    assert run.json()["failures"][0]["kind"] == "refusal"
    assert "failing open" in run.err


# --------------------------------------------------------------------------- run-level


def _every_request(reply: Reply) -> Callable[[Received], Reply]:
    return lambda _req: reply


@pytest.mark.parametrize(
    ("status", "body", "args", "says"),
    [
        (401, "Incorrect API key provided: sk-te****6789.", (), "OPENAI_API_KEY"),
        (403, "Your key cannot use this model.", (), "OPENAI_API_KEY"),
        (
            404,
            "The model `gpt-nope` does not exist or you do not have access to it.",
            ("--model", "gpt-nope"),
            "model 'gpt-nope' not found",
        ),
    ],
    ids=["401", "403", "404-model"],
)
def test_run_level_errors_end_the_run_with_one_clear_line(
    two_files: Path, status: int, body: str, args: tuple[str, ...], says: str
) -> None:
    # One worker: the second chunk is never started, so no request outlives the run.
    run, requests = _run(_every_request(reply_error(status, body)), "-j", "1", *args)
    _no_traceback(run)
    assert run.code == 3
    assert run.out == ""  # no report pretends the review happened
    *_progress, error = run.err.splitlines()
    assert error.startswith("review: error: ") and run.err.count("review: error:") == 1
    assert says in error
    assert len(requests) == 1  # not retried, and the run ended there


def test_api_key_env_is_named_when_it_is_wrong(two_files: Path) -> None:
    with FakeOpenAI(default=_every_request(reply_error(401, "bad key"))) as server:
        run = run_cli(
            *TWO_CHUNKS,
            "-j",
            "1",
            "--api-key-env",
            "MY_GATEWAY_KEY",
            env={"MY_GATEWAY_KEY": "gw-0123456789", "REVIEWER_BASE_URL": server.base_url},
        )
    assert run.code == 3
    assert "MY_GATEWAY_KEY" in run.err and "gw-0123456789" not in run.err


def test_a_rejected_response_format_falls_back(two_files: Path) -> None:
    script = Script([])
    run, requests = _run(script, dialects=[rejects_json_schema])
    _no_traceback(run)
    assert run.code == 0, run.err
    result = run.json()
    assert {f["path"] for f in result["findings"]} == {"a.py", "b.py"}
    _fell_back(script, result)
    assert requests[-1].mode == "json_object"


# --------------------------------------------------------------------------- output files

OLD = '{"previous": "report"}\n'


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_a_run_that_fails_leaves_existing_reports_untouched(
    two_files: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    (out / "r.json").write_text(OLD)
    with FakeOpenAI(default=_every_request(reply_error(401, "bad key"))) as server:
        run = run_cli(
            *TWO_CHUNKS,
            "-j",
            "1",
            "-o",
            f"json={out / 'r.json'}",
            "-o",
            f"sarif={out / 'r.sarif'}",
            env=endpoint_env(server),
        )
    assert run.code == 3
    assert (out / "r.json").read_text() == OLD
    assert not (out / "r.sarif").exists()
    assert _leftovers(out) == []


def test_a_failed_chunk_still_writes_a_whole_report(two_files: Path, tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text(OLD)
    run, _ = _run(Script([reply_refusal()]), "-o", f"json={target}")
    assert run.code == 3
    report = json.loads(target.read_text())
    assert report["failures"][0]["kind"] == "refusal"
    assert _leftovers(tmp_path) == []


def test_an_interrupted_run_leaves_existing_reports_untouched(
    two_files: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    (out / "r.json").write_text(OLD)
    with FakeOpenAI(latency=30) as server:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("review")),
                *TWO_CHUNKS,
                "-o",
                f"json={out / 'r.json'}",
                "-o",
                f"sarif={out / 'r.sarif'}",
            ],
            cwd=two_files,
            env={**os.environ, **endpoint_env(server)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            limit = time.monotonic() + 30
            while not server.requests and time.monotonic() < limit and proc.poll() is None:
                time.sleep(0.02)
            assert server.requests, "the review never reached the model"
            proc.send_signal(signal.SIGINT)
            _out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130
    assert "review: interrupted" in err and "Traceback" not in err
    assert (out / "r.json").read_text() == OLD
    assert not (out / "r.sarif").exists()
    assert _leftovers(out) == []
