"""How findings are scored, per finding and for the whole review.

Finding score (used to rank findings and to keep the best ones when a chunk has too many)::

    score = SEVERITY_WEIGHT[severity] x confidence, rounded to 2 decimals
    SEVERITY_WEIGHT = {critical: 10, high: 7, medium: 4, low: 2, info: 1}

So a critical finding at confidence 0.9 scores 9.0 and a high one at 1.0 scores 7.0.

Overall score, an integer from 1 (worst) to 10 (clean)::

    penalty = sum over findings of PENALTY[severity] x confidence
    PENALTY = {critical: 6, high: 3, medium: 1, low: 0.3, info: 0}
    overall = max(1, round_half_up(10 - penalty));  no findings -> 10

One likely critical bug costs about 6 points, a high one 3, a medium one 1; ten low-severity
nits cost 3 points together; informational notes never lower the score. Rounding is half up
(9.5 -> 10), not Python's round-half-to-even, so equal penalties always land on the same side.
The overall score is computed over the findings it is given; the pipeline passes the findings
it reports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Protocol

from reviewer.core.values import SEVERITY_RANK, Severity

SEVERITY_WEIGHT: Mapping[Severity, float] = {
    "critical": 10,
    "high": 7,
    "medium": 4,
    "low": 2,
    "info": 1,
}

PENALTY: Mapping[Severity, float] = {
    "critical": 6,
    "high": 3,
    "medium": 1,
    "low": 0.3,
    "info": 0,
}

MAX_SCORE = 10
MIN_SCORE = 1


class Scored(Protocol):
    """Anything with a severity and a confidence (a ``Finding``, a model finding)."""

    @property
    def severity(self) -> Severity: ...

    @property
    def confidence(self) -> float: ...


def finding_score(severity: Severity, confidence: float) -> float:
    """Severity weight x confidence, rounded to 2 decimals."""
    return round(SEVERITY_WEIGHT[severity] * confidence, 2)


def overall_score(findings: Iterable[Scored]) -> int:
    """The review's 1-10 score; 10 when there are no findings."""
    penalty = sum(PENALTY[f.severity] * f.confidence for f in findings)
    # Half up, see the module docstring; the tiny epsilon absorbs float noise like 0.1 * 3.
    return max(MIN_SCORE, min(MAX_SCORE, math.floor(MAX_SCORE - penalty + 0.5 + 1e-9)))


def severity_at_least(severity: Severity, threshold: Severity) -> bool:
    """True when ``severity`` is ``threshold`` or worse."""
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold]
