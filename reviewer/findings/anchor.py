"""Model findings -> ``Finding``s anchored on the lines of the chunk they came from.

"The comment is on the wrong line" is the most common complaint about AI reviewers, so a
model's finding is only kept when its range lands on a line the chunk asked about:

* The path must be one of the chunk's files. Matching is exact, then after dropping "./" and a
  diff's "a/"/"b/" prefix. A file split over several ``ChunkFile`` parts is one file here.
* The model answers in new-file line numbers. A range (either order) is accepted when it
  intersects the file's changed lines (``ChunkFile.changed_lines``: added lines, or every line
  in whole-file mode). It is then clamped to the span of changed lines it intersects, so a
  comment never lands on a context line. A range touching only context lines, or lines the
  chunk did not show, is discarded.
* A clamped finding loses its suggestion: the suggestion replaces exactly the model's range,
  and pasting it over a different range would corrupt the code. A blank suggestion, or one
  identical to the current code, is dropped as noise. So is one carrying a ``[REDACTED:...]``
  marker: pasted over the real line it would replace a value the model never saw.
* Text fields are data from the model: control characters (except newline and tab) and bidi
  overrides are removed, the title is one line of at most 200 characters, the message at most
  4000. A finding with neither title nor message, or a non-finite confidence, is discarded.
* More than ``max_per_chunk`` findings: the highest scored are kept, the rest counted as
  ``capped`` (a model that lists 300 nits has not reviewed anything).

``Finding.fingerprint`` identifies a finding across runs and line shifts: it hashes the path,
the rule, the title's words and the code's text with whitespace collapsed, never a line number.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from reviewer.core.values import Category, Chunk, Finding, Frozen, Severity
from reviewer.findings.scoring import finding_score

MAX_TITLE_CHARS = 200
MAX_MESSAGE_CHARS = 4000
FINGERPRINT_HEX_CHARS = 16

# Trojan-source style reordering would make a report say something other than what it shows.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DIFF_PREFIXES = ("a/", "b/")
_WORD = re.compile(r"[^\W_]+")
_REDACTION_MARKER = re.compile(r"\[REDACTED:[a-z0-9-]+\]")


class ModelFindingLike(Protocol):
    """The shape of ``reviewer.llm.answer.ModelFinding`` (read-only attributes)."""

    @property
    def path(self) -> str: ...
    @property
    def start_line(self) -> int: ...
    @property
    def end_line(self) -> int: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def category(self) -> Category: ...
    @property
    def confidence(self) -> float: ...
    @property
    def title(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def suggestion(self) -> str | None: ...


class AnchorOutcome(Frozen):
    """The anchored findings of one chunk and what happened to the others.

    ``discarded``: wrong path, no changed line in range, or unusable text/confidence.
    ``clamped``: kept findings whose range was narrowed. ``capped``: dropped over the cap.
    """

    findings: tuple[Finding, ...] = ()
    discarded: int = 0
    clamped: int = 0
    capped: int = 0


@dataclass(frozen=True)
class _FileLines:
    changed: tuple[int, ...]  # sorted
    text: dict[int, str]  # new-file line number -> text, for every shown line


def rule_id(category: Category) -> str:
    """The stable rule id of a category, e.g. ``reviewer/security``."""
    return f"reviewer/{category}"


def sanitize(text: str) -> str:
    """Remove control characters except newline and tab, and bidi overrides."""
    return "".join(
        ch
        for ch in text
        if ch in "\n\t" or (unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS)
    )


def fingerprint(path: str, rule: str, title: str, code: str) -> str:
    """First 16 hex digits of sha256 over what identifies a finding, no line numbers."""
    norm_title = " ".join(_WORD.findall(title.lower()))
    norm_code = " ".join(code.split())
    payload = "\0".join((path, rule, norm_title, norm_code))
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[
        :FINGERPRINT_HEX_CHARS
    ]


def anchor_findings(
    findings: Sequence[ModelFindingLike], chunk: Chunk, max_per_chunk: int = 50
) -> AnchorOutcome:
    """Anchor one chunk's model findings on its changed lines, see the module docstring."""
    if max_per_chunk < 1:
        raise ValueError("max_per_chunk must be at least 1")
    files = _files_of(chunk)
    kept: list[tuple[Finding, bool]] = []
    discarded = 0
    for raw in findings:
        anchored = _anchor_one(raw, files, chunk.id)
        if anchored is None:
            discarded += 1
        else:
            kept.append(anchored)

    capped = max(0, len(kept) - max_per_chunk)
    if capped:
        best = sorted(range(len(kept)), key=lambda i: (-kept[i][0].score, i))[:max_per_chunk]
        kept = [kept[i] for i in sorted(best)]
    return AnchorOutcome(
        findings=tuple(f for f, _ in kept),
        discarded=discarded,
        clamped=sum(1 for _, was_clamped in kept if was_clamped),
        capped=capped,
    )


def anchor_each(findings: Sequence[ModelFindingLike], chunk: Chunk) -> list[Finding | None]:
    """Each finding anchored on its own (no cap), or None where ``anchor_findings`` would
    discard it: for the verification pass, which needs to know what became of each one."""
    files = _files_of(chunk)
    results: list[Finding | None] = []
    for raw in findings:
        anchored = _anchor_one(raw, files, chunk.id)
        results.append(anchored[0] if anchored else None)
    return results


def _files_of(chunk: Chunk) -> dict[str, _FileLines]:
    changed: dict[str, set[int]] = {}
    text: dict[str, dict[int, str]] = {}
    for part in chunk.files:
        changed.setdefault(part.path, set()).update(part.changed_lines)
        lines = text.setdefault(part.path, {})
        for hunk in part.hunks:
            for line in hunk.lines:
                if line.new_no is not None:
                    lines[line.new_no] = line.text.rstrip("\r\n")
    return {p: _FileLines(tuple(sorted(changed[p])), text[p]) for p in changed}


def _match_path(path: str, files: dict[str, _FileLines]) -> str | None:
    candidate = path.strip()
    if candidate in files:
        return candidate
    while candidate.startswith("./"):
        candidate = candidate[2:]
    if candidate in files:
        return candidate
    if candidate.startswith(_DIFF_PREFIXES) and candidate[2:] in files:
        return candidate[2:]
    # A path with a line break is shown escaped (reviewer.prepare.render keeps headers one line).
    shown = {_as_shown(p): p for p in files if "\n" in p or "\r" in p}
    return shown.get(path.strip())


def _as_shown(path: str) -> str:
    return path.replace("\r", "\\r").replace("\n", "\\n")


def _anchor_one(
    raw: ModelFindingLike, files: dict[str, _FileLines], chunk_id: str
) -> tuple[Finding, bool] | None:
    path = _match_path(raw.path, files)
    if path is None or not math.isfinite(raw.confidence):
        return None
    lines = files[path]
    low, high = sorted((raw.start_line, raw.end_line))
    first = bisect.bisect_left(lines.changed, low)
    last = bisect.bisect_right(lines.changed, high) - 1
    if first > last:
        return None
    start, end = lines.changed[first], lines.changed[last]
    clamped = (start, end) != (low, high)

    message = _truncate(sanitize(raw.message).strip(), MAX_MESSAGE_CHARS)
    title = " ".join(sanitize(raw.title).split()) or " ".join(message.split("\n", 1)[0].split())
    if not title:
        return None
    title = _truncate(title, MAX_TITLE_CHARS)

    code = "\n".join(lines.text[n] for n in range(start, end + 1) if n in lines.text)
    suggestion = None if clamped else _useful_suggestion(raw.suggestion, code)
    confidence = min(1.0, max(0.0, raw.confidence))
    rule = rule_id(raw.category)
    finding = Finding(
        path=path,
        start_line=start,
        end_line=end,
        severity=raw.severity,
        category=raw.category,
        confidence=confidence,
        title=title,
        message=message,
        suggestion=suggestion,
        rule_id=rule,
        fingerprint=fingerprint(path, rule, title, code),
        score=finding_score(raw.severity, confidence),
        chunk_id=chunk_id,
        code=code,
    )
    return finding, clamped


def _useful_suggestion(suggestion: str | None, code: str) -> str | None:
    if suggestion is None:
        return None
    cleaned = sanitize(suggestion)
    if not cleaned.strip() or cleaned.rstrip("\n") == code.rstrip("\n"):
        return None
    if _REDACTION_MARKER.search(cleaned):
        # The model copied a line we redacted: applying it would paste the marker over the
        # real value (reviewer.prepare.redact).
        return None
    return cleaned


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
