"""Which new-file lines each level of context shows around a file's hunks.

Levels, richest first (``gather`` keeps the first that fits the budget, the chunker may step
further down when a chunk is tight):

``file``        every line of the file;
``scope``       for each hunk, its enclosing definitions in full (the innermost function, method
                or class around each changed line), the signature lines of the definitions
                around those (a method's class), and the signatures of the file's other
                definitions that the changed lines call;
``scope-20``,
``scope-8``     the same, with an enclosing definition cut to its signature, its last line and
                20 (then 8) lines either side of each changed line;
``signatures``  signature lines only (enclosing, outer and called definitions).

No level shows a line the hunks already show. An empty level is never returned: no context is
the floor the chunker always has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from reviewer.core.values import Hunk
from reviewer.prepare.context.outline import Definition, Outline

# Lines of a signature shown at most (decorators and long parameter lists included).
MAX_HEADER_LINES = 8
# Definitions the changed lines call whose signatures are shown at most.
MAX_CALLED = 12
TRIM_STEPS = (20, 8)
_CALL = re.compile(r"([A-Za-z_$][\w$]*)\s*(?:<[^<>()]*>)?\s*\(")


def context_levels(
    total_lines: int, hunks: Sequence[Hunk], outline: Outline
) -> list[tuple[str, frozenset[int]]]:
    """(level name, lines) pairs, richest first, each without the lines the hunks show."""
    shown = frozenset(ln.new_no for h in hunks for ln in h.lines if ln.new_no is not None)
    targets = _targets(hunks)
    enclosing = _enclosing(targets, outline)
    outer = _outer(enclosing, outline)
    called = _called(hunks, outline, exclude=set(enclosing) | set(outer))
    signatures = frozenset(
        n for d in (*enclosing, *outer, *called) for n in _header(d, total_lines)
    )
    candidates: list[tuple[str, frozenset[int]]] = [
        ("file", frozenset(range(1, total_lines + 1))),
        ("scope", signatures | frozenset(n for d in enclosing for n in _span(d, total_lines))),
    ]
    for reach in TRIM_STEPS:
        trimmed = {n for d in enclosing for n in _trimmed(d, targets, reach, total_lines)}
        candidates.append((f"scope-{reach}", signatures | frozenset(trimmed)))
    candidates.append(("signatures", signatures))
    levels: list[tuple[str, frozenset[int]]] = []
    for name, lines in candidates:
        visible = lines - shown
        if visible and (not levels or visible < levels[-1][1]):
            levels.append((name, visible))
    return levels


def _targets(hunks: Sequence[Hunk]) -> list[int]:
    """The lines a hunk changes; for a pure deletion, the lines around it."""
    found: list[int] = []
    for hunk in hunks:
        added = [ln.new_no for ln in hunk.lines if ln.kind == "add" and ln.new_no is not None]
        found.extend(added or (ln.new_no for ln in hunk.lines if ln.new_no is not None))
    return sorted(set(found))


def _innermost(line: int, outline: Outline, blocks: bool) -> Definition | None:
    best: Definition | None = None
    for d in outline:
        if d.start > line:
            break  # sorted by start
        smaller = best is None or (d.end - d.start) <= (best.end - best.start)
        if d.end >= line and (blocks or d.kind != "block") and smaller:
            best = d
    return best


def _enclosing(targets: Iterable[int], outline: Outline) -> list[Definition]:
    """The innermost definition around each target line; a fallback block where no
    definition encloses one (a YAML section, a shell if, ...)."""
    found: dict[Definition, None] = {}
    for line in targets:
        d = _innermost(line, outline, blocks=False) or _innermost(line, outline, blocks=True)
        if d is not None:
            found[d] = None
    return list(found)


def _outer(enclosing: Sequence[Definition], outline: Outline) -> list[Definition]:
    """Definitions around the enclosing ones (a method's class, a class's namespace)."""
    inner = set(enclosing)
    return [
        d
        for d in outline
        if d not in inner
        and d.kind != "block"
        and any(d.start <= e.start and e.end <= d.end and d != e for e in enclosing)
    ]


def _called(hunks: Sequence[Hunk], outline: Outline, exclude: set[Definition]) -> list[Definition]:
    names: dict[str, None] = {}
    for hunk in hunks:
        for ln in hunk.lines:
            if ln.kind == "add":
                names.update((m.group(1), None) for m in _CALL.finditer(ln.text))
    by_name: dict[str, list[Definition]] = {}
    for d in outline:
        if d.kind != "block" and d.name and d not in exclude:
            by_name.setdefault(d.short_name, []).append(d)
    called: list[Definition] = []
    for name in names:
        called.extend(by_name.get(name, ())[:3])  # overloads: a few are enough
    return called[:MAX_CALLED]


def _header(d: Definition, total: int) -> range:
    end = min(d.header_end, d.start + MAX_HEADER_LINES - 1, total)
    return range(d.start, end + 1)


def _span(d: Definition, total: int) -> range:
    return range(d.start, min(d.end, total) + 1)


def _trimmed(d: Definition, targets: Sequence[int], reach: int, total: int) -> set[int]:
    lines = set(_header(d, total))
    if d.end <= total:
        lines.add(d.end)  # the closing line: where the scope ends
    for t in targets:
        if d.start <= t <= d.end:
            lines.update(range(max(d.start, t - reach), min(d.end, total, t + reach) + 1))
    return lines
