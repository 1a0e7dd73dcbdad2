"""``review usage``: what the usage ledger says, grouped by day, model, repository or source.

With a ``cache-url`` it reads the team's ledger in Redis (every laptop and runner), else this
machine's (``usage.sqlite3`` in the cache directory); a failing Redis is one warning and the
local ledger.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from reviewer.app.config import find_config_file, read_config_file, resolve_settings
from reviewer.app.resources import cache_dir, warn
from reviewer.core.errors import EXIT_OK, UsageError
from reviewer.core.settings import Settings
from reviewer.store.ledger import UsageRecord, month_of
from reviewer.store.team import TeamStore

GROUPS = ("day", "model", "repo", "source")
_AGE = re.compile(r"^(\d+)([hdw])$")
_AGE_UNITS = {"h": 3600, "d": 86_400, "w": 7 * 86_400}


@dataclass(frozen=True, slots=True)
class Totals:
    key: str
    runs: int = 0
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    cache_hits: int = 0

    def plus(self, rec: UsageRecord) -> Totals:
        return Totals(
            key=self.key,
            runs=self.runs + 1,
            requests=self.requests + rec.requests,
            tokens_in=self.tokens_in + rec.tokens_in,
            tokens_out=self.tokens_out + rec.tokens_out,
            cost_usd=self.cost_usd + rec.cost_usd,
            cache_hits=self.cache_hits + rec.cache_hits,
        )


def parse_since(text: str, now: float) -> float:
    """``30d``, ``12h``, ``2w`` back from ``now``, or a date ``2025-07-01`` (UTC)."""
    value = text.strip().lower()
    match = _AGE.match(value)
    if match:
        return now - int(match.group(1)) * _AGE_UNITS[match.group(2)]
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--since {text!r}: give an age (30d, 12h, 2w) or a date (2025-07-01)"
        ) from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def group_key(rec: UsageRecord, by: str) -> str:
    if by == "day":
        return dt.datetime.fromtimestamp(rec.at, dt.UTC).strftime("%Y-%m-%d")
    if by == "model":
        return f"{rec.provider}/{rec.model}"
    if by == "repo":
        return rec.repository
    return rec.source


def summarize(records: Iterable[UsageRecord], by: str) -> tuple[list[Totals], Totals]:
    groups: dict[str, Totals] = {}
    total = Totals(key="total")
    for rec in records:
        key = group_key(rec, by)
        groups[key] = groups.get(key, Totals(key=key)).plus(rec)
        total = total.plus(rec)
    return [groups[k] for k in sorted(groups)], total


def run_usage(options: Mapping[str, Any], explicit: Mapping[str, tuple[Any, str]]) -> int:
    settings = _settings(options, explicit)
    now = time.time()
    since = parse_since(options["since"], now)
    store = TeamStore(
        directory=cache_dir(settings),
        url=settings.cache_url,
        namespace="usage",
        environ=os.environ,
        warn=warn,
    )
    try:
        ledger = store.ledger
        assert ledger is not None  # the store uses the cache directory here
        rows, total = summarize(ledger.records(since), options["by"])
        spent = ledger.month_total(now) if settings.monthly_budget else None
    finally:
        store.close()
    where = store.shared_label or str(store.directory)
    budget = _budget(settings, spent, now)
    if options["output"] == "json":
        click.echo(
            json.dumps(
                {
                    "since": dt.datetime.fromtimestamp(since, dt.UTC).isoformat(),
                    "by": options["by"],
                    "store": where,
                    "rows": [asdict(r) for r in rows],
                    "total": asdict(total),
                    "budget": budget,
                },
                indent=2,
            )
        )
    else:
        click.echo(_table(rows, total, by=options["by"], since=since, where=where, budget=budget))
    return EXIT_OK


def _settings(options: Mapping[str, Any], explicit: Mapping[str, tuple[Any, str]]) -> Settings:
    config_path: Path | None = options["config_path"]
    if config_path is not None and not config_path.is_file():
        raise UsageError(f"config file not found: {config_path}")
    config_path = config_path or find_config_file(Path.cwd())
    file_values = read_config_file(config_path) if config_path else {}
    label = str(config_path) if config_path else None
    return resolve_settings(explicit, file_values, label).settings


def _budget(settings: Settings, spent: float | None, now: float) -> dict[str, Any] | None:
    if settings.monthly_budget is None or spent is None:
        return None
    return {
        "month": month_of(now),
        "limit_usd": settings.monthly_budget,
        "spent_usd": round(spent, 6),
        "share": round(spent / settings.monthly_budget, 4),
    }


def _table(
    rows: list[Totals],
    total: Totals,
    *,
    by: str,
    since: float,
    where: str,
    budget: dict[str, Any] | None,
) -> str:
    started = dt.datetime.fromtimestamp(since, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (by, "runs", "requests", "tokens in", "tokens out", "cost USD", "cache hits")
    cells = [
        (
            r.key,
            str(r.runs),
            str(r.requests),
            f"{r.tokens_in:,}",
            f"{r.tokens_out:,}",
            f"{r.cost_usd:.4f}",
            str(r.cache_hits),
        )
        for r in [*rows, total]
    ]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        first = row[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))])

    lines = [f"usage since {started}, by {by}, from {where}", line(header)]
    lines += [line(c) for c in cells[:-1]]
    if not rows:
        lines.append("(no runs recorded)")
    lines.append(line(cells[-1]))
    if budget is not None:
        lines.append(
            f"monthly budget: ${budget['spent_usd']:.2f} of ${budget['limit_usd']:.2f} spent in "
            f"{budget['month']} ({budget['share']:.0%})"
        )
    return "\n".join(lines)
