"""One chunk's conversation with the model.

``review_chunk`` sends the chunk, falls back through the response modes the endpoint
rejects, re-asks once after an invalid answer and once after a cut-off one, retries transient
failures with backoff through the shared ``RateGate``, and returns a ``ChunkOutcome``: an
answer, or the kind of failure. Only run-level errors escape it: ``AuthError`` and
``ModelNotFound`` (every chunk would fail the same way) and ``ResponseFormatRejected`` when no
response mode is left (only possible when ``--response-format`` forced one).

The system prompt depends on the mode (the schema is written into it when the endpoint does
not enforce one), so the caller passes ``system_for(mode) -> str``, e.g.
``functools.partial(system_prompt, language, instructions, path_instructions,
schema=strict_json_schema())``.

Answers are streamed while ``StreamState`` says so; an endpoint that rejects streaming turns
it off for every worker (``StreamRejected``), and the request is sent again unstreamed, not
counted as a retry. A reply without usage figures gets a local count (``count_tokens``),
marked ``Usage.estimated``.

Failure kinds (``ChunkOutcome.failure_kind``, ``ChunkFailure.kind``): "invalid-output",
"length", "refusal", "rate-limited", "server-error", "timeout", "bad-request", "deadline".
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from reviewer.core.errors import (
    AuthError,
    BadRequest,
    DeadlineExceeded,
    InvalidModelOutput,
    ModelNotFound,
    ProviderTimeout,
    ResponseFormatRejected,
    StreamRejected,
    TransientProviderError,
)
from reviewer.core.settings import Settings
from reviewer.core.values import Frozen, Usage
from reviewer.llm.answer import ModelAnswer, parse_answer, strict_json_schema
from reviewer.llm.backend import (
    Backend,
    ChatReply,
    ChatRequest,
    Message,
    OnTokens,
    ResponseMode,
)
from reviewer.llm.prompt import (
    build_messages,
    fewer_findings_message,
    length_placeholder,
    reask_message,
)
from reviewer.llm.ratelimit import Gate

_ECHO_MAX = 4000  # characters of an invalid answer echoed back in the re-ask
FEWER_FINDINGS = 10
_TOKENS_PER_MESSAGE = 4  # chat framing around each message, for a local usage count


class RetryPolicy(Frozen):
    """Backoff for transient failures: ``base_delay * 2**n``, capped, with jitter."""

    base_delay: float = Field(default=1.0, ge=0.0)
    max_delay: float = Field(default=30.0, ge=0.0)


AnswerT = TypeVar("AnswerT", bound=BaseModel)


class Outcome(Frozen, Generic[AnswerT]):
    """One conversation's result: an answer of the kind its ``AnswerReader`` reads, or the
    kind of failure."""

    answer: AnswerT | None = None
    failure_kind: str | None = None  # a ChunkFailure.kind
    failure_message: str | None = None
    usage: Usage = Usage()  # summed over every request of the chunk
    requests: int = 0
    retries: int = 0  # transient-failure retries (re-asks are requests, not retries)
    mode_used: ResponseMode | None = None
    streamed: bool = False  # the last answer came as a stream

    @property
    def ok(self) -> bool:
        return self.answer is not None


class ChunkOutcome(Outcome[ModelAnswer]):
    """A chunk's review: a ``ModelAnswer``, or the kind of failure."""


@dataclass(frozen=True, slots=True)
class AnswerReader(Generic[AnswerT]):
    """What a conversation asks for and how it reads the reply: the review's answer, or
    another request's (the verification pass, ``reviewer.llm.verify``)."""

    parse: Callable[[str], AnswerT]  # raises InvalidModelOutput
    outcome_type: type[Outcome[AnswerT]]
    schemas: Mapping[ResponseMode, dict[str, Any]]  # sent in the modes that take a schema
    schema_name: str = "review"


class StreamState:
    """Whether answers are streamed, shared by every worker. Once the endpoint rejects
    streaming, no worker asks for it again this run; the rejection is kept to be reported."""

    def __init__(self, enabled: bool = True) -> None:
        self._lock = threading.Lock()
        self._enabled = enabled
        self._rejection: str | None = None

    @property
    def enabled(self) -> bool:
        with self._lock:
            return self._enabled

    def reject(self, reason: str) -> None:
        with self._lock:
            if self._enabled:
                self._enabled = False
                self._rejection = reason

    @property
    def rejection(self) -> str | None:
        with self._lock:
            return self._rejection


class ResponseModeState:
    """The response modes still worth trying, strongest first, shared by every worker.

    A mode the endpoint rejects is dropped for the rest of the run, so later chunks start
    with the mode that works. Rejections are kept (``rejections``) to be reported loudly.
    """

    def __init__(self, modes: tuple[ResponseMode, ...]) -> None:
        if not modes:
            raise ValueError("at least one response mode is needed")
        self._lock = threading.Lock()
        self._modes = list(modes)
        self._accepted: ResponseMode | None = None
        self._rejections: list[tuple[ResponseMode, str]] = []

    @property
    def current(self) -> ResponseMode:
        with self._lock:
            if not self._modes:
                raise ResponseFormatRejected(self._exhausted_message())
            return self._modes[0]

    @property
    def remaining(self) -> tuple[ResponseMode, ...]:
        """The modes still worth trying (for another kind of request to start from)."""
        with self._lock:
            return tuple(self._modes)

    def reject(self, mode: ResponseMode, reason: str) -> None:
        """Drop ``mode`` (a no-op when another worker already did)."""
        with self._lock:
            if mode in self._modes:
                self._modes.remove(mode)
                self._rejections.append((mode, reason))

    def accept(self, mode: ResponseMode) -> None:
        with self._lock:
            if self._accepted is None:
                self._accepted = mode

    @property
    def accepted(self) -> ResponseMode | None:
        """The first mode that produced a valid answer (``Stats.response_format``)."""
        with self._lock:
            return self._accepted

    @property
    def learned(self) -> ResponseMode | None:
        """Where the endpoint's next run should start, or None when this run taught nothing.

        The accepted mode; else, once a stronger mode was rejected, the first one left: a
        model that answered badly in it says nothing about the endpoint's dialect.
        """
        with self._lock:
            if self._accepted is not None:
                return self._accepted
            return self._modes[0] if self._rejections and self._modes else None

    @property
    def rejections(self) -> tuple[tuple[ResponseMode, str], ...]:
        with self._lock:
            return tuple(self._rejections)

    def _exhausted_message(self) -> str:
        tried = "; ".join(f"{m}: {r}" for m, r in self._rejections)
        return f"the endpoint rejected every response format tried ({tried})"


class _Conversation(Generic[AnswerT]):
    """Mutable bookkeeping of one conversation (never shared between threads)."""

    def __init__(
        self,
        max_tokens: int | None,
        outcome_type: type[Outcome[AnswerT]],
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        self.outcome_type = outcome_type
        self.count_tokens = count_tokens
        self.streamed = False
        self.mode: ResponseMode | None = None
        self.messages: tuple[Message, ...] = ()
        self.reasked_invalid = False
        self.reasked_length = False
        self.max_tokens = max_tokens
        self.usage = Usage()
        self.requests = 0
        self.retries = 0

    def restart(self, mode: ResponseMode, system: str, user_text: str) -> None:
        self.mode = mode
        self.messages = build_messages(system, user_text)
        self.reasked_invalid = False
        self.reasked_length = False

    def add_usage(self, reply: ChatReply) -> None:
        """Add the reply's usage; counted here when the server reported none. Called before
        the messages grow for a re-ask, so they are the ones that were sent."""
        usage = reply.usage
        if usage.estimated and self.count_tokens is not None:
            count = self.count_tokens
            usage = Usage(
                prompt_tokens=sum(count(m.content) + _TOKENS_PER_MESSAGE for m in self.messages),
                completion_tokens=count(reply.content or reply.refusal or ""),
                estimated=True,
            )
        self.streamed = reply.streamed
        self.usage = Usage(
            prompt_tokens=self.usage.prompt_tokens + usage.prompt_tokens,
            completion_tokens=self.usage.completion_tokens + usage.completion_tokens,
            estimated=self.usage.estimated or usage.estimated,
        )

    def outcome(
        self,
        *,
        answer: AnswerT | None = None,
        kind: str | None = None,
        message: str | None = None,
    ) -> Outcome[AnswerT]:
        return self.outcome_type(
            answer=answer,
            failure_kind=kind,
            failure_message=message,
            usage=self.usage,
            requests=self.requests,
            retries=self.retries,
            mode_used=self.mode if answer is not None else None,
            streamed=self.streamed,
        )


def _transient_kind(exc: TransientProviderError) -> str:
    if isinstance(exc, ProviderTimeout):
        return "timeout"
    if exc.status == 429:
        return "rate-limited"
    return "server-error"


class _Attempts:
    """What every attempt of one chunk shares: where to send, when to stop, how to wait."""

    def __init__(
        self,
        *,
        backend: Backend,
        modes: ResponseModeState,
        streams: StreamState,
        gate: Gate,
        settings: Settings,
        deadline: float,
        tokens: int,
        policy: RetryPolicy,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        jitter: Callable[[], float],
    ) -> None:
        self.backend = backend
        self.modes = modes
        self.streams = streams
        self.gate = gate
        self.settings = settings
        self.deadline = deadline
        self.tokens = tokens  # estimated per request, for a tokens-per-minute limit
        self.policy = policy
        self.clock = clock
        self.sleep = sleep
        self.jitter = jitter

    def time_left(self, conv: _Conversation[AnswerT]) -> float | Outcome[AnswerT]:
        """Seconds the next attempt may take, after the shared rate gate lets it through;
        or why no attempt may start."""
        if self.clock() >= self.deadline:
            return conv.outcome(kind="deadline", message="the run's deadline passed")
        if not self.gate.acquire(self.deadline, self.tokens):
            return conv.outcome(
                kind="rate-limited",
                message="the rate limit (the provider's pause, or the requests/tokens per "
                "minute allowed) holds the next request past the deadline",
            )
        remaining = self.deadline - self.clock()
        if remaining <= 0:
            return conv.outcome(kind="deadline", message="the run's deadline passed")
        return remaining

    def send(
        self, conv: _Conversation[AnswerT], request: ChatRequest, on_tokens: OnTokens | None
    ) -> ChatReply | Outcome[AnswerT] | None:
        """The reply; or the chunk's failure; or None to go round again (a rejected response
        mode or streaming, a transient failure waited out). ``RequestCancelled`` passes."""
        conv.requests += 1
        try:
            reply = self.backend.complete(request, on_tokens)
        except ResponseFormatRejected as exc:
            self.modes.reject(request.mode, str(exc))
            return None
        except StreamRejected as exc:
            self.streams.reject(str(exc))
            return None
        except (AuthError, ModelNotFound):
            raise
        except TransientProviderError as exc:
            failure = self._wait_before_retry(exc, conv)
            if failure is not None:
                return conv.outcome(kind=_transient_kind(exc), message=failure)
            return None
        except BadRequest as exc:
            return conv.outcome(kind="bad-request", message=str(exc))
        except DeadlineExceeded as exc:
            return conv.outcome(kind="deadline", message=str(exc))
        if reply.rate_limits is not None:
            self.gate.observe(reply.rate_limits, self.tokens)
        return reply

    def _wait_before_retry(
        self, exc: TransientProviderError, conv: _Conversation[AnswerT]
    ) -> str | None:
        """Wait for the next attempt; the reason to give up instead, or None to retry."""
        if conv.retries >= self.settings.max_retries:
            return f"{exc} (gave up after {conv.retries} retries)"
        backoff = min(self.policy.max_delay, self.policy.base_delay * 2**conv.retries)
        # Jitter spreads the workers that failed together so they do not retry together.
        wait = (
            exc.retry_after if exc.retry_after is not None else backoff * (0.5 + self.jitter() / 2)
        )
        if self.clock() + wait >= self.deadline:
            return f"{exc} (the next attempt, in {wait:.1f}s, would start after the deadline)"
        conv.retries += 1
        if exc.retry_after is not None or exc.status == 429:
            # The limit is the key's, not this worker's: hold every worker.
            self.gate.pause_for(wait)
        else:
            self.sleep(wait)
        return None


def review_chunk(
    user_text: str,
    system_for: Callable[[ResponseMode], str],
    *,
    backend: Backend,
    modes: ResponseModeState,
    gate: Gate,
    settings: Settings,
    deadline: float,
    tokens: int = 0,
    max_tokens: int | None = None,
    max_tokens_ceiling: int | None = None,
    grammar_schema: dict[str, Any] | None = None,
    grammar_modes: tuple[ResponseMode, ...] = ("json_object_schema",),
    streams: StreamState | None = None,
    on_tokens: OnTokens | None = None,
    count_tokens: Callable[[str], int] | None = None,
    policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing it is safe
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> ChunkOutcome:
    """Review one chunk. ``deadline`` is a ``clock()`` time; no request starts after it.

    ``grammar_schema`` (``reviewer.llm.answer.grammar_json_schema``) replaces the strict schema
    in ``grammar_modes``, where the endpoint turns the schema it is given into a decoding
    grammar (llama.cpp's ``json_object_schema``; ``json_schema`` on Ollama, vLLM, LM Studio).
    ``tokens`` estimates one request's tokens (prompt and answer) for the gate. ``streams`` is
    shared by the run's workers (default: one of its own, per ``settings``); ``on_tokens``
    hears how far a streamed answer has come.
    """
    reader = AnswerReader(
        parse=parse_answer,
        outcome_type=ChunkOutcome,
        schemas=_schemas(grammar_schema, grammar_modes),
    )
    outcome = converse(
        user_text,
        system_for,
        reader,
        backend=backend,
        modes=modes,
        gate=gate,
        settings=settings,
        deadline=deadline,
        tokens=tokens,
        max_tokens=max_tokens,
        max_tokens_ceiling=max_tokens_ceiling,
        streams=streams,
        on_tokens=on_tokens,
        count_tokens=count_tokens,
        policy=policy,
        clock=clock,
        sleep=sleep,
        jitter=jitter,
    )
    assert isinstance(outcome, ChunkOutcome)
    return outcome


def converse(
    user_text: str,
    system_for: Callable[[ResponseMode], str],
    reader: AnswerReader[AnswerT],
    *,
    backend: Backend,
    modes: ResponseModeState,
    gate: Gate,
    settings: Settings,
    deadline: float,
    tokens: int = 0,
    max_tokens: int | None = None,
    max_tokens_ceiling: int | None = None,
    streams: StreamState | None = None,
    on_tokens: OnTokens | None = None,
    count_tokens: Callable[[str], int] | None = None,
    policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing it is safe
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> Outcome[AnswerT]:
    """One request's conversation (``review_chunk`` is the review's), read by ``reader``:
    response-format fallback, one re-ask after an invalid and one after a cut-off answer,
    retries with backoff. ``deadline`` is a ``clock()`` time; no request starts after it.

    Over 60 lines with its signature only: the loop below is ~40, every collaborator a
    parameter (the review and the verification pass share it)."""
    conv = _Conversation(max_tokens, reader.outcome_type, count_tokens)
    attempts = _Attempts(
        backend=backend,
        modes=modes,
        streams=streams if streams is not None else StreamState(settings.stream),
        gate=gate,
        settings=settings,
        deadline=deadline,
        tokens=tokens,
        policy=policy,
        clock=clock,
        sleep=sleep,
        jitter=jitter,
    )
    while True:
        mode = modes.current  # raises ResponseFormatRejected when none is left
        if mode != conv.mode:
            conv.restart(mode, system_for(mode), user_text)
        remaining = attempts.time_left(conv)
        if isinstance(remaining, Outcome):
            return remaining
        request = ChatRequest(
            messages=conv.messages,
            mode=mode,
            schema_name=reader.schema_name,
            json_schema=dict(reader.schemas.get(mode, {})),
            temperature=settings.temperature,
            max_tokens=conv.max_tokens,
            timeout=min(settings.timeout, remaining),
            stream=attempts.streams.enabled,
            idle_timeout=min(settings.idle_timeout, remaining),
            time_limit=remaining,
        )
        reply = attempts.send(conv, request, on_tokens)
        if reply is None:
            continue
        if isinstance(reply, Outcome):
            return reply
        verdict = _read_reply(conv, reply, modes, max_tokens_ceiling, reader.parse)
        if verdict is not None:
            return verdict


def _schemas(
    grammar_schema: dict[str, Any] | None,
    grammar_modes: tuple[ResponseMode, ...] = ("json_object_schema",),
) -> dict[ResponseMode, dict[str, Any]]:
    """The schema each mode sends: the strict one, or the grammar one in the modes where the
    endpoint compiles it into a decoding grammar; none in the other modes."""
    strict = strict_json_schema()
    schemas: dict[ResponseMode, dict[str, Any]] = {
        "json_schema": strict,
        "json_object_schema": strict,
    }
    for mode in grammar_modes:
        if grammar_schema is not None and mode in schemas:
            schemas[mode] = grammar_schema
    return schemas


def _read_reply(
    conv: _Conversation[AnswerT],
    reply: ChatReply,
    modes: ResponseModeState,
    max_tokens_ceiling: int | None,
    parse: Callable[[str], AnswerT],
) -> Outcome[AnswerT] | None:
    """The chunk's outcome from ``reply``; or None after setting up the next attempt (a
    re-ask for a cut-off or invalid answer, or the next response mode after a blank one)."""
    mode = conv.mode
    assert mode is not None
    conv.add_usage(reply)
    if reply.refusal:
        return conv.outcome(kind="refusal", message=f"the model refused: {reply.refusal[:500]}")
    if reply.finish_reason == "content_filter":
        # Not a response-format problem, even though the content is usually empty.
        return conv.outcome(
            kind="refusal", message="the provider's content filter stopped the answer"
        )
    if reply.finish_reason == "length":
        return _reask_cut_off(conv, max_tokens_ceiling)
    content = reply.content or ""
    if not content.strip() and mode != "prompt":
        # Seen on endpoints that accept a response_format they cannot honour (empty
        # JSON mode): the mode does not work here, so the next one is tried.
        modes.reject(mode, f"blank content in {mode} mode")
        return None
    try:
        answer = parse(content)
    except InvalidModelOutput as exc:
        if conv.reasked_invalid:
            return conv.outcome(
                kind="invalid-output",
                message=f"the answer was invalid twice; last error: {exc}",
            )
        conv.reasked_invalid = True
        echoed = content if len(content) <= _ECHO_MAX else content[:_ECHO_MAX] + " [...]"
        conv.messages += (Message(role="assistant", content=echoed), reask_message(str(exc)))
        return None
    modes.accept(mode)
    return conv.outcome(answer=answer)


def _reask_cut_off(
    conv: _Conversation[AnswerT], max_tokens_ceiling: int | None
) -> Outcome[AnswerT] | None:
    """Once: ask for fewer findings with a larger answer budget. Twice: the chunk fails."""
    if conv.reasked_length:
        return conv.outcome(
            kind="length",
            message="the answer was cut off at the token limit twice",
        )
    conv.reasked_length = True
    conv.messages += (length_placeholder(), fewer_findings_message(FEWER_FINDINGS))
    if conv.max_tokens is not None:
        raised = conv.max_tokens * 2
        if max_tokens_ceiling is not None:
            raised = min(raised, max_tokens_ceiling)
        conv.max_tokens = max(conv.max_tokens, raised)
    return None
