"""Sending the plan: every chunk not answered from the cache, ``settings.jobs`` at a time, under
one shared rate gate and one shared memory of the response formats the endpoint accepts and
of whether it streams (both remembered per endpoint in the cache for later runs).

Auth and unknown-model errors end the run (every other chunk would fail the same way): the
first worker that hits one stops the others from starting, and the error propagates. So does
Ctrl-C; either way the requests in flight are cancelled at once (``Backend.cancel``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from reviewer.core.settings import Settings
from reviewer.core.values import Chunk, Usage
from reviewer.llm.answer import ModelAnswer, findings_cap, grammar_json_schema
from reviewer.llm.backend import Backend, ResponseMode
from reviewer.llm.conversation import ChunkOutcome, ResponseModeState, StreamState, review_chunk
from reviewer.llm.modelinfo import SAFETY_MARGIN, estimate_cost
from reviewer.llm.prompt import DEFAULT_MAX_FINDINGS
from reviewer.llm.ratelimit import RateGate, SharedLimiter
from reviewer.pipeline.plan import PlannedChunk, ReviewPlan, system_for
from reviewer.pipeline.ports import AnswerCache, Endpoint, Progress
from reviewer.prepare.tokens import Tokenizer

UNSTREAMED = "unstreamed"  # remembered for an endpoint that rejected streaming


@dataclass(frozen=True, slots=True)
class Executed:
    outcomes: dict[str, tuple[ChunkOutcome, bool]]  # by chunk id: (outcome, from the cache)
    warnings: tuple[str, ...]  # response-format and streaming fallbacks
    learned: str | None = None  # the response mode later requests of the endpoint start with
    # Shared with the verification pass: one rate limit, one memory of streaming.
    gate: RateGate | None = None
    streams: StreamState | None = None

    def answers(self, plan: ReviewPlan) -> Iterator[tuple[Chunk, ModelAnswer]]:
        """Each answered chunk with its answer, in the plan's order."""
        for planned in plan.chunks:
            answer = self.outcomes[planned.chunk.id][0].answer
            if answer is not None:
                yield planned.chunk, answer


@dataclass(frozen=True, slots=True)
class Sender:
    """Everything one chunk's conversation needs besides the chunk."""

    settings: Settings
    backend: Backend
    modes: ResponseModeState
    streams: StreamState
    grammar_modes: tuple[ResponseMode, ...]
    gate: RateGate
    plan: ReviewPlan
    cache: AnswerCache | None
    tokenizer: Tokenizer | None
    tally: _Tally
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    deadline: float

    def __call__(self, planned: PlannedChunk) -> ChunkOutcome:
        chunk, reserve = planned.chunk, self.plan.reserve
        ceiling = self.plan.window - SAFETY_MARGIN - planned.tokens
        self.tally.started(chunk)
        outcome = review_chunk(
            planned.text,
            lambda mode: system_for(self.settings, chunk.paths, mode, self.plan.instructions),
            backend=self.backend,
            modes=self.modes,
            gate=self.gate,
            settings=self.settings,
            # What a provider counts against tokens per minute: the prompt and max_tokens.
            tokens=planned.tokens + reserve,
            max_tokens=reserve,
            max_tokens_ceiling=max(reserve, ceiling),
            grammar_schema=grammar_json_schema(
                paths=chunk.paths,
                lines=(n for f in chunk.files for n in f.changed_lines),
                max_findings=findings_cap(reserve, DEFAULT_MAX_FINDINGS),
            ),
            grammar_modes=self.grammar_modes,
            streams=self.streams,
            on_tokens=lambda tokens: self.tally.tokens(chunk.index, tokens),
            count_tokens=self.tokenizer.count if self.tokenizer else None,
            deadline=self.deadline,
            clock=self.clock,
            sleep=self.sleep,
        )
        if self.cache and outcome.answer is not None:
            self.cache.put(planned.key, outcome.answer)
        return outcome


class _Tally:
    """Chunks done and what they cost, reported to the progress display; silent once the run
    has ended."""

    def __init__(
        self, total: int, progress: Progress | None, prices: tuple[float | None, float | None]
    ) -> None:
        self.total = total
        self.done = 0
        self.ended = threading.Event()
        self._progress = progress
        self._prices = prices
        self._usage = Usage()
        self._lock = threading.Lock()

    def started(self, chunk: Chunk) -> None:
        if self._progress and not self.ended.is_set():
            self._progress.chunk_started(chunk.index, chunk.paths)

    def tokens(self, index: int, tokens: int) -> None:
        if self._progress and not self.ended.is_set():
            self._progress.chunk_tokens(index, tokens)

    def tick(self, index: int, outcome: ChunkOutcome) -> None:
        with self._lock:
            self.done += 1
            self._usage = Usage(
                prompt_tokens=self._usage.prompt_tokens + outcome.usage.prompt_tokens,
                completion_tokens=self._usage.completion_tokens + outcome.usage.completion_tokens,
            )
            cost = estimate_cost(
                self._usage.prompt_tokens, self._usage.completion_tokens, *self._prices
            )
            if self._progress and not self.ended.is_set():
                self._progress.chunk_done(
                    self.done, self.total, outcome.answer is None, index=index, cost_usd=cost
                )


def execute_plan(
    plan: ReviewPlan,
    settings: Settings,
    *,
    endpoint: Endpoint,
    backend: Backend,
    cache: AnswerCache | None,
    progress: Progress | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    deadline: float,
    limiter: SharedLimiter | None = None,
    tokenizer: Tokenizer | None = None,
) -> Executed:
    tally = _Tally(len(plan.chunks), progress, plan.prices)
    outcomes: dict[str, tuple[ChunkOutcome, bool]] = {}
    for planned in plan.chunks:
        answer = plan.cached.get(planned.chunk.id)
        if answer is not None:
            outcomes[planned.chunk.id] = (ChunkOutcome(answer=answer, usage=Usage()), True)
            tally.tick(planned.chunk.index, outcomes[planned.chunk.id][0])
    pending = plan.to_send
    if not pending:
        return Executed(outcomes, ())
    mode_key = f"{endpoint.base_url}|{endpoint.model}"
    remembered = cache.get_mode(mode_key) if cache else None
    modes = ResponseModeState(modes_to_try(endpoint, remembered))
    stream_key = f"{mode_key}|stream"
    unstreamed = bool(cache and cache.get_mode(stream_key) == UNSTREAMED)
    streams = StreamState(settings.stream and not unstreamed)
    prepare = getattr(backend, "prepare", None)  # optional: backends without setup lack it
    if limiter is not None and callable(prepare):
        prepare()
    send = Sender(
        settings=settings,
        backend=backend,
        modes=modes,
        streams=streams,
        grammar_modes=endpoint.grammar_modes,
        gate=RateGate(clock=clock, sleep=sleep, shared=limiter),
        plan=plan,
        cache=cache,
        tokenizer=tokenizer,
        tally=tally,
        clock=clock,
        sleep=sleep,
        deadline=deadline,
    )
    for planned, outcome in _run_concurrently(pending, send, settings.jobs, tally, backend):
        outcomes[planned.chunk.id] = (outcome, False)
    learned = modes.learned
    if cache and learned and learned != remembered:
        cache.put_mode(mode_key, learned)
    warnings = [
        f"the endpoint rejected response format {mode} ({reason}); fell back"
        for mode, reason in modes.rejections
    ]
    if streams.rejection is not None:
        if cache:
            cache.put_mode(stream_key, UNSTREAMED)
        warnings.append(
            f"the endpoint rejected streaming ({streams.rejection}); answers are read whole, "
            "with no progress while they are written (remembered for this endpoint)"
        )
    return Executed(outcomes, tuple(warnings), learned or remembered, send.gate, streams)


def modes_to_try(endpoint: Endpoint, remembered: str | None) -> tuple[ResponseMode, ...]:
    available = endpoint.response_modes
    for index, mode in enumerate(available):
        if mode == remembered:
            # An earlier run learned what this endpoint accepts: skip the rejected attempts.
            return available[index:]
    return available


def _run_concurrently(
    pending: Sequence[PlannedChunk],
    send: Callable[[PlannedChunk], ChunkOutcome],
    jobs: int,
    tally: _Tally,
    backend: Backend,
) -> list[tuple[PlannedChunk, ChunkOutcome]]:
    # ``tally.ended`` is set by the worker that hits a run-ending error, before its future
    # completes: a worker picks up the next chunk at once, before the main thread can cancel it.
    def work(planned: PlannedChunk) -> ChunkOutcome:
        if tally.ended.is_set():
            return ChunkOutcome(failure_kind="cancelled", failure_message="the run ended")
        try:
            outcome = send(planned)
        except BaseException:
            tally.ended.set()
            raise
        tally.tick(planned.chunk.index, outcome)
        return outcome

    pool = ThreadPoolExecutor(max_workers=min(jobs, len(pending)))
    try:
        futures: dict[Future[ChunkOutcome], PlannedChunk] = {
            pool.submit(work, p): p for p in pending
        }
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in finished:
            exc = future.exception()
            if exc is not None:
                raise exc
        results = [(planned, future.result()) for future, planned in futures.items()]
    except BaseException:
        # Ctrl-C or a run-ending error: start nothing new, end the requests in flight now
        # (a local server stops generating for nobody) and don't wait for their workers.
        tally.ended.set()
        backend.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results
