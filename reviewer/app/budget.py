"""A run's entry in the usage ledger, and the monthly budget it is held to.

Before sending, the month's total from the ledger (the team's, with a ``cache-url``) becomes a
``MonthlyBudget`` the pipeline enforces (past 100%: nothing is sent, exit 3). After the run,
its usage is recorded and, past 80%, a warning goes into every output.
"""

from __future__ import annotations

import time
from typing import Protocol

from reviewer.core.settings import Settings
from reviewer.core.values import ReviewResult
from reviewer.pipeline.plan import MonthlyBudget
from reviewer.store.ledger import UsageRecord, month_of, next_month

WARN_AT = 0.8


class Ledger(Protocol):
    def record(self, rec: UsageRecord) -> None: ...
    def month_total(self, at: float) -> float: ...


def month_budget(
    settings: Settings, ledger: Ledger, now: float | None = None
) -> MonthlyBudget | None:
    if settings.monthly_budget is None:
        return None
    at = time.time() if now is None else now
    return MonthlyBudget(
        limit_usd=settings.monthly_budget,
        spent_usd=ledger.month_total(at),
        month=month_of(at),
        next_month=next_month(at),
    )


def record_run(
    ledger: Ledger, result: ReviewResult, *, repository: str, source: str, now: float | None = None
) -> None:
    stats = result.stats
    ledger.record(
        UsageRecord(
            at=time.time() if now is None else now,
            repository=repository,
            source=source,
            provider=result.provider,
            model=result.model,
            requests=stats.requests,
            tokens_in=stats.tokens_in,
            tokens_out=stats.tokens_out,
            cost_usd=stats.cost_usd or 0.0,
            cache_hits=stats.chunks_cached,
        )
    )


def budget_warnings(budget: MonthlyBudget | None, result: ReviewResult) -> tuple[str, ...]:
    """What the run's outputs must say about the budget, counting this run's cost."""
    if budget is None:
        return ()
    warnings: list[str] = []
    if result.stats.requests and result.stats.cost_usd is None:
        warnings.append(
            f"the price of model {result.model} is unknown: this run is not counted toward "
            "monthly-budget (set price-in/price-out)"
        )
    spent = budget.spent_usd + (result.stats.cost_usd or 0.0)
    share = spent / budget.limit_usd
    if share >= 1:
        warnings.append(
            f"monthly budget spent: ${spent:.2f} of ${budget.limit_usd:.2f} in {budget.month} "
            f"({share:.0%}); reviews send nothing more until {budget.next_month} or a higher "
            "monthly-budget"
        )
    elif share >= WARN_AT:
        warnings.append(
            f"monthly budget: ${spent:.2f} of ${budget.limit_usd:.2f} spent in {budget.month} "
            f"({share:.0%}); past 100% reviews send nothing"
        )
    return tuple(warnings)
