"""The findings of a run: every answered chunk's findings anchored on its lines, then aggregated."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reviewer.core.settings import Settings
from reviewer.core.values import Chunk, Finding
from reviewer.findings.aggregate import Aggregated, aggregate
from reviewer.findings.anchor import anchor_findings
from reviewer.llm.answer import ModelAnswer


@dataclass(frozen=True, slots=True)
class Collected:
    aggregated: Aggregated
    discarded: int  # off the chunk's changed lines, or over a chunk's cap
    clamped: int


def collect_findings(answers: Iterable[tuple[Chunk, ModelAnswer]], settings: Settings) -> Collected:
    findings: list[Finding] = []
    discarded = clamped = 0
    for chunk, answer in answers:
        anchored = anchor_findings(answer.findings, chunk)
        findings.extend(anchored.findings)
        discarded += anchored.discarded + anchored.capped
        clamped += anchored.clamped
    aggregated = aggregate(
        findings,
        min_severity=settings.min_severity,
        min_confidence=settings.min_confidence,
        max_findings=settings.max_findings,
    )
    return Collected(aggregated, discarded, clamped)
