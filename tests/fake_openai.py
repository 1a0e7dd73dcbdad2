"""A real HTTP server on 127.0.0.1 speaking OpenAI chat completions, scripted per test.

    with FakeOpenAI() as srv:
        srv.enqueue(reply_json({"summary": "ok", "findings": []}))
        client = OpenAI(base_url=srv.base_url, api_key="sk-test")
        ...
        assert srv.requests[0].body["model"] == "gpt-4o-mini"

Replies come from the queue first, then from ``default`` (a function of the request).
Verification requests (``reviewer.llm.verify``, recognised by their system prompt) have
their own queue (``enqueue_verification``) and default (``verifier``, by default
``confirm_all``: every candidate confirmed as it is), so scripted review replies are never
consumed by them; ``review_requests``/``verify_requests`` split the history.
``dialects`` emulate providers before either queue is consulted: ``rejects_json_schema``
(DeepSeek-like 400), ``blank_json_object`` (empty content in JSON mode), ``llamacpp`` (500 on
json_schema, {"type": "json_object", "schema": ...} accepted), ``rejects_json_object``
(LM Studio-like). ``latency`` delays every reply (benchmarks).

Rate limits as OpenAI reports them: ``ratelimit_headers`` builds the ``x-ratelimit-*`` headers
for one reply; ``ProviderLimit`` is a dialect that plays a key's requests-per-window limit,
sending those headers on every reply and a 429 with ``retry-after`` past the limit.

Streaming: a request with ``"stream": true`` gets its completion as server-sent events (a
role chunk, the content in pieces of ``Reply.piece_chars``, the finish chunk, a usage chunk
when ``stream_options.include_usage`` asks for one, ``data: [DONE]``), one event every
``Reply.trickle`` seconds. ``Reply.stall_after`` stops sending after that many events and
holds the connection open (``stall`` seconds, or until the server stops);
``Reply.omit_usage`` leaves the usage chunk out. The server's ``stream`` mode: ``"sse"``
(the default, as above), ``"reject"`` (a 400 naming ``stream`` for every streamed request,
as some gateways do) or ``"ignore"`` (a plain JSON answer, as some servers do).
``disconnects`` counts the replies the client hung up on.

Served paths: ``/v1/chat/completions``, ``/chat/completions`` and Azure's
``/openai/deployments/<name>/chat/completions``; ``info`` maps other paths (GET or POST) to
JSON bodies, for local servers' model-info routes (``/props``, ``/api/show``, ...); anything
else is a plain-text 404.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PATHS = re.compile(r"^(/v1)?/chat/completions$|^/openai/deployments/[^/]+/chat/completions$")


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # JSON-serialisable; ignored when ``raw`` is set
    raw: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    trickle: float = 0.0  # seconds between body pieces (0: send at once)
    trickle_bytes: int = 1
    reset: bool = False  # close the socket with RST instead of answering
    content_type: str = "application/json"
    # streamed replies only
    piece_chars: int = 8  # content characters per event
    stall_after: int | None = None  # events sent before the stream goes silent
    stall: float = 3600.0  # how long it stays silent (the server's stop ends it sooner)
    omit_usage: bool = False  # no usage chunk even when the request asks for one

    def payload(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body).encode()


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-cased names
    raw: bytes
    body: Any  # parsed JSON, or None when the body is not JSON
    at: float  # time.monotonic() on arrival

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def response_format(self) -> dict[str, Any] | None:
        if isinstance(self.body, dict):
            return self.body.get("response_format")
        return None

    @property
    def format_type(self) -> str | None:
        rf = self.response_format
        return rf.get("type") if isinstance(rf, dict) else None

    @property
    def mode(self) -> str:
        """The reviewer ResponseMode this request used."""
        rf = self.response_format
        if rf is None:
            return "prompt"
        if rf.get("type") == "json_object" and "schema" in rf:
            return "json_object_schema"
        return str(rf.get("type"))

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True

    @property
    def system(self) -> str:
        return next((m["content"] for m in self.messages if m.get("role") == "system"), "")

    @property
    def user(self) -> str:
        """The first user message (the code, or the verification's candidates and code)."""
        return next((m["content"] for m in self.messages if m.get("role") == "user"), "")

    @property
    def is_verification(self) -> bool:
        return VERIFY_MARK in self.system


Dialect = Callable[[Received], "Reply | None"]
DefaultReply = Callable[[Received], Reply]

_ids = itertools.count(1)

# The first words of the verification pass's system prompt (reviewer/llm/verify_prompt.py).
VERIFY_MARK = "You check candidate findings of an automated code review"
_CANDIDATE = re.compile(r"^### Candidate (\d+)\n(\{.*\})$", re.MULTILINE)

EMPTY_ANSWER: dict[str, Any] = {"summary": "No problems found.", "findings": []}


# --------------------------------------------------------------------------- replies


def completion_body(
    content: str | None,
    *,
    finish_reason: str | None = "stop",
    usage: Mapping[str, int] | None = None,
    refusal: str | None = None,
    model: str = "fake-model",
) -> dict[str, Any]:
    usage = dict(usage or {"prompt_tokens": 100, "completion_tokens": 20})
    usage.setdefault(
        "total_tokens", usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)
    )
    return {
        "id": f"chatcmpl-fake-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": usage,
    }


def reply_text(
    content: str | None,
    *,
    finish_reason: str | None = "stop",
    usage: Mapping[str, int] | None = None,
    refusal: str | None = None,
    headers: Mapping[str, str] | None = None,
    delay: float = 0.0,
    trickle: float = 0.0,
) -> Reply:
    """A 200 completion whose message content is ``content`` verbatim."""
    return Reply(
        body=completion_body(content, finish_reason=finish_reason, usage=usage, refusal=refusal),
        headers=dict(headers or {}),
        delay=delay,
        trickle=trickle,
    )


def reply_json(
    answer: Mapping[str, Any],
    finish_reason: str | None = "stop",
    usage: Mapping[str, int] | None = None,
    **kwargs: Any,
) -> Reply:
    """A 200 completion whose content is ``answer`` serialised as JSON."""
    return reply_text(json.dumps(answer), finish_reason=finish_reason, usage=usage, **kwargs)


def reply_refusal(text: str = "I'm sorry, I can't help with that.") -> Reply:
    return reply_text(None, refusal=text)


def reply_error(
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    *,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    delay: float = 0.0,
) -> Reply:
    """An error in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return Reply(status=status, body=body, headers=dict(headers or {}), delay=delay)


def reply_raw(
    raw: bytes,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "text/plain",
    **kwargs: Any,
) -> Reply:
    return Reply(
        status=status, raw=raw, headers=dict(headers or {}), content_type=content_type, **kwargs
    )


def reply_reset(delay: float = 0.0) -> Reply:
    """Close the connection with a TCP reset, without a response."""
    return Reply(reset=True, delay=delay)


# --------------------------------------------------------------------------- dialects


def rejects_json_schema(req: Received) -> Reply | None:
    """DeepSeek: json_schema is refused with a 400 naming response_format."""
    if req.format_type == "json_schema":
        return reply_error(400, "This response_format type is unavailable now")
    return None


def rejects_json_object(req: Received) -> Reply | None:
    """LM Studio: only json_schema or text."""
    if req.format_type == "json_object":
        return Reply(
            status=400, body={"error": "'response_format.type' must be 'json_schema' or 'text'"}
        )
    return None


def blank_json_object(req: Received) -> Reply | None:
    """An endpoint that accepts JSON mode and answers with empty content."""
    if req.format_type == "json_object":
        return reply_text("")
    return None


def llamacpp(req: Received) -> Reply | None:
    """llama.cpp's server: json_schema fails with a 500; json_object(+schema) is served."""
    if req.format_type == "json_schema":
        return reply_error(
            500, "JSON schema conversion failed: Unrecognized schema", type="server_error"
        )
    return None


def go_duration(seconds: float) -> str:
    """OpenAI's reset format: ``1m30s``, ``1.5s``, ``250ms``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text


def ratelimit_headers(
    *,
    limit_requests: int | None = None,
    remaining_requests: int | None = None,
    reset_requests: float | None = None,
    limit_tokens: int | None = None,
    remaining_tokens: int | None = None,
    reset_tokens: float | None = None,
) -> dict[str, str]:
    values = {
        "x-ratelimit-limit-requests": limit_requests,
        "x-ratelimit-remaining-requests": remaining_requests,
        "x-ratelimit-limit-tokens": limit_tokens,
        "x-ratelimit-remaining-tokens": remaining_tokens,
    }
    headers = {k: str(v) for k, v in values.items() if v is not None}
    if reset_requests is not None:
        headers["x-ratelimit-reset-requests"] = go_duration(reset_requests)
    if reset_tokens is not None:
        headers["x-ratelimit-reset-tokens"] = go_duration(reset_tokens)
    return headers


class ProviderLimit:
    """A key allowed ``limit`` requests per ``window`` seconds (a sliding window), as a dialect:
    replies carry the ``x-ratelimit-*`` headers; past the limit, a 429 with ``retry-after``.
    ``rejected`` counts the 429s."""

    def __init__(self, limit: int, window: float, answer: DefaultReply | None = None) -> None:
        self.limit = limit
        self.window = window
        self.answer = answer or default_answer
        self.rejected = 0
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def __call__(self, req: Received) -> Reply:
        with self._lock:
            while self._times and self._times[0] <= req.at - self.window:
                self._times.popleft()
            if len(self._times) >= self.limit:
                self.rejected += 1
                wait = self._times[0] + self.window - req.at
                return reply_error(
                    429,
                    "Rate limit reached for requests",
                    headers={
                        "retry-after-ms": str(max(1, round(wait * 1000))),
                        **ratelimit_headers(
                            limit_requests=self.limit, remaining_requests=0, reset_requests=wait
                        ),
                    },
                    type="requests",
                    code="rate_limit_exceeded",
                )
            self._times.append(req.at)
            remaining = self.limit - len(self._times)
            reset = self._times[0] + self.window - req.at
        reply = self.answer(req)
        headers = ratelimit_headers(
            limit_requests=self.limit, remaining_requests=remaining, reset_requests=reset
        )
        return dataclasses.replace(reply, headers={**reply.headers, **headers})


def default_answer(_req: Received) -> Reply:
    return reply_json(EMPTY_ANSWER)


# --------------------------------------------------------------------------- verification


def candidates(req: Received) -> dict[int, dict[str, Any]]:
    """The candidate findings a verification request shows, by number."""
    return {int(n): json.loads(body) for n, body in _CANDIDATE.findall(req.user)}


def verdict(
    confirmed: Mapping[int, Mapping[str, Any]] | Iterable[int] = (),
    refuted: Mapping[int, str] | Iterable[int] = (),
    *,
    req: Received | None = None,
) -> Reply:
    """A verification answer. ``confirmed``: candidate numbers (copied from ``req``), or
    number -> the fields to change; ``refuted``: numbers, or number -> reason."""
    shown = candidates(req) if req is not None else {}
    changes = confirmed if isinstance(confirmed, Mapping) else {n: {} for n in confirmed}
    reasons = refuted if isinstance(refuted, Mapping) else dict.fromkeys(refuted, "Not real.")
    findings = [
        {"candidate": n, **shown.get(n, {}), "message": "It is real.", **dict(fields)}
        for n, fields in changes.items()
    ]
    return reply_json(
        {
            "findings": findings,
            "refuted": [{"candidate": n, "reason": r} for n, r in reasons.items()],
        }
    )


def confirm_all(req: Received) -> Reply:
    """Every candidate confirmed unchanged (the fake's default verifier)."""
    return verdict(confirmed=list(candidates(req)), req=req)


def refute_all(req: Received) -> Reply:
    return verdict(refuted={n: f"Candidate {n} is not a problem." for n in candidates(req)})


# --------------------------------------------------------------------------- server


class FakeOpenAI:
    def __init__(
        self,
        *,
        default: DefaultReply = default_answer,
        verifier: DefaultReply = confirm_all,
        dialects: Iterable[Dialect] = (),
        latency: float = 0.0,
        stream: str = "sse",
        info: Mapping[str, Any] | None = None,
    ) -> None:
        self.default = default
        self.verifier = verifier
        self.dialects = tuple(dialects)
        self.latency = latency
        self.stream = stream
        self.info: dict[str, Any] = dict(info or {})
        self.info_requests: list[str] = []
        self.disconnects = 0
        self._queue: deque[Reply] = deque()
        self._verify_queue: deque[Reply] = deque()
        self._history: list[Received] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting

    def enqueue(self, *replies: Reply) -> FakeOpenAI:
        with self._lock:
            self._queue.extend(replies)
        return self

    def enqueue_verification(self, *replies: Reply) -> FakeOpenAI:
        """Replies for the next verification requests (the review's queue is separate)."""
        with self._lock:
            self._verify_queue.extend(replies)
        return self

    def reset(self) -> FakeOpenAI:
        """Forget scripted replies and history (to reuse one server across tests)."""
        with self._lock:
            self._queue.clear()
            self._verify_queue.clear()
            self._history.clear()
        self.default = default_answer
        self.verifier = confirm_all
        self.dialects = ()
        self.latency = 0.0
        self.stream = "sse"
        self.info = {}
        self.info_requests = []
        self.disconnects = 0
        return self

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[Received]:
        """Requests received so far on the chat-completions paths, in arrival order."""
        with self._lock:
            return list(self._history)

    @property
    def review_requests(self) -> list[Received]:
        return [r for r in self.requests if not r.is_verification]

    @property
    def verify_requests(self) -> list[Received]:
        return [r for r in self.requests if r.is_verification]

    def _next_reply(self, req: Received) -> Reply:
        if req.stream and self.stream == "reject":
            return reply_error(400, "stream is not supported by this endpoint", param="stream")
        for dialect in self.dialects:
            reply = dialect(req)
            if reply is not None:
                return reply
        if req.is_verification:
            with self._lock:
                if self._verify_queue:
                    return self._verify_queue.popleft()
            return self.verifier(req)
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.default(req)

    # -- lifecycle

    @property
    def root_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            owner = fake

        server = _Server(("127.0.0.1", 0), Handler)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes handlers sleeping in a delay or a trickle
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait(self, seconds: float) -> bool:
        """Sleep unless the server stops first; False when it stopped."""
        return not self._stop.wait(seconds) if seconds > 0 else not self._stop.is_set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler stuck in a long delay must not hold up stop()
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up on purpose in these tests (timeouts, resets); stay quiet.
        pass


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOpenAI
    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections end on their own

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._info(self.path.partition("?")[0])

    def _info(self, path: str) -> None:
        owner = self.owner
        with owner._lock:
            owner.info_requests.append(f"{self.command} {path}")
            found = owner.info.get(path)
        if found is None:
            self._plain(404, b"404 page not found")
            return
        reply = found if isinstance(found, Reply) else Reply(body=found)
        if owner._wait(reply.delay):
            self._send(reply)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        if not _PATHS.match(path):
            self._info(path)
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        req = Received(
            method="POST",
            path=path,
            query=query,
            headers={k.lower(): v for k, v in self.headers.items()},
            raw=raw,
            body=body,
            at=time.monotonic(),
        )
        owner = self.owner
        with owner._lock:
            owner._history.append(req)
        reply = owner._next_reply(req)
        if not owner._wait(owner.latency + reply.delay):
            self.close_connection = True
            return
        try:
            if req.stream and owner.stream == "sse" and _is_completion(reply):
                self._send_events(reply, req)
            else:
                self._send(reply)
        except OSError:
            self.close_connection = True  # the client gave up (timeout) first
            with owner._lock:
                owner.disconnects += 1

    def _send_events(self, reply: Reply, req: Received) -> None:
        events = _events(reply, req)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()
        for n, event in enumerate(events):
            if reply.stall_after is not None and n >= reply.stall_after:
                self.owner._wait(reply.stall)
                self.close_connection = True
                return
            if n and not self.owner._wait(reply.trickle):
                self.close_connection = True
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send(self, reply: Reply) -> None:
        if reply.reset:
            # SO_LINGER with a zero timeout turns close() into a TCP RST.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        payload = reply.payload()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.trickle <= 0:
            self.wfile.write(payload)
            return
        self.wfile.flush()
        step = max(1, reply.trickle_bytes)
        for start in range(0, len(payload), step):
            self.wfile.write(payload[start : start + step])
            self.wfile.flush()
            if not self.owner._wait(reply.trickle):
                self.close_connection = True
                return

    def _plain(self, status: int, text: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)


def _is_completion(reply: Reply) -> bool:
    return (
        reply.status == 200
        and reply.raw is None
        and not reply.reset
        and isinstance(reply.body, dict)
        and isinstance(reply.body.get("choices"), list)
    )


def _events(reply: Reply, req: Received) -> list[bytes]:
    """The completion in ``reply`` as the server-sent events of a streamed answer."""
    body = reply.body
    choice = body["choices"][0]
    message = choice.get("message") or {}
    base = {
        "id": body.get("id", "chatcmpl-fake"),
        "object": "chat.completion.chunk",
        "created": body.get("created", 0),
        "model": body.get("model", "fake-model"),
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    content = message.get("content") or ""
    step = max(1, reply.piece_chars)
    chunks += [chunk({"content": content[i : i + step]}) for i in range(0, len(content), step)]
    if message.get("refusal"):
        chunks.append(chunk({"refusal": message["refusal"]}))
    chunks.append(chunk({}, choice.get("finish_reason")))
    options = req.body.get("stream_options") or {}
    if options.get("include_usage") and body.get("usage") and not reply.omit_usage:
        chunks.append({**base, "choices": [], "usage": body["usage"]})
    events = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks]
    return [*events, b"data: [DONE]\n\n"]
