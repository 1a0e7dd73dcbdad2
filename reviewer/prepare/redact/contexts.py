"""Secrets that only a few lines together reveal: Kubernetes Secret `data:` values, multi-line
strings given to a secret-bearing name, and a secret's name and value on neighbouring lines
(`- name: DB_PASSWORD` / `value: x`, Terraform `variable "db_password" { default = "x" }`,
plist `<key>APIKey</key>` / `<string>x</string>`).

Like ``keys``, each finder reads one contiguous view of lines and returns spans by line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from reviewer.prepare.redact import checks, names
from reviewer.prepare.redact.keys import LineSpans, Span
from reviewer.prepare.redact.view import View

# --------------------------------------------------------------------------- Kubernetes

_KIND = re.compile(r"""^\s*["']?kind["']?\s*:\s*["']?(?P<kind>\w+)["']?\s*,?\s*(?:#.*)?$""")
_DATA_KEY = re.compile(r"^(?P<indent>[ \t]*)(?:data|stringData)[ \t]*:[ \t]*(?:#.*)?$", re.M)
_ENTRY = re.compile(r"""^(?P<indent>\s+)["']?[\w.-]+["']?\s*:[ \t]*(?P<v>\S(?:.*\S)?)?\s*$""")
_KIND_SECRET = re.compile(r"""kind["']?[ \t]*:[ \t]*["']?Secret\b""")
_BLOCK_INDICATOR = re.compile(r"^[|>][-+0-9]*(?:\s+#.*)?$")
_EMPTY_VALUES = frozenset({'""', "''", "{}", "null", "~"})


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _strip_quotes(span: Span, line: str) -> Span:
    start, end = span
    if end - start >= 2 and line[start] in "\"'" and line[end - 1] == line[start]:
        return start + 1, end - 1
    return span


def _secret_documents(lines: Sequence[str], hint: bool) -> list[bool]:
    """For each line, whether it is in a YAML document of kind Secret. A document whose kind
    is not in view (a hunk that starts below it) takes ``hint``: the file holds a Secret."""
    verdicts: list[bool] = []
    start = 0
    for end in [*(i for i, ln in enumerate(lines) if ln.startswith("---")), len(lines)]:
        kinds = [m.group("kind") for ln in lines[start:end] if (m := _KIND.match(ln))]
        secret = kinds[0] == "Secret" if kinds else hint
        verdicts.extend([secret] * (end - start))
        start = end
    return verdicts[: len(lines)]


def kubernetes_secrets(view: View, hint: bool) -> LineSpans:
    """Every value under `data:`/`stringData:` of a Kubernetes Secret, whatever its key."""
    if not (hint or _KIND_SECRET.search(view.text)) or not view.lines_matching(_DATA_KEY):
        return {}
    lines = view.lines
    secret_doc = _secret_documents(lines, hint)
    spans: LineSpans = {}
    i = 0
    while i < len(lines):
        m = _DATA_KEY.match(lines[i]) if "ata" in lines[i] else None
        i += 1
        if m is None or not secret_doc[i - 1]:
            continue
        base = len(m.group("indent"))
        block_indent = -1  # inside a `key: |` block scalar: its lines are the value
        while i < len(lines):
            line = lines[i]
            if not line.strip():
                i += 1
                continue
            if _indent(line) <= base:
                break
            if block_indent >= 0 and _indent(line) > block_indent:
                spans.setdefault(i, set()).add((_indent(line), len(line.rstrip())))
            else:
                block_indent = -1
                entry = _ENTRY.match(line)
                value = entry.group("v") if entry else None
                if value and _BLOCK_INDICATOR.match(value):
                    block_indent = _indent(line)
                elif entry and value and value not in _EMPTY_VALUES and "{{" not in value:
                    span = _strip_quotes(entry.span("v"), line)
                    spans.setdefault(i, set()).add(span)
            i += 1
    return spans


# --------------------------------------------------------------------------- multi-line strings


def _content_span(line: str, end: int | None = None) -> Span | None:
    text = line[:end] if end is not None else line
    stripped = text.strip()
    if not stripped:
        return None
    start = len(text) - len(text.lstrip())
    return start, start + len(stripped)


def _secret_line(text: str) -> bool:
    value = text.strip().strip(",;+\"'")
    return len(value) >= 8 and not checks.is_kept_visible(value) and " " not in value


# `name =` before the opener, read backwards from it (an anchored match, not a search):
# reversed, the separator comes first, then closing quotes or brackets, then the name.
_REVERSED_HEAD = re.compile(
    r"""[rRbBuUfF]{0,2}[ \t]*(?:=:|>=|=|:)[ \t]*(?:["'\]]\\?){0,2}(?P<name>[\w$.-]{1,80})"""
)


def _opener(line: str, at: int) -> str | None:
    """The character opening a multi-line string at ``line[at]`` (one of \" ' ` | >), if
    it is given to a secret-bearing name; else None."""
    m = _REVERSED_HEAD.match(line[:at][::-1])
    if m is None or not names.is_secret_name(m.group("name")[::-1]):
        return None
    return line[at]


# Lines that end like the opening of a multi-line string: a cheap pass before _opener.
# Starts with a class so that `re` skips ahead to one of these characters.
_OPENER_END = re.compile(
    r"""[\"'`|>](?:(?<=")""|(?<=')''|(?<=`)|(?<=[|>])[-+0-9]*)[ \t]*(?:#[^\n]*)?$""", re.M
)


def multiline_strings(view: View) -> LineSpans:
    """The lines of a multi-line string given to a secret-bearing name: YAML block scalars
    (`client_secret: |`) and triple-quoted or backtick strings (`TOKEN = \"\"\"`)."""
    lines = view.lines
    spans: LineSpans = {}
    for i, at in view.named_matches(_OPENER_END):
        line = lines[i]
        opener = _opener(line, at)
        if opener is None:
            continue
        if opener in "|>":
            base = _indent(line)
            for j in range(i + 1, min(len(lines), i + 200)):
                if lines[j].strip() and _indent(lines[j]) <= base:
                    break
                span = _content_span(lines[j])
                if span and _secret_line(lines[j]):
                    spans.setdefault(j, set()).add(span)
            continue
        quote = opener * 3 if opener in "\"'" else opener
        for j in range(i + 1, min(len(lines), i + 200)):
            close = lines[j].find(quote)
            span = _content_span(lines[j], close if close >= 0 else None)
            if span and _secret_line(lines[j][span[0] : span[1]]):
                spans.setdefault(j, set()).add(span)
            if close >= 0:
                break
    return spans


# --------------------------------------------------------------------------- name, then value

# `- name: DB_PASSWORD`, `"name": "API_KEY",`, `variable "db_password" {`, `<key>APIKey</key>`
_NAME_LINE = re.compile(
    r"""^\s*(?:-\s*)?["']?(?:name|key)["']?\s*[:=]\s*["']?(?P<a>[\w.-]{1,80})["']?\s*,?\s*$"""
    r"""|^\s*variable\s+["'](?P<b>[\w.-]{1,80})["']\s*\{\s*$"""
    r"""|^\s*<key>(?P<c>[\w.-]{1,80})</key>\s*$"""
)
_VALUE_LINE = re.compile(
    r"""^\s*(?:-\s*)?["']?(?:value|default|secret)["']?\s*[:=]\s*"""
    r"""(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<uv>[^\s"',#]+))\s*,?\s*(?:#.*)?$"""
    r"""|^\s*<string>(?P<xv>[^<]*)</string>\s*$"""
)
_LOOKAHEAD = 6
# Where a name line may be: a cheap pass over the whole view (literals let `re` skip
# ahead) before the exact match.
_NAME_LINE_START = re.compile(
    r"""name["']?[ \t]*[:=]|key["']?[ \t]*[:=]|variable[ \t]+["']|<key>"""
)


def _paired_value(lines: Sequence[str], i: int) -> tuple[int, Span] | None:
    for j in range(i + 1, min(len(lines), i + 1 + _LOOKAHEAD)):
        line = lines[j]
        if _NAME_LINE.match(line) or line.strip() in ("}", "-", "---"):
            return None
        m = _VALUE_LINE.match(line)
        if m is None:
            continue
        group = next(g for g in ("dq", "sq", "uv", "xv") if m.group(g) is not None)
        if group == "uv" and checks.is_code_reference(m.group(group)):
            return None
        return (j, m.span(group)) if checks.looks_random(m.group(group)) else None
    return None


def name_value_pairs(view: View) -> LineSpans:
    """A secret-bearing name on one line and its value on one of the next few."""
    lines = view.lines
    spans: LineSpans = {}
    for i in sorted({i for i, _ in view.named_matches(_NAME_LINE_START)}):
        m = _NAME_LINE.match(lines[i])
        if m is None:
            continue
        name = m.group("a") or m.group("b") or m.group("c")
        if not names.is_secret_name(name):
            continue
        found = _paired_value(lines, i)
        if found is not None:
            spans.setdefault(found[0], set()).add(found[1])
    return spans
