"""``Backend`` over the ``openai`` SDK: the only module that imports ``openai``.

The SDK is imported on the first request, not at import time (it costs ~0.4 s, and a dry run
or a cached review never needs it). Retries are not the SDK's (``max_retries=0``): they are
``reviewer.llm.conversation``'s, so that one shared ``RateGate`` can slow every worker after a 429.

Answers are streamed (``stream: true`` with ``stream_options.include_usage``) unless the
request says otherwise; a server that answers a streamed request with one JSON document is
read the same. There is no fixed total: the server must start answering within
``ChatRequest.timeout`` (the socket's read timeout while waiting for the response headers,
then ``reviewer.llm.watchdog`` until the first byte of the body), may then pause for at most
``idle_timeout`` at a time, and ``time_limit`` (the run's deadline) ends it wherever it is.
A 400 that names ``stream_options`` drops that option (usage is then counted locally); one
that names ``stream`` raises ``StreamRejected``, and the caller reads answers whole.

Every SDK and transport error leaves this module as a ``reviewer.core.errors.ProviderError``;
messages name the key's variable, never the key.
"""

from __future__ import annotations

import contextlib
import email.utils
import importlib
import json
import math
import re
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from reviewer.core.errors import (
    AuthError,
    BadRequest,
    DeadlineExceeded,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    RequestCancelled,
    ResponseFormatRejected,
    StreamRejected,
    TransientProviderError,
)
from reviewer.core.values import Frozen, Usage
from reviewer.llm.backend import ChatReply, ChatRequest, OnTokens
from reviewer.llm.ratelimit import parse_rate_limit_headers

if TYPE_CHECKING:
    import socket

    import openai
    from openai.types.chat import ChatCompletionMessageParam

    from reviewer.llm.watchdog import Reason, Watchdog, Watched

_TEXT_MAX = 500  # characters of a provider's error message kept in ours
_FORMAT_WORDS = re.compile(
    r"response_format|json_schema|json_object|\bschema\b|structured output", re.IGNORECASE
)
# OpenAI's reasoning models take max_completion_tokens and only the default temperature.
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)", re.IGNORECASE)
_ADAPTATIONS_MAX = 3  # resends after a 400 that names an unsupported parameter
_CONNECT_TIMEOUT = 10.0  # seconds to open the connection (bounded by the attempt's timeout)
_STREAM_WORDS = re.compile(r"\bstream\b", re.IGNORECASE)


class AzureConfig(Frozen):
    """Azure OpenAI: ``endpoint`` is https://<resource>.openai.azure.com; model = deployment."""

    endpoint: str
    api_version: str


class OpenAIBackend:
    """One client per backend, created on the first request and shared by all worker threads."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        key_env: str | None = None,
        organization: str | None = None,
        azure: AzureConfig | None = None,
    ) -> None:
        self._base_url = base_url
        self._api_key = api_key
        self._model = model
        self._key_env = key_env
        self._organization = organization
        self._azure = azure
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        reasoning = bool(_REASONING_MODEL.match(model))
        # Learned per endpoint, under the lock: which token-limit name and whether temperature.
        self._completion_tokens = reasoning
        self._send_temperature = not reasoning
        self._stream_options = True  # dropped once the endpoint rejects stream_options
        self._watchdog_: Watchdog | None = None

    def __repr__(self) -> str:  # no key, ever
        return f"OpenAIBackend(base_url={self._base_url!r}, model={self._model!r})"

    @property
    def model(self) -> str:
        return self._model

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self) -> OpenAIBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cancel(self) -> None:
        self._watchdog.cancel()

    @property
    def _watchdog(self) -> Watchdog:
        # Made with the first request: a run answered from the cache never imports it.
        with self._lock:
            if self._watchdog_ is None:
                from reviewer.llm.watchdog import Watchdog

                self._watchdog_ = Watchdog()
            return self._watchdog_

    # ------------------------------------------------------------------ request

    def complete(self, request: ChatRequest, on_tokens: OnTokens | None = None) -> ChatReply:
        sdk = importlib.import_module("openai")
        client = self._get_client(sdk)
        timeouts, transport = _transport_errors()
        for _ in range(_ADAPTATIONS_MAX + 1):
            if self._watchdog.cancelled:
                raise RequestCancelled("the run was interrupted")
            started = time.monotonic()
            try:
                return self._send(sdk, client, request, on_tokens)
            except sdk.APIStatusError as exc:
                if self._adapt(exc, request):
                    continue
                raise self._status_error(exc, request) from None
            except (sdk.APITimeoutError, *timeouts):
                # Only the wait for the response headers ends in a socket timeout.
                raise self._header_timeout(request, time.monotonic() - started) from None
            except sdk.APIConnectionError as exc:
                raise self._connection_error(exc.__cause__ or exc) from None
            except transport as exc:
                raise self._connection_error(exc) from None
        raise BadRequest(f"{self._base_url} kept rejecting the request's parameters")

    def prepare(self) -> None:
        """Import the SDK and build the client now, before any rate-limit slot is taken: a
        request must reach the provider when its slot comes, not ~0.5 s later."""
        self._get_client(importlib.import_module("openai"))

    def _get_client(self, sdk: ModuleType) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                self._client = self._make_client(sdk)
            return self._client

    def _make_client(self, sdk: ModuleType) -> openai.OpenAI:
        client: openai.OpenAI
        if self._azure is not None:
            client = sdk.AzureOpenAI(
                azure_endpoint=self._azure.endpoint,
                api_version=self._azure.api_version,
                api_key=self._api_key,
                organization=self._organization,
                max_retries=0,
            )
        else:
            client = sdk.OpenAI(
                base_url=self._base_url,
                api_key=self._api_key,
                organization=self._organization,
                max_retries=0,
            )
        if self._organization is None:
            # The SDK falls back to OPENAI_ORG_ID/OPENAI_PROJECT_ID and would send them as
            # headers to any endpoint, DeepSeek included; settings are explicit or absent.
            client.organization = None
            client.project = None
        return client

    def _body(self, request: ChatRequest) -> dict[str, object]:
        # Everything optional goes through extra_body: llama.cpp's {"type": "json_object",
        # "schema": ...} is not in the SDK's types, and one path for all keeps them uniform.
        body: dict[str, object] = {}
        with self._lock:
            send_temperature = self._send_temperature
            completion_tokens = self._completion_tokens
        if send_temperature:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body["max_completion_tokens" if completion_tokens else "max_tokens"] = (
                request.max_tokens
            )
        response_format = _response_format(request)
        if response_format is not None:
            body["response_format"] = response_format
        if request.stream:
            body["stream"] = True
            with self._lock:
                if self._stream_options:
                    body["stream_options"] = {"include_usage": True}
        return body

    def _send(
        self,
        sdk: ModuleType,
        client: openai.OpenAI,
        request: ChatRequest,
        on_tokens: OnTokens | None,
    ) -> ChatReply:
        started = time.monotonic()
        end_by = started + request.time_limit if request.time_limit is not None else math.inf
        with self._open(sdk, client, request) as response:
            # The response headers are here: the one place the raw HTTP response is at hand.
            http = response.http_response
            # The headers' wait was bounded by the socket's read timeout; from here on the
            # watchdog bounds each phase, so the socket's own must not cut in first. The
            # timeout dict is the one the transport reads when the body is first read.
            timeouts = http.request.extensions.get("timeout")
            if isinstance(timeouts, dict):
                timeouts["read"] = min(max(request.timeout, request.idle_timeout), end_by - started)
            first_by = started + request.timeout
            expires, why = _expiry(first_by, end_by, "first-byte")
            watched = self._watchdog.watch(_socket_of(http), expires, why)
            limits = parse_rate_limit_headers(http.headers)
            try:
                reply = self._read(http, request, watched, on_tokens, end_by)
                return reply.model_copy(update={"rate_limits": limits}) if limits else reply
            except _transport_errors()[1]:
                reason = self._watchdog.check(watched)
                if reason is not None:
                    raise self._ended(reason, request) from None
                raise
            finally:
                self._watchdog.release(watched)

    @contextlib.contextmanager
    def _open(self, sdk: ModuleType, client: openai.OpenAI, request: ChatRequest) -> Iterator[Any]:
        """Send the request; the SDK's streaming response once its headers are in."""
        messages = cast(
            "list[ChatCompletionMessageParam]",
            [{"role": m.role, "content": m.content} for m in request.messages],
        )
        first = (
            request.timeout
            if request.time_limit is None
            else min(request.timeout, request.time_limit)
        )
        timeout = sdk.Timeout(max(first, 0.001), connect=min(_CONNECT_TIMEOUT, first))
        with client.chat.completions.with_streaming_response.create(
            model=self._model,
            messages=messages,
            extra_body=self._body(request),
            timeout=timeout,
        ) as response:
            yield response

    def _read(
        self,
        http: Any,
        request: ChatRequest,
        watched: Watched,
        on_tokens: OnTokens | None,
        end_by: float,
    ) -> ChatReply:
        """The body, piece by piece, moving the watchdog's expiry on after each."""
        from reviewer.llm.stream import StreamReader

        reader = StreamReader(self._base_url) if request.stream else None
        pieces: list[bytes] = []
        for piece in http.iter_bytes():
            if not piece:
                continue
            reason = self._watchdog.check(watched)
            if reason is not None:  # the deadline, or a cancel, while bytes still come
                raise self._ended(reason, request)
            now = time.monotonic()
            self._watchdog.extend(watched, *_expiry(now + request.idle_timeout, end_by, "idle"))
            pieces.append(piece)
            if reader is not None:
                seen = reader.pieces
                reader.feed(piece)
                if on_tokens is not None and reader.pieces != seen:
                    on_tokens(reader.pieces)
        if reader is not None and reader.started and not reader.whole:
            return self._reply(json.dumps(reader.result()).encode(), streamed=True)
        return self._reply(b"".join(pieces))

    def _adapt(self, exc: openai.APIStatusError, request: ChatRequest) -> bool:
        """Learn from a 400 naming a parameter this model does not take; True to resend."""
        if exc.status_code != 400:
            return False
        text = _error_text(exc).lower()
        with self._lock:
            if "stream_options" in text and request.stream and self._stream_options:
                self._stream_options = False
                return True
            if (
                "max_completion_tokens" in text
                and request.max_tokens is not None
                and not self._completion_tokens
            ):
                self._completion_tokens = True
                return True
            if (
                "temperature" in text
                and ("support" in text or "only the default" in text)
                and self._send_temperature
            ):
                self._send_temperature = False
                return True
        return False

    # ------------------------------------------------------------------ replies

    def _reply(self, raw: bytes, *, streamed: bool = False) -> ChatReply:
        # A proxy or a model may echo the key; nothing leaves the key's holder carrying it.
        if len(self._api_key) >= 8:
            raw = raw.replace(self._api_key.encode(), b"***")
        try:
            data = json.loads(raw)
        except ValueError:
            raise TransientProviderError(
                f"{self._base_url} answered with a body that is not JSON: {_snippet(raw)}",
                status=200,
            ) from None
        choice = _first_choice(data)
        if choice is None:
            raise TransientProviderError(
                f"{self._base_url} answered without choices: {_snippet(raw)}", status=200
            )
        message = choice.get("message") or {}
        usage = data.get("usage")
        reported = isinstance(usage, dict) and (
            _int(usage.get("prompt_tokens")) or _int(usage.get("completion_tokens"))
        )
        usage = usage if isinstance(usage, dict) else {}
        return ChatReply(
            content=_content_text(message.get("content")),
            finish_reason=_str_or_none(choice.get("finish_reason")),
            refusal=_str_or_none(message.get("refusal")) or None,
            usage=Usage(
                prompt_tokens=_int(usage.get("prompt_tokens")),
                completion_tokens=_int(usage.get("completion_tokens")),
                estimated=not reported,
            ),
            model=_str_or_none(data.get("model")),
            streamed=streamed,
        )

    # ------------------------------------------------------------------ errors

    def _scrub(self, text: str) -> str:
        if len(self._api_key) >= 8:
            text = text.replace(self._api_key, "***")
        return text

    def _status_error(self, exc: openai.APIStatusError, request: ChatRequest) -> ProviderError:
        status = exc.status_code
        # Scrubbed before the cut: a key straddling it would otherwise leave its first half.
        text = self._scrub(_error_text(exc, limit=None))[:_TEXT_MAX]
        where = self._base_url
        if status in (401, 403):
            hint = (
                f"check the API key in {self._key_env}"
                if self._key_env
                else "the endpoint wants an API key: name its variable with --api-key-env"
            )
            return AuthError(
                f"{where} refused the request (HTTP {status}: {text}); {hint}", status=status
            )
        if status == 404:
            if "model" in text.lower() or "deployment" in text.lower():
                return ModelNotFound(
                    f"model {self._model!r} not found at {where} (HTTP 404: {text})", status=404
                )
            return ModelNotFound(
                f"HTTP 404 from {self._scrub(str(exc.request.url))}: check the base URL (it must "
                f"be the API root that /chat/completions is appended to, e.g. .../v1) and the "
                f"model {self._model!r} ({text})",
                status=404,
            )
        if status in (400, 422) and request.stream and _STREAM_WORDS.search(text):
            return StreamRejected(
                f"{where} rejected streaming (HTTP {status}: {text})", status=status
            )
        if status in (400, 422, 500) and request.mode != "prompt" and _FORMAT_WORDS.search(text):
            return ResponseFormatRejected(
                f"{where} rejected response_format {request.mode!r} (HTTP {status}: {text})",
                status=status,
            )
        if status == 408:
            return ProviderTimeout(f"{where} timed out the request (HTTP 408: {text})", status=408)
        if status in {409, 429} or status >= 500:
            retry_after = _retry_after(exc.response.headers, time.time())
            return TransientProviderError(
                f"{where} answered HTTP {status}: {text}", status=status, retry_after=retry_after
            )
        return BadRequest(f"{where} rejected the request (HTTP {status}: {text})", status=status)

    def _header_timeout(self, request: ChatRequest, waited: float) -> ProviderError:
        if request.time_limit is not None and request.time_limit < request.timeout:
            return DeadlineExceeded(
                f"the run's deadline passed while waiting {waited:.1f}s for {self._base_url}"
            )
        return ProviderTimeout(f"{self._base_url} did not answer within {request.timeout:.1f}s")

    def _ended(self, reason: Reason, request: ChatRequest) -> ProviderError:
        """The error for a request the watchdog ended (or would have)."""
        where = self._base_url
        if reason == "first-byte":
            return ProviderTimeout(f"{where} did not answer within {request.timeout:.1f}s")
        if reason == "idle":
            return ProviderTimeout(
                f"{where} sent nothing for {request.idle_timeout:.1f}s in the middle of its "
                "answer (--idle-timeout)"
            )
        if reason == "deadline":
            return DeadlineExceeded(f"the run's deadline passed while {where} was still answering")
        return RequestCancelled("the run was interrupted")

    def _connection_error(self, cause: BaseException) -> TransientProviderError:
        text = str(cause).strip()
        detail = type(cause).__name__ + (f": {text}" if text else "")
        detail = self._scrub(detail)[:_TEXT_MAX]
        return TransientProviderError(f"connection to {self._base_url} failed ({detail})")


def _response_format(request: ChatRequest) -> dict[str, object] | None:
    if request.mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {
                "name": request.schema_name,
                "strict": True,
                "schema": request.json_schema,
            },
        }
    if request.mode == "json_object_schema":
        return {"type": "json_object", "schema": request.json_schema}
    if request.mode == "json_object":
        return {"type": "json_object"}
    return None


def _expiry(candidate: float, end_by: float, why: Reason) -> tuple[float, Reason]:
    """The earlier of a phase's bound and the run's deadline, and what reaching it means."""
    return (candidate, why) if candidate < end_by else (end_by, "deadline")


def _socket_of(http: Any) -> socket.socket | None:
    """The response's socket (httpcore's documented ``network_stream`` extension), or None."""
    import socket

    stream = http.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    return sock if isinstance(sock, socket.socket) else None


def _transport_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """Timeout and transport errors of the HTTP library under the SDK.

    Reading the body ourselves (for the total timeout) goes around the SDK's own mapping.
    openai 1.x sits on httpx, later versions on httpx2; both have the same hierarchy.
    """
    timeouts: list[type[Exception]] = []
    transport: list[type[Exception]] = []
    for name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        transport.append(module.TransportError)
        transport.append(module.StreamError)
    return tuple(timeouts), tuple(transport)


def _error_text(exc: openai.APIStatusError, limit: int | None = _TEXT_MAX) -> str:
    body: object = exc.body
    text: str
    if isinstance(body, dict):
        message = body.get("message")
        text = message if isinstance(message, str) and message else json.dumps(body)
    elif isinstance(body, str) and body:
        text = body
    else:
        text = exc.message
    text = " ".join(text.split())
    return text if limit is None else text[:limit]


def _retry_after(headers: Any, now: float) -> float | None:
    """Seconds to wait from retry-after-ms, or Retry-After as seconds or an HTTP-date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _first_choice(data: object) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    return cast("dict[str, Any]", choices[0])


def _content_text(content: object) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts, as some servers send them
        texts = [p.get("text") for p in content if isinstance(p, dict)]
        return "".join(t for t in texts if isinstance(t, str))
    return str(content)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _snippet(raw: bytes) -> str:
    return " ".join(raw[:200].decode("utf-8", "replace").split()) or "(empty)"
