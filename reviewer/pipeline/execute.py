"""Sending chunks: each one, on a worker thread, is reviewed (or answered from the cache), its
findings anchored, suppressed and verified (``reviewer.pipeline.check``), and only the result
is kept: the chunk's text is dropped as soon as it is done.

``Session`` holds what every chunk's work shares: one rate gate (with the store's limiter),
one memory of the response formats and of streaming the endpoint accepts, the progress tally.
``Dispatcher`` runs the work ``settings.jobs`` at a time while the planning thread goes on
preparing the next wave, with at most ``2 x jobs`` chunks waiting, so memory stays flat.

Auth and unknown-model errors end the run (every other chunk would fail the same way): the
first worker that hits one stops the others from starting, and the error propagates.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from reviewer.core.settings import Settings
from reviewer.core.values import Chunk, InstructionFile, RepoRules, Usage
from reviewer.findings.anchor import anchor_findings
from reviewer.llm.answer import ModelAnswer, findings_cap, grammar_json_schema
from reviewer.llm.backend import Backend, ResponseMode
from reviewer.llm.conversation import ChunkOutcome, ResponseModeState, StreamState, review_chunk
from reviewer.llm.modelinfo import SAFETY_MARGIN, estimate_cost
from reviewer.llm.prompt import DEFAULT_MAX_FINDINGS
from reviewer.llm.ratelimit import RateGate, SharedLimiter
from reviewer.pipeline.check import Checked, Checker
from reviewer.pipeline.plan import PlannedChunk, system_for
from reviewer.pipeline.ports import AnswerCache, Endpoint, Progress
from reviewer.prepare.tokens import Tokenizer

UNSTREAMED = "unstreamed"  # remembered for an endpoint that rejected streaming


@dataclass(frozen=True, slots=True)
class Job:
    """One chunk to finish: its plan, and an earlier run's answer when the cache had one."""

    planned: PlannedChunk
    cached: ModelAnswer | None
    reserve: int
    window: int
    instructions: tuple[InstructionFile, ...] = ()  # the plan's instruction files, for the prompt


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """What a finished chunk leaves behind (no code): its outcome and its findings."""

    index: int
    chunk_id: str
    paths: tuple[str, ...]
    changed_lines: int
    outcome: ChunkOutcome
    cached: bool
    checked: Checked
    discarded: int = 0  # off the chunk's changed lines, or over a chunk's cap
    clamped: int = 0


class Tally:
    """Chunks done and what they cost, reported to the progress display; silent once the run
    has ended. The total grows as waves are planned."""

    def __init__(
        self, progress: Progress | None, prices: tuple[float | None, float | None]
    ) -> None:
        self.total = 0
        self.done = 0
        self.ended = threading.Event()
        self._progress = progress
        self._prices = prices
        self._usage = Usage()
        self._lock = threading.Lock()

    def planned(self, chunks: int, files: int, tokens: int) -> None:
        with self._lock:
            self.total += chunks
            total = self.total
        if self._progress:
            self._progress.planned(total, files, tokens)

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


class Session:
    """What every chunk's work shares (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        *,
        endpoint: Endpoint,
        backend: Backend,
        tokenizer: Tokenizer,
        cache: AnswerCache | None,
        tally: Tally,
        rules: RepoRules,
        window: int,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        deadline: float,
        limiter: SharedLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self.backend = backend
        self.tokenizer = tokenizer
        self.cache = cache
        self.tally = tally
        self.clock = clock
        self.sleep = sleep
        self.deadline = deadline
        self._limiter = limiter
        self._mode_key = f"{endpoint.base_url}|{endpoint.model}"
        self._remembered = cache.get_mode(self._mode_key) if cache else None
        self.modes = ResponseModeState(modes_to_try(endpoint, self._remembered))
        unstreamed = bool(cache and cache.get_mode(self._stream_key) == UNSTREAMED)
        self.streams = StreamState(settings.stream and not unstreamed)
        self.gate = RateGate(clock=clock, sleep=sleep, shared=limiter)
        self._prepared = False
        # Set once the first chunk's client is built (or failed to be): until then a large
        # change's next wave waits, so the first request is not slowed by planning it.
        self.under_way = threading.Event()
        self._lock = threading.Lock()
        self.checker = Checker(
            settings=settings,
            endpoint=endpoint,
            backend=backend,
            tokenizer=tokenizer,
            cache=cache,
            rules=rules,
            gate=self.gate,
            streams=self.streams,
            modes=None,  # from the review's, once the first review has taught it something
            window=window,
            reserve=0,  # set per job: the plan's reserve
            clock=clock,
            sleep=sleep,
            deadline=deadline,
        )

    @property
    def _stream_key(self) -> str:
        return f"{self._mode_key}|stream"

    def process(self, job: Job) -> ChunkResult:
        """One chunk, start to finish (a worker thread)."""
        chunk = job.planned.chunk
        if job.cached is not None:
            outcome = ChunkOutcome(answer=job.cached, usage=Usage())
            self.tally.tick(chunk.index, outcome)
        else:
            outcome = self._review(job)
        base = ChunkResult(
            index=chunk.index,
            chunk_id=chunk.id,
            paths=chunk.paths,
            changed_lines=chunk.changed_lines,
            outcome=outcome,
            cached=job.cached is not None,
            checked=Checked(),
        )
        if outcome.answer is None:
            return base
        anchored = anchor_findings(outcome.answer.findings, chunk)
        checked = self._checker(job.reserve).check(chunk, anchored.findings)
        return _replace(
            base,
            checked=checked,
            discarded=anchored.discarded + anchored.capped,
            clamped=anchored.clamped,
        )

    def _checker(self, reserve: int) -> Checker:
        """The verification starts where the reviews got to: no second response-format
        fallback, no second warning."""
        with self._lock:
            if self.checker.modes is None:
                modes = ResponseModeState(self.modes.remaining or self.endpoint.response_modes)
                self.checker = dataclasses.replace(self.checker, modes=modes)
            if self.checker.reserve != reserve:
                self.checker = dataclasses.replace(self.checker, reserve=reserve)
            return self.checker

    def _review(self, job: Job) -> ChunkOutcome:
        planned, reserve = job.planned, job.reserve
        chunk = planned.chunk
        self._prepare()
        text_tokens = max(chunk.tokens, chunk.tokens_max or 0)
        ceiling = job.window - SAFETY_MARGIN - planned.system_tokens - text_tokens
        self.tally.started(chunk)
        outcome = review_chunk(
            planned.text,
            lambda mode: system_for(self.settings, chunk.paths, mode, job.instructions),
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
            grammar_modes=self.endpoint.grammar_modes,
            streams=self.streams,
            on_tokens=lambda tokens: self.tally.tokens(chunk.index, tokens),
            count_tokens=self.tokenizer.count,
            deadline=self.deadline,
            clock=self.clock,
            sleep=self.sleep,
        )
        if self.cache and outcome.answer is not None:
            self.cache.put(planned.key, outcome.answer)
        self.tally.tick(chunk.index, outcome)
        return outcome

    def _prepare(self) -> None:
        """The client is built before the first request: with a shared limiter, so that a
        request reaches the provider when its slot comes, not ~0.5 s later; and so that the
        next wave is planned once the SDK is imported (``under_way``), not meanwhile."""
        with self._lock:
            if self._prepared:
                return
            self._prepared = True
        try:
            prepare = getattr(self.backend, "prepare", None)  # backends without setup lack it
            if callable(prepare):
                prepare()
        finally:
            self.under_way.set()

    def finish(self) -> tuple[tuple[str, ...], str | None]:
        """The fallbacks to report, and the response mode the endpoint settled on; what was
        learned about the endpoint is remembered for later runs."""
        learned = self.modes.learned
        if self.cache and learned and learned != self._remembered:
            self.cache.put_mode(self._mode_key, learned)
        warnings = [
            f"the endpoint rejected response format {mode} ({reason}); fell back"
            for mode, reason in self.modes.rejections
        ]
        warnings += self.checker.mode_warnings()
        if self.streams.rejection is not None:
            if self.cache:
                self.cache.put_mode(self._stream_key, UNSTREAMED)
            warnings.append(
                f"the endpoint rejected streaming ({self.streams.rejection}); answers are read "
                "whole, with no progress while they are written (remembered for this endpoint)"
            )
        return tuple(dict.fromkeys(warnings)), learned or self._remembered


def _replace(result: ChunkResult, **changes: object) -> ChunkResult:
    return dataclasses.replace(result, **changes)  # type: ignore[arg-type]


def modes_to_try(endpoint: Endpoint, remembered: str | None) -> tuple[ResponseMode, ...]:
    available = endpoint.response_modes
    for index, mode in enumerate(available):
        if mode == remembered:
            # An earlier run learned what this endpoint accepts: skip the rejected attempts.
            return available[index:]
    return available


class Dispatcher:
    """Runs ``work`` on ``jobs`` threads, in the order submitted; ``submit`` waits while
    ``2 x jobs`` are pending. A run-ending error in any worker stops the others from starting
    and is raised by the next ``submit`` or by ``results``."""

    def __init__(
        self,
        work: Callable[[Job], ChunkResult],
        jobs: int,
        tally: Tally,
        backend: Backend,
    ) -> None:
        self._work = work
        self._tally = tally
        self._backend = backend
        self._pool = ThreadPoolExecutor(max_workers=jobs)
        self._slots = threading.Semaphore(2 * jobs)
        self._futures: list[Future[ChunkResult]] = []

    def submit(self, job: Job) -> None:
        # Waits for a slot in short steps, so an error elsewhere (or Ctrl-C) ends the wait.
        while not self._slots.acquire(timeout=0.05):
            self._raise_failed()
        self._raise_failed()
        self._futures.append(self._pool.submit(self._run, job))

    def _run(self, job: Job) -> ChunkResult:
        try:
            if self._tally.ended.is_set():
                return _cancelled(job)
            return self._work(job)
        except BaseException:
            self._tally.ended.set()
            raise
        finally:
            self._slots.release()

    def _raise_failed(self) -> None:
        if not self._tally.ended.is_set():
            return
        for future in self._futures:
            if future.done() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]

    def results(self) -> list[ChunkResult]:
        finished, _ = wait(self._futures, return_when=FIRST_EXCEPTION)
        for future in finished:
            exc = future.exception()
            if exc is not None:
                raise exc
        return [future.result() for future in self._futures]

    def close(self, *, failed: bool) -> None:
        """Ctrl-C or a run-ending error: start nothing new, end the requests in flight now (a
        local server stops generating for nobody) and don't wait for their workers."""
        if failed:
            self._tally.ended.set()
            self._backend.cancel()
            self._pool.shutdown(wait=False, cancel_futures=True)
        else:
            self._pool.shutdown(wait=True)


def _cancelled(job: Job) -> ChunkResult:
    chunk = job.planned.chunk
    return ChunkResult(
        index=chunk.index,
        chunk_id=chunk.id,
        paths=chunk.paths,
        changed_lines=chunk.changed_lines,
        outcome=ChunkOutcome(failure_kind="cancelled", failure_message="the run ended"),
        cached=False,
        checked=Checked(),
    )
