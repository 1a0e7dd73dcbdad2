from __future__ import annotations

import dataclasses

import pytest

from reviewer.core.values import SEVERITIES, Severity
from reviewer.findings.scoring import (
    PENALTY,
    SEVERITY_WEIGHT,
    finding_score,
    overall_score,
    severity_at_least,
)


@dataclasses.dataclass(frozen=True)
class Scored:
    severity: Severity
    confidence: float = 1.0


def test_tables_cover_every_severity() -> None:
    assert set(SEVERITY_WEIGHT) == set(PENALTY) == set(SEVERITIES)
    # Worse severities weigh and cost more; info never costs.
    weights = [SEVERITY_WEIGHT[s] for s in SEVERITIES]
    assert weights == sorted(weights, reverse=True)
    assert PENALTY["info"] == 0


@pytest.mark.parametrize(
    ("severity", "confidence", "score"),
    [
        ("critical", 0.9, 9.0),
        ("critical", 1.0, 10.0),
        ("high", 0.9, 6.3),
        ("medium", 0.333, 1.33),
        ("low", 0.555, 1.11),
        ("info", 0.5, 0.5),
        ("high", 0.0, 0.0),
    ],
)
def test_finding_score(severity: Severity, confidence: float, score: float) -> None:
    assert finding_score(severity, confidence) == score


@pytest.mark.parametrize(
    ("findings", "score"),
    [
        ([], 10),
        ([Scored("info")] * 50, 10),
        ([Scored("critical")], 4),
        ([Scored("critical", 0.5)], 7),
        ([Scored("high")], 7),
        ([Scored("medium")], 9),
        ([Scored("medium", 0.5)], 10),  # 9.5 rounds half up
        ([Scored("medium", 0.49)], 10),
        ([Scored("medium", 0.51)], 9),
        ([Scored("medium", 1.0), Scored("medium", 0.5)], 9),  # 8.5 -> 9, not banker's 8
        ([Scored("low")] * 10, 7),  # 0.3 x 10 in floats is 3.0000000000000004
        ([Scored("critical")] * 2, 1),
        ([Scored("critical")] * 10, 1),
        ([Scored("high", 0.8), Scored("low", 0.9), Scored("medium", 0.6)], 7),
    ],
)
def test_overall_score(findings: list[Scored], score: int) -> None:
    assert overall_score(findings) == score


def test_overall_score_accepts_a_generator() -> None:
    assert overall_score(Scored("high") for _ in range(2)) == 4


@pytest.mark.parametrize(
    ("severity", "threshold", "expected"),
    [
        ("critical", "high", True),
        ("high", "high", True),
        ("medium", "high", False),
        ("info", "info", True),
        ("info", "low", False),
        ("low", "critical", False),
        ("critical", "info", True),
    ],
)
def test_severity_at_least(severity: Severity, threshold: Severity, expected: bool) -> None:
    assert severity_at_least(severity, threshold) is expected
