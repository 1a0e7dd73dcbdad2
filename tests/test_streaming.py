"""Streamed answers end to end: the real CLI and the real ``openai`` SDK against the fake
server's streaming mode (server-sent events over chunked HTTP on 127.0.0.1).

Usage from the final chunk and without it, the idle timeout on a stalled stream (retried), a
slow but steady stream that outlives the first-byte timeout, Ctrl-C in the middle of a
stream, an endpoint that rejects ``stream`` (fallback, remembered), one that ignores it, and
the progress on stderr (plain lines, the live board on a terminal, nothing with ``-q``).
"""

from __future__ import annotations

import io
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, endpoint_env, finding_on_changes, run_cli
from fake_openai import EMPTY_ANSWER, FakeOpenAI, Received, Reply, reply_error, reply_json
from gitrepo import commit, git, write
from test_cli import change, lines

from reviewer.app.progress import LiveProgress, PlainProgress
from reviewer.core.errors import ProviderTimeout, RequestCancelled, StreamRejected
from reviewer.core.values import Usage
from reviewer.llm.backend import ChatRequest, Message
from reviewer.llm.openai_backend import OpenAIBackend
from reviewer.llm.stream import StreamReader
from reviewer.llm.watchdog import Watchdog
from reviewer.prepare.tokens import load_tokenizer

ANSWER = finding_on_changes()
# The review request only: these tests are about how one answer streams in (the verification
# pass goes through the same conversation and backend).
JSON = ("--no-cache", "--no-verify", "-o", "json")


@pytest.fixture(scope="module", autouse=True)
def _warm_tokenizer() -> None:
    load_tokenizer("gpt-4o-mini")  # the deadline starts before the first load otherwise


@pytest.fixture
def staged(repo: Path) -> Path:
    write(repo, "a.py", lines(10, "a"))
    commit(repo)
    change(repo, "a.py")
    git(repo, "add", "a.py")
    return repo


def scripted(*first: Reply) -> Any:
    """Replies for the first requests in order, then ANSWER's."""
    queue = list(first)

    def answer(req: Received) -> Reply:
        base = ANSWER(req)
        if not queue:
            return base
        # Keep the scripted knobs, answer about this request's chunk.
        return replace(queue.pop(0), body=base.body)

    return answer


# --------------------------------------------------------------------------- usage


def test_usage_comes_from_the_final_chunk(staged: Path) -> None:
    def counted(req: Received) -> Reply:
        reply = ANSWER(req)
        return replace(reply, body={**reply.body, "usage": USAGE})

    with FakeOpenAI(default=counted) as srv:
        run = run_cli(*JSON, env=endpoint_env(srv))
        (sent,) = srv.requests
    assert run.code == 0, run.err
    stats = run.json()["stats"]
    assert (stats["tokens_in"], stats["tokens_out"]) == (777, 55)
    assert stats["usage_estimated"] is False
    assert stats["streamed"] is True
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}


USAGE = {"prompt_tokens": 777, "completion_tokens": 55, "total_tokens": 832}


def test_without_a_usage_chunk_tokens_are_counted_locally(staged: Path) -> None:
    with FakeOpenAI(default=lambda req: replace(ANSWER(req), omit_usage=True)) as srv:
        run = run_cli(*JSON, env=endpoint_env(srv))
        (sent,) = srv.requests
        terminal = run_cli("--no-cache", env=endpoint_env(srv))
    assert run.code == 0, run.err
    result = run.json()
    stats = result["stats"]
    assert stats["usage_estimated"] is True
    tokenizer = load_tokenizer("gpt-4o-mini")
    prompt = sum(tokenizer.count(m["content"]) for m in sent.messages)
    assert prompt <= stats["tokens_in"] <= prompt + 4 * len(sent.messages)
    assert 10 < stats["tokens_out"] < 200
    assert result["findings"]  # the answer itself was read whole
    assert "(counted locally)" in terminal.out


# --------------------------------------------------------------------------- timeouts


def test_a_stalled_stream_is_retried_after_the_idle_timeout(staged: Path) -> None:
    # Three events (role and two pieces of content), then silence.
    with FakeOpenAI(default=scripted(Reply(stall_after=3))) as srv:
        run = run_cli(*JSON, "--idle-timeout", "0.5", env=endpoint_env(srv))
        first, second = srv.requests
    assert run.code == 0, run.err
    stats = run.json()["stats"]
    assert (stats["requests"], stats["retries"]) == (2, 1)
    assert run.json()["findings"]
    # Not before the idle timeout, not much after it (plus the backoff of 0.5-1 s).
    assert 0.9 < second.at - first.at < 5.0


def test_a_stream_that_keeps_stalling_fails_as_a_timeout(staged: Path) -> None:
    with FakeOpenAI(default=lambda req: replace(ANSWER(req), stall_after=2)) as srv:
        run = run_cli(*JSON, "--idle-timeout", "0.3", "--max-retries", "1", env=endpoint_env(srv))
        assert len(srv.requests) == 2
    assert run.code == 3
    (failure,) = run.json()["failures"]
    assert failure["kind"] == "timeout"
    assert "sent nothing for 0.3s" in failure["message"]
    assert "--idle-timeout" in failure["message"]


def test_a_slow_but_steady_stream_outlives_the_timeout(staged: Path) -> None:
    # ~25 events 0.1 s apart: 2.5 s in all, five times --timeout, never silent for long.
    slow = lambda req: replace(ANSWER(req), trickle=0.1, piece_chars=16)  # noqa: E731
    with FakeOpenAI(default=slow) as srv:
        started = time.monotonic()
        run = run_cli(*JSON, "--timeout", "0.5", "--idle-timeout", "1", env=endpoint_env(srv))
        took = time.monotonic() - started
        assert len(srv.requests) == 1
    assert run.code == 0, run.err
    assert run.json()["findings"] and run.json()["failures"] == []
    assert took > 1.5


def test_an_idle_timeout_longer_than_the_timeout_holds_once_answering(staged: Path) -> None:
    # The first byte comes at once; a 0.6 s pause later is over --timeout, under the idle one.
    def pausing(req: Received) -> Reply:
        return replace(ANSWER(req), trickle=0.6, piece_chars=4000)

    with FakeOpenAI(default=pausing) as srv:
        run = run_cli(*JSON, "--timeout", "0.3", "--idle-timeout", "2", env=endpoint_env(srv))
        assert len(srv.requests) == 1
    assert run.code == 0, run.err


# --------------------------------------------------------------------------- fallback


def test_an_endpoint_that_rejects_stream_is_read_whole_and_remembered(staged: Path) -> None:
    with FakeOpenAI(default=ANSWER, stream="reject") as srv:
        first = run_cli("-o", "json", env=endpoint_env(srv))
        assert [r.stream for r in srv.review_requests] == [True, False]
        # The verification pass learns from the review: it never asks to stream again.
        assert [r.stream for r in srv.verify_requests] == [False]

        change(staged, "a.py", 7)
        git(staged, "add", "a.py")
        before = len(srv.requests)
        second = run_cli("-o", "json", env=endpoint_env(srv))
        assert [r.stream for r in srv.requests[before:]] == [False, False]  # review, check
    assert first.code == 0, first.err
    result = first.json()
    assert result["stats"]["streamed"] is False
    assert result["stats"]["retries"] == 0
    assert any("rejected streaming" in w for w in result["warnings"])
    assert second.code == 0, second.err
    assert not any("streaming" in w for w in second.json()["warnings"])


def test_an_endpoint_that_ignores_stream_is_read_whole(staged: Path) -> None:
    with FakeOpenAI(default=ANSWER, stream="ignore") as srv:
        run = run_cli(*JSON, env=endpoint_env(srv))
    assert run.code == 0, run.err
    assert run.json()["stats"]["streamed"] is False
    assert run.json()["findings"]


def test_no_stream_sends_plain_requests(staged: Path) -> None:
    with FakeOpenAI(default=ANSWER) as srv:
        run = run_cli(*JSON, "--no-stream", env=endpoint_env(srv))
        (sent,) = srv.requests
    assert run.code == 0, run.err
    assert "stream" not in sent.body
    assert run.json()["stats"]["streamed"] is False


def _request(**kwargs: Any) -> ChatRequest:
    fields: dict[str, Any] = {"timeout": 5.0, **kwargs}
    return ChatRequest(messages=(Message(role="user", content="hi"),), mode="prompt", **fields)


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        # Headers at once, then nothing: the first byte of the answer never comes.
        (Reply(body=None, stall_after=0, stall=5), "did not answer within 0.3s"),
        # The answer starts, then stalls.
        (Reply(body=None, stall_after=2, stall=5), "sent nothing for 0.5s"),
    ],
    ids=["first-byte", "idle"],
)
def test_the_watchdog_ends_a_silent_stream(reply: Reply, says: str) -> None:
    with (
        FakeOpenAI() as srv,
        OpenAIBackend(base_url=srv.base_url, api_key=TEST_KEY, model="m") as backend,
    ):
        srv.enqueue(replace(reply, body=reply_json(EMPTY_ANSWER).body))
        started = time.monotonic()
        with pytest.raises(ProviderTimeout, match=says):
            backend.complete(_request(timeout=0.3, idle_timeout=0.5))
        assert time.monotonic() - started < 3


def test_the_watchdog_wakes_for_an_earlier_expiry() -> None:
    # The first-byte bound is far; once bytes flow the idle bound is near: the watchdog,
    # asleep until the far one, must shut the socket at the near one.
    watchdog = Watchdog()
    here, there = socket.socketpair()
    with here, there:
        watched = watchdog.watch(here, time.monotonic() + 30, "first-byte")
        time.sleep(0.1)  # the watchdog is asleep now
        watchdog.extend(watched, time.monotonic() + 0.2, "idle")
        started = time.monotonic()
        assert here.recv(10) == b""  # woken by the shutdown
        assert time.monotonic() - started < 2
        assert watchdog.check(watched) == "idle"
        watchdog.release(watched)


def test_cancel_ends_a_stream_in_flight_at_once() -> None:
    with (
        FakeOpenAI() as srv,
        OpenAIBackend(base_url=srv.base_url, api_key=TEST_KEY, model="m") as backend,
    ):
        srv.enqueue(replace(reply_json(EMPTY_ANSWER), stall_after=2, stall=30))
        threading.Timer(0.5, backend.cancel).start()
        started = time.monotonic()
        with pytest.raises(RequestCancelled):
            backend.complete(_request(timeout=30, idle_timeout=30))
        assert time.monotonic() - started < 2
        with pytest.raises(RequestCancelled):  # the run is over: nothing more is sent
            backend.complete(_request())
        assert len(srv.requests) == 1


def test_a_rejected_stream_options_is_dropped_and_usage_counted_later() -> None:
    def no_options(req: Received) -> Reply | None:
        if "stream_options" in req.body:
            return reply_error(400, "Unrecognized request argument supplied: stream_options")
        return None

    with (
        FakeOpenAI(dialects=[no_options]) as srv,
        OpenAIBackend(base_url=srv.base_url, api_key=TEST_KEY, model="m") as backend,
    ):
        reply = backend.complete(_request())
        backend.complete(_request())
        first, second, third = srv.requests
    assert reply.streamed and reply.content == json.dumps(EMPTY_ANSWER)
    assert reply.usage == Usage(estimated=True)  # none asked for, none sent
    assert "stream_options" in first.body
    assert second.stream and "stream_options" not in second.body
    assert "stream_options" not in third.body  # learned


def test_a_400_naming_stream_is_a_stream_rejection() -> None:
    with (
        FakeOpenAI(stream="reject") as srv,
        OpenAIBackend(base_url=srv.base_url, api_key=TEST_KEY, model="m") as backend,
    ):
        with pytest.raises(StreamRejected, match="rejected streaming"):
            backend.complete(_request())
        assert backend.complete(_request(stream=False)).content == json.dumps(EMPTY_ANSWER)


# --------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_ends_the_stream_at_once_and_writes_nothing(staged: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    report.write_text("old\n")
    slow = lambda req: replace(ANSWER(req), trickle=0.2, piece_chars=2)  # noqa: E731
    with FakeOpenAI(default=slow) as srv:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("review")), "--no-cache", "-o", f"json={report}"],
            cwd=staged,
            env={**os.environ, **endpoint_env(srv)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            limit = time.monotonic() + 30
            while not srv.requests and proc.poll() is None and time.monotonic() < limit:
                time.sleep(0.02)
            assert srv.requests, "the review never reached the model"
            time.sleep(0.6)  # a few events in: the answer is streaming
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            _out, err = proc.communicate(timeout=10)
            elapsed = time.monotonic() - sent
            limit = time.monotonic() + 3
            while not srv.disconnects and time.monotonic() < limit:
                time.sleep(0.02)
            assert srv.disconnects == 1  # the server saw the client go
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 130, err
    assert "review: interrupted" in err and "Traceback" not in err
    assert elapsed < 3
    assert report.read_text() == "old\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- progress


def test_progress_in_a_log_is_a_line_per_chunk(staged: Path) -> None:
    with FakeOpenAI(default=ANSWER) as srv:
        run = run_cli(*JSON, env=endpoint_env(srv))
    assert run.code == 0
    assert "review: 1 file(s) in 1 chunk(s)" in run.err
    (done,) = [line for line in run.err.splitlines() if "chunk 1/1 done" in line]
    assert "a.py:" in done and "tokens" in done
    assert "\x1b[" not in run.err


def test_quiet_shows_no_progress(staged: Path) -> None:
    with FakeOpenAI(default=ANSWER) as srv:
        run = run_cli(*JSON, "-q", env=endpoint_env(srv))
    assert run.code == 0
    assert run.err == ""


def test_the_live_board_on_a_terminal(staged: Path) -> None:
    # stderr is a real pseudo-terminal: the board is drawn in place while the answer streams.
    slow = lambda req: replace(ANSWER(req), trickle=0.05, piece_chars=4)  # noqa: E731
    master, slave = pty.openpty()
    with FakeOpenAI(default=slow) as srv:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("review")), *JSON],
            cwd=staged,
            env={**os.environ, **endpoint_env(srv), "COLUMNS": "100"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
        )
        os.close(slave)
        screen = _read_all(master, proc)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, screen
    assert json.loads(out)["findings"]
    assert "\x1b[1F" in screen  # redrawn in place
    assert "[1] a.py: waiting" in screen or "[1] a.py: " in screen
    assert " tokens, " in screen  # tokens received so far, and the time
    assert "review [" in screen and "0/1 chunks done" in screen
    assert "1/1 chunks done" in screen
    assert TEST_KEY not in screen


def _read_all(fd: int, proc: subprocess.Popen[bytes]) -> str:
    chunks: list[bytes] = []
    limit = time.monotonic() + 60
    while time.monotonic() < limit:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_live_board_lines() -> None:
    out, clock = FakeTTY(), Clock()
    board = LiveProgress(out, clock=clock)
    board.planned(3, 4, 9000)
    board.chunk_done(1, 3, False, index=0)  # from the cache
    board.chunk_started(1, ("src/a.py", "src/b.py", "src/c.py"))
    board.chunk_started(2, ("d.py",))
    clock.now += 12
    board.chunk_tokens(1, 412)
    frame = out.getvalue().rsplit("\r", 1)[-1]
    assert "[2] src/a.py, src/b.py +1: 412 tokens, 12s" in frame
    assert "[3] d.py: waiting, 12s" in frame
    assert "review [########----------------] 1/3 chunks done, 1 cached" in frame
    board.chunk_done(2, 3, True, index=1, cost_usd=0.0123)
    board.chunk_done(3, 3, False, index=2, cost_usd=0.02)
    board.close()
    last = out.getvalue().rsplit("\r", 1)[-1]
    assert "3/3 chunks done, 1 cached, 1 failed, $0.0200" in last
    assert "[3]" not in last  # nothing running is left on the screen


def test_a_dry_run_gets_only_the_plan_line() -> None:
    for progress in (PlainProgress(io.StringIO()), LiveProgress(FakeTTY())):
        progress.planned(2, 2, 100)
        progress.close()
        assert progress._stream.getvalue() == "review: 2 file(s) in 2 chunk(s), ~100 tokens\n"


def test_plain_progress_says_what_is_running_every_interval() -> None:
    out = io.StringIO()
    progress = PlainProgress(out, interval=0.05)
    progress.planned(2, 2, 100)
    progress.chunk_started(0, ("a.py",))
    progress.chunk_tokens(0, 7)
    time.sleep(0.3)
    progress.chunk_done(1, 2, False, index=0, cost_usd=None)
    progress.close()
    text = out.getvalue()
    assert "running: a.py: 7 tokens" in text
    assert "review: chunk 1/2 done: a.py: 7 tokens" in text
    assert "review: stopped at 1/2 chunks done" in text  # closed before the end: says so


# --------------------------------------------------------------------------- the reader


def events(*chunks: Any, done: bool = True) -> bytes:
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return (text + ("data: [DONE]\n\n" if done else "")).encode()


def delta(content: str | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = dict(extra)
    if content is not None:
        d["content"] = content
    return {"model": "m", "choices": [{"index": 0, "delta": d, "finish_reason": finish}]}


@pytest.mark.parametrize("size", [1, 3, 1000])
def test_the_reader_assembles_events_in_any_pieces(size: int) -> None:
    body = b": ping\n\n" + events(
        delta("", role="assistant"),
        delta("Hel"),
        delta(reasoning_content="thinking"),
        delta("lo"),
        delta(finish="stop"),
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}},
    ).replace(b"\n", b"\r\n")
    reader = StreamReader("srv")
    for start in range(0, len(body), size):
        reader.feed(body[start : start + size])
    result = reader.result()
    assert result["choices"][0]["message"]["content"] == "Hello"
    assert result["choices"][0]["finish_reason"] == "stop"
    assert result["usage"] == {"prompt_tokens": 3, "completion_tokens": 2}
    assert reader.pieces == 3 and reader.done and not reader.whole


def test_the_reader_takes_a_refusal_and_a_missing_done() -> None:
    reader = StreamReader("srv")
    reader.feed(events(delta(refusal="no."), delta(finish="stop"), done=False))
    message = reader.result()["choices"][0]["message"]
    assert message == {"role": "assistant", "content": None, "refusal": "no."}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (events(delta("half"), done=False), "ended the stream before the answer was complete"),
        (b'data: {"error": {"message": "model overloaded"}}\n\n', "streamed an error"),
        (b'event: error\ndata: {"detail": "boom"}\n\n', "streamed an error: boom"),
        (b"data: {not json\n\n", "not JSON"),
    ],
)
def test_the_reader_reports_a_broken_stream(body: bytes, says: str) -> None:
    reader = StreamReader("srv")
    with pytest.raises(Exception, match=says):
        reader.feed(body)
        reader.result()


def test_a_body_that_is_not_an_event_stream_is_read_whole() -> None:
    for body in (b'  {"choices": []}', b"<html>bad gateway</html>"):
        reader = StreamReader("srv")
        reader.feed(body)
        assert reader.whole
