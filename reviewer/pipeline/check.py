"""What a run does with its chunks' anchored findings before aggregating them: the
repository's suppressions, then the verification pass.

1. Suppress (``reviewer.findings.suppress``): ``reviewer: ignore`` comments, and fingerprints
   the team marked as false positives on the pull request. Suppressed findings are never sent
   to be checked.
2. Verify (``--verify``, on by default): one request per chunk that still has findings
   (``reviewer.llm.verify``), ``settings.jobs`` at a time, each answered from the cache when
   the same request was answered before (its key hashes the verification request). A request
   too large for the context window is split in halves by candidates. Refuted findings are
   dropped with their reason; confirmed ones are corrected (``reviewer.findings.verdict``).
   A failed request (any provider error, the deadline) keeps its findings, marked unverified,
   with a warning: a failed check never loses a finding and never fails the run.
3. Suppress again by fingerprint: a corrected range changes the fingerprint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from reviewer.core.errors import ProviderError
from reviewer.core.settings import Settings
from reviewer.core.values import Chunk, DroppedFinding, Finding, RepoRules, Usage
from reviewer.findings.collect import Anchored
from reviewer.findings.suppress import suppress
from reviewer.findings.verdict import Verdict, apply_verdict, unverified
from reviewer.llm.backend import Backend
from reviewer.llm.conversation import Outcome, ResponseModeState, StreamState
from reviewer.llm.modelinfo import SAFETY_MARGIN
from reviewer.llm.ratelimit import RateGate
from reviewer.llm.verify import (
    VERIFY_PROMPT_VERSION,
    VerifyAnswer,
    VerifyOutcome,
    VerifyRequest,
    send_verification,
    verify_request,
)
from reviewer.pipeline.execute import modes_to_try
from reviewer.pipeline.plan import ReviewPlan, cache_key
from reviewer.pipeline.ports import AnswerCache, Endpoint
from reviewer.prepare.tokens import Tokenizer


@dataclass(frozen=True, slots=True)
class Checked:
    """Every chunk's findings after suppression and verification, with what it took."""

    findings: tuple[Finding, ...] = ()
    dropped: tuple[DroppedFinding, ...] = ()
    warnings: tuple[str, ...] = ()
    usage: Usage = Usage()  # noqa: RUF009 - frozen, so sharing it is safe
    requests: int = 0
    retries: int = 0
    chunks: int = 0  # chunks whose findings were checked
    cached: int = 0  # ... whose every verification came from the cache
    failed: int = 0  # verification requests that failed
    confirmed: int = 0
    corrected: int = 0
    refuted: int = 0
    unverified: int = 0
    suppressed: int = 0


_KINDS = {
    "AuthError": "auth",
    "ModelNotFound": "model-not-found",
    "ResponseFormatRejected": "response-format",
}


@dataclass(frozen=True, slots=True)
class _Job:
    chunk: Chunk
    request: VerifyRequest
    key: str
    cached: VerifyAnswer | None  # an earlier run's answer to the same request


@dataclass(frozen=True, slots=True)
class Verifier:
    """Everything sending verification requests needs."""

    plan: ReviewPlan
    settings: Settings
    endpoint: Endpoint
    backend: Backend
    tokenizer: Tokenizer
    cache: AnswerCache | None
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    deadline: float
    learned: str | None = None  # the response mode the review settled on
    gate: RateGate | None = None  # the review's: one rate limit for every request of the run
    streams: StreamState | None = None  # the review's: an endpoint that rejected streaming


def check_findings(anchored: Anchored, rules: RepoRules, verifier: Verifier) -> Checked:
    """See the module docstring."""
    settings = verifier.settings
    suppressed = [(c.chunk, suppress(c.findings, rules.dismissed)) for c in anchored.chunks]
    dropped = [d for _, s in suppressed for d in s.dropped]
    warnings = [w for _, s in suppressed for w in s.warnings]
    to_check = [(chunk, s.findings) for chunk, s in suppressed if s.findings]
    if not settings.verify or not to_check:
        return Checked(
            findings=tuple(f for _, found in to_check for f in found),
            dropped=tuple(dropped),
            warnings=tuple(dict.fromkeys(warnings)),
            suppressed=len(dropped),
        )
    return _verify(to_check, rules, verifier, dropped, warnings)


def _verify(
    to_check: Sequence[tuple[Chunk, tuple[Finding, ...]]],
    rules: RepoRules,
    verifier: Verifier,
    dropped: list[DroppedFinding],
    warnings: list[str],
) -> Checked:
    jobs = [job for chunk, found in to_check for job in _jobs(chunk, found, verifier)]
    to_send = [job for job in jobs if job.cached is None]
    outcomes, mode_warnings = _send_all(to_send, verifier)
    suppressed = len(dropped)
    counts = dict.fromkeys(("confirmed", "corrected", "refuted", "unverified", "failed"), 0)
    findings: list[Finding] = []
    for job in jobs:
        outcome = outcomes.get(job.key)
        answer = job.cached or (outcome.answer if outcome is not None else None)
        if answer is None:
            verdict = unverified(job.request.candidates)
            counts["failed"] += 1
            warnings.append(_failure_warning(job, outcome))
        else:
            verdict = apply_verdict(job.chunk, job.request.candidates, answer)
        again = suppress(verdict.findings, rules.dismissed)
        findings.extend(again.findings)
        dropped.extend((*verdict.dropped, *again.dropped))
        suppressed += len(again.dropped)
        _count(counts, verdict)
    sent = list(outcomes.values())
    return Checked(
        findings=tuple(findings),
        dropped=tuple(dropped),
        warnings=tuple(dict.fromkeys([*mode_warnings, *warnings])),
        usage=Usage(
            prompt_tokens=sum(o.usage.prompt_tokens for o in sent),
            completion_tokens=sum(o.usage.completion_tokens for o in sent),
        ),
        requests=sum(o.requests for o in sent),
        retries=sum(o.retries for o in sent),
        chunks=len({job.chunk.id for job in jobs}),
        cached=len({job.chunk.id for job in jobs} - {j.chunk.id for j in to_send}),
        failed=counts["failed"],
        confirmed=counts["confirmed"],
        corrected=counts["corrected"],
        refuted=counts["refuted"],
        unverified=counts["unverified"],
        suppressed=suppressed,
    )


def _count(counts: dict[str, int], verdict: Verdict) -> None:
    counts["confirmed"] += verdict.confirmed
    counts["corrected"] += verdict.corrected
    counts["refuted"] += len(verdict.dropped)
    counts["unverified"] += verdict.unverified


def _failure_warning(job: _Job, outcome: Outcome[VerifyAnswer] | None) -> str:
    kind = (outcome.failure_kind if outcome else None) or "failed"
    message = (outcome.failure_message if outcome else None) or "no answer"
    count = len(job.request.candidates)
    noun = "finding is" if count == 1 else "findings are"
    return (
        f"the verification of chunk {job.chunk.index} failed ({kind}: {message}); "
        f"its {count} {noun} shown unverified"
    )


def _jobs(chunk: Chunk, candidates: tuple[Finding, ...], verifier: Verifier) -> list[_Job]:
    """One request for the chunk's candidates; halves of them while it is too large."""
    request = verify_request(chunk, candidates, verifier.settings)
    first_mode = verifier.endpoint.response_modes[0]
    key = cache_key(
        verifier.endpoint,
        verifier.settings,
        request.system(first_mode),
        request.text,
        VERIFY_PROMPT_VERSION,
    )
    hit = verifier.cache.get_verification(key) if verifier.cache is not None else None
    if hit is not None or len(candidates) == 1 or _fits(request, verifier):
        return [_Job(chunk, request, key, hit)]
    middle = len(candidates) // 2
    return _jobs(chunk, candidates[:middle], verifier) + _jobs(chunk, candidates[middle:], verifier)


def _fits(request: VerifyRequest, verifier: Verifier) -> bool:
    """Whether the request, with the schema in its prompt (the largest variant) and the
    answer's reserve, fits the model's window."""
    plan, count = verifier.plan, verifier.tokenizer.count
    tokens = count(request.system("prompt")) + count(request.text)
    return tokens <= plan.window - plan.reserve - SAFETY_MARGIN


def _send_all(
    jobs: Sequence[_Job], verifier: Verifier
) -> tuple[dict[str, Outcome[VerifyAnswer]], list[str]]:
    if not jobs:
        return {}, []
    modes = ResponseModeState(modes_to_try(verifier.endpoint, verifier.learned))
    gate = verifier.gate or RateGate(clock=verifier.clock, sleep=verifier.sleep)
    stop = threading.Event()

    def send(job: _Job) -> Outcome[VerifyAnswer]:
        if stop.is_set():
            return VerifyOutcome(failure_kind="cancelled", failure_message="the run ended")
        plan, count = verifier.plan, verifier.tokenizer.count
        try:
            tokens = count(job.request.system(modes.current)) + count(job.request.text)
            outcome = send_verification(
                job.request,
                backend=verifier.backend,
                modes=modes,
                gate=gate,
                settings=verifier.settings,
                deadline=verifier.deadline,
                max_tokens=plan.reserve,
                max_tokens_ceiling=max(plan.reserve, plan.window - SAFETY_MARGIN - tokens),
                streams=verifier.streams,
                count_tokens=count,
                clock=verifier.clock,
                sleep=verifier.sleep,
            )
        except ProviderError as exc:
            # Even a run-level error (auth, no response format left) only costs the check. It
            # ended the conversation on an answer, so at least that request was made.
            return VerifyOutcome(
                failure_kind=_KINDS.get(type(exc).__name__, "failed"),
                failure_message=str(exc),
                requests=1,
            )
        if verifier.cache is not None and outcome.answer is not None:
            verifier.cache.put_verification(job.key, outcome.answer)
        return outcome

    pool = ThreadPoolExecutor(max_workers=min(verifier.settings.jobs, len(jobs)))
    try:
        results = list(pool.map(send, jobs))
    except BaseException:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    warnings = [
        f"the endpoint rejected response format {mode} ({reason}); fell back"
        for mode, reason in modes.rejections
    ]
    return {job.key: outcome for job, outcome in zip(jobs, results, strict=True)}, warnings
