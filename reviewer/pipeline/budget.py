"""What a run may spend: ``--max-cost`` (USD, estimated before sending) and ``--max-chunks``
(requests), each a budget that reviews rather than refuses.

With ``--over-budget review`` (the default) chunks are admitted in priority order while their
estimates fit what is left; a chunk that does not fit is left out (its files listed as
``over-budget``) and the next, smaller ones may still fit. A chunk answered from the cache costs
nothing and is always served. ``--over-budget refuse`` keeps the old rule: when everything to
send would cost more than allowed, nothing is sent (exit 3).

The estimate is what really goes out: the chunk's prompt and code (context included), a
typical answer, and the verification pass's expected share (``ReviewPlan.estimate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from reviewer.core.errors import CostLimitExceeded
from reviewer.core.settings import Settings
from reviewer.pipeline.plan import PlannedChunk, ReviewPlan

Decision = Literal["send", "cached", "over-budget"]


@dataclass
class Meter:
    """The run's spending so far against its limits (used from the planning thread only)."""

    max_cost: float | None
    max_chunks: int | None
    model: str
    admitted: int = 0
    spent: float = 0.0  # estimated USD of the admitted chunks
    left_out: int = 0
    left_out_cost: float = 0.0
    cheapest_left_out: float | None = None
    cheapest_seen: float | None = None
    reasons: set[str] = field(default_factory=set)

    @classmethod
    def for_settings(cls, settings: Settings, model: str) -> Meter:
        return cls(settings.max_cost, settings.max_chunks, model)

    @property
    def limited(self) -> bool:
        return self.max_cost is not None or self.max_chunks is not None

    def decide(self, plan: ReviewPlan) -> list[tuple[PlannedChunk, Decision]]:
        """Each of the plan's chunks (in its order: priority) with what happens to it."""
        return [(planned, self._decide(plan, planned)) for planned in plan.chunks]

    def _decide(self, plan: ReviewPlan, planned: PlannedChunk) -> Decision:
        if planned.chunk.id in plan.cached:
            return "cached"
        _, cost = plan.estimate((planned,))
        if cost is not None:
            self.cheapest_seen = min(cost, self.cheapest_seen or cost)
        if self.max_cost is not None and cost is None:
            raise CostLimitExceeded(
                f"--max-cost is set but the price of model {self.model} is unknown; "
                "set price-in/price-out in the config; nothing was sent"
            )
        if self.max_chunks is not None and self.admitted >= self.max_chunks:
            return self._leave_out(cost, "--max-chunks")
        if self.max_cost is not None and cost is not None and self.spent + cost > self.max_cost:
            return self._leave_out(cost, "--max-cost")
        self.admitted += 1
        self.spent += cost or 0.0
        return "send"

    @property
    def exhausted(self) -> bool:
        """Whether no further chunk can fit: the rest of the change need not even be read
        (its files are listed as over budget from the listing)."""
        if self.max_chunks is not None and self.admitted >= self.max_chunks:
            self.reasons.add("--max-chunks")
            return True
        if self.max_cost is None or self.cheapest_seen is None:
            return False
        if self.max_cost - self.spent < self.cheapest_seen:
            self.reasons.add("--max-cost")
            return True
        return False

    def _leave_out(self, cost: float | None, reason: str) -> Decision:
        self.left_out += 1
        self.left_out_cost += cost or 0.0
        if cost is not None:
            self.cheapest_left_out = min(cost, self.cheapest_left_out or cost)
        self.reasons.add(reason)
        return "over-budget"

    def check_something_fits(self) -> None:
        """A budget too small for even one chunk is a refusal, said as such."""
        if self.admitted or not (self.left_out or self.reasons):
            return
        if "--max-cost" in self.reasons and self.cheapest_left_out is not None:
            raise CostLimitExceeded(
                f"the smallest chunk's estimated cost ${self.cheapest_left_out:.4f} exceeds "
                f"--max-cost ${self.max_cost:.4f}; nothing was sent (the budget fits no chunk)"
            )
        raise CostLimitExceeded(
            f"--max-chunks {self.max_chunks} allows no request; nothing was sent"
        )

    def warning(self) -> str | None:
        if not self.left_out:
            return None
        why = " and ".join(sorted(self.reasons))
        return (
            f"budget ({why}): {self.left_out} chunk(s) left out (~${self.left_out_cost:.4f}); "
            f"{self.admitted} sent (~${self.spent:.4f}); the files left out are listed as "
            "not reviewed (over-budget), the highest-priority ones were reviewed"
        )


def refuse_if_over(plans: Sequence[ReviewPlan], settings: Settings, model: str) -> None:
    """``--over-budget refuse``: nothing is sent when what is left to send costs too much."""
    to_send = [(plan, p) for plan in plans for p in plan.to_send]
    if settings.max_chunks is not None and len(to_send) > settings.max_chunks:
        raise CostLimitExceeded(
            f"{len(to_send)} chunk(s) to send exceed --max-chunks {settings.max_chunks}; "
            "nothing was sent"
        )
    if settings.max_cost is None or not to_send:
        return
    costs = [plan.estimate((p,))[1] for plan, p in to_send]
    if any(c is None for c in costs):
        raise CostLimitExceeded(
            f"--max-cost is set but the price of model {model} is unknown; "
            "set price-in/price-out in the config; nothing was sent"
        )
    cost = sum(c for c in costs if c is not None)
    if cost > settings.max_cost:
        raise CostLimitExceeded(
            f"estimated cost ${cost:.4f} exceeds --max-cost ${settings.max_cost:.4f}; "
            "nothing was sent"
        )
