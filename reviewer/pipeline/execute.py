"""Sending the plan: every chunk not answered from the cache, ``settings.jobs`` at a time, under
one shared rate gate and one shared memory of the response formats the endpoint accepts.

Auth and unknown-model errors end the run (every other chunk would fail the same way): the
first worker that hits one stops the others from starting, and the error propagates.
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
from reviewer.llm.conversation import ChunkOutcome, ResponseModeState, review_chunk
from reviewer.llm.modelinfo import SAFETY_MARGIN
from reviewer.llm.prompt import DEFAULT_MAX_FINDINGS
from reviewer.llm.ratelimit import RateGate, SharedLimiter
from reviewer.pipeline.plan import PlannedChunk, ReviewPlan, system_for
from reviewer.pipeline.ports import AnswerCache, Endpoint, Progress


@dataclass(frozen=True, slots=True)
class Executed:
    outcomes: dict[str, tuple[ChunkOutcome, bool]]  # by chunk id: (outcome, from the cache)
    warnings: tuple[str, ...]  # response-format fallbacks
    learned: str | None = None  # the response mode later requests of the endpoint start with

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
    gate: RateGate
    plan: ReviewPlan
    cache: AnswerCache | None
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    deadline: float

    def __call__(self, planned: PlannedChunk) -> ChunkOutcome:
        chunk, reserve = planned.chunk, self.plan.reserve
        ceiling = self.plan.window - SAFETY_MARGIN - planned.tokens
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
            deadline=self.deadline,
            clock=self.clock,
            sleep=self.sleep,
        )
        if self.cache and outcome.answer is not None:
            self.cache.put(planned.key, outcome.answer)
        return outcome


class _Tally:
    """Chunks done, reported to the progress display; silent once the run has ended."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total = total
        self.done = 0
        self.ended = threading.Event()
        self._progress = progress
        self._lock = threading.Lock()

    def tick(self, failed: bool) -> None:
        with self._lock:
            self.done += 1
            if self._progress and not self.ended.is_set():
                self._progress.chunk_done(self.done, self.total, failed)


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
) -> Executed:
    tally = _Tally(len(plan.chunks), progress)
    outcomes: dict[str, tuple[ChunkOutcome, bool]] = {}
    for chunk_id, answer in plan.cached.items():
        outcomes[chunk_id] = (ChunkOutcome(answer=answer, usage=Usage()), True)
        tally.tick(False)
    pending = plan.to_send
    if not pending:
        return Executed(outcomes, ())
    mode_key = f"{endpoint.base_url}|{endpoint.model}"
    remembered = cache.get_mode(mode_key) if cache else None
    modes = ResponseModeState(modes_to_try(endpoint, remembered))
    gate = RateGate(clock=clock, sleep=sleep, shared=limiter)
    prepare = getattr(backend, "prepare", None)  # optional: backends without setup lack it
    if limiter is not None and callable(prepare):
        prepare()
    send = Sender(settings, backend, modes, gate, plan, cache, clock, sleep, deadline)
    for planned, outcome in _run_concurrently(pending, send, settings.jobs, tally):
        outcomes[planned.chunk.id] = (outcome, False)
    learned = modes.learned
    if cache and learned and learned != remembered:
        cache.put_mode(mode_key, learned)
    warnings = tuple(
        f"the endpoint rejected response format {mode} ({reason}); fell back"
        for mode, reason in modes.rejections
    )
    return Executed(outcomes, warnings, learned or remembered)


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
        tally.tick(outcome.answer is None)
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
        # Ctrl-C or a run-ending error: start nothing new, don't wait for requests in flight.
        tally.ended.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results
