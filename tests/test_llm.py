"""One chunk's conversation, end to end: review_chunk -> OpenAIBackend -> real openai SDK ->
a real HTTP server on 127.0.0.1 (tests/fake_openai.py). Plus the shared RateGate."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fake_openai import (
    EMPTY_ANSWER,
    FakeOpenAI,
    blank_json_object,
    llamacpp,
    rejects_json_schema,
    reply_error,
    reply_json,
    reply_refusal,
    reply_reset,
    reply_text,
)

from reviewer.core.errors import AuthError, ModelNotFound, ResponseFormatRejected
from reviewer.core.settings import Settings
from reviewer.core.values import Usage
from reviewer.llm.answer import ModelAnswer, strict_json_schema
from reviewer.llm.backend import RESPONSE_MODES, ResponseMode
from reviewer.llm.conversation import ChunkOutcome, ResponseModeState, RetryPolicy, review_chunk
from reviewer.llm.openai_backend import OpenAIBackend
from reviewer.llm.prompt import system_prompt
from reviewer.llm.ratelimit import RateGate

KEY = "sk-test-SECRET-0123456789"
USER_TEXT = (
    "<<<REVIEW-DATA abc>>>\n=== FILE: app.py (added) ===\n   1 + | x = 1\n<<<END-REVIEW-DATA abc>>>"
)
FAST = RetryPolicy(base_delay=0.01, max_delay=0.05)

FINDING = {
    "path": "app.py",
    "start_line": 1,
    "end_line": 1,
    "severity": "medium",
    "category": "bug",
    "confidence": 0.7,
    "title": "Unused variable",
    "message": "x is assigned but never read.",
    "suggestion": None,
}
ANSWER = {"summary": "One problem.", "findings": [FINDING]}


@pytest.fixture(scope="module")
def _server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def srv(_server: FakeOpenAI) -> FakeOpenAI:
    return _server.reset()


@pytest.fixture(scope="module")
def backend(_server: FakeOpenAI) -> Iterator[OpenAIBackend]:
    with OpenAIBackend(
        base_url=_server.base_url, api_key=KEY, model="gpt-4o-mini", key_env="OPENAI_API_KEY"
    ) as be:
        yield be


def system_for(mode: ResponseMode) -> str:
    return system_prompt("en", "", (), mode, strict_json_schema())


def review(
    backend: OpenAIBackend,
    modes: ResponseModeState | None = None,
    *,
    gate: RateGate | None = None,
    settings: Settings | None = None,
    deadline_in: float = 10.0,
    **kwargs: Any,
) -> ChunkOutcome:
    kwargs.setdefault("policy", FAST)
    return review_chunk(
        USER_TEXT,
        system_for,
        backend=backend,
        modes=modes or ResponseModeState(("json_schema", "json_object", "prompt")),
        gate=gate or RateGate(),
        settings=settings or Settings(max_retries=2, timeout=5.0),
        deadline=time.monotonic() + deadline_in,
        **kwargs,
    )


# --------------------------------------------------------------------------- answers


def test_valid_answer(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_json(ANSWER, usage={"prompt_tokens": 500, "completion_tokens": 80}))
    outcome = review(backend, max_tokens=1500)
    assert outcome.ok
    assert outcome.answer == ModelAnswer.model_validate(ANSWER)
    assert (outcome.failure_kind, outcome.failure_message) == (None, None)
    assert outcome.usage == Usage(prompt_tokens=500, completion_tokens=80)
    assert (outcome.requests, outcome.retries, outcome.mode_used) == (1, 0, "json_schema")
    (sent,) = srv.requests
    assert sent.mode == "json_schema"
    assert sent.messages[1]["content"] == USER_TEXT
    assert sent.body["max_tokens"] == 1500
    assert json.dumps(strict_json_schema()) not in sent.system  # the endpoint has it


def test_invalid_json_then_valid(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_text("Sure! Here is my review: looks fine."), reply_json(ANSWER))
    outcome = review(backend)
    assert outcome.ok
    assert outcome.requests == 2
    assert outcome.retries == 0  # a re-ask is a request, not a retry
    assert outcome.usage == Usage(prompt_tokens=200, completion_tokens=40)
    second = srv.requests[1]
    roles = [m["role"] for m in second.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert second.messages[2]["content"] == "Sure! Here is my review: looks fine."
    assert "not valid JSON" in second.messages[3]["content"]


def test_wrong_schema_twice_fails_the_chunk(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    wrong = {"summary": "x", "findings": [dict(FINDING, confidence=7)]}
    srv.enqueue(reply_json(wrong), reply_json(wrong))
    outcome = review(backend)
    assert outcome.answer is None
    assert outcome.failure_kind == "invalid-output"
    assert "findings.0.confidence" in (outcome.failure_message or "")
    assert outcome.requests == 2
    assert outcome.mode_used is None
    assert "findings.0.confidence" in srv.requests[1].messages[3]["content"]


def test_refusal_fails_the_chunk(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_refusal("I can't assist with that."))
    outcome = review(backend)
    assert outcome.failure_kind == "refusal"
    assert "I can't assist with that." in (outcome.failure_message or "")
    assert outcome.requests == 1


def test_content_filter_is_a_refusal_not_a_format_problem(
    srv: FakeOpenAI, backend: OpenAIBackend
) -> None:
    srv.enqueue(reply_text(None, finish_reason="content_filter"))
    modes = ResponseModeState(("json_schema", "json_object", "prompt"))
    outcome = review(backend, modes)
    assert outcome.failure_kind == "refusal"
    assert "content filter" in (outcome.failure_message or "")
    assert modes.rejections == ()


# --------------------------------------------------------------------------- response modes


def test_json_schema_rejected_falls_back_and_is_remembered(
    srv: FakeOpenAI, backend: OpenAIBackend
) -> None:
    srv.dialects = (rejects_json_schema,)
    modes = ResponseModeState(("json_schema", "json_object", "prompt"))
    first = review(backend, modes)
    assert first.ok
    assert first.mode_used == "json_object"
    assert [r.mode for r in srv.requests] == ["json_schema", "json_object"]
    # JSON mode constrains syntax only, so the schema moves into the prompt.
    assert json.dumps(strict_json_schema()) in srv.requests[1].system
    assert modes.current == "json_object"
    assert modes.accepted == "json_object"
    ((mode, reason),) = modes.rejections
    assert mode == "json_schema"
    assert "unavailable" in reason

    second = review(backend, modes)  # the next chunk
    assert second.ok
    assert [r.mode for r in srv.requests[2:]] == ["json_object"]


def test_blank_json_object_falls_back_to_prompt(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.dialects = (blank_json_object,)
    modes = ResponseModeState(("json_object", "prompt"))
    outcome = review(backend, modes)
    assert outcome.ok
    assert outcome.mode_used == "prompt"
    assert [r.mode for r in srv.requests] == ["json_object", "prompt"]
    assert srv.requests[1].messages[-1]["role"] == "user"  # a fresh conversation
    assert modes.rejections[0][0] == "json_object"


def test_llamacpp_500_on_json_schema_uses_its_schema_dialect(
    srv: FakeOpenAI, backend: OpenAIBackend
) -> None:
    srv.dialects = (llamacpp,)
    modes = ResponseModeState(RESPONSE_MODES)  # a custom endpoint: discover from the top
    outcome = review(backend, modes)
    assert outcome.ok
    assert outcome.mode_used == "json_object_schema"
    assert outcome.retries == 0  # a rejected format is not a transient failure
    assert [r.mode for r in srv.requests] == ["json_schema", "json_object_schema"]
    assert srv.requests[1].response_format == {
        "type": "json_object",
        "schema": strict_json_schema(),
    }


def test_no_mode_left_fails_the_run(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.dialects = (rejects_json_schema,)
    modes = ResponseModeState(("json_schema",))  # --response-format json_schema
    with pytest.raises(ResponseFormatRejected, match="rejected every response format"):
        review(backend, modes)
    assert len(srv.requests) == 1


def test_mode_state_is_shared_safely() -> None:
    modes = ResponseModeState(("json_schema", "json_object", "prompt"))
    threads = [
        threading.Thread(target=modes.reject, args=("json_schema", f"worker {i}"))
        for i in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert modes.current == "json_object"
    assert len(modes.rejections) == 1
    modes.accept("json_object")
    modes.accept("prompt")
    assert modes.accepted == "json_object"


def test_mode_state_needs_a_mode() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ResponseModeState(())


# --------------------------------------------------------------------------- length


def test_length_then_ok_asks_for_fewer_findings(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_text('{"summary": "x", "findings": [{"pa', finish_reason="length"))
    srv.enqueue(reply_json(ANSWER))
    outcome = review(backend, max_tokens=1000, max_tokens_ceiling=1500)
    assert outcome.ok
    assert outcome.requests == 2
    first, second = srv.requests
    assert first.body["max_tokens"] == 1000
    assert second.body["max_tokens"] == 1500  # raised, up to the ceiling
    assert [m["role"] for m in second.messages] == ["system", "user", "assistant", "user"]
    assert "cut off" in second.messages[3]["content"]
    assert '"pa' not in second.messages[2]["content"]  # the truncated text is not echoed


def test_length_twice_fails_the_chunk(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_text("{", finish_reason="length"), reply_text("{", finish_reason="length"))
    outcome = review(backend, max_tokens=1000)
    assert outcome.failure_kind == "length"
    assert outcome.requests == 2
    assert srv.requests[1].body["max_tokens"] == 2000


# --------------------------------------------------------------------------- run-level errors


def test_401_fails_the_run_naming_the_variable(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_error(401, f"Incorrect API key provided: {KEY}"))
    with pytest.raises(AuthError) as info:
        review(backend)
    assert "OPENAI_API_KEY" in str(info.value)
    assert KEY not in str(info.value)
    assert len(srv.requests) == 1  # never retried


def test_404_model_fails_the_run(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_error(404, "The model `gpt-4o-mini` does not exist"))
    with pytest.raises(ModelNotFound, match="gpt-4o-mini"):
        review(backend)
    assert len(srv.requests) == 1


def test_other_4xx_fails_only_the_chunk(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_error(400, "This model's maximum context length is 8192 tokens"))
    outcome = review(backend)
    assert outcome.failure_kind == "bad-request"
    assert outcome.requests == 1


# --------------------------------------------------------------------------- transient failures


def test_429_with_retry_after_pauses_every_worker(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_error(429, "Rate limit reached", {"retry-after-ms": "200"}))
    gate = RateGate()
    started = time.monotonic()
    outcome = review(backend, gate=gate)
    assert outcome.ok
    assert (outcome.requests, outcome.retries) == (2, 1)
    assert gate.pauses == 1
    assert gate.paused_until >= started + 0.2
    first, second = srv.requests
    assert second.at - first.at >= 0.19
    assert second.headers.get("x-stainless-retry-count", "0") == "0"  # our retry, not the SDK's


def test_a_429_slows_the_other_workers_too(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    # Worker A is told to wait 0.4 s; worker B, starting meanwhile, waits as well.
    srv.enqueue(reply_error(429, "Rate limit reached", {"retry-after-ms": "400"}))
    gate = RateGate()
    a = threading.Thread(target=review, args=(backend,), kwargs={"gate": gate})
    a.start()
    while not srv.requests:
        time.sleep(0.005)
    time.sleep(0.05)  # A has its 429 and has paused the gate
    b_started = time.monotonic()
    b = review(backend, gate=gate)
    a.join()
    assert b.ok
    b_request = next(r for r in srv.requests[1:] if r.at >= b_started)
    assert b_request.at - srv.requests[0].at >= 0.39


def test_500_then_ok(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_error(500, "The server had an error", type="server_error"))
    outcome = review(backend)
    assert outcome.ok
    assert (outcome.requests, outcome.retries) == (2, 1)


def test_backoff_doubles_with_jitter_and_is_per_worker(
    srv: FakeOpenAI, backend: OpenAIBackend
) -> None:
    srv.enqueue(reply_error(503, "overloaded"), reply_error(502, "bad gateway"))
    slept: list[float] = []
    gate = RateGate()
    outcome = review(
        backend,
        gate=gate,
        policy=RetryPolicy(base_delay=1.0, max_delay=30.0),
        sleep=slept.append,
        jitter=lambda: 0.0,
    )
    assert outcome.ok
    assert slept == [0.5, 1.0]  # 1 s then 2 s, each scaled by the jitter floor of 0.5
    assert gate.pauses == 0  # a 5xx without Retry-After holds only this worker


def test_server_errors_exhaust_retries(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(*(reply_error(500, "boom") for _ in range(3)))
    outcome = review(backend, settings=Settings(max_retries=2, timeout=5.0))
    assert outcome.failure_kind == "server-error"
    assert (outcome.requests, outcome.retries) == (3, 2)
    assert "gave up after 2 retries" in (outcome.failure_message or "")


def test_rate_limited_until_the_retries_run_out(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(*(reply_error(429, "slow down", {"retry-after-ms": "10"}) for _ in range(2)))
    outcome = review(backend, settings=Settings(max_retries=1, timeout=5.0))
    assert outcome.failure_kind == "rate-limited"
    assert outcome.requests == 2


def test_retry_after_beyond_the_deadline_fails_at_once(
    srv: FakeOpenAI, backend: OpenAIBackend
) -> None:
    srv.enqueue(reply_error(429, "slow down", {"retry-after": "60"}))
    started = time.monotonic()
    outcome = review(backend, deadline_in=5.0)
    assert outcome.failure_kind == "rate-limited"
    assert "after the deadline" in (outcome.failure_message or "")
    assert time.monotonic() - started < 1.0
    assert outcome.requests == 1


def test_timeout_after_retries(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.default = lambda _req: reply_json(EMPTY_ANSWER, delay=2.0)
    started = time.monotonic()
    outcome = review(backend, settings=Settings(timeout=0.3, max_retries=1))
    elapsed = time.monotonic() - started
    assert outcome.failure_kind == "timeout"
    assert (outcome.requests, outcome.retries) == (2, 1)
    assert 0.6 <= elapsed < 1.5


def test_request_timeout_is_capped_by_the_deadline(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.default = lambda _req: reply_json(EMPTY_ANSWER, delay=3.0)
    started = time.monotonic()
    outcome = review(backend, settings=Settings(timeout=120.0), deadline_in=0.5)
    assert outcome.failure_kind == "timeout"
    assert time.monotonic() - started < 1.2
    assert outcome.requests == 1


def test_connection_reset_then_ok(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_reset())
    outcome = review(backend)
    assert outcome.ok
    assert outcome.retries == 1


def test_connection_resets_exhaust_retries(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.default = lambda _req: reply_reset()
    outcome = review(backend, settings=Settings(max_retries=1, timeout=5.0))
    assert outcome.failure_kind == "server-error"
    assert "connection" in (outcome.failure_message or "")


def test_past_deadline_sends_nothing(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    outcome = review(backend, deadline_in=-1.0)
    assert outcome.failure_kind == "deadline"
    assert outcome.requests == 0
    assert srv.requests == []


def test_a_pause_past_the_deadline_sends_nothing(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    gate = RateGate()
    gate.pause_for(60)
    outcome = review(backend, gate=gate, deadline_in=5.0)
    assert outcome.failure_kind == "rate-limited"
    assert srv.requests == []


# --------------------------------------------------------------------------- RateGate


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_gate_is_open_until_paused() -> None:
    t = FakeTime()
    gate = RateGate(clock=t.clock, sleep=t.sleep)
    assert gate.acquire()
    assert t.slept == []


def test_gate_pause_extends_and_never_shortens() -> None:
    t = FakeTime()
    gate = RateGate(clock=t.clock, sleep=t.sleep)
    gate.pause_for(5)
    gate.pause_for(2)  # shorter: ignored
    assert gate.paused_until == 105.0
    assert gate.acquire()
    assert t.slept == [5.0]
    assert gate.pauses == 2


def test_gate_refuses_a_pause_past_the_deadline_without_sleeping() -> None:
    t = FakeTime()
    gate = RateGate(clock=t.clock, sleep=t.sleep)
    gate.pause_for(10)
    assert not gate.acquire(deadline=105.0)
    assert t.slept == []
    assert gate.acquire(deadline=111.0)


def test_gate_holds_other_threads() -> None:
    gate = RateGate()
    gate.pause_for(0.2)
    started = time.monotonic()
    waited: list[float] = []

    def worker() -> None:
        gate.acquire()
        waited.append(time.monotonic() - started)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(waited) == 4
    assert min(waited) >= 0.19
