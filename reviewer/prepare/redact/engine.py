"""The engine: applies the rules in ``rules.py`` to lines, replacing each span by a marker
*within its line*, so line structure and numbers never change.

Per view of lines: the block rules (several lines at once), then ``gate.Table.scan`` to find
the few lines any line rule could match. On those, the rules the gate named run, and every
identifier holding a name stem is checked with ``names``; after a secret-bearing one the
``after_name`` rules are matched. Overlaps go to the earlier rule.

Redacting is idempotent: markers are never matched again, and a match overlapping or
touching a marker is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from reviewer.prepare.redact import names
from reviewer.prepare.redact.gate import Compiled, Hits, Table, table
from reviewer.prepare.redact.model import MARKER, Found, Redaction, marker
from reviewer.prepare.redact.rules import BLOCK_RULES, Hints
from reviewer.prepare.redact.view import View

# An identifier, key, header or flag name: snake, camel, kebab, SCREAMING, dotted, $var, --flag.
_TOKEN = re.compile(r"(?<![\w$-])-{0,2}[A-Za-z_$][\w$.-]{0,127}")
# Skipped to find what follows a name: spaces, closing quotes and brackets, escapes.
_SKIPPED = " \t\"'`]\\"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$.-")


@dataclass(frozen=True, slots=True)
class _Candidate:
    priority: int
    start: int
    end: int
    family: str
    # The whole match (name, separator, value). Matches touching an earlier marker are
    # dropped, which keeps redaction idempotent: `[REDACTED:generic-secret] = x` must not
    # read as a key named "secret", nor `token:NAME=[REDACTED:openai-key]` as the value
    # "NAME=" on a second pass. (Lookarounds see at most one character past a match.)
    context: tuple[int, int]


def _candidates(
    compiled: Compiled,
    matches: Iterable[re.Match[str]],
    found: list[_Candidate],
    name: str = "",
    name_start: int = -1,
) -> None:
    """Appends to ``found`` the matches that pass the rule's validator."""
    rule = compiled.rule
    for m in matches:
        start = end = -1
        for g in compiled.groups:
            if m.group(g) is not None:
                start, end = m.span(g)
                break
        if start >= end:
            continue
        if rule.validator is not None and not rule.validator(
            Found(m, m.string[start:end], name, name_start)
        ):
            continue
        context = (min(m.start(), name_start) if name_start >= 0 else m.start(), m.end())
        found.append(_Candidate(compiled.priority, start, end, rule.family, context))


def _names(line: str, hits: Hits) -> Iterator[re.Match[str]]:
    """The identifiers of ``line`` that hold a name stem, each once."""
    if not hits.exact:
        yield from _TOKEN.finditer(line)
        return
    seen_end = -1
    for stem in sorted(hits.stems):
        if stem < seen_end:
            continue
        start = stem
        while start > 0 and line[start - 1] in _NAME_CHARS:
            start -= 1
        for tok in _TOKEN.finditer(line, start):
            if tok.end() > stem:
                if tok.start() <= stem:
                    seen_end = tok.end()
                    yield tok
                break


def line_candidates(line: str, tab: Table, hits: Hits) -> list[_Candidate]:
    """Every validated match of every rule the gate named for ``line``."""
    found: list[_Candidate] = []
    for i in sorted(hits.rules):
        compiled = tab.rules[i]
        _candidates(compiled, compiled.regex.finditer(line), found)
    if hits.stems or not hits.exact:
        for tok in _names(line, hits):
            end = tok.end()
            after = line[end : end + 12].lstrip(_SKIPPED)[:1]
            if not after or not names.is_secret_name(name := tok.group()):
                continue
            spaced = line[end : end + 1] in (" ", "\t")
            for compiled in _after_rules(tab, after, spaced=spaced):
                m = compiled.regex.match(line, end)
                if m is not None:
                    _candidates(compiled, (m,), found, name, tok.start())
    return found


_Dispatch = dict[tuple[int, str, bool], tuple[Compiled, ...]]
_DISPATCH: _Dispatch = {}
# After a space, these start another syntax (`name = x`, `name(...)`), not `name value`.
_NOT_A_SPACED_VALUE = "=:!?|<("


def _after_rules(tab: Table, after: str, *, spaced: bool) -> tuple[Compiled, ...]:
    """The after_name rules whose ``follows`` admits what follows a name: "" anything,
    " " whitespace right after the name (and a value, not a separator, after it), else the
    first character after the name and any spaces, quotes or brackets. Memoized."""
    key = (id(tab), after, spaced)
    rules = _DISPATCH.get(key)
    if rules is None:
        rules = _DISPATCH[key] = tuple(
            c
            for c in tab.after_name
            if not c.rule.follows
            or (
                spaced and after not in _NOT_A_SPACED_VALUE
                if c.rule.follows == " "
                else after in c.rule.follows
            )
        )
    return rules


# --------------------------------------------------------------------------- applying

BlockSpans = dict[int, list[tuple[int, int, str]]]


def block_spans(view: View, hints: Hints) -> BlockSpans:
    """Spans that only several lines together reveal (keys, Kubernetes Secrets, multi-line
    strings), by line, in rule order."""
    spans: BlockSpans = {}
    for rule in BLOCK_RULES:
        for i, found in rule.find(view, hints).items():
            spans.setdefault(i, []).extend((s, e, rule.family) for s, e in sorted(found))
    return spans


def named_lines(hits: dict[int, Hits]) -> set[int]:
    """The lines where the gate saw a name stem: the only ones a name can be on."""
    return {i for i, h in hits.items() if h.stems or not h.exact}


def scan(view: View, *, pii: bool = True) -> dict[int, Hits]:
    """The lines of a view that a line rule could match (``gate.Table.scan``)."""
    return table(pii).scan(view)


def apply(
    line: str,
    index: int,
    blocks: Sequence[tuple[int, int, str]] = (),
    *,
    pii: bool = True,
    hits: Hits | None = None,
) -> tuple[str, list[Redaction]]:
    """``line`` with every secret replaced by its marker, and where each one was.
    ``hits``: what the gate found on the line (None: look here)."""
    tab = table(pii)
    if hits is None:
        hits = tab.scan(View((line,))).get(0)
    candidates = line_candidates(line, tab, hits) if hits is not None else []
    candidates.extend(_Candidate(0, s, e, family, (s, e)) for s, e, family in blocks)
    if not candidates:
        return line, []
    markers = [m.span() for m in MARKER.finditer(line)] if "[REDACTED:" in line else []
    taken = list(markers)
    chosen: list[_Candidate] = []
    for cand in sorted(candidates, key=lambda c: (c.priority, c.start, -c.end)):
        if any(cand.start < e and s < cand.end for s, e in taken):
            continue
        if any(cand.context[0] <= e and s <= cand.context[1] for s, e in markers):
            continue
        taken.append((cand.start, cand.end))
        chosen.append(cand)
    if not chosen:
        return line, []
    chosen.sort(key=lambda c: c.start)
    parts: list[str] = []
    pos = 0
    for cand in chosen:
        parts.append(line[pos : cand.start])
        parts.append(marker(cand.family))
        pos = cand.end
    parts.append(line[pos:])
    # model_construct: these fields are ours and already right; validation would cost more
    # than the whole match on a busy line.
    return "".join(parts), [
        Redaction.model_construct(kind=c.family, line=index, start=c.start, end=c.end)
        for c in chosen
    ]


def redact_view(
    lines: Sequence[str], hints: Hints, *, pii: bool = True
) -> dict[int, tuple[str, list[Redaction]]]:
    """The lines of one contiguous view that changed, by index: new text and redactions."""
    view = View(lines)
    hits = scan(view, pii=pii)
    view.named = named_lines(hits)
    blocks = block_spans(view, hints)
    out: dict[int, tuple[str, list[Redaction]]] = {}
    for i in sorted(hits.keys() | blocks.keys()):
        text, found = apply(lines[i], i, blocks.get(i, ()), pii=pii, hits=hits.get(i, Hits()))
        if found:
            out[i] = (text, found)
    return out
