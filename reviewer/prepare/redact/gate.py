"""Which lines are worth a closer look, in a few passes over a whole view.

Every line rule says where it can match (``Rule.needles``, ``Rule.run``); names are found
through the stems of the secret words. One regex over the lowercased view (the always-on
needles as a trie), and `bytes.translate` + `find` for runs of token characters or digits,
find every line that any rule could match and what to run on it. Every other line is clean
at the cost of those C-speed passes, which is what keeps redaction fast: the common line of
code is never looked at by a Python loop. Rules are compiled here, once, on first use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from reviewer.prepare.redact.model import VALUE_GROUPS, Rule
from reviewer.prepare.redact.rules import LINE_RULES
from reviewer.prepare.redact.view import View

# Lowercase substrings of which every secret-bearing name holds one (see ``names``).
NAME_STEMS = (
    "pass",
    "pwd",
    "pw",
    "psw",
    "secret",
    "token",
    "cred",
    "key",
    "auth",
    "sig",
    "salt",
    "sess",
    "cookie",
    "dsn",
    "connstr",
    "conn_str",
    "conn-str",
    "conn.str",
    "connectionstr",
    "connection_str",
    "connection-str",
    "connection.str",
    "mnemonic",
    # sk / ak (secret key, access key) are in too many words to be stems: only when a
    # separator follows (VOLC_SK = ..., "ak": ...).
    "sk=",
    "sk =",
    "sk:",
    'sk"',
    "sk'",
    "ak=",
    "ak =",
    "ak:",
    'ak"',
    "ak'",
    "sk_",
    "ak_",
)

_Trie = dict[str, "_Trie"]


def trie(words: Sequence[str]) -> str:
    """An alternation factored by common prefixes: `re` tries one branch per position
    instead of every needle. It reports the shortest needle that matches at a position."""
    tree: _Trie = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        if "" in node:
            return ""  # a shorter needle already matches: its extensions add nothing
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items())]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(tree)


class Compiled:
    """A rule and its pattern, compiled the first time a line needs it: most runs try a few
    of the ~90 rules, and compiling them all would cost every review ~60 ms."""

    __slots__ = ("_built", "priority", "rule")

    def __init__(self, rule: Rule, priority: int) -> None:
        self.rule = rule
        self.priority = priority
        self._built: tuple[re.Pattern[str], tuple[str | int, ...]] | None = None

    @property
    def regex(self) -> re.Pattern[str]:
        return self._compiled()[0]

    @property
    def groups(self) -> tuple[str | int, ...]:
        """The groups whose span is replaced: the first that matched."""
        return self._compiled()[1]

    def _compiled(self) -> tuple[re.Pattern[str], tuple[str | int, ...]]:
        if self._built is None:  # a race only compiles twice: re.compile is pure
            regex = re.compile(self.rule.pattern)
            self._built = (regex, _groups(self.rule, regex))
        return self._built


def _groups(rule: Rule, regex: re.Pattern[str]) -> tuple[str | int, ...]:
    if rule.group.isdigit():
        return (int(rule.group),)
    if rule.group in ("value", "value2"):
        suffixes = ("2",) if rule.group == "value2" else ("", "w")
        return tuple(g + s for s in suffixes for g in VALUE_GROUPS if g + s in regex.groupindex)
    return (rule.group,) if rule.group in regex.groupindex else (0,)


@dataclass(slots=True)
class Hits:
    """What the gate found on one line."""

    rules: set[int] = field(default_factory=set)  # indexes into ``Table.rules``
    stems: list[int] = field(default_factory=list)  # where name stems start, in the line
    exact: bool = True  # False: lowercasing moved offsets, so ``stems`` are unreliable


@dataclass(slots=True)
class _Needles:
    """Needles as one trie, and the rules each (shortest) needle runs."""

    regex: re.Pattern[str]
    runs: dict[str, set[int]]


def _needles(rules: Sequence[Compiled], ids: Sequence[int], extra: Sequence[str]) -> _Needles:
    words = sorted({n for i in ids for n in rules[i].rule.needles} | set(extra))
    # A rule runs when the shortest needle prefixing one of its own is found.
    shortest = [w for w in words if not any(w != p and w.startswith(p) for p in words)]
    runs: dict[str, set[int]] = {p: set() for p in shortest}
    for i in ids:
        for n in rules[i].rule.needles:
            runs[next(p for p in shortest if n.startswith(p))].add(i)
    return _Needles(re.compile(trie(words)), runs)


class Table:
    """The line rules of one configuration (with or without personal data), compiled."""

    def __init__(self, *, pii: bool) -> None:
        chosen = [r for r in LINE_RULES if pii or r.kind != "pii"]
        self.rules: list[Compiled] = []
        for priority, rule in enumerate(chosen, start=1):
            self.rules.append(Compiled(rule, priority))
        self.after_name = [c for c in self.rules if c.rule.after_name]
        line_rules = [i for i, c in enumerate(self.rules) if not c.rule.after_name]
        always = [i for i in line_rules if self.rules[i].rule.run is None]
        self.always = _needles(self.rules, always, NAME_STEMS)
        self.stems = {n for n in self.always.runs if any(s.startswith(n) for s in NAME_STEMS)}
        # By run (and gate): the rules tried on any line with such a run, and the needled ones.
        self.by_run: dict[tuple[str, int, str], tuple[set[int], _Needles | None]] = {}
        for key in {(*r.run, r.gate) for i in line_rules if (r := self.rules[i].rule).run}:
            ids = [
                i
                for i in line_rules
                if (*(self.rules[i].rule.run or ()), self.rules[i].rule.gate) == key
            ]
            bare = {i for i in ids if not self.rules[i].rule.needles}
            needled = [i for i in ids if self.rules[i].rule.needles]
            self.by_run[key] = (bare, _needles(self.rules, needled, ()) if needled else None)
        self.gates = {g: re.compile(g) for _, _, g in self.by_run if g}

    def scan(self, view: View) -> dict[int, Hits]:
        """The lines (by index) that any line rule could match, with what to run. Every
        other line is clean."""
        if not view.joined:  # a line holds a "\n": one line at a time
            found: dict[int, Hits] = {}
            for i, raw in enumerate(view.lines):
                one = self.scan(View((raw.replace("\n", " "),)))
                if one:
                    found[i] = one[0]
            return found
        text = view.text
        low = text.lower()
        exact = len(low) == len(text)
        if not exact:  # lowercasing moved offsets: find needles line by line, names by tokens
            low = "\n".join(line.lower() for line in view.lines)
        found = {}
        always = self.always
        matches = list(_overlapping(always.regex, low))
        for (line, offset), m in zip(view.positions(low, iter(matches)), matches, strict=True):
            hits = found.get(line)
            if hits is None:
                hits = found[line] = Hits(exact=exact)
            needle = m.group()
            hits.rules |= always.runs[needle]
            if needle in self.stems:
                hits.stems.append(offset)
        low_lines: list[str] | None = None
        lines = view.lines
        for (chars, length, gate), (bare, needled) in self.by_run.items():
            for line in view.lines_with_run(chars, length):
                if gate and not self.gates[gate].search(lines[line]):
                    continue
                rules = set(bare)
                if needled is not None:
                    low_lines = low_lines or low.split("\n")
                    for m in _overlapping(needled.regex, low_lines[line]):
                        rules |= needled.runs[m.group()]
                if rules:
                    found.setdefault(line, Hits(exact=exact)).rules |= rules
        return found


def _overlapping(regex: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Every match, overlapping ones too ("sshpass" holds "pass"): search again one past
    each start (finditer would skip them; a lookahead costs more). A run of one needle
    ("@@@@", "keykey") counts once: what it holds is found at its first occurrence."""
    search = regex.search
    pos = 0
    while (m := search(text, pos)) is not None:
        yield m
        needle, start = m.group(), m.start()
        pos = start + 1
        if text.startswith(needle, start + len(needle)):
            pos = _repeats(needle).match(text, start).end()  # type: ignore[union-attr]


@functools.cache
def _repeats(needle: str) -> re.Pattern[str]:
    return re.compile(f"(?:{re.escape(needle)})++")


@functools.cache
def table(pii: bool) -> Table:
    return Table(pii=pii)
