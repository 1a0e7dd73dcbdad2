"""Markdown for GitHub: sanitising model text, our hidden markers, inline comment bodies.

Model text (titles, messages, the summary, failure messages) is untrusted. ``sanitize`` makes it
inert while keeping it readable:

* ``@user`` / ``@org/team`` -> ``@`` + ZERO WIDTH SPACE + ``user``: no notification, looks the
  same. ``#123`` likewise, so a bot comment never cross-references an issue.
* HTML is *escaped*, not stripped (``<`` -> ``&lt;``, ``&`` -> ``&amp;``): review text is full of
  ``Vec<T>``, ``a <b`` and ``<div>`` that mean something, and escaped they render as written but
  can neither hide text, forge our ``<!-- reviewer:... -->`` markers nor add images.
* Links stay inert: bare ``http(s)://``/``ftp://``/``www.`` URLs are wrapped in a code span
  (no auto-link, still copyable), ``[`` and ``]`` are escaped so ``[text](url)`` and
  ``![img](url)`` are shown as text.
* Code spans and fenced code blocks are kept verbatim (nothing inside them is interpreted);
  an unmatched backtick run is escaped, and a fence the model left open is closed at the end of
  its text, so model text can never swallow what we write after it.

Our markers are hidden HTML comments at the *start* of a body (``<!-- reviewer:fp=... -->`` for
an inline comment, ``<!-- reviewer:summary -->`` then ``<!-- reviewer:head=<sha> -->`` for the
summary) and are only recognised there, so a marker quoted inside model text means nothing.
"""

from __future__ import annotations

import hashlib
import re

from reviewer.core.values import Finding

SUMMARY_MARKER = "<!-- reviewer:summary -->"
MAX_BODY_CHARS = 65_000  # GitHub refuses comment bodies over 65,536 characters
ZWSP = "\u200b"
SEVERITY_ICON = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}

_FP_SAFE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_FP_MARKER = re.compile(r"\A<!-- reviewer:fp=([A-Za-z0-9_.:-]{1,128}) -->")
_HEAD_MARKER = re.compile(
    re.escape(SUMMARY_MARKER) + r"\r?\n<!-- reviewer:head=([0-9a-fA-F]{7,64}) -->"
)
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_URL = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s`<>]+", re.IGNORECASE)
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


# --------------------------------------------------------------------------- markers


def safe_fingerprint(fingerprint: str) -> str:
    """The fingerprint as written in a marker: itself when it is marker-safe, else a hash."""
    if _FP_SAFE.fullmatch(fingerprint):
        return fingerprint
    return "h" + hashlib.sha256(fingerprint.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def fingerprint_marker(fingerprint: str) -> str:
    return f"<!-- reviewer:fp={safe_fingerprint(fingerprint)} -->"


def fingerprint_in(body: str) -> str | None:
    """The fingerprint of one of our inline comments, from the marker at the start of its body."""
    match = _FP_MARKER.match(body)
    return match.group(1) if match else None


def is_summary(body: str) -> bool:
    return body.startswith(SUMMARY_MARKER)


def head_in(body: str) -> str | None:
    """The head SHA a summary comment was written for."""
    match = _HEAD_MARKER.match(body)
    return match.group(1).lower() if match else None


# --------------------------------------------------------------------------- sanitising


def sanitize(text: str) -> str:
    """Model text -> inert Markdown (see the module docstring)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    prose: list[str] = []
    fence: str | None = None  # the opening run, e.g. "```" or "~~~~"
    for line in lines:
        if fence is None:
            match = _FENCE_OPEN.match(line)
            # a backtick fence's info string may not contain a backtick (CommonMark)
            if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
                if prose:
                    out.append(_sanitize_inline("\n".join(prose)))
                    prose = []
                fence = match.group(1)
                info = re.sub(r"[^\w+.#-]", "", match.group(2).strip().split(" ")[0])
                out.append(fence + info)
            else:
                prose.append(line)
        else:
            out.append(line)
            stripped = line.strip()
            if (
                len(line) - len(line.lstrip(" ")) <= 3
                and stripped.startswith(fence)
                and set(stripped) == {fence[0]}
            ):
                fence = None
    if prose:
        out.append(_sanitize_inline("\n".join(prose)))
    if fence is not None:
        out.append(fence)
    return "\n".join(out)


def _sanitize_inline(text: str) -> str:
    """Prose outside fenced blocks: code spans verbatim, the rest escaped."""
    out: list[str] = []
    i = 0
    plain_start = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in _ASCII_PUNCT:
            # an escape pair (also of a backtick: "\\`" opens no code span) is plain text
            i += 2
            continue
        if ch != "`":
            i += 1
            continue
        run_end = i
        while run_end < n and text[run_end] == "`":
            run_end += 1
        run = run_end - i
        close = _closing_run(text, run_end, run)
        out.append(_escape_plain(text[plain_start:i]))
        if close is None:
            out.append("\\`" * run)
            i = plain_start = run_end
        else:
            out.append(text[i : close + run])
            i = plain_start = close + run
    out.append(_escape_plain(text[plain_start:]))
    return "".join(out)


def _closing_run(text: str, start: int, run: int) -> int | None:
    for match in re.finditer(r"`+", text[start:]):
        if len(match.group()) == run:
            return start + match.start()
    return None


def _escape_plain(text: str) -> str:
    parts: list[str] = []
    pos = 0
    for match in _URL.finditer(text):
        url = _trim_url(match.group())
        parts.append(_escape_chars(text[pos : match.start()]))
        parts.append(f"`{url}`")
        pos = match.start() + len(url)
    parts.append(_escape_chars(text[pos:]))
    return "".join(parts)


def _trim_url(url: str) -> str:
    """GFM's rule: trailing punctuation and an unbalanced ")" are not part of the URL."""
    while url:
        unbalanced = url[-1] == ")" and url.count(")") > url.count("(")
        if url[-1] in "?!.,:*_~'\";" or unbalanced:
            url = url[:-1]
        else:
            break
    return url


def _escape_chars(text: str) -> str:
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 < n and text[i + 1] in _ASCII_PUNCT:
                out.append(text[i : i + 2] + (ZWSP if text[i + 1] in "@#" else ""))
                i += 2
                continue
            # a lone backslash would escape whatever we write next (a code span's backtick)
            out.append("\\\\")
        elif ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch in "[]":
            out.append("\\" + ch)
        elif (ch == "@" and i + 1 < n and _is_word(text[i + 1])) or (
            ch == "#" and i + 1 < n and text[i + 1].isdigit()
        ):
            out.append(ch + ZWSP)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch in "_-"


def code_span(text: str) -> str:
    """``text`` as one inline code span, whatever backticks it holds (paths, rule ids)."""
    text = " ".join(text.splitlines())
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def table_cell(markdown: str) -> str:
    """Already-safe Markdown made fit for one table cell: one line, pipes escaped."""
    return " ".join(markdown.split()).replace("|", "\\|")


def fence_for(text: str, char: str = "`") -> str:
    """An opening/closing fence longer than any run of ``char`` in ``text`` (at least 3)."""
    longest = max((len(m) for m in re.findall(re.escape(char) + "+", text)), default=0)
    return char * max(3, longest + 1)


# --------------------------------------------------------------------------- inline comments


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def lines_label(start: int, end: int) -> str:
    return f"{start}" if start == end else f"{start}-{end}"


def inline_body(
    finding: Finding,
    *,
    with_suggestion: bool,
    shown: tuple[int, int] | None = None,
    suggestion_info: str = "suggestion",
) -> str:
    """The body of one inline comment. ``shown``: the lines it sits on when narrower.
    ``suggestion_info``: the suggestion fence's info string (GitLab's names the lines)."""
    parts = [
        fingerprint_marker(finding.fingerprint),
        f"{_headline(finding)}",
        "",
        truncate(sanitize(finding.message), 50_000),
    ]
    if shown is not None and shown != (finding.start_line, finding.end_line):
        parts += [
            "",
            f"_Applies to lines {lines_label(finding.start_line, finding.end_line)}; "
            f"shown on {lines_label(*shown)}, the part inside the diff._",
        ]
    if with_suggestion and finding.suggestion is not None:
        suggestion = finding.suggestion.removesuffix("\n")
        fence = fence_for(suggestion)
        parts += ["", f"{fence}{suggestion_info}", suggestion, fence]
    parts += ["", _footer(finding)]
    return "\n".join(parts)


def _headline(finding: Finding) -> str:
    icon = SEVERITY_ICON.get(finding.severity, "")
    title = " ".join(sanitize(finding.title).split())
    return f"{icon} **{finding.severity.capitalize()}** · {finding.category} — {title}"


def _footer(finding: Finding) -> str:
    return (
        f"<sub>reviewer · confidence {finding.confidence:.0%} · {code_span(finding.rule_id)}</sub>"
    )


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    # re-sanitising the cut closes a fence the cut may have left open
    return sanitize(text[:limit]) + "\n\n…(truncated)"
