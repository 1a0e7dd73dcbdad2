"""The findings of a run: every answered chunk's findings anchored on its lines, then aggregated.

``anchor_answers`` and ``aggregate_findings`` are the two halves, with the repository's
suppressions and the verification pass (``reviewer.pipeline.check``) in between;
``collect_findings`` is both at once.
"""

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


@dataclass(frozen=True, slots=True)
class ChunkFindings:
    chunk: Chunk
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class Anchored:
    chunks: tuple[ChunkFindings, ...]  # every answered chunk, in the plan's order
    discarded: int
    clamped: int


def anchor_answers(answers: Iterable[tuple[Chunk, ModelAnswer]]) -> Anchored:
    chunks: list[ChunkFindings] = []
    discarded = clamped = 0
    for chunk, answer in answers:
        anchored = anchor_findings(answer.findings, chunk)
        chunks.append(ChunkFindings(chunk, anchored.findings))
        discarded += anchored.discarded + anchored.capped
        clamped += anchored.clamped
    return Anchored(tuple(chunks), discarded, clamped)


def aggregate_findings(
    findings: Iterable[Finding], settings: Settings, *, discarded: int = 0, clamped: int = 0
) -> Collected:
    aggregated = aggregate(
        findings,
        min_severity=settings.min_severity,
        min_confidence=settings.min_confidence,
        max_findings=settings.max_findings,
    )
    return Collected(aggregated, discarded, clamped)


def collect_findings(answers: Iterable[tuple[Chunk, ModelAnswer]], settings: Settings) -> Collected:
    anchored = anchor_answers(answers)
    findings = [f for c in anchored.chunks for f in c.findings]
    return aggregate_findings(
        findings, settings, discarded=anchored.discarded, clamped=anchored.clamped
    )
