"""A verification answer applied to the candidates it judged -> the findings a chunk keeps.

* A confirmed candidate (in ``findings`` with its ``candidate`` number) is kept with
  ``verified=True``. Its path, category, title and message stay the candidate's (so its rule
  and fingerprint stay stable); severity, confidence, range and suggestion are the checked
  ones. The corrected range is anchored like any model finding (``reviewer.findings.anchor``):
  clamped to the chunk's changed lines, or, when it lands on none, the candidate's own range is
  kept (a confirmed finding is never dropped for a bad correction).
* A refuted candidate (in ``refuted``), or one in neither list, is dropped with its reason.
  One in both lists is kept: an ambiguous verdict does not lose a finding.
* Entries naming no candidate, or a candidate already judged, are ignored and counted.
* A failed check keeps every candidate, marked ``verified=False``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reviewer.core.values import Chunk, DroppedFinding, Finding
from reviewer.findings.anchor import anchor_each, sanitize
from reviewer.findings.scoring import finding_score
from reviewer.llm.answer import ModelFinding
from reviewer.llm.verify import VerifyAnswer

LEFT_OUT = "left out by the verification pass (no reason given)"
_REASON_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Verdict:
    findings: tuple[Finding, ...]  # confirmed (verified=True) or unchecked (verified=False)
    dropped: tuple[DroppedFinding, ...] = ()  # refuted, with the reason
    confirmed: int = 0
    corrected: int = 0
    unverified: int = 0
    ignored: int = 0  # answer entries naming no candidate, or one already judged


def unverified(candidates: Sequence[Finding]) -> Verdict:
    """The check failed: every candidate is kept, marked as not verified."""
    kept = tuple(f.model_copy(update={"verified": False}) for f in candidates)
    return Verdict(findings=kept, unverified=len(kept))


def apply_verdict(chunk: Chunk, candidates: Sequence[Finding], answer: VerifyAnswer) -> Verdict:
    """``candidates`` numbered from 1, as the verification request showed them."""
    entries: dict[int, ModelFinding] = {}
    ignored = 0
    for entry in answer.findings:
        index = entry.candidate - 1
        if not 0 <= index < len(candidates) or index in entries:
            ignored += 1
            continue
        entries[index] = entry
    confirmed = _corrected(chunk, candidates, entries)
    reasons: dict[int, str] = {}
    for refutation in answer.refuted:
        index = refutation.candidate - 1
        if not 0 <= index < len(candidates) or index in reasons:
            ignored += 1
            continue
        reasons[index] = " ".join(sanitize(refutation.reason).split())[:_REASON_CHARS]
    kept: list[Finding] = []
    dropped: list[DroppedFinding] = []
    for index, candidate in enumerate(candidates):
        if index in confirmed:
            kept.append(confirmed[index])
        else:
            reason = reasons.get(index) or LEFT_OUT
            dropped.append(DroppedFinding(kind="refuted", reason=reason, finding=candidate))
    return Verdict(
        findings=tuple(kept),
        dropped=tuple(dropped),
        confirmed=len(kept),
        corrected=sum(1 for i, f in confirmed.items() if _changed(candidates[i], f)),
        ignored=ignored,
    )


def _corrected(
    chunk: Chunk, candidates: Sequence[Finding], entries: dict[int, ModelFinding]
) -> dict[int, Finding]:
    """The confirmed candidates with the checked severity, confidence, range and suggestion."""
    checked: dict[int, ModelFinding] = {}
    for index, entry in entries.items():
        candidate = candidates[index]
        confidence = entry.confidence if math.isfinite(entry.confidence) else candidate.confidence
        checked[index] = ModelFinding(
            path=candidate.path,
            start_line=entry.start_line,
            end_line=entry.end_line,
            severity=entry.severity,
            category=candidate.category,
            confidence=min(1.0, max(0.0, confidence)),
            title=candidate.title,
            message=candidate.message,
            suggestion=entry.suggestion,
        )
    anchored = anchor_each(list(checked.values()), chunk)
    result: dict[int, Finding] = {}
    for (index, model), placed in zip(checked.items(), anchored, strict=True):
        finding = placed
        if finding is None:
            # The correction points off the changed lines: the candidate's own range stands.
            finding = candidates[index].model_copy(
                update={
                    "severity": model.severity,
                    "confidence": model.confidence,
                    "score": finding_score(model.severity, model.confidence),
                }
            )
        result[index] = finding.model_copy(
            update={"chunk_id": candidates[index].chunk_id, "verified": True}
        )
    return result


def _changed(before: Finding, after: Finding) -> bool:
    return (
        before.severity != after.severity
        or abs(before.confidence - after.confidence) >= 0.05
        or (before.start_line, before.end_line) != (after.start_line, after.end_line)
        or before.suggestion != after.suggestion
    )
