"""Private key material across lines: PEM and armoured blocks, PuTTY key files, and key bodies
seen without their BEGIN or END line (a hunk inside a key).

Every finder takes one contiguous view of lines (a text, or one side of a hunk) and returns
the spans to replace, by line. BEGIN/END lines stay: the reviewer must still see that a key
was committed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from reviewer.prepare.redact.model import BASE64_CHARS
from reviewer.prepare.redact.view import View

Span = tuple[int, int]
LineSpans = dict[int, set[Span]]

# RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP ... PRIVATE KEY (BLOCK); SSH2's "---- BEGIN ... ----".
_KEY_HEADER = re.compile(r"-{4,5} ?(BEGIN|END) (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)? ?-{4,5}")
# Public blocks: a hunk inside one of these is not a key.
_PUBLIC_HEADER = re.compile(
    r"-{4,5} ?(BEGIN|END) (?:[A-Z0-9]+ )*(?:CERTIFICATE|PUBLIC KEY|SIGNATURE|MESSAGE"
    r"|CERTIFICATE REQUEST|X509 CRL|PARAMETERS)(?: BLOCK)? ?-{4,5}"
)
# Code around key lines: indentation, quotes, concatenation, "\n" escapes. Possessive
# quantifiers (`*+`) because these classes overlap: without them a long run of "+" or
# spaces after a BEGIN line backtracks quadratically.
_LEAD = r"""^[\s,(\[]*+(?:\+\s)?+[\s"'`(\[]*+"""
_TRAIL = r"""(?:\\r)?+(?:\\n)?+[\s"'`+,;)\]\\]*+$"""
_BODY_LINE = re.compile(
    _LEAD + r"(?P<core>=?[A-Za-z0-9+/]++={0,3}+"
    r"|(?:Proc-Type|DEK-Info|Comment|Version|Hash|Charset)\s*+:[^\"'\\]*+)" + _TRAIL
)
_BLANK_OR_MARKER_LINE = re.compile(r"""^(?:\[REDACTED:[a-z0-9-]+\]|[\s"'`+,;()\[\]]|\\[rn]?)*+$""")
# A run of key material; `(?<!\\)` keeps the "n" of a "\n" escape out of it.
_RUN = re.compile(r"(?<!\\)=?[A-Za-z0-9+/]{2,}={0,3}")
_FULL_BODY_LINE = 16  # PEM lines are 64 chars; only the last one before END is shorter

# What may share a line with a BEGIN/END header: key material, armor headers, "\n" escapes
# and quoting. `KEY_FOOTER = "-----END ...` is code, not key material.
_MATERIAL = r"""(?:[A-Za-z0-9+/=\s:,-]|\\[rn])*+"""
_INLINE_BLOCK = re.compile(_MATERIAL)
_BEGIN_REST = re.compile(_MATERIAL + _TRAIL)
_END_LEAD = re.compile(_LEAD + _MATERIAL)


def _run_span(line: str, start: int, end: int) -> Span | None:
    """From the first to the last run of key material in ``line[start:end]``."""
    runs = list(_RUN.finditer(line, start, end))
    if not runs:
        return None
    return runs[0].start(), runs[-1].end()


def _segment_span(shape: re.Pattern[str], line: str, start: int, end: int) -> Span | None:
    if shape.fullmatch(line, start, end) is None:
        return None
    return _run_span(line, start, end)


def _add(spans: LineSpans, i: int, span: Span | None) -> None:
    if span is not None:
        spans.setdefault(i, set()).add(span)


class _PemBlocks:
    """Finds private key material in one contiguous view of lines.

    A block runs from a BEGIN line while lines look like key body (base64, armor headers,
    blank); an END line closes it. Lines before an END line are swept backwards too, so a
    hunk that starts inside a key still hides its tail. A stray BEGIN in code ends at the
    first ordinary line instead of swallowing the rest of the hunk.
    """

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines
        self.spans: LineSpans = {}
        self.headers: dict[int, list[re.Match[str]]] = {}
        for i, line in enumerate(lines):
            if "PRIVATE KEY" in line:
                found = list(_KEY_HEADER.finditer(line))
                if found:
                    self.headers[i] = found

    def _is_end(self, i: int) -> bool:
        found = self.headers.get(i)
        return found is not None and found[0].group(1) == "END"

    def _body(self, i: int, *, last: bool) -> bool:
        """Whether line ``i`` belongs to a block body (and record its span if so)."""
        line = self.lines[i]
        m = _BODY_LINE.match(line)
        if m is not None:
            core = m.group("core")
            if len(core) < _FULL_BODY_LINE and not last and "=" not in core and ":" not in core:
                return False  # "pass", "return": code, not a short final key line
            _add(self.spans, i, _run_span(line, 0, len(line)))
            return True
        return _BLANK_OR_MARKER_LINE.match(line) is not None

    def _block_from(self, i: int) -> int:
        """Records the block opened on line ``i - 1``; returns where to look next."""
        lines = self.lines
        while i < len(lines):
            if self._is_end(i):
                closer = self.headers[i][0].start()
                _add(self.spans, i, _segment_span(_END_LEAD, lines[i], 0, closer))
                return i  # the END line is looked at again: it may open the next block
            if i in self.headers or not self._body(i, last=self._is_end(i + 1)):
                return i
            i += 1
        return i

    def find(self) -> LineSpans:
        lines = self.lines
        i = 0
        while i < len(lines):
            found = self.headers.get(i)
            if not found:
                i += 1
                continue
            for a, b in itertools.pairwise(found):
                if a.group(1) == "BEGIN" and b.group(1) == "END":
                    _add(self.spans, i, _segment_span(_INLINE_BLOCK, lines[i], a.end(), b.start()))
            i += 1
            if found[-1].group(1) == "BEGIN":
                opener = lines[i - 1]
                _add(
                    self.spans,
                    i - 1,
                    _segment_span(_BEGIN_REST, opener, found[-1].end(), len(opener)),
                )
                i = self._block_from(i)
        for end in self.headers:
            if self._is_end(end):
                j = end - 1
                while j >= 0 and j not in self.headers and self._body(j, last=j == end - 1):
                    j -= 1
        return self.spans


def pem_blocks(view: View) -> LineSpans:
    """PEM and armoured private key blocks: RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, PGP."""
    if "PRIVATE KEY" not in view.text:
        return {}
    return _PemBlocks(view.lines).find()


# --------------------------------------------------------------------------- PuTTY

_PUTTY_PRIVATE = re.compile(r"^\s*Private-Lines:\s*(\d{1,4})\s*$")
_PUTTY_MAC = re.compile(r"^\s*Private-(?:MAC|Hash):\s*(?P<v>[0-9a-fA-F]{16,})\s*$")


def putty_keys(view: View) -> LineSpans:
    """PuTTY-User-Key-File: the N lines after `Private-Lines: N`, and the Private-MAC. The
    public lines stay."""
    if "Private-" not in view.text:
        return {}
    lines = view.lines
    spans: LineSpans = {}
    for i, line in enumerate(lines):
        if "Private-" not in line:
            continue
        m = _PUTTY_PRIVATE.match(line)
        if m is not None:
            for j in range(i + 1, min(len(lines), i + 1 + int(m.group(1)))):
                _add(spans, j, _run_span(lines[j], 0, len(lines[j])))
            continue
        mac = _PUTTY_MAC.match(line)
        if mac is not None:
            _add(spans, i, mac.span("v"))
    return spans


# --------------------------------------------------------------------------- headless bodies

# A full-width line of key material: 64 characters (PEM, PGP, PuTTY) or 70 (OpenSSH), maybe
# quoted, concatenated or "\n"-escaped in code. Within one line: no "\s" that could cross one.
_WIDE_LINE = re.compile(
    r"""^[ \t,(\[]*+(?:\+[ \t])?+[ \t"'`(\[]*+(?:[A-Za-z0-9+/]{64}|[A-Za-z0-9+/]{70})"""
    r"""(?:\\r)?+(?:\\n)?+[ \t"'`+,;)\]\\]*+$""",
    re.MULTILINE,
)
_MIN_RUN = 3


def _public_lines(lines: Sequence[str]) -> set[int]:
    """Lines inside visible certificate, public key or signature blocks."""
    inside: set[int] = set()
    for i, line in enumerate(lines):
        if "-----" not in line and "---- " not in line:
            continue
        m = _PUBLIC_HEADER.search(line)
        if m is None:
            continue
        step = 1 if m.group(1) == "BEGIN" else -1
        j = i + step
        while 0 <= j < len(lines) and "-----" not in lines[j]:
            inside.add(j)
            j += step
    return inside


def headless_keys(view: View) -> LineSpans:
    """A run of three or more full-width base64 lines with no header in sight: the middle of
    a private key (a hunk that neither starts nor ends at its BEGIN/END). Certificates and
    public keys whose headers are visible are left alone."""
    lines = view.lines
    candidates = [i for i in view.lines_with_run(BASE64_CHARS, 64) if _WIDE_LINE.match(lines[i])]
    if len(candidates) < _MIN_RUN:
        return {}
    public = _public_lines(lines)
    spans: LineSpans = {}
    run: list[int] = []
    for i in [*candidates, -2]:
        if run and i == run[-1] + 1 and i not in public:
            run.append(i)
            continue
        if len(run) >= _MIN_RUN:
            for j in run:
                _add(spans, j, _run_span(lines[j], 0, len(lines[j])))
        run = [i] if i >= 0 and i not in public else []
    return spans
