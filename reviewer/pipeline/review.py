"""``run_review``: the pipeline as one plain function, its collaborators passed in.

changes -> filters -> secret files -> redactor -> chunker -> (cache | llm) -> anchor
        -> aggregate -> ReviewResult
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Protocol

from reviewer import __version__
from reviewer.core.errors import ConfigError, CostLimitExceeded
from reviewer.core.globs import glob_matches
from reviewer.core.settings import Settings
from reviewer.core.values import (
    ChangeSet,
    Chunk,
    ChunkFailure,
    ChunkInfo,
    FileDiff,
    Finding,
    NotReviewed,
    ReviewResult,
    Stats,
    Usage,
)
from reviewer.findings.aggregate import aggregate, counts_by_severity
from reviewer.findings.anchor import anchor_findings, sanitize
from reviewer.findings.scoring import overall_score
from reviewer.llm.answer import (
    ModelAnswer,
    findings_cap,
    grammar_json_schema,
    strict_json_schema,
)
from reviewer.llm.backend import Backend, ResponseMode
from reviewer.llm.conversation import ChunkOutcome, ResponseModeState, review_chunk
from reviewer.llm.modelinfo import (
    DEFAULT_CONTEXT_WINDOW,
    DEFAULT_MAX_CHUNK_TOKENS,
    DEFAULT_OUTPUT_RESERVE,
    SAFETY_MARGIN,
    estimate_cost,
    model_info,
)
from reviewer.llm.prompt import DEFAULT_MAX_FINDINGS, system_prompt
from reviewer.llm.ratelimit import RateGate
from reviewer.prepare.chunker import make_chunks
from reviewer.prepare.filters import select_files
from reviewer.prepare.redact import is_secret_file, redact_files
from reviewer.prepare.render import render_chunk
from reviewer.prepare.tokens import Tokenizer

# Bump when the prompt or the answer schema changes: it is part of every cache key.
PROMPT_VERSION = "1"
# For the cost estimate before sending: a typical answer, capped by the reserve.
TYPICAL_ANSWER_TOKENS = 600


class Endpoint(Protocol):
    """Who answers: enough to label results and key the cache (never the API key)."""

    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def response_modes(self) -> tuple[ResponseMode, ...]: ...


class Progress(Protocol):
    def planned(self, chunks: int, files: int, tokens: int) -> None: ...
    def chunk_done(self, done: int, total: int, failed: bool) -> None: ...


class AnswerCache(Protocol):
    """Validated model answers by a key of everything that changes the answer."""

    def get(self, key: str) -> ModelAnswer | None: ...
    def put(self, key: str, answer: ModelAnswer) -> None: ...
    def get_mode(self, endpoint: str) -> str | None: ...
    def put_mode(self, endpoint: str, mode: str) -> None: ...


def _paths_instructions(settings: Settings, paths: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (pi.glob, pi.instructions)
        for pi in settings.path_instructions
        if any(glob_matches(pi.glob, p) for p in paths)
    )


def system_for(settings: Settings, paths: Sequence[str], mode: ResponseMode) -> str:
    return system_prompt(
        settings.language,
        settings.instructions,
        _paths_instructions(settings, paths),
        mode,
        strict_json_schema(),
    )


def _window(settings: Settings, model: str) -> int:
    info = model_info(model)
    return settings.context_window or (info.context_window if info else DEFAULT_CONTEXT_WINDOW)


def chunk_budget(settings: Settings, model: str, tokenizer: Tokenizer) -> tuple[int, int]:
    """(tokens a chunk's user message may take, tokens reserved for the answer)."""
    info = model_info(model)
    window = _window(settings, model)
    reserve = settings.max_output_tokens or (
        info.output_reserve if info else DEFAULT_OUTPUT_RESERVE
    )
    # The largest system prompt any chunk can get: schema in the prompt, every path instruction.
    largest = system_prompt(
        settings.language,
        settings.instructions,
        tuple((pi.glob, pi.instructions) for pi in settings.path_instructions),
        "prompt",
        strict_json_schema(),
    )
    budget = window - reserve - tokenizer.count(largest) - SAFETY_MARGIN
    budget = min(budget, settings.max_chunk_tokens or DEFAULT_MAX_CHUNK_TOKENS)
    if budget < 200:
        raise ConfigError(
            f"context window {window} is too small for model {model}: after the answer reserve "
            f"({reserve}) and the system prompt only {budget} tokens are left for code; "
            "raise --context-window or lower --max-output-tokens"
        )
    return budget, reserve


def cache_key(endpoint: Endpoint, settings: Settings, system: str, user: str) -> str:
    material = json.dumps(
        [
            PROMPT_VERSION,
            endpoint.base_url,
            endpoint.model,
            settings.temperature,
            system,
            user,
        ]
    )
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def _prices(settings: Settings, model: str) -> tuple[float | None, float | None]:
    info = model_info(model)
    price_in, price_out = settings.price_in, settings.price_out
    if info is not None:
        price_in = info.price_in if price_in is None else price_in
        price_out = info.price_out if price_out is None else price_out
    return price_in, price_out


def _combine_summaries(summaries: Sequence[str], files: int, failed: int) -> str:
    # Model text, like a finding's: no control characters or bidi overrides in any output.
    parts = list(dict.fromkeys(sanitize(s).strip() for s in summaries if s and s.strip()))
    text = "\n".join(parts)
    if len(text) > 2000:
        text = text[:1999] + "…"
    if failed:
        note = f"Review incomplete: {failed} chunk(s) failed."
        text = f"{note}\n{text}" if text else note
    if not text:
        text = f"Reviewed {files} file(s)." if files else "Nothing to review."
    return text


def run_review(
    changes: ChangeSet,
    settings: Settings,
    *,
    endpoint: Endpoint,
    backend: Backend,
    tokenizer: Tokenizer,
    dry_run: bool = False,
    cache: AnswerCache | None = None,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReviewResult:
    started = clock()
    files, skipped = select_files(changes.files, settings)
    not_reviewed: list[NotReviewed] = [*changes.not_reviewed, *skipped]
    kept: list[FileDiff] = []
    for fd in files:
        if is_secret_file(fd.path):
            not_reviewed.append(
                NotReviewed(path=fd.path, reason="secret-file", detail="never sent to the model")
            )
        else:
            kept.append(fd)
    redactions = 0
    if settings.redact:
        redacted, redactions = redact_files(kept)
        kept = list(redacted)

    chunks: tuple[Chunk, ...] = ()
    over_budget: tuple[NotReviewed, ...] = ()
    reserve = 0
    if kept:  # else no count is needed: a hook run with nothing staged never loads the tokenizer
        budget, reserve = chunk_budget(settings, endpoint.model, tokenizer)
        chunks, over_budget = make_chunks(kept, budget, tokenizer)
    not_reviewed.extend(over_budget)
    texts = {c.id: render_chunk(c.files) for c in chunks}
    systems = {c.id: system_for(settings, c.paths, endpoint.response_modes[0]) for c in chunks}
    system_tokens = {c.id: tokenizer.count(systems[c.id]) for c in chunks}
    keys = {c.id: cache_key(endpoint, settings, systems[c.id], texts[c.id]) for c in chunks}
    price_in, price_out = _prices(settings, endpoint.model)

    def estimate(sent: Sequence[Chunk]) -> tuple[int, float | None]:
        """(input tokens, USD) for sending ``sent``, with a typical answer per chunk."""
        tokens_in = sum(c.tokens + system_tokens[c.id] for c in sent)
        tokens_out = len(sent) * min(reserve, TYPICAL_ANSWER_TOKENS)
        return tokens_in, estimate_cost(tokens_in, tokens_out, price_in, price_out)

    est_in, est_cost = estimate(chunks)
    reviewed_paths = {f.path for c in chunks for f in c.files}
    infos = tuple(
        ChunkInfo(
            index=c.index,
            id=c.id,
            paths=c.paths,
            tokens=c.tokens + system_tokens[c.id],
            changed_lines=c.changed_lines,
        )
        for c in chunks
    )

    base_stats = {
        "files_total": len(changes.files) + len(changes.not_reviewed),
        "files_reviewed": len(reviewed_paths),
        "files_not_reviewed": len({n.path for n in not_reviewed}),
        "chunks": len(chunks),
        "estimated_tokens_in": est_in,
        "estimated_cost_usd": est_cost,
        "redactions": redactions,
    }

    def result(**kwargs: object) -> ReviewResult:
        return ReviewResult.model_validate(
            {
                "tool_version": __version__,
                "source": changes.description,
                "base_sha": changes.base_sha,
                "head_sha": changes.head_sha,
                "model": endpoint.model,
                "provider": endpoint.provider,
                "not_reviewed": tuple(not_reviewed),
                "reviewed_paths": tuple(sorted(reviewed_paths)),
                "chunks": infos,
                **kwargs,
            }
        )

    if progress:
        progress.planned(len(chunks), len(reviewed_paths), est_in)
    if dry_run or not chunks:
        stats = Stats(**base_stats, duration_s=round(clock() - started, 3))
        summary = "Dry run: nothing was sent." if dry_run else _combine_summaries([], 0, 0)
        return result(score=10, summary=summary, stats=stats, dry_run=dry_run)
    answered = _cached_answers(chunks, keys, cache)
    if settings.max_cost is not None:
        # Only what will be sent counts: a re-run answered from the cache costs nothing.
        to_send = [c for c in chunks if c.id not in answered]
        _, send_cost = estimate(to_send)
        if to_send and send_cost is None:
            raise CostLimitExceeded(
                f"--max-cost is set but the price of model {endpoint.model} is unknown; "
                "set price-in/price-out in the config; nothing was sent"
            )
        if send_cost is not None and send_cost > settings.max_cost:
            raise CostLimitExceeded(
                f"estimated cost ${send_cost:.4f} exceeds --max-cost ${settings.max_cost:.4f}; "
                "nothing was sent"
            )

    outcomes, warnings = _review_chunks(
        chunks,
        texts,
        keys,
        cached=answered,
        settings=settings,
        endpoint=endpoint,
        backend=backend,
        reserve=reserve,
        ceiling=_window(settings, endpoint.model) - SAFETY_MARGIN,
        system_tokens=system_tokens,
        cache=cache,
        progress=progress,
        clock=clock,
        sleep=sleep,
        deadline=started + settings.deadline,
    )

    findings: list[Finding] = []
    failures: list[ChunkFailure] = []
    summaries: list[str] = []
    usage_in = usage_out = requests = retries = cached = discarded = clamped = capped = 0
    modes: list[str] = []
    for chunk in chunks:
        outcome, from_cache = outcomes[chunk.id]
        cached += from_cache
        usage_in += outcome.usage.prompt_tokens
        usage_out += outcome.usage.completion_tokens
        requests += outcome.requests
        retries += outcome.retries
        if outcome.mode_used:
            modes.append(outcome.mode_used)
        if outcome.answer is None:
            failures.append(
                ChunkFailure(
                    chunk_id=chunk.id,
                    index=chunk.index,
                    paths=chunk.paths,
                    lines=chunk.changed_lines,
                    kind=outcome.failure_kind or "failed",
                    message=sanitize(outcome.failure_message or "the chunk could not be reviewed"),
                )
            )
            continue
        summaries.append(outcome.answer.summary)
        anchored = anchor_findings(outcome.answer.findings, chunk)
        findings.extend(anchored.findings)
        discarded += anchored.discarded
        clamped += anchored.clamped
        capped += anchored.capped

    agg = aggregate(
        findings,
        min_severity=settings.min_severity,
        min_confidence=settings.min_confidence,
        max_findings=settings.max_findings,
    )
    stats = Stats(
        **base_stats,
        chunks_failed=len(failures),
        chunks_cached=cached,
        requests=requests,
        retries=retries,
        tokens_in=usage_in,
        tokens_out=usage_out,
        cost_usd=estimate_cost(usage_in, usage_out, price_in, price_out),
        duration_s=round(clock() - started, 3),
        findings_total=len(agg.findings),
        findings_by_severity=counts_by_severity(agg.findings),
        discarded_findings=discarded + capped,
        clamped_findings=clamped,
        duplicate_findings=agg.duplicates,
        filtered_findings=agg.filtered,
        response_format=modes[-1] if modes else None,
    )
    return result(
        score=overall_score(agg.findings),
        summary=_combine_summaries(summaries, len(reviewed_paths), len(failures)),
        findings=agg.findings,
        failures=tuple(failures),
        stats=stats,
        warnings=warnings,
    )


def _cached_answers(
    chunks: Sequence[Chunk], keys: dict[str, str], cache: AnswerCache | None
) -> dict[str, ModelAnswer]:
    """The chunks an earlier run already answered, by chunk id."""
    if cache is None:
        return {}
    found: dict[str, ModelAnswer] = {}
    for chunk in chunks:
        answer = cache.get(keys[chunk.id])
        if answer is not None:
            found[chunk.id] = answer
    return found


def _review_chunks(
    chunks: Sequence[Chunk],
    texts: dict[str, str],
    keys: dict[str, str],
    *,
    cached: dict[str, ModelAnswer],
    settings: Settings,
    endpoint: Endpoint,
    backend: Backend,
    reserve: int,
    ceiling: int,
    system_tokens: dict[str, int],
    cache: AnswerCache | None,
    progress: Progress | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    deadline: float,
) -> tuple[dict[str, tuple[ChunkOutcome, bool]], tuple[str, ...]]:
    """Review every chunk, ``settings.jobs`` at a time, under one shared rate gate.

    Auth and unknown-model errors end the run (every other chunk would fail the same way).
    """
    mode_key = f"{endpoint.base_url}|{endpoint.model}"
    remembered = cache.get_mode(mode_key) if cache else None
    available = endpoint.response_modes
    if remembered in available:
        # An earlier run learned what this endpoint accepts: skip the rejected attempts.
        available = available[available.index(remembered) :]
    modes = ResponseModeState(available)
    gate = RateGate(clock=clock, sleep=sleep)
    done = 0
    lock = threading.Lock()
    results: dict[str, tuple[ChunkOutcome, bool]] = {}
    pending: list[Chunk] = []

    for chunk in chunks:
        answer = cached.get(chunk.id)
        if answer is not None:
            results[chunk.id] = (ChunkOutcome(answer=answer, usage=Usage()), True)
            done += 1
            if progress:
                progress.chunk_done(done, len(chunks), False)
        else:
            pending.append(chunk)

    # Set by the worker that hits a run-ending error, before its future completes: a worker
    # picks up the next chunk at once, before the main thread can cancel it.
    ended = threading.Event()

    def work(chunk: Chunk) -> ChunkOutcome:
        nonlocal done
        if ended.is_set():
            return ChunkOutcome(failure_kind="cancelled", failure_message="the run ended")
        try:
            outcome = review_one(chunk)
        except BaseException:
            ended.set()
            raise
        with lock:
            done += 1
            if progress and not ended.is_set():
                progress.chunk_done(done, len(chunks), outcome.answer is None)
        return outcome

    def review_one(chunk: Chunk) -> ChunkOutcome:
        outcome = review_chunk(
            texts[chunk.id],
            lambda mode: system_for(settings, chunk.paths, mode),
            backend=backend,
            modes=modes,
            gate=gate,
            settings=settings,
            max_tokens=reserve,
            max_tokens_ceiling=max(reserve, ceiling - chunk.tokens - system_tokens[chunk.id]),
            grammar_schema=grammar_json_schema(
                paths=chunk.paths,
                lines=(n for f in chunk.files for n in f.changed_lines),
                max_findings=findings_cap(reserve, DEFAULT_MAX_FINDINGS),
            ),
            deadline=deadline,
            clock=clock,
            sleep=sleep,
        )
        if cache and outcome.answer is not None:
            cache.put(keys[chunk.id], outcome.answer)
        return outcome

    if not pending:
        return results, ()
    pool = ThreadPoolExecutor(max_workers=min(settings.jobs, len(pending)))
    try:
        futures: dict[Future[ChunkOutcome], Chunk] = {pool.submit(work, c): c for c in pending}
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in finished:
            exc = future.exception()
            if exc is not None:
                raise exc
        for future, chunk in futures.items():
            results[chunk.id] = (future.result(), False)
    except BaseException:
        # Ctrl-C or a run-ending error: start nothing new, don't wait for requests in flight.
        ended.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    warnings = tuple(
        f"the endpoint rejected response format {mode} ({reason}); fell back"
        for mode, reason in modes.rejections
    )
    learned = modes.learned
    if cache and learned and learned != remembered:
        cache.put_mode(mode_key, learned)
    return results, warnings
