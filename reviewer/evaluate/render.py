"""An ``EvalReport`` as text: ``terminal`` (aligned tables), ``markdown`` (for BENCHMARKS.md or a
pull request) and ``json`` (the report itself). The tables are the same in both text forms.

Case ids, titles and error messages come from the corpus and the model: control characters are
escaped so they cannot move the cursor or fake output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from reviewer.evaluate.report import EvalReport, Metrics

FORMATS = ("terminal", "markdown", "json")
MAX_FAILED_LISTED = 30
Align = Literal["<", ">"]


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    aligns: tuple[Align, ...]

    def text(self) -> str:
        widths = [
            max(len(r[i]) for r in (self.headers, *self.rows)) for i in range(len(self.aligns))
        ]
        lines = [
            "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, self.aligns, widths, strict=True))
            for row in (self.headers, *self.rows)
        ]
        return "\n".join(line.rstrip() for line in lines)

    def markdown(self) -> str:
        rule = ["---:" if a == ">" else "---" for a in self.aligns]
        rows = [self.headers, tuple(rule), *self.rows]
        return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def usd(value: float | None) -> str:
    if value is None:
        return "-"
    return f"${value:.4f}" if value >= 0.01 or value == 0 else f"${value:.6f}"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def count(value: int) -> str:
    return f"{value:,}"


def clean_text(text: str) -> str:
    """One line, control characters escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def headline(m: Metrics) -> str:
    return (
        f"recall {m.found}/{m.known} {percent(m.recall)}; "
        f"precision {m.matched}/{m.findings} {percent(m.precision)}; "
        f"false findings on clean changes {m.clean_findings} "
        f"({m.clean_flagged}/{m.clean} clean changes flagged); "
        f"category agreement {m.same_category}/{m.found} {percent(m.category_agreement)}"
    )


def usage_line(report: EvalReport) -> str:
    m = report.overall
    cost = usd(m.cost_usd) if m.cost_usd is not None else "unknown (no price for the model)"
    return (
        f"tokens {count(m.tokens_in)} in, {count(m.tokens_out)} out; cost {cost}; "
        f"latency per case p50 {seconds(m.latency_p50_s)} s, p90 {seconds(m.latency_p90_s)} s, "
        f"max {seconds(m.latency_max_s)} s; wall {seconds(report.duration_s)} s "
        f"with --jobs {report.jobs}"
    )


def quality_table(report: EvalReport) -> Table:
    def row(name: str, m: Metrics) -> tuple[str, ...]:
        return (
            name,
            count(m.known),
            count(m.found),
            percent(m.recall),
            count(m.findings),
            count(m.matched),
            percent(m.precision),
            f"{m.same_category}/{m.found}",
            count(m.clean_findings),
        )

    rows = [row(name, m) for name, m in report.by_category.items()]
    headers = ("category", "known", "found", "recall", "findings", "matched", "precision")
    return Table(
        (*headers, "same category", "false on clean"),
        (*rows, row("overall", report.overall)),
        ("<", ">", ">", ">", ">", ">", ">", ">", ">"),
    )


def cost_table(first: str, groups: dict[str, Metrics], overall: Metrics) -> Table:
    def row(name: str, m: Metrics) -> tuple[str, ...]:
        return (
            name,
            count(m.cases),
            count(m.failed),
            count(m.tokens_in),
            count(m.tokens_out),
            usd(m.cost_usd),
            seconds(m.latency_p50_s),
            seconds(m.latency_p90_s),
        )

    return Table(
        (first, "cases", "failed", "tokens in", "tokens out", "cost", "p50 s", "p90 s"),
        (*(row(n, m) for n, m in groups.items() if m.cases), row("overall", overall)),
        ("<", ">", ">", ">", ">", ">", ">", ">"),
    )


def language_table(report: EvalReport) -> Table:
    def row(name: str, m: Metrics) -> tuple[str, ...]:
        return (
            name,
            count(m.cases),
            count(m.failed),
            f"{m.found}/{m.known}",
            percent(m.recall),
            f"{m.matched}/{m.findings}",
            percent(m.precision),
            f"{m.clean_findings} ({m.clean_flagged}/{m.clean})",
        )

    rows = [row(n, m) for n, m in report.by_language.items()]
    headers = ("language", "cases", "failed", "found", "recall", "matched", "precision")
    return Table(
        (*headers, "false on clean"),
        (*rows, row("overall", report.overall)),
        ("<", ">", ">", ">", ">", ">", ">", ">"),
    )


def title_lines(report: EvalReport) -> list[str]:
    m, c = report.overall, report.corpus
    scored = m.labelled + m.clean
    return [
        f"review eval: {clean_text(report.model)} ({clean_text(report.provider)}) on the "
        f"{clean_text(c.name)} corpus ({c.cases} cases, fingerprint {c.fingerprint})",
        f"{scored} cases scored: {m.labelled} with known problems, {m.clean} clean changes; "
        f"{m.failed} failed (not scored)",
    ]


def failed_lines(report: EvalReport) -> list[str]:
    failed = report.failed_cases
    if not failed:
        return []
    lines = [f"failed cases (not scored): {len(failed)}"]
    for case in failed[:MAX_FAILED_LISTED]:
        lines.append(f"  {clean_text(case.id)}: {clean_text(case.error or 'failed')}")
    if len(failed) > MAX_FAILED_LISTED:
        lines.append(f"  ... and {len(failed) - MAX_FAILED_LISTED} more")
    return lines


def render_terminal(report: EvalReport, style: Callable[..., str] | None = None) -> str:
    bold = style or (lambda text, **_: text)
    sections = [
        "\n".join(title_lines(report)),
        bold(headline(report.overall), bold=True),
        quality_table(report).text(),
        language_table(report).text(),
        cost_table("cost by category", report.by_category, report.overall).text(),
        usage_line(report),
        "\n".join(failed_lines(report)),
        "\n".join(f"warning: {clean_text(w)}" for w in report.warnings),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def render_markdown(report: EvalReport) -> str:
    title, scored = title_lines(report)
    failed = failed_lines(report)
    sections = [
        f"### {title}",
        f"{scored}.\n\n**{headline(report.overall)}**",
        quality_table(report).markdown(),
        language_table(report).markdown(),
        cost_table("category", report.by_category, report.overall).markdown(),
        usage_line(report) + ".",
        "\n".join([failed[0], "", *(f"- {line.strip()}" for line in failed[1:])]) if failed else "",
        "\n".join(f"- warning: {clean_text(w)}" for w in report.warnings),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def render(report: EvalReport, fmt: str, *, style: Callable[..., str] | None = None) -> str:
    if fmt == "json":
        return report.model_dump_json(indent=2) + "\n"
    if fmt == "markdown":
        return render_markdown(report)
    return render_terminal(report, style)
