"""The summary comment: one per PR, updated in place, and the ``--output github`` report.

Score, counts by severity, a table of every finding (linked to its inline comment when it has
one), the full text of findings without one (off the diff, or refused by GitHub), files not
reviewed and why, failed chunks, tokens and cost. A hidden ``<!-- reviewer:head=<sha> -->``
after the summary marker records the reviewed head for incremental runs, only when the review
is complete (no failed chunk). Model text goes through ``markdown.sanitize``; table cells
through ``markdown.table_cell``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from reviewer.core.values import SEVERITIES, Finding, ReviewResult
from reviewer.outputs.github.markdown import (
    MAX_BODY_CHARS,
    SEVERITY_ICON,
    SUMMARY_MARKER,
    code_span,
    fence_for,
    lines_label,
    plural,
    safe_fingerprint,
    sanitize,
    table_cell,
    truncate,
)


def diff_link(pr_url: str, path: str, line: int) -> str:
    """GitHub's "Files changed" anchor for a right-side line: ``#diff-<sha256(path)>R<line>``."""
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{pr_url}/files#diff-{digest}R{line}"


def render_summary(
    result: ReviewResult,
    *,
    inline_links: Mapping[str, str],
    head_sha: str | None,
    incremental_base: str | None = None,
    notes: Sequence[str] = (),
    markers: bool = True,
    max_chars: int = MAX_BODY_CHARS,
    host: str = "GitHub",
    request: str = "PR",
) -> str:
    """The summary comment. Findings whose fingerprint has a link in ``inline_links`` are on the
    PR as inline comments (linked from the table); every other finding is written out in full
    under "Details", so nothing is lost. Rows are cut, worst kept, to fit ``max_chars``.
    ``host``/``request`` name the forge in the text ("GitLab", "MR").
    """
    limit = len(result.findings)
    while True:
        text = _render(
            result,
            inline_links=inline_links,
            head_sha=head_sha,
            incremental_base=incremental_base,
            notes=notes,
            markers=markers,
            limit=limit,
            wording=(host, request),
        )
        if len(text) <= max_chars or limit == 0:
            return text if len(text) <= max_chars else text[:max_chars]
        limit //= 2


def _render(
    result: ReviewResult,
    *,
    inline_links: Mapping[str, str],
    head_sha: str | None,
    incremental_base: str | None,
    notes: Sequence[str],
    markers: bool,
    limit: int,
    wording: tuple[str, str] = ("GitHub", "PR"),
) -> str:
    out: list[str] = []
    if markers:
        out.append(SUMMARY_MARKER)
        # An incomplete review is no baseline: without the head marker the next run reviews
        # the whole PR again instead of skipping what failed here.
        if head_sha and result.complete:
            out.append(f"<!-- reviewer:head={head_sha} -->")
    out.append(f"## reviewer: {result.score}/10")
    out.append("")
    out.append(_scope_line(result, head_sha, incremental_base, wording[1]))
    if not result.complete:
        out += ["", "> [!WARNING]", "> Incomplete review: some chunks failed (listed below)."]
    if result.warnings:  # a response-format fallback, the monthly budget...
        out += ["", "> [!WARNING]"] + [f"> {sanitize(w)}" for w in result.warnings]
    if result.summary.strip():
        out += ["", sanitize(result.summary.strip())]
    out += ["", _severity_table(result)]
    notes = [*notes, *_checked_notes(result)]
    if notes:
        out += [""] + [f"- {note}" for note in notes]
    out += _findings_section(result, inline_links, limit, wording[0])
    out += _not_reviewed_section(result)
    out += _failures_section(result)
    out += ["", _cost_line(result)]
    return "\n".join(out) + "\n"


def _findings_section(
    result: ReviewResult, inline_links: Mapping[str, str], limit: int, host: str
) -> list[str]:
    shown = result.findings[:limit]
    if not shown:
        return []
    out = ["", "### Findings", "", "| | Severity | Location | Finding |", "|---|---|---|---|"]
    for i, f in enumerate(shown, 1):
        out.append(_finding_row(i, f, inline_links.get(safe_fingerprint(f.fingerprint))))
    hidden = len(result.findings) - len(shown)
    if hidden:
        out += ["", f"…and {hidden} more findings, not shown to fit {host}'s size limit."]
    details = [
        (i, f)
        for i, f in enumerate(shown, 1)
        if safe_fingerprint(f.fingerprint) not in inline_links
    ]
    if details:
        title = "Details" if not inline_links else "Findings not on the diff (no inline comment)"
        out += ["", f"### {title}"]
        for i, f in details:
            out += ["", _finding_details(i, f)]
    return out


def _not_reviewed_section(result: ReviewResult) -> list[str]:
    if not result.not_reviewed:
        return []
    out = ["", "### Not reviewed", "", "| File | Reason | Detail |", "|---|---|---|"]
    for nr in result.not_reviewed:
        out.append(_row((code_span(nr.path), nr.reason, sanitize(nr.detail))))
    return out


def _failures_section(result: ReviewResult) -> list[str]:
    if not result.failures:
        return []
    out = ["", "### Failed chunks", "", "| Chunk | Files | Lines | Error |", "|---|---|---|---|"]
    for fl in result.failures:
        files = ", ".join(code_span(p) for p in fl.paths)
        error = f"{fl.kind}: {sanitize(fl.message)}"
        out.append(_row((str(fl.index), files, str(fl.lines), error)))
    return out


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(table_cell(c) for c in cells) + " |"


def _scope_line(
    result: ReviewResult, head_sha: str | None, incremental_base: str | None, request: str = "PR"
) -> str:
    head = code_span(head_sha[:12]) if head_sha else code_span(result.source)
    scope = f"Reviewed {head}"
    if incremental_base:
        scope += (
            f" incrementally: only the changes since {code_span(incremental_base[:12])};"
            f" comments from earlier runs stay on the {request}"
        )
    return f"{scope} with {code_span(result.model)} ({sanitize(result.provider)})."


def _severity_table(result: ReviewResult) -> str:
    counts = {sev: 0 for sev in SEVERITIES}
    for f in result.findings:
        counts[f.severity] += 1
    head = "| " + " | ".join(f"{SEVERITY_ICON[s]} {s}" for s in SEVERITIES) + " |"
    rule = "|" + "---|" * len(SEVERITIES)
    row = "| " + " | ".join(str(counts[s]) for s in SEVERITIES) + " |"
    return "\n".join((head, rule, row))


def _location(f: Finding) -> str:
    return f"{f.path}:{lines_label(f.start_line, f.end_line)}"


def _finding_row(index: int, f: Finding, link: str | None) -> str:
    where = code_span(_location(f))
    # our URLs only, and only when they cannot break out of the link syntax
    location = f"[{where}]({link})" if link and not re.search(r"[\s()<>]", link) else where
    finding = f"**{sanitize(f.title)}** · {f.category} · {f.confidence:.0%}"
    if f.verified is False:
        finding += " · unverified"
    if link is None:
        finding += " · details below"
    return _row((str(index), f"{SEVERITY_ICON[f.severity]} {f.severity}", location, finding))


def _finding_details(index: int, f: Finding) -> str:
    parts = [
        f"**{index}. {SEVERITY_ICON[f.severity]} {sanitize(' '.join(f.title.split()))}** "
        f"· {code_span(_location(f))} · {f.category} · {f.confidence:.0%}",
        "",
        truncate(sanitize(f.message), 8_000),
    ]
    if f.suggestion is not None:
        # a plain block: a suggestion block only works on an inline comment
        fence = fence_for(f.suggestion)
        parts += ["", "Suggested replacement:", "", fence, f.suggestion.removesuffix("\n"), fence]
    return "\n".join(parts)


def _checked_notes(result: ReviewResult) -> list[str]:
    """What the verification pass and the repository's rules did to the findings."""
    s = result.stats
    notes: list[str] = []
    if s.verify_chunks:
        parts = [
            f"{n} {what}"
            for n, what in (
                (s.confirmed_findings, "confirmed"),
                (s.corrected_findings, "corrected"),
                (s.refuted_findings, "refuted and not shown"),
                (s.unverified_findings, "left unverified (the check failed)"),
            )
            if n
        ]
        notes.append(f"Verification pass: {', '.join(parts) or 'nothing to check'}.")
    if s.suppressed_findings:
        notes.append(
            f"{plural(s.suppressed_findings, 'finding')} suppressed by `reviewer: ignore` "
            "comments or marked as false positives on this pull request."
        )
    used = [i for i in result.instructions if i.tokens]
    if used:
        names = ", ".join(code_span(i.path) for i in used)
        revision = used[0].revision
        notes.append(f"Review instructions from the repository ({sanitize(revision)}): {names}.")
    return notes


def _cost_line(result: ReviewResult) -> str:
    s = result.stats
    cost = s.cost_usd if s.cost_usd is not None else s.estimated_cost_usd
    cost_text = "cost unknown" if cost is None else f"${cost:.4f}"
    if s.cost_usd is None and cost is not None:
        cost_text += " (estimated)"
    return (
        f"<sub>{plural(s.files_reviewed, 'file')} reviewed in {plural(s.chunks, 'chunk')} "
        f"({s.chunks_cached} cached, {s.chunks_failed} failed) · "
        f"{s.tokens_in:,} tokens in, {s.tokens_out:,} out · {cost_text} · "
        f"{s.duration_s:.1f}s · reviewer {result.tool_version}</sub>"
    )
