"""OpenAIBackend through the real ``openai`` SDK against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import email.utils
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fake_openai import (
    EMPTY_ANSWER,
    FakeOpenAI,
    Reply,
    reply_error,
    reply_json,
    reply_raw,
    reply_refusal,
    reply_reset,
    reply_text,
)

from reviewer.core.errors import (
    AuthError,
    BadRequest,
    DeadlineExceeded,
    ModelNotFound,
    ProviderTimeout,
    ResponseFormatRejected,
    TransientProviderError,
)
from reviewer.core.values import Usage
from reviewer.llm.answer import strict_json_schema
from reviewer.llm.backend import ChatReply, ChatRequest, Message, ResponseMode
from reviewer.llm.openai_backend import AzureConfig, OpenAIBackend

KEY = "sk-test-SECRET-0123456789"


# One server and one backend for the module (an SDK client costs ~0.1 s: an SSL context);
# tests that teach the backend something get their own (``fresh``).


@pytest.fixture(scope="module")
def _server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def srv(_server: FakeOpenAI) -> FakeOpenAI:
    return _server.reset()


def make_backend(srv: FakeOpenAI, **kwargs: Any) -> OpenAIBackend:
    fields: dict[str, Any] = {
        "base_url": srv.base_url,
        "api_key": KEY,
        "model": "gpt-4o-mini",
        "key_env": "OPENAI_API_KEY",
    }
    fields.update(kwargs)
    return OpenAIBackend(**fields)


@pytest.fixture(scope="module")
def _shared_backend(_server: FakeOpenAI) -> Iterator[OpenAIBackend]:
    with make_backend(_server) as be:
        yield be


@pytest.fixture
def backend(srv: FakeOpenAI, _shared_backend: OpenAIBackend) -> OpenAIBackend:
    return _shared_backend


@pytest.fixture
def fresh(srv: FakeOpenAI) -> Iterator[OpenAIBackend]:
    with make_backend(srv) as be:
        yield be


def request(mode: ResponseMode = "json_schema", **kwargs: Any) -> ChatRequest:
    fields: dict[str, Any] = {
        "messages": (
            Message(role="system", content="Answer in JSON."),
            Message(role="user", content="<<<REVIEW-DATA x>>>"),
        ),
        "mode": mode,
        "json_schema": strict_json_schema()
        if mode in ("json_schema", "json_object_schema")
        else {},
        "max_tokens": 1000,
        "timeout": 5.0,
    }
    fields.update(kwargs)
    return ChatRequest(**fields)


def test_importing_the_backend_does_not_import_openai() -> None:
    code = (
        "import sys, reviewer.llm.openai_backend, reviewer.llm.conversation, reviewer.llm.providers;"
        "sys.exit(1 if 'openai' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_a_completion(srv: FakeOpenAI, backend: OpenAIBackend, stream: bool) -> None:
    srv.enqueue(reply_json(EMPTY_ANSWER, usage={"prompt_tokens": 321, "completion_tokens": 12}))
    reply = backend.complete(request(stream=stream))
    assert reply == ChatReply(
        content='{"summary": "No problems found.", "findings": []}',
        finish_reason="stop",
        usage=Usage(prompt_tokens=321, completion_tokens=12),
        model="fake-model",
        streamed=stream,
    )
    (sent,) = srv.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.messages == [
        {"role": "system", "content": "Answer in JSON."},
        {"role": "user", "content": "<<<REVIEW-DATA x>>>"},
    ]
    assert sent.body["temperature"] == 0.2
    assert sent.body["max_tokens"] == 1000
    if stream:
        assert sent.body["stream"] is True
        assert sent.body["stream_options"] == {"include_usage": True}
    else:
        assert "stream" not in sent.body and "stream_options" not in sent.body


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            "json_schema",
            {
                "type": "json_schema",
                "json_schema": {"name": "review", "strict": True, "schema": strict_json_schema()},
            },
        ),
        ("json_object_schema", {"type": "json_object", "schema": strict_json_schema()}),
        ("json_object", {"type": "json_object"}),
        ("prompt", None),
    ],
)
def test_response_format_per_mode(
    srv: FakeOpenAI, backend: OpenAIBackend, mode: ResponseMode, expected: object
) -> None:
    backend.complete(request(mode))
    assert srv.requests[0].response_format == expected
    assert srv.requests[0].mode == mode


def test_no_max_tokens_when_unset(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    backend.complete(request(max_tokens=None))
    assert "max_tokens" not in srv.requests[0].body
    assert "max_completion_tokens" not in srv.requests[0].body


def test_org_and_project_are_not_taken_from_the_environment(
    srv: FakeOpenAI, backend: OpenAIBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-leak")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-leak")
    backend.complete(request())
    assert "openai-organization" not in srv.requests[0].headers
    assert "openai-project" not in srv.requests[0].headers


def test_refusal(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_refusal("I can't help with that."))
    reply = backend.complete(request())
    assert reply.content is None
    assert reply.refusal == "I can't help with that."


def test_missing_usage_is_zero(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    body = reply_json(EMPTY_ANSWER).body
    del body["usage"]
    srv.enqueue(Reply(body=body))
    assert backend.complete(request()).usage == Usage(estimated=True)


# --------------------------------------------------------------------------- errors


def test_401_names_the_variable_never_the_key(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_error(401, f"Incorrect API key provided: {KEY}.", code="invalid_api_key"))
    with pytest.raises(AuthError) as info:
        backend.complete(request())
    assert "OPENAI_API_KEY" in str(info.value)
    assert KEY not in str(info.value)
    assert "SECRET" not in repr(info.value)
    assert info.value.status == 401
    assert len(srv.requests) == 1


def test_403_is_an_auth_error(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_error(403, "Country not supported"))
    with pytest.raises(AuthError, match="Country not supported"):
        backend.complete(request())


def test_401_without_a_key_variable_says_how_to_name_one(srv: FakeOpenAI) -> None:
    srv.enqueue(reply_error(401, "missing key"))
    with (
        OpenAIBackend(base_url=srv.base_url, api_key="dummy", model="m") as be,
        pytest.raises(AuthError, match="--api-key-env"),
    ):
        be.complete(request())


def test_404_for_the_model(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(
        reply_error(
            404,
            "The model `gpt-4o-mini` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    )
    with pytest.raises(ModelNotFound, match="model 'gpt-4o-mini' not found"):
        backend.complete(request())


def test_404_for_a_wrong_path_names_the_url(srv: FakeOpenAI) -> None:
    with (
        OpenAIBackend(base_url=srv.root_url + "/api", api_key=KEY, model="m") as be,
        pytest.raises(ModelNotFound) as info,
    ):
        be.complete(request())
    assert "/api/chat/completions" in str(info.value)
    assert "base URL" in str(info.value)
    assert srv.requests == []  # never reached the chat-completions route


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "This response_format type is unavailable now"),
        (400, "Invalid schema for response_format 'review': additionalProperties"),
        (422, "json_schema is not supported"),
        (500, "JSON schema conversion failed: Unrecognized schema"),
    ],
)
def test_response_format_rejections(
    srv: FakeOpenAI, backend: OpenAIBackend, status: int, message: str
) -> None:
    srv.enqueue(reply_error(status, message))
    with pytest.raises(ResponseFormatRejected) as info:
        backend.complete(request("json_schema"))
    assert "json_schema" in str(info.value)
    assert info.value.status == status


def test_lm_studio_style_error_body_is_read(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(
        Reply(status=400, body={"error": "'response_format.type' must be 'json_schema' or 'text'"})
    )
    with pytest.raises(ResponseFormatRejected, match="must be 'json_schema' or 'text'"):
        backend.complete(request("json_object"))


def test_a_format_word_in_prompt_mode_is_a_bad_request(
    srv: FakeOpenAI, backend: OpenAIBackend
) -> None:
    srv.enqueue(reply_error(400, "schema of messages is invalid"))
    with pytest.raises(BadRequest):
        backend.complete(request("prompt"))


def test_other_4xx_is_a_bad_request(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_error(400, "This model's maximum context length is 8192 tokens."))
    with pytest.raises(BadRequest, match="maximum context length") as info:
        backend.complete(request())
    assert not isinstance(info.value, ResponseFormatRejected)
    assert info.value.status == 400


@pytest.mark.parametrize("status", [500, 502, 503, 529])
def test_5xx_is_transient_and_not_retried_by_the_sdk(
    srv: FakeOpenAI, backend: OpenAIBackend, status: int
) -> None:
    srv.enqueue(reply_error(status, "upstream overloaded", type="server_error"))
    with pytest.raises(TransientProviderError) as info:
        backend.complete(request())
    assert info.value.status == status
    assert not isinstance(info.value, ResponseFormatRejected)
    assert len(srv.requests) == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "200"}, 0.2),
        ({"retry-after": "1"}, 1.0),
        ({"retry-after": "0.5", "retry-after-ms": "250"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_429_carries_retry_after(
    srv: FakeOpenAI, backend: OpenAIBackend, headers: dict[str, str], expected: float | None
) -> None:
    srv.enqueue(reply_error(429, "Rate limit reached", headers, type="rate_limit_error"))
    with pytest.raises(TransientProviderError) as info:
        backend.complete(request())
    assert info.value.status == 429
    assert info.value.retry_after == expected
    assert len(srv.requests) == 1  # the SDK did not retry on its own


def test_retry_after_as_an_http_date(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    srv.enqueue(reply_error(429, "slow down", {"retry-after": when}))
    with pytest.raises(TransientProviderError) as info:
        backend.complete(request())
    assert info.value.retry_after is not None
    assert 25 <= info.value.retry_after <= 31


def test_slow_server_times_out(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_json(EMPTY_ANSWER, delay=2.0))
    started = time.monotonic()
    with pytest.raises(ProviderTimeout, match=r"within 0\.3s"):
        backend.complete(request(timeout=0.3))
    assert time.monotonic() - started < 1.0
    assert len(srv.requests) == 1


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_a_trickle_outlives_the_timeout_and_stops_at_the_time_limit(
    srv: FakeOpenAI, backend: OpenAIBackend, stream: bool
) -> None:
    # Bytes keep coming, so neither the first-byte nor the idle timeout ends it: the run's
    # deadline (time_limit) does.
    srv.enqueue(reply_text("x" * 400, trickle=0.05))
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="deadline passed while"):
        backend.complete(request(stream=stream, timeout=0.2, idle_timeout=0.3, time_limit=0.8))
    assert 0.7 < time.monotonic() - started < 1.5


def test_connection_reset_is_transient(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_reset())
    with pytest.raises(TransientProviderError) as info:
        backend.complete(request())
    assert not isinstance(info.value, ProviderTimeout)
    assert "connection" in str(info.value)


def test_connection_refused_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        OpenAIBackend(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, model="m") as be,
        pytest.raises(TransientProviderError, match="connection to"),
    ):
        be.complete(request())


def test_a_body_that_is_not_json_is_transient(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(reply_raw(b"<html>bad gateway</html>", content_type="text/html"))
    with pytest.raises(TransientProviderError, match="not JSON") as info:
        backend.complete(request())
    assert info.value.status == 200


def test_a_body_without_choices_is_transient(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    srv.enqueue(Reply(body={"error": {"message": "proxy hiccup"}}))
    with pytest.raises(TransientProviderError, match="without choices"):
        backend.complete(request())


# --------------------------------------------------------------------------- adaptation


def test_learns_max_completion_tokens(srv: FakeOpenAI, fresh: OpenAIBackend) -> None:
    srv.enqueue(
        reply_error(
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            param="max_tokens",
            code="unsupported_parameter",
        )
    )
    fresh.complete(request())
    fresh.complete(request())
    first, second, third = srv.requests
    assert "max_tokens" in first.body
    assert second.body.get("max_completion_tokens") == 1000
    assert "max_tokens" not in second.body
    assert third.body.get("max_completion_tokens") == 1000  # remembered


def test_learns_to_drop_temperature(srv: FakeOpenAI, fresh: OpenAIBackend) -> None:
    srv.enqueue(
        reply_error(
            400,
            "Unsupported value: 'temperature' does not support 0.2 with this model. "
            "Only the default (1) value is supported.",
        )
    )
    fresh.complete(request())
    assert "temperature" in srv.requests[0].body
    assert "temperature" not in srv.requests[1].body


def test_reasoning_models_get_their_parameters_up_front(srv: FakeOpenAI) -> None:
    with OpenAIBackend(base_url=srv.base_url, api_key=KEY, model="o3-mini") as be:
        be.complete(request())
    (sent,) = srv.requests
    assert sent.body["max_completion_tokens"] == 1000
    assert "max_tokens" not in sent.body
    assert "temperature" not in sent.body


# --------------------------------------------------------------------------- client


def test_azure_uses_the_deployment_route_and_api_key_header(srv: FakeOpenAI) -> None:
    azure = AzureConfig(endpoint=srv.root_url, api_version="2024-10-21")
    with OpenAIBackend(
        base_url=srv.root_url, api_key=KEY, model="my-deployment", azure=azure
    ) as be:
        be.complete(request())
    (sent,) = srv.requests
    assert sent.path == "/openai/deployments/my-deployment/chat/completions"
    assert "api-version=2024-10-21" in sent.query
    assert sent.headers["api-key"] == KEY


def test_one_client_is_shared_by_threads(srv: FakeOpenAI, backend: OpenAIBackend) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: backend.complete(request()), range(24)))
    assert all(r.finish_reason == "stop" for r in replies)
    assert len(srv.requests) == 24


def test_repr_hides_the_key(backend: OpenAIBackend) -> None:
    assert KEY not in repr(backend)
    assert "gpt-4o-mini" in repr(backend)


def test_close_then_reuse(srv: FakeOpenAI, fresh: OpenAIBackend) -> None:
    fresh.complete(request())
    fresh.close()
    fresh.close()  # idempotent
    fresh.complete(request())
    assert len(srv.requests) == 2
