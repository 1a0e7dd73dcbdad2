"""End to end against a real model: the installed ``review`` script, llama.cpp's server, SmolLM2.

A 135M model's findings are not judged; the contract is. Every run must end in a documented
exit code that agrees with its JSON, the JSON must be a valid ``ReviewResult`` whose findings
are anchored, any chunk the model could not answer must be a reported failure with a kind, the
SARIF must validate against the OASIS schema, and usage and latency must be reported.

A recording proxy between ``review`` and the server shows what went over the wire: the
structured-output dialect of every request, the grammar-enforceable schema sent with it, and
that it was streamed. Two servers from one recipe: llama-cpp-python's (most tests) and
llama.cpp's own ``llama-server``, which reports its context window (``/props``): the run reads
it instead of being told.

The tests marked ``local_llm`` need the server; nothing here skips: a failed build, download or
server start raises ``LocalLLMEnvError`` and they error (``python -m pytest -m local_llm``; the
default suite leaves them out). The unmarked tests at the end check the same path against the
fake server, fast, in the default suite.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import Run, run_cli, run_subprocess
from fake_openai import FakeOpenAI, candidates, reply_text
from fake_openai import llamacpp as fake_llamacpp
from gitrepo import commit, git, make_repo, write
from jsonschema import Draft4Validator, Draft202012Validator
from local_llm_env import ensure_local_server

from reviewer.core.values import (
    SEVERITY_RANK,
    Chunk,
    ChunkFile,
    DiffLine,
    Finding,
    Hunk,
    ReviewResult,
)
from reviewer.llm.answer import (
    CONFIDENCE_LEVELS,
    GRAMMAR_TEXT_MAX,
    TITLE_MAX,
    findings_cap,
    grammar_json_schema,
    parse_answer,
    strict_json_schema,
)
from reviewer.llm.backend import RESPONSE_MODES
from reviewer.llm.conversation import ResponseModeState
from reviewer.llm.prompt import DEFAULT_MAX_FINDINGS
from reviewer.llm.verify import VerifyRequest, parse_verification

MAX_OUTPUT_TOKENS = 300
SERVER_N_CTX = 4096  # scripts/local_llm.py's DEFAULT_N_CTX
# llama-cpp-python does not report its n_ctx: the window must be given, and not larger.
WINDOW = ("--context-window", str(SERVER_N_CTX))
LOCAL_FLAGS = (
    "--max-output-tokens",
    str(MAX_OUTPUT_TOKENS),
    "--jobs",
    "1",
    # A loaded CI machine evaluates the ~1200-token first prompt slowly; a timeout here
    # would test the machine, not the contract. (Once tokens flow, the idle default holds.)
    "--timeout",
    "600",
    "--deadline",
    "1800",
)
FAILURE_KINDS = {
    "invalid-output",
    "length",
    "refusal",
    "rate-limited",
    "server-error",
    "timeout",
    "bad-request",
    "deadline",
}
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
RUN_TIMEOUT_S = 1800

BUGGY = """\
import sqlite3


def find_user(db, name):
    cur = db.cursor()
    cur.execute("SELECT * FROM users WHERE name = '%s'" % name)
    return cur.fetchall()
"""


# --------------------------------------------------------------------------- recording proxy


@dataclass(frozen=True)
class Seen:
    path: str
    body: dict[str, Any]
    status: int

    @property
    def dialect(self) -> str:
        """The response mode the request asked for, named as ``reviewer.llm.backend`` names it."""
        fmt = self.body.get("response_format")
        if not isinstance(fmt, dict):
            return "prompt"
        if fmt.get("type") == "json_schema":
            return "json_schema"
        return "json_object_schema" if "schema" in fmt else "json_object"

    @property
    def schema(self) -> dict[str, Any]:
        fmt = self.body.get("response_format") or {}
        schema: dict[str, Any] = fmt.get("schema") or fmt.get("json_schema", {}).get("schema", {})
        return schema


class RecordingProxy:
    """Forwards every request to ``upstream`` unchanged and records it with the status."""

    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self.seen: list[Seen] = []
        lock = threading.Lock()
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=900)
                try:
                    headers = {"Content-Type": self.headers.get("Content-Type", "")}
                    conn.request(self.command, self.path, body=payload, headers=headers)
                    reply = conn.getresponse()
                    data = reply.read()
                finally:
                    conn.close()
                if self.path.endswith("/chat/completions"):
                    with lock:
                        seen.append(Seen(self.path, json.loads(payload or b"{}"), reply.status))
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.getheader("Content-Type") or "")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _forward
            do_POST = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}{target.path}"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def mark(self) -> int:
        return len(self.seen)

    def since(self, mark: int) -> list[Seen]:
        return self.seen[mark:]


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    with ensure_local_server() as url:
        yield url


@pytest.fixture(scope="session")
def llama_cpp_server() -> Iterator[str]:
    with ensure_local_server(llama_server=True) as url:
        yield url


@pytest.fixture(scope="session")
def proxy(llama_server: str) -> Iterator[RecordingProxy]:
    with RecordingProxy(llama_server) as recording:
        yield recording


# --------------------------------------------------------------------------- the contract


def review(*args: str, cwd: Path, window: bool = True) -> tuple[Run, ReviewResult]:
    flags = (*LOCAL_FLAGS, *WINDOW) if window else LOCAL_FLAGS
    run = run_subprocess(*args, *flags, "-o", "json", cwd=cwd, timeout=RUN_TIMEOUT_S)
    assert "Traceback" not in run.err, run.err
    assert "internal error" not in run.err, run.err
    assert run.code in (0, 1, 3), (run.code, run.err)
    return run, ReviewResult.model_validate_json(run.out)


def assert_contract(run: Run, result: ReviewResult, requests: list[Seen]) -> None:
    """What every run through a real model must satisfy, whatever the model said."""
    stats = result.stats
    # Failures are reported, never swallowed: each with a documented kind and a reason.
    assert stats.chunks_failed == len(result.failures)
    for failure in result.failures:
        assert failure.kind in FAILURE_KINDS, failure
        assert failure.message.strip(), failure
        assert failure.paths, failure
    if result.failures:
        assert result.summary.startswith("Review incomplete"), result.summary
    # Exit code as documented: a failed chunk beats findings, findings at --fail-on (high) -> 1.
    blocking = any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK["high"] for f in result.findings)
    expected = 3 if result.failures else (1 if blocking else 0)
    assert run.code == expected, (run.code, result.failures, run.err)
    # Findings survived validation and anchoring.
    for finding in result.findings:
        assert finding.path in result.reviewed_paths
        assert 1 <= finding.start_line <= finding.end_line
        assert 0.0 <= finding.confidence <= 1.0
        assert finding.title.strip() or finding.message.strip()
    # Usage and latency are reported, and every request the server saw is counted.
    assert stats.chunks >= 1
    assert stats.tokens_in > 0, stats
    assert stats.tokens_out > 0, stats
    assert stats.duration_s > 0, stats
    assert stats.requests == len(requests), (stats.requests, [r.dialect for r in requests])
    if not result.failures:
        assert stats.response_format == "json_object_schema"
    # Streamed: every request asked for it, and the answers came as events.
    assert all(r.body.get("stream") is True for r in requests), [r.body for r in requests]
    assert stats.streamed is True


def assert_grammar_schema(request: Seen, paths: list[str], lines: list[int]) -> None:
    """The schema sent in json_object_schema mode bounds what the grammar can bound."""
    schema = request.schema
    findings = schema["properties"]["findings"]
    assert findings["maxItems"] == findings_cap(MAX_OUTPUT_TOKENS, DEFAULT_MAX_FINDINGS)
    item = findings["items"]["properties"]
    assert item["path"]["enum"] == paths
    assert item["start_line"]["enum"] == lines
    assert item["end_line"]["enum"] == lines
    assert item["confidence"]["enum"] == list(CONFIDENCE_LEVELS)


# --------------------------------------------------------------------------- tests


@pytest.mark.local_llm
def test_staged_review_with_the_llamacpp_preset(tmp_path: Path, proxy: RecordingProxy) -> None:
    repo = make_repo(tmp_path)
    write(repo, "app/db.py", "import sqlite3\n")
    commit(repo, "start")
    write(repo, "app/db.py", BUGGY)
    git(repo, "add", "-A")
    sarif_path = tmp_path / "review.sarif"
    mark = proxy.mark()

    run, result = review(
        "--staged",
        "--provider",
        "llamacpp",
        "--base-url",
        proxy.base_url,
        "-o",
        f"sarif={sarif_path}",
        cwd=repo,
    )

    requests = proxy.since(mark)
    assert_contract(run, result, requests)
    assert result.source == "staged changes"
    assert result.provider == "llamacpp"
    assert result.reviewed_paths == ("app/db.py",)
    # The preset starts at llama.cpp's dialect: no request was wasted on json_schema.
    assert {r.dialect for r in requests} == {"json_object_schema"}
    assert all(r.status == 200 for r in requests)
    assert not [w for w in result.warnings if "rejected response format" in w]
    assert_grammar_schema(requests[0], ["app/db.py"], [2, 3, 4, 5, 6, 7])

    log = json.loads(sarif_path.read_text(encoding="utf-8"))
    validator = Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]
    assert errors == []
    assert len(log["runs"][0]["results"]) == len(result.findings)


@pytest.mark.local_llm
def test_llama_server_reports_its_window_and_model(tmp_path: Path, llama_cpp_server: str) -> None:
    repo = make_repo(tmp_path)
    write(repo, "app/db.py", "import sqlite3\n")
    commit(repo, "start")
    write(repo, "app/db.py", BUGGY)
    git(repo, "add", "-A")

    with RecordingProxy(llama_cpp_server) as recording:
        run, result = review(
            "--staged",
            "--provider",
            "llamacpp",
            "--base-url",
            recording.base_url,
            cwd=repo,
            window=False,
        )
        requests = recording.since(0)

    assert_contract(run, result, requests)
    # Read from the server, not given: the window it was started with, and its model.
    assert result.stats.context_window == SERVER_N_CTX
    assert f"context window {SERVER_N_CTX} (read from /props)" in run.err
    assert result.model == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert not result.warnings
    assert {r.dialect for r in requests} == {"json_object_schema"}
    assert_grammar_schema(requests[0], ["app/db.py"], [2, 3, 4, 5, 6, 7])
    # llama-server sends the usage chunk: the figures are the server's, not a local count.
    assert result.stats.usage_estimated is False


@pytest.mark.local_llm
def test_whole_file_review_of_a_path(tmp_path: Path, proxy: RecordingProxy) -> None:
    work = tmp_path / "work"
    write(work, "src/util.py", "def last(items):\n    return items[len(items)]\n")
    mark = proxy.mark()

    run, result = review(
        "src/util.py", "--provider", "llamacpp", "--base-url", proxy.base_url, cwd=work
    )

    requests = proxy.since(mark)
    assert_contract(run, result, requests)
    assert result.reviewed_paths == ("src/util.py",)
    assert result.base_sha is None
    assert {r.dialect for r in requests} == {"json_object_schema"}
    assert_grammar_schema(requests[0], ["src/util.py"], [1, 2])  # every line is reviewable


@pytest.mark.local_llm
def test_custom_endpoint_discovers_its_dialect_and_remembers_it(
    tmp_path: Path, proxy: RecordingProxy
) -> None:
    work = tmp_path / "work"
    endpoint = ("--provider", "custom", "--base-url", proxy.base_url, "--model", "smollm2-135m")

    write(work, "calc.py", "def mean(xs):\n    return sum(xs) / len(xs)\n")
    mark = proxy.mark()
    run, first = review("calc.py", *endpoint, cwd=work)
    requests = proxy.since(mark)

    assert_contract(run, first, requests)
    # Strongest first: llama-cpp-python's server refuses json_schema with a 500 naming
    # response_format, and the run falls back to its own dialect.
    assert [r.dialect for r in requests[:2]] == ["json_schema", "json_object_schema"]
    assert requests[0].status == 500
    assert all(r.dialect == "json_object_schema" for r in requests[1:])
    assert any("rejected response format json_schema" in w for w in first.warnings)

    # A changed file misses the answer cache; the dialect is remembered per endpoint.
    write(work, "calc.py", "def mean(xs):\n    return sum(xs) // len(xs)\n")
    mark = proxy.mark()
    run, second = review("calc.py", *endpoint, cwd=work)
    requests = proxy.since(mark)

    assert_contract(run, second, requests)
    assert second.stats.chunks_cached == 0
    assert {r.dialect for r in requests} == {"json_object_schema"}
    assert not [w for w in second.warnings if "rejected response format" in w]


@pytest.mark.local_llm
def test_llama_cpp_python_turns_the_grammar_schema_into_a_grammar(llama_server: str) -> None:
    # The server falls back to plain JSON when a schema does not convert, silently: check the
    # conversion itself, and that the bounds became rules. In a child process, as the server
    # does it, so the native library never loads into the test process.
    schema = grammar_json_schema(paths=["a.py"], lines=range(1, 400), max_findings=20)
    done = subprocess.run(
        [sys.executable, "-c", CONVERT],
        input=json.dumps(schema),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    grammar = done.stdout
    assert 'findings-item-path ::= "\\"a.py\\""' in grammar
    assert '| "399"' in grammar
    assert '| "0.9" |' in grammar
    assert "findings-item-message ::=" in grammar
    assert 'findings ::= "[" space' in grammar

    # The verification pass's grammar converts too: candidate numbers, paths, lines.
    check = _verification(["a.py"], range(1, 400), candidates=3).grammar_schema()
    done = subprocess.run(
        [sys.executable, "-c", CONVERT],
        input=json.dumps(check),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert 'findings-item-candidate ::= "1" | "2" | "3"' in done.stdout
    assert "refuted-item-reason ::=" in done.stdout


CONVERT = """
import sys
from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf
grammar = json_schema_to_gbnf(sys.stdin.read())
LlamaGrammar.from_string(grammar, verbose=False)  # raises if llama.cpp cannot parse it
print(grammar)
"""


# --------------------------------------------------------------------------- fast, fake server


def test_grammar_schema_narrows_the_strict_schema_to_the_chunk() -> None:
    schema = grammar_json_schema(paths=["a.py", "b.py", "a.py"], lines=[7, 3, 5, 3], max_findings=2)
    findings = schema["properties"]["findings"]
    item = findings["items"]["properties"]
    assert findings["maxItems"] == 2
    assert item["path"]["enum"] == ["a.py", "b.py"]
    assert item["start_line"]["enum"] == item["end_line"]["enum"] == [3, 5, 7]
    assert item["confidence"]["enum"] == list(CONFIDENCE_LEVELS)
    assert (item["title"]["minLength"], item["title"]["maxLength"]) == (1, TITLE_MAX)
    assert (item["message"]["minLength"], item["message"]["maxLength"]) == (
        1,
        GRAMMAR_TEXT_MAX,
    )
    assert schema["properties"]["summary"]["maxLength"] == GRAMMAR_TEXT_MAX
    assert "maxLength" not in json.dumps(item["suggestion"])  # a cut-off patch is broken code
    # The strict schema for json_schema mode is untouched.
    strict = strict_json_schema()
    assert "enum" not in strict["properties"]["findings"]["items"]["properties"]["path"]
    assert "maxItems" not in strict["properties"]["findings"]


def test_grammar_schema_is_stricter_than_validation() -> None:
    schema = grammar_json_schema(paths=["a.py"], lines=[1, 2], max_findings=3)
    validator = Draft202012Validator(schema)
    for confidence in CONFIDENCE_LEVELS:
        answer = {
            "summary": "s",
            "findings": [
                {
                    "path": "a.py",
                    "start_line": 1,
                    "end_line": 2,
                    "severity": "low",
                    "category": "bug",
                    "confidence": confidence,
                    "title": "t",
                    "message": "m" * GRAMMAR_TEXT_MAX,
                    "suggestion": None,
                }
            ],
        }
        assert list(validator.iter_errors(answer)) == []
        parse_answer(json.dumps(answer))  # what the grammar allows, validation accepts


def _verification(paths: list[str], lines: Any, candidates: int) -> VerifyRequest:
    hunk = Hunk(
        old_start=1,
        old_len=0,
        new_start=1,
        new_len=len(list(lines)),
        lines=tuple(DiffLine(kind="add", text="x", new_no=n) for n in lines),
    )
    chunk = Chunk(
        id="c", index=0, files=tuple(ChunkFile(path=p, hunks=(hunk,)) for p in paths), tokens=1
    )
    found = [
        Finding(
            path=paths[0],
            start_line=1,
            end_line=1,
            severity="low",
            category="bug",
            confidence=0.5,
            title=f"t{n}",
            message="m",
            rule_id="reviewer/bug",
            fingerprint=f"{n:016d}",
            score=1.0,
        )
        for n in range(candidates)
    ]
    return VerifyRequest(chunk=chunk, candidates=tuple(found), text="", language="en")


def test_the_verification_grammar_is_stricter_than_its_validation() -> None:
    schema = _verification(["a.py"], [1, 2], candidates=2).grammar_schema()
    validator = Draft202012Validator(schema)
    answer = {
        "findings": [
            {
                "candidate": 1,
                "path": "a.py",
                "start_line": 2,
                "end_line": 2,
                "severity": "low",
                "category": "bug",
                "confidence": 0.9,
                "title": "t",
                "message": "m" * GRAMMAR_TEXT_MAX,
                "suggestion": None,
            }
        ],
        "refuted": [{"candidate": 2, "reason": "r" * GRAMMAR_TEXT_MAX}],
    }
    assert list(validator.iter_errors(answer)) == []
    parse_verification(json.dumps(answer))
    bad = {**answer, "refuted": [{"candidate": 3, "reason": "r"}]}  # no candidate 3
    assert list(validator.iter_errors(bad))
    props = schema["properties"]
    assert props["findings"]["maxItems"] == props["refuted"]["maxItems"] == 2


def test_too_many_lines_fall_back_to_a_minimum() -> None:
    schema = grammar_json_schema(paths=["a.py"], lines=range(1, 5000), max_findings=20)
    item = schema["properties"]["findings"]["items"]["properties"]
    assert "enum" not in item["start_line"]
    assert item["start_line"]["minimum"] == item["end_line"]["minimum"] == 1


@pytest.mark.parametrize(
    ("max_tokens", "cap"), [(50, 1), (300, 2), (1024, 8), (2048, 17), (100_000, 20)]
)
def test_findings_cap_follows_the_answer_budget(max_tokens: int, cap: int) -> None:
    assert findings_cap(max_tokens, DEFAULT_MAX_FINDINGS) == cap


def test_a_mode_is_learned_from_a_rejection_or_an_answer_only() -> None:
    modes = ResponseModeState(RESPONSE_MODES)
    assert modes.learned is None  # nothing happened yet
    modes.reject("json_schema", "HTTP 500")
    assert modes.learned == "json_object_schema"  # the stronger one is known to fail
    modes.accept("json_object_schema")
    assert modes.learned == "json_object_schema"
    answered = ResponseModeState(("json_schema", "prompt"))
    answered.accept("json_schema")
    assert answered.learned == "json_schema"


@pytest.fixture
def calc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(tmp_path, "calc.py", "def mean(xs):\n    return sum(xs) / len(xs)\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_llamacpp_preset_sends_the_grammar_schema_of_the_chunk(calc: Path, llm: FakeOpenAI) -> None:
    llm.dialects = (fake_llamacpp,)
    run = run_cli(
        "calc.py",
        "--provider",
        "llamacpp",
        "--base-url",
        llm.base_url,
        "--max-output-tokens",
        "300",
        "-o",
        "json",
    )
    assert run.code == 0, run.err
    (request,) = llm.review_requests
    assert request.mode == "json_object_schema"
    schema = (request.response_format or {})["schema"]
    assert schema == grammar_json_schema(paths=["calc.py"], lines=[1, 2], max_findings=2)
    assert run.json()["stats"]["response_format"] == "json_object_schema"
    # The verification of its findings gets a grammar of its own: the candidates' numbers,
    # the chunk's path and lines.
    (check,) = llm.verify_requests
    assert check.mode == "json_object_schema"
    checked = (check.response_format or {})["schema"]["properties"]
    item = checked["findings"]["items"]["properties"]
    assert next(iter(item)) == "candidate"
    assert item["candidate"]["enum"] == list(range(1, len(candidates(check)) + 1))
    assert (item["path"]["enum"], item["start_line"]["enum"]) == (["calc.py"], [1, 2])
    assert (
        checked["refuted"]["items"]["properties"]["candidate"]["enum"] == item["candidate"]["enum"]
    )


def test_a_discovered_dialect_is_remembered_even_when_the_model_fails(
    calc: Path, llm: FakeOpenAI
) -> None:
    llm.dialects = (fake_llamacpp,)
    llm.default = lambda _req: reply_text("I think the code is fine.")  # never valid JSON
    endpoint = ("--provider", "custom", "--base-url", llm.base_url, "--model", "local-model")

    first = run_cli("calc.py", *endpoint, "-o", "json")
    assert first.code == 3, first.err
    # Refused, then answered badly twice (the re-ask): the model failed, not the dialect.
    modes = [r.mode for r in llm.requests]
    assert modes == ["json_schema", "json_object_schema", "json_object_schema"]
    (failure,) = first.json()["failures"]
    assert failure["kind"] == "invalid-output"

    write(calc, "calc.py", "def mean(xs):\n    return sum(xs) // len(xs)\n")
    before = len(llm.requests)
    second = run_cli("calc.py", *endpoint, "-o", "json")
    assert second.code == 3, second.err
    assert {r.mode for r in llm.requests[before:]} == {"json_object_schema"}
    assert second.json()["warnings"] == []


def test_a_raw_newline_inside_a_string_is_read_as_itself() -> None:
    # llama-cpp-python's grammar lets one through where JSON wants "\n" (seen 1 run in 30).
    answer = parse_answer('{"summary": "two\nlines", "findings": []}')
    assert answer.summary == "two\nlines"
