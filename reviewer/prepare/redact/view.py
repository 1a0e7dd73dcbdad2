"""One contiguous view of lines (a text, or one side of a hunk), joined once, so that rules
can find the few lines worth a look with one C-speed pass instead of a Python loop."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence


class View:
    __slots__ = ("_flats", "joined", "lines", "named", "text")

    def __init__(self, lines: Sequence[str], named: set[int] | None = None) -> None:
        self.lines = lines
        # The lines that may hold a secret-bearing name (the gate's name stems), when known:
        # rules about names need not look anywhere else.
        self.named = named
        self.text = "\n".join(lines)
        # Whether offsets in ``text`` map back to lines: no line holds a "\n" itself.
        self.joined = self.text.count("\n") == len(lines) - 1
        self._flats: dict[str, bytes] = {}

    def positions(self, text: str, matches: Iterator[re.Match[str]]) -> Iterator[tuple[int, int]]:
        """(line index, offset in the line) of each match in ``text`` (``self.text`` or a
        same-length transform of it), in order. Counting newlines between matches keeps
        this linear."""
        line = 0
        last = 0
        line_start = 0
        for m in matches:
            pos = m.start()
            newlines = text.count("\n", last, pos)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", last, pos) + 1
            last = pos
            yield line, pos - line_start

    def matches(self, regex: re.Pattern[str]) -> Iterator[tuple[int, int]]:
        """(line index, offset in the line) of every match of ``regex`` (compiled with
        re.MULTILINE when it anchors)."""
        if not self.joined:
            for i, line in enumerate(self.lines):
                for m in regex.finditer(line):
                    yield i, m.start()
            return
        yield from self.positions(self.text, regex.finditer(self.text))

    def named_matches(self, regex: re.Pattern[str]) -> Iterator[tuple[int, int]]:
        """``matches``, on the lines that may hold a name only (all, when not known)."""
        if self.named is None:
            yield from self.matches(regex)
            return
        for i in sorted(self.named):
            for m in regex.finditer(self.lines[i]):
                yield i, m.start()

    def lines_matching(self, regex: re.Pattern[str]) -> list[int]:
        """The indexes of the lines ``regex`` finds something in, in order, each once."""
        found: list[int] = []
        for i, _ in self.matches(regex):
            if not found or found[-1] != i:
                found.append(i)
        return found

    def lines_with_run(self, chars: str, length: int) -> list[int]:
        """The lines holding ``length`` or more consecutive characters from ``chars``
        (ASCII). `bytes.translate` maps those to "x" and the rest to " " (newlines kept),
        then `find` of a literal finds the runs: far faster than a regex, which would try
        every position."""
        flat = self._flats.get(chars)
        if flat is None:
            flat = self._flats[chars] = self.text.encode("utf-8", "surrogatepass").translate(
                _run_map(chars)
            )
        run = b"x" * length
        found: list[int] = []
        line = pos = last = 0
        while (pos := flat.find(run, pos)) >= 0:
            line += flat.count(b"\n", last, pos)
            found.append(line)
            last = pos = flat.find(b"\n", pos)
            if pos < 0:
                break
        if not self.joined:
            return list(range(len(self.lines))) if found else []
        return found


@functools.cache
def _run_map(chars: str) -> bytes:
    members = set(chars.encode("ascii"))
    x, space, newline = ord("x"), ord(" "), ord("\n")
    return bytes.maketrans(
        bytes(range(256)),
        bytes(x if c in members else newline if c == newline else space for c in range(256)),
    )
