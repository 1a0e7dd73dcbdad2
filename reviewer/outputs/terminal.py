"""``--output terminal``: the human report.

Layout: a header line (what was reviewed, by which model; an incomplete review says so right
there), findings grouped by file as clickable ``path:line`` locations, the files not reviewed,
the failed chunks, then the summary: verdict, score, the model's summary and one stats line.
The verdict distinguishes "no findings" from "incomplete" and "nothing reviewed", so a failed
run can never be mistaken for a clean one.

Everything that came from the repository or the model is printed with control characters
escaped (``\\x1b`` shows as text), so reviewed code cannot move the cursor or fake colours.
Colour is ANSI via click and only with ``color=True``; the report's own text is ASCII.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

import click

from reviewer.core.values import (
    ChunkFailure,
    DroppedFinding,
    Finding,
    InstructionSource,
    NotReviewed,
    ReviewResult,
    Severity,
)
from reviewer.findings.aggregate import counts_by_severity

SHA_CHARS = 7
MAX_LISTED = 30  # not-reviewed files and failed chunks listed before "... and N more"
MAX_FAILURE_PATHS = 3
_SEPARATOR = " | "
_SEVERITY_STYLE: dict[Severity, dict[str, Any]] = {
    "critical": {"fg": "white", "bg": "red", "bold": True},
    "high": {"fg": "red", "bold": True},
    "medium": {"fg": "yellow", "bold": True},
    "low": {"fg": "cyan"},
    "info": {"dim": True},
}
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

Style = Callable[..., str]


class TerminalReporter:
    """``verbose`` (``-v``) also lists the findings dropped (refuted, suppressed) and why."""

    name = "terminal"

    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose

    def render(self, result: ReviewResult, *, color: bool) -> str:
        style: Style = click.style if color else _plain
        sections = (
            [_dry_run(result, style), _redaction_sites(result, style)]
            if result.dry_run
            else [
                _header(result, style),
                *_findings(result.findings, style),
                _dropped(result.dropped, style) if self.verbose else "",
                _not_reviewed(result.not_reviewed, style),
                _failures(result.failures, style),
                _warnings(result.warnings, style),
                _redaction_sites(result, style),
                _summary(result, style, verbose=self.verbose),
            ]
        )
        return "\n\n".join(s for s in sections if s) + "\n"


def _plain(text: str, **_: Any) -> str:
    return text


# --------------------------------------------------------------------------- sections


def _header(result: ReviewResult, style: Style) -> str:
    source = _line(result.source)
    if result.base_sha and result.head_sha:
        source += f" ({result.base_sha[:SHA_CHARS]}..{result.head_sha[:SHA_CHARS]})"
    lines = [f"Review of {source} by {_line(result.provider)}/{_line(result.model)}"]
    if result.failures:
        lines.append(style(_verdict(result), fg="red", bold=True))
    return "\n".join(lines)


def _findings(findings: tuple[Finding, ...], style: Style) -> list[str]:
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        by_path.setdefault(f.path, []).append(f)
    return [
        "\n\n".join(
            [style(_line(path), bold=True, underline=True)] + [_finding(f, style) for f in group]
        )
        for path, group in by_path.items()
    ]


def _finding(f: Finding, style: Style) -> str:
    where = f"{f.start_line}" if f.start_line == f.end_line else f"{f.start_line}-{f.end_line}"
    badge = style(f"[{f.severity.upper()}]", **_SEVERITY_STYLE[f.severity])
    checked = f"{_SEPARATOR}unverified" if f.verified is False else ""
    lines = [
        f"  {badge} {style(f'{_line(f.path)}:{where}', bold=True)}"
        f"{_SEPARATOR}{f.category}{_SEPARATOR}confidence {f.confidence:.2f}{checked}",
        "    " + style(_line(f.title), bold=True),
    ]
    if f.message:
        lines.append(_indent(_block(f.message), "    "))
    if f.suggestion is not None:
        lines.append("    Suggestion:")
        lines.extend(
            style(_rstrip(f"      - {ln}"), fg="red") for ln in _block(f.code).splitlines()
        )
        lines.extend(
            style(_rstrip(f"      + {ln}"), fg="green") for ln in _block(f.suggestion).splitlines()
        )
    return "\n".join(lines)


def _dropped(items: tuple[DroppedFinding, ...], style: Style) -> str:
    if not items:
        return ""

    def entry(d: DroppedFinding) -> str:
        f = d.finding
        where = f"{f.start_line}" if f.start_line == f.end_line else f"{f.start_line}-{f.end_line}"
        return (
            f"  [{f.severity.upper()}] {_line(f.path)}:{where} {_line(f.title)}"
            f" - {d.kind}: {_line(d.reason)}"
        )

    title = style(f"Not shown ({len(items)}: refuted or suppressed)", bold=True)
    return "\n".join([title, *_capped(items, entry)])


def _instructions(items: tuple[InstructionSource, ...]) -> str:
    if not items:
        return ""

    def entry(i: InstructionSource) -> str:
        notes = [_line(i.revision)] if i.revision else []
        if i.globs:
            notes.append("for " + ", ".join(_line(g) for g in i.globs))
        if i.status in ("used", "truncated"):
            notes.append(_plural(i.tokens, "token"))
        if i.status != "used":
            notes.append(i.status + (f": {_line(i.detail)}" if i.detail else ""))
        return f"{_line(i.path)} ({'; '.join(notes)})"

    shown = [entry(i) for i in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        shown.append(f"and {len(items) - MAX_LISTED} more")
    return "Instructions: " + ", ".join(shown)


def _not_reviewed(items: tuple[NotReviewed, ...], style: Style) -> str:
    if not items:
        return ""

    def entry(n: NotReviewed) -> str:
        detail = f" ({_line(n.detail)})" if n.detail else ""
        return f"  {_line(n.path)} - {n.reason}{detail}"

    return "\n".join([style(f"Not reviewed ({len(items)})", bold=True), *_capped(items, entry)])


def _failures(items: tuple[ChunkFailure, ...], style: Style) -> str:
    if not items:
        return ""

    def entry(c: ChunkFailure) -> str:
        paths = ", ".join(_line(p) for p in c.paths[:MAX_FAILURE_PATHS])
        if len(c.paths) > MAX_FAILURE_PATHS:
            paths += f" and {len(c.paths) - MAX_FAILURE_PATHS} more"
        return (
            f"  chunk {c.index} ({_plural(c.lines, 'changed line')}): {paths}"
            f" - {_line(c.kind)}: {_line(c.message)}"
        )

    title = style(f"Failed chunks ({len(items)})", fg="red", bold=True)
    return "\n".join([title, *_capped(items, entry)])


def _summary(result: ReviewResult, style: Style, *, verbose: bool = False) -> str:
    lines = [style("Summary", bold=True), style(_verdict(result), **_verdict_style(result))]
    # A score for a review that covered nothing would read as a verdict on the code.
    if _chunks_total(result) > len(result.failures):
        scope = " (reviewed part only)" if result.failures else ""
        lines.append(f"Score: {style(f'{result.score}/10', **_score_style(result.score))}{scope}")
    if result.summary.strip():
        lines.append(_indent(_block(result.summary.strip()), ""))
    instructions = _instructions(result.instructions)
    if instructions:
        lines.append(instructions)
    lines.append(_stats_line(result, verbose=verbose))
    return "\n".join(lines)


def _of_context(tokens: int) -> str:
    return f"; ~{tokens:,} of them context" if tokens else ""


def _dry_run(result: ReviewResult, style: Style) -> str:
    s = result.stats
    cost = _money(s.estimated_cost_usd)
    lines = [
        style("DRY RUN: nothing sent", bold=True)
        + f" to {_line(result.provider)}/{_line(result.model)}",
        f"Source: {_line(result.source)}",
        f"Files: {s.files_reviewed} to review, {s.files_not_reviewed} not reviewed"
        f" ({s.files_total} total)",
        f"Chunks: {s.chunks} (one request each"
        + (
            ", and a verification request for each with findings)"
            if s.estimated_verify_tokens_in
            else ")"
        ),
        f"Tokens: ~{s.estimated_tokens_in:,} in (estimated{_of_context(s.context_tokens)}"
        + (
            f"; ~{s.estimated_verify_tokens_in:,} of it for verification, assuming half the"
            " chunks have findings)"
            if s.estimated_verify_tokens_in
            else ")"
        ),
        f"Estimated cost: {cost if cost else 'unknown (no price for this model)'}",
    ]
    if s.redactions:
        families = ", ".join(f"{f} {n}" for f, n in s.redactions_by_family.items())
        lines.append(
            f"Redactions: {_redaction_counts(result)} would be redacted"
            + (f" ({families})" if families else "")
        )
    instructions = _instructions(result.instructions)
    if instructions:
        lines.append(instructions)
    if s.chunks_over_budget:
        left = _plural(s.chunks_over_budget, "chunk")
        lines.append(
            f"Budget: {s.chunks - s.chunks_over_budget} of {s.chunks} chunks fit; {left} "
            f"({_plural(s.lines_over_budget, 'changed line')}) would be left out, marked below"
        )
    lines += _chunk_lines(result)
    report = "\n".join(lines)
    not_reviewed = _not_reviewed(result.not_reviewed, style)
    return f"{report}\n\n{not_reviewed}" if not_reviewed else report


def _chunk_lines(result: ReviewResult) -> list[str]:
    """Every chunk, highest priority first; a cached one and one over the budget say so."""
    lines = []
    for chunk in result.chunks:
        paths = ", ".join(_line(p) for p in chunk.paths)
        mark = {"cached": " (cached)", "over-budget": " [over budget: not sent]"}.get(
            chunk.status, ""
        )
        lines.append(
            f"  chunk {chunk.index}: {chunk.tokens:,} tokens, "
            f"{_plural(chunk.changed_lines, 'changed line')}: {paths}{mark}"
        )
    return lines


def _redaction_counts(result: ReviewResult) -> str:
    """ "8 secrets", or "8 secrets and 2 personal data items"."""
    s = result.stats
    pii = s.redactions_pii
    secrets = _plural(s.redactions - pii, "secret")
    return f"{secrets} and {_plural(pii, 'personal data item')}" if pii else secrets


def _redaction_sites(result: ReviewResult, style: Style) -> str:
    """--show-redactions: where each value was replaced, never the value."""
    sites = result.redaction_sites
    if not sites:
        return ""
    lines = [style(f"Redactions ({len(sites)}; values are never shown)", bold=True)]
    for site in sites:
        if site.line is not None:
            where = f"{_line(site.path)}:{site.line}"
        elif site.old_line is not None:
            where = f"{_line(site.path)} (removed line {site.old_line})"
        else:
            where = f"{_line(site.path)} (hunk header)"
        lines.append(f"  {where}  {site.family} ({site.kind})")
    return "\n".join(lines)


def _warnings(warnings: tuple[str, ...], style: Style) -> str:
    if not warnings:
        return ""
    lines = [style("Warnings", bold=True)]
    lines.extend(f"  ! {_line(w)}" for w in warnings)
    return "\n".join(lines)


# --------------------------------------------------------------------------- verdict & stats


def _chunks_total(result: ReviewResult) -> int:
    return max(result.stats.chunks, len(result.failures))


def _verdict(result: ReviewResult) -> str:
    failed, total = len(result.failures), _chunks_total(result)
    found = len(result.findings)
    if failed and failed >= total:
        return f"Review FAILED: {failed} of {total} chunks failed, nothing was reviewed"
    if failed:
        what = _plural(found, "finding") if found else "no findings"
        return (
            f"Review INCOMPLETE: {failed} of {total} chunks failed; "
            f"{what} in the part that was reviewed"
        )
    if found:
        return f"{_plural(found, 'finding')}: {_severity_counts(result.findings)}"
    if total == 0:
        return "Nothing reviewed: no file had reviewable changes"
    files = _plural(result.stats.files_reviewed, "file")
    return f"No findings: {files} reviewed in {_plural(total, 'chunk')}"


def _verdict_style(result: ReviewResult) -> dict[str, Any]:
    if result.failures:
        return {"fg": "red", "bold": True}
    if result.findings:
        return {"fg": "yellow", "bold": True}
    if _chunks_total(result) == 0:
        return {"bold": True}
    return {"fg": "green", "bold": True}


def _score_style(score: int) -> dict[str, Any]:
    if score >= 8:
        return {"fg": "green", "bold": True}
    if score >= 5:
        return {"fg": "yellow", "bold": True}
    return {"fg": "red", "bold": True}


def _stats_line(result: ReviewResult, *, verbose: bool = False) -> str:
    s = result.stats
    chunk_notes = [
        f"{n} {what}" for n, what in ((s.chunks_failed, "failed"), (s.chunks_cached, "cached")) if n
    ]
    parts = [
        f"{_plural(s.files_total, 'file')} ({s.files_reviewed} reviewed,"
        f" {s.files_not_reviewed} not reviewed)",
        _plural(_chunks_total(result), "chunk")
        + (f" ({', '.join(chunk_notes)})" if chunk_notes else ""),
        (
            f"tokens ~{s.tokens_in:,} in / ~{s.tokens_out:,} out (counted locally)"
            if s.usage_estimated
            else f"tokens {s.tokens_in:,} in / {s.tokens_out:,} out"
        ),
        _cost(s.cost_usd, s.estimated_cost_usd),
        f"{s.duration_s:.1f}s",
        f"findings: {_severity_counts(result.findings) or 'none'}",
    ]
    if s.verify_chunks:
        checks = [
            f"{n} {what}"
            for n, what in (
                (s.confirmed_findings, "confirmed"),
                (s.corrected_findings, "corrected"),
                (s.refuted_findings, "refuted"),
                (s.unverified_findings, "unverified"),
            )
            if n
        ]
        parts.append(f"verified: {', '.join(checks) or 'nothing'}")
    hidden = [
        f"{n} {what}"
        for n, what in (
            (s.filtered_findings, "filtered"),
            (s.duplicate_findings, "duplicate"),
            (s.discarded_findings, "discarded"),
            (s.refuted_findings, "refuted"),
            (s.suppressed_findings, "suppressed"),
        )
        if n
    ]
    if hidden:
        listed = " (-v lists them)" if result.dropped and not verbose else ""
        parts.append(f"not shown: {', '.join(hidden)}{listed}")
    if s.redactions:
        parts.append(f"{_redaction_counts(result)} redacted")
    return _SEPARATOR.join(parts)


def _severity_counts(findings: Iterable[Finding]) -> str:
    return ", ".join(f"{n} {sev}" for sev, n in counts_by_severity(findings).items() if n)


def _cost(actual: float | None, estimated: float | None) -> str:
    if actual is not None and estimated is not None:
        return f"cost {_money(actual)} (estimated {_money(estimated)})"
    if actual is not None:
        return f"cost {_money(actual)}"
    if estimated is not None:
        return f"cost ~{_money(estimated)} (estimated)"
    return "cost unknown"


def _money(usd: float | None) -> str:
    if usd is None:
        return ""
    if usd == 0:
        return "$0"
    return f"${usd:.4f}" if usd < 1 else f"${usd:.2f}"


# --------------------------------------------------------------------------- text helpers


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _capped(items: tuple[Any, ...], entry: Callable[[Any], str]) -> list[str]:
    lines = [entry(item) for item in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        lines.append(f"  ... and {len(items) - MAX_LISTED} more (see --output json)")
    return lines


def _escape(ch: str) -> str:
    if unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS:
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch


def _block(text: str) -> str:
    """Untrusted multi-line text: keeps newlines and tabs, escapes other controls."""
    text = text.replace("\r\n", "\n")
    return "".join(ch if ch in "\n\t" else _escape(ch) for ch in text)


def _line(text: str) -> str:
    """Untrusted one-line text: whitespace runs become one space, controls are escaped."""
    return "".join(_escape(ch) for ch in " ".join(text.split()))


def _rstrip(text: str) -> str:
    return text.rstrip()


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + ln.rstrip() if ln.strip() else "" for ln in text.splitlines())
