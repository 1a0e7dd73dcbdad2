"""Two ``review eval`` JSON reports side by side (``review eval --compare a.json b.json``)."""

from __future__ import annotations

import json
from collections.abc import Callable

from pydantic import ValidationError

from reviewer.core.errors import UsageError
from reviewer.core.values import CATEGORIES
from reviewer.evaluate.render import Table, clean_text, count, percent, seconds, usd
from reviewer.evaluate.report import REPORT_KIND, EvalReport, Metrics


def parse_report(text: str, label: str) -> EvalReport:
    """An ``-o json`` report of ``review eval``; anything else is a ``UsageError`` naming it."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{label}: not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("report") != REPORT_KIND:
        raise UsageError(f"{label}: not a review eval report (write one with -o json=FILE)")
    try:
        return EvalReport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(
            f"{label}: not a valid review eval report: {where}: {first['msg']}"
        ) from None


def _fraction(part: int, whole: int, value: float | None) -> str:
    return f"{part}/{whole} {percent(value)}"


def _points(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "-"
    return f"{(b - a) * 100:+.1f} pts"


def _signed(a: float | None, b: float | None, fmt: Callable[..., str] = str) -> str:
    if a is None or b is None:
        return "-"
    diff = b - a
    return ("+" if diff >= 0 else "-") + fmt(abs(diff))


def overall_table(a: EvalReport, b: EvalReport) -> Table:
    ma, mb = a.overall, b.overall

    def quality(name: str, attr: str, part: str, whole: str) -> tuple[str, ...]:
        va, vb = getattr(ma, attr), getattr(mb, attr)
        return (
            name,
            _fraction(getattr(ma, part), getattr(ma, whole), va),
            _fraction(getattr(mb, part), getattr(mb, whole), vb),
            _points(va, vb),
        )

    def plain(
        name: str, va: float | None, vb: float | None, fmt: Callable[..., str]
    ) -> tuple[str, ...]:
        return (name, fmt(va), fmt(vb), _signed(va, vb, fmt))

    rows = (
        quality("recall", "recall", "found", "known"),
        quality("precision", "precision", "matched", "findings"),
        quality("category agreement", "category_agreement", "same_category", "found"),
        plain("false findings on clean", ma.clean_findings, mb.clean_findings, count),
        (
            "clean changes flagged",
            f"{ma.clean_flagged}/{ma.clean}",
            f"{mb.clean_flagged}/{mb.clean}",
            _signed(ma.clean_flagged, mb.clean_flagged, count),
        ),
        plain("failed cases", ma.failed, mb.failed, count),
        plain("tokens in", ma.tokens_in, mb.tokens_in, count),
        plain("tokens out", ma.tokens_out, mb.tokens_out, count),
        plain("cost", ma.cost_usd, mb.cost_usd, usd),
        plain("latency p50 s", ma.latency_p50_s, mb.latency_p50_s, seconds),
        plain("latency p90 s", ma.latency_p90_s, mb.latency_p90_s, seconds),
        plain("wall s", a.duration_s, b.duration_s, seconds),
    )
    return Table(("", "A", "B", "B - A"), rows, ("<", ">", ">", ">"))


def category_table(a: EvalReport, b: EvalReport) -> Table:
    rows = []
    for name in CATEGORIES:
        ca, cb = a.by_category.get(name), b.by_category.get(name)
        if ca is None and cb is None:
            continue
        ca, cb = ca or Metrics(), cb or Metrics()
        rows.append(
            (
                name,
                _fraction(ca.found, ca.known, ca.recall),
                _fraction(cb.found, cb.known, cb.recall),
                _fraction(ca.matched, ca.findings, ca.precision),
                _fraction(cb.matched, cb.findings, cb.precision),
            )
        )
    return Table(
        ("category", "recall A", "recall B", "precision A", "precision B"),
        tuple(rows),
        ("<", ">", ">", ">", ">"),
    )


def found_only(a: EvalReport, b: EvalReport) -> tuple[int, int]:
    """Known problems found by A and not B, and by B and not A, in cases both scored."""
    cases_b = {c.id: c for c in b.cases}
    only_a = only_b = 0
    for case_a in a.cases:
        case_b = cases_b.get(case_a.id)
        if case_b is None or "failed" in (case_a.status, case_b.status):
            continue
        for pa, pb in zip(case_a.problems, case_b.problems, strict=False):
            only_a += pa.found and not pb.found
            only_b += pb.found and not pa.found
    return only_a, only_b


def render_compare(a: EvalReport, b: EvalReport, names: tuple[str, str], *, markdown: bool) -> str:
    def who(report: EvalReport, name: str) -> str:
        c = report.corpus
        return (
            f"{clean_text(name)}: {clean_text(report.model)} ({clean_text(report.provider)}), "
            f"{clean_text(c.name)} corpus {c.fingerprint}, {report.started_at}"
        )

    lines = [f"A = {who(a, names[0])}", f"B = {who(b, names[1])}"]
    if a.corpus.fingerprint != b.corpus.fingerprint:
        lines.append(
            "warning: the two runs used different corpora (fingerprints differ): "
            "the figures are not of the same cases"
        )
    only_a, only_b = found_only(a, b)
    tables = (overall_table(a, b), category_table(a, b))
    body = [t.markdown() if markdown else t.text() for t in tables]
    tail = f"known problems found by A only: {only_a}; by B only: {only_b} (cases both scored)"
    joiner = "  \n" if markdown else "\n"
    return "\n\n".join([joiner.join(lines), *body, tail]) + "\n"
