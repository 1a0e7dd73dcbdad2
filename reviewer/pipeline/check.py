"""What a run does with one chunk's anchored findings before they join the others: the
repository's suppressions, then the verification pass. It runs in the worker that reviewed
the chunk, right after the review, so a chunk is finished (and its text dropped) at once.

1. Suppress (``reviewer.findings.suppress``): ``reviewer: ignore`` comments, and fingerprints
   the team marked as false positives on the pull request. Suppressed findings are never sent
   to be checked.
2. Verify (``--verify``, on by default): one request for a chunk that still has findings
   (``reviewer.llm.verify``), answered from the cache when the same request was answered
   before (its key hashes the verification request). A request too large for the context
   window is split in halves by candidates. Refuted findings are dropped with their reason;
   confirmed ones are corrected (``reviewer.findings.verdict``). A failed request (any
   provider error, the deadline) keeps its findings, marked unverified, with a warning: a
   failed check never loses a finding and never fails the run.
3. Suppress again by fingerprint: a corrected range changes the fingerprint.

``Checked`` values add up (``+``): the run's figures are the sum of its chunks'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

from reviewer.core.errors import ProviderError
from reviewer.core.settings import Settings
from reviewer.core.values import Chunk, DroppedFinding, Finding, RepoRules, Usage
from reviewer.findings.suppress import suppress
from reviewer.findings.verdict import Verdict, apply_verdict, unverified
from reviewer.llm.backend import Backend
from reviewer.llm.conversation import Outcome, ResponseModeState, StreamState
from reviewer.llm.modelinfo import SAFETY_MARGIN
from reviewer.llm.ratelimit import Gate
from reviewer.llm.verify import (
    VERIFY_PROMPT_VERSION,
    VerifyAnswer,
    VerifyOutcome,
    VerifyRequest,
    send_verification,
    verify_request,
)
from reviewer.pipeline.plan import cache_key
from reviewer.pipeline.ports import AnswerCache, Endpoint
from reviewer.prepare.tokens import Tokenizer


@dataclass(frozen=True, slots=True)
class Checked:
    """Findings after suppression and verification, with what it took."""

    findings: tuple[Finding, ...] = ()
    dropped: tuple[DroppedFinding, ...] = ()
    warnings: tuple[str, ...] = ()
    usage: Usage = field(default_factory=Usage)
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

    def __add__(self, other: Checked) -> Checked:
        summed: dict[str, object] = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name == "usage":
                summed[f.name] = Usage(
                    prompt_tokens=mine.prompt_tokens + theirs.prompt_tokens,
                    completion_tokens=mine.completion_tokens + theirs.completion_tokens,
                    estimated=mine.estimated or theirs.estimated,
                )
            elif f.name == "warnings":
                summed[f.name] = tuple(dict.fromkeys((*mine, *theirs)))
            else:
                summed[f.name] = mine + theirs
        return Checked(**summed)  # type: ignore[arg-type]


_KINDS = {
    "AuthError": "auth",
    "ModelNotFound": "model-not-found",
    "ResponseFormatRejected": "response-format",
}


@dataclass(frozen=True, slots=True)
class _Job:
    request: VerifyRequest
    key: str
    cached: VerifyAnswer | None  # an earlier run's answer to the same request


@dataclass(frozen=True, slots=True)
class Checker:
    """Everything checking a chunk's findings needs, shared by the run's workers: the rate
    gate, streaming memory and response modes are the review's own."""

    settings: Settings
    endpoint: Endpoint
    backend: Backend
    tokenizer: Tokenizer
    cache: AnswerCache | None
    rules: RepoRules
    gate: Gate
    streams: StreamState
    # The verification's own (its schema is not the review's), set from the review's at the
    # first check; None until then.
    modes: ResponseModeState | None
    window: int
    reserve: int
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    deadline: float

    def check(self, chunk: Chunk, findings: Sequence[Finding]) -> Checked:
        """See the module docstring."""
        first = suppress(findings, self.rules.dismissed)
        if not self.settings.verify or not first.findings:
            return Checked(
                findings=first.findings,
                dropped=first.dropped,
                warnings=first.warnings,
                suppressed=len(first.dropped),
            )
        jobs = self._jobs(chunk, first.findings)
        checked = Checked(
            dropped=first.dropped,
            warnings=first.warnings,
            suppressed=len(first.dropped),
            chunks=1,
            cached=int(all(job.cached is not None for job in jobs)),
        )
        for job in jobs:
            checked = checked + self._one(chunk, job)
        return checked

    def _one(self, chunk: Chunk, job: _Job) -> Checked:
        outcome = None if job.cached is not None else self._send(job)
        answer = job.cached or (outcome.answer if outcome is not None else None)
        warnings: tuple[str, ...] = ()
        if answer is None:
            verdict = unverified(job.request.candidates)
            warnings = (_failure_warning(chunk, job, outcome),)
        else:
            verdict = apply_verdict(chunk, job.request.candidates, answer)
        again = suppress(verdict.findings, self.rules.dismissed)
        spent = outcome if outcome is not None else VerifyOutcome()
        return Checked(
            findings=again.findings,
            dropped=(*verdict.dropped, *again.dropped),
            warnings=warnings,
            usage=spent.usage,
            requests=spent.requests,
            retries=spent.retries,
            failed=int(answer is None),
            suppressed=len(again.dropped),
            **_counts(verdict),
        )

    def _jobs(self, chunk: Chunk, candidates: tuple[Finding, ...]) -> list[_Job]:
        """One request for the chunk's candidates; halves of them while it is too large."""
        request = verify_request(chunk, candidates, self.settings)
        first_mode = self.endpoint.response_modes[0]
        key = cache_key(
            self.endpoint,
            self.settings,
            request.system(first_mode),
            request.text,
            VERIFY_PROMPT_VERSION,
        )
        hit = self.cache.get_verification(key) if self.cache is not None else None
        if hit is not None or len(candidates) == 1 or self._fits(request):
            return [_Job(request, key, hit)]
        middle = len(candidates) // 2
        return self._jobs(chunk, candidates[:middle]) + self._jobs(chunk, candidates[middle:])

    def _fits(self, request: VerifyRequest) -> bool:
        """Whether the request, with the schema in its prompt (the largest variant) and the
        answer's reserve, fits the model's window."""
        count = self.tokenizer.count
        tokens = count(request.system("prompt")) + count(request.text)
        return tokens <= self.window - self.reserve - SAFETY_MARGIN

    def _send(self, job: _Job) -> Outcome[VerifyAnswer]:
        count = self.tokenizer.count
        assert self.modes is not None
        try:
            tokens = count(job.request.system(self.modes.current)) + count(job.request.text)
            outcome = send_verification(
                job.request,
                backend=self.backend,
                modes=self.modes,
                gate=self.gate,
                settings=self.settings,
                deadline=self.deadline,
                max_tokens=self.reserve,
                max_tokens_ceiling=max(self.reserve, self.window - SAFETY_MARGIN - tokens),
                streams=self.streams,
                count_tokens=count,
                clock=self.clock,
                sleep=self.sleep,
            )
        except ProviderError as exc:
            # Even a run-level error (auth, no response format left) only costs the check. It
            # ended the conversation on an answer, so at least that request was made.
            return VerifyOutcome(
                failure_kind=_KINDS.get(type(exc).__name__, "failed"),
                failure_message=str(exc),
                requests=1,
            )
        if self.cache is not None and outcome.answer is not None:
            self.cache.put_verification(job.key, outcome.answer)
        return outcome

    def mode_warnings(self) -> tuple[str, ...]:
        if self.modes is None:
            return ()
        return tuple(
            f"the endpoint rejected response format {mode} ({reason}); fell back"
            for mode, reason in self.modes.rejections
        )


def _counts(verdict: Verdict) -> dict[str, int]:
    return {
        "confirmed": verdict.confirmed,
        "corrected": verdict.corrected,
        "refuted": len(verdict.dropped),
        "unverified": verdict.unverified,
    }


def _failure_warning(chunk: Chunk, job: _Job, outcome: Outcome[VerifyAnswer] | None) -> str:
    kind = (outcome.failure_kind if outcome else None) or "failed"
    message = (outcome.failure_message if outcome else None) or "no answer"
    count = len(job.request.candidates)
    noun = "finding is" if count == 1 else "findings are"
    return (
        f"the verification of chunk {chunk.index} failed ({kind}: {message}); "
        f"its {count} {noun} shown unverified"
    )
