"""FileDiffs -> Chunks whose rendered text (``reviewer.prepare.render``) fits a token budget.

Packing, in path order:

* Files that fit together share a chunk. Boundaries come from a hash-keyed split tree
  rather than from a running total, so that editing one file only moves the boundaries next
  to it and the other chunks (and their cached answers) keep their ids: a run of files that
  fits is one chunk; a run that does not is split before the file with the largest
  sha256(path) key, each side is packed the same way, and the two chunks that meet at the
  split are merged again when they fit together. The tree depends on paths only, so a
  content change can only flip fit decisions on its own path up the tree.
* A file too large for a chunk of its own is cut into parts ("part k/n"), one chunk each:
  consecutive hunks while they fit, and a hunk too large by itself is cut at line
  boundaries, each cut repeating ``overlap`` lines of the previous part as context (shown,
  not reviewable again; whole-file reviews get no overlap since every line is reviewable).
* A line that does not fit even alone is left out, and its file is reported as
  ``NotReviewed(reason="over-budget")`` naming the lines (the rest of the file is reviewed).

* Context (``reviewer.prepare.context``) comes as levels per file, richest first. A file takes
  the richest level with which it still fits a chunk of its own, and steps down when the real
  count of its chunk says otherwise; a file too large even without context is cut into parts
  that carry none. Context is shrunk, never the changed lines.

Token counts are taken once per file, hunk or line and summed; every chunk is then rendered
and counted for real, and split further in the rare case the sum was short.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Literal

from reviewer.core.values import Chunk, ChunkFile, DiffLine, FileDiff, Hunk, NotReviewed
from reviewer.prepare.measure import count_each, estimate, fits, utf8_len
from reviewer.prepare.render import (
    NONCE_LEN,
    envelope,
    number_width,
    render_chunk,
    render_context,
    render_file,
    render_file_header,
    render_hunk,
    render_hunk_header,
    render_line,
)
from reviewer.prepare.tokens import Tokenizer

# A cut hunk's "@@" numbers differ from the original's; the digits may take a token or two more.
_SLICE_HEADER_SLACK = 4
# An overlap line turns "+" into " ", which may cost a token more.
_OVERLAP_LINE_SLACK = 1
# The largest "part k/n" label we budget for in a part's file header.
_PART_LABEL = 10**6
# Over-budget line ranges named in a NotReviewed detail.
_RANGES_SHOWN = 20


# A file's context levels, richest first (reviewer.prepare.context.gather.Levels).
ContextLevels = Mapping[str, tuple[tuple[DiffLine, ...], ...]]


def make_chunks(
    files: Sequence[FileDiff],
    budget: int,
    tokenizer: Tokenizer,
    overlap: int = 3,
    contexts: ContextLevels | None = None,
) -> tuple[tuple[Chunk, ...], tuple[NotReviewed, ...]]:
    """Chunks whose ``render_chunk`` text has at most ``budget`` tokens, in path order.

    Also returns one ``NotReviewed(reason="over-budget")`` per file with lines that fit no
    chunk; the detail names them, and the file's other lines are still in the chunks.
    Files without hunks produce nothing. ``contexts`` gives files their context levels.
    """
    packer = _Packer(budget, tokenizer, max(0, overlap), contexts or {})
    groups = packer.pack(sorted((f for f in files if f.hunks), key=lambda f: f.path))
    chunks = []
    for index, (files_of_chunk, text, tokens) in enumerate(groups):
        raw = text.encode("utf-8", "surrogatepass")
        chunks.append(
            Chunk(
                id=hashlib.sha256(raw).hexdigest()[:16],
                index=index,
                files=files_of_chunk,
                tokens=tokens,
                # A chunk short enough to fit by its length alone was estimated, not counted.
                tokens_max=len(raw) if len(raw) <= budget else None,
                context_tokens=sum(packer.context_cost(f) for f in files_of_chunk),
            )
        )
    return tuple(chunks), tuple(packer.not_reviewed)


_Group = tuple[tuple[ChunkFile, ...], str, int]  # files, rendered text, tokens


@dataclass(frozen=True)
class _Run:
    """Files ``lo``..``hi`` (exclusive) of the sorted list, or one oversized file."""

    lo: int
    hi: int
    oversized: bool = False


@dataclass
class _Packer:
    budget: int
    tokenizer: Tokenizer
    overlap: int
    contexts: ContextLevels
    not_reviewed: list[NotReviewed] = field(default_factory=list)
    # Set by pack(): the sorted files, their whole-file pieces with their number widths and
    # rendered blocks, prefix sums of the blocks' lengths in bytes (bounds of their token
    # counts) and, only when a bound is not enough, of their token counts; the split-tree keys.
    files: Sequence[FileDiff] = ()
    pieces: list[ChunkFile] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    upper: list[int] = field(default_factory=list)
    _prefix: list[int] | None = None
    _envelope: int | None = None
    keys: list[int] = field(default_factory=list)

    # The nonce's hex digits are budgeted at one token each, their worst case.
    @property
    def envelope_upper(self) -> int:
        return utf8_len(envelope("")) + 2 * NONCE_LEN

    @property
    def envelope_tokens(self) -> int:
        if self._envelope is None:
            self._envelope = self.tokenizer.count(envelope("")) + 2 * NONCE_LEN
        return self._envelope

    @property
    def prefix(self) -> list[int]:
        """Token counts of the files' blocks, summed: counted at the first fit decision the
        bounds cannot make (a change that plainly fits is never counted)."""
        if self._prefix is None:
            self._prefix = [0, *accumulate(self.tokenizer.count(t) for t in self.texts)]
        return self._prefix

    # ------------------------------------------------------------------ files -> chunks

    def pack(self, files: Sequence[FileDiff]) -> list[_Group]:
        self.files = files
        self.pieces, self.widths, self.texts = [], [], []
        for file in files:
            piece, width, text = self._fitting_piece(file, self.contexts.get(file.path, ()))
            self.pieces.append(piece)
            self.widths.append(width)
            self.texts.append(text)
        self.upper = [0, *accumulate(utf8_len(t) for t in self.texts)]
        self._prefix = None
        self.keys = [int.from_bytes(hashlib.sha256(p.path.encode()).digest()[:8]) for p in files]
        groups: list[_Group] = []
        if files:
            for run in self._split(0, len(files)):
                groups.extend(self._emit(run))
        return groups

    def _fitting_piece(
        self, file: FileDiff, levels: Sequence[tuple[DiffLine, ...]]
    ) -> tuple[ChunkFile, int, str]:
        """The file with the richest context level that lets it fit a chunk of its own (none
        when no level does): the piece, its number width and its rendered block."""
        for context in (*levels, ()):
            piece = _whole(file, context)
            width = number_width((piece,))
            text = render_file(piece, width)
            if not context or self._alone_fits(text):
                return piece, width, text
        raise AssertionError("unreachable: the empty level always fits")

    def _alone_fits(self, block: str) -> bool:
        if self.envelope_upper + utf8_len(block) <= self.budget:
            return True
        return self.envelope_tokens + self.tokenizer.count(block) <= self.budget

    def context_cost(self, piece: ChunkFile) -> int:
        """About how many tokens a piece's context lines take."""
        if not piece.context:
            return 0
        return estimate(self.tokenizer, render_context(piece.context, number_width((piece,))))

    def _fits(self, lo: int, hi: int) -> bool:
        # The bound first: the same answer as the count whenever it says yes.
        if self.envelope_upper + self.upper[hi] - self.upper[lo] <= self.budget:
            return True
        return self.envelope_tokens + self.prefix[hi] - self.prefix[lo] <= self.budget

    def _cut(self, lo: int, hi: int) -> int:
        return max(range(lo + 1, hi), key=self.keys.__getitem__)

    def _split(self, lo: int, hi: int) -> list[_Run]:
        if self._fits(lo, hi):
            return [_Run(lo, hi)]
        if hi - lo == 1:
            return [_Run(lo, hi, oversized=True)]
        cut = self._cut(lo, hi)
        left, right = self._split(lo, cut), self._split(cut, hi)
        a, b = left[-1], right[0]
        if not a.oversized and not b.oversized and self._fits(a.lo, b.hi):
            return [*left[:-1], _Run(a.lo, b.hi), *right[1:]]
        return [*left, *right]

    def _emit(self, run: _Run) -> list[_Group]:
        if run.oversized:
            return self._file_parts(self.files[run.lo])
        pieces = tuple(self.pieces[run.lo : run.hi])
        widths = self.widths[run.lo : run.hi]
        if min(widths) == max(widths):
            # What render_chunk would produce, without rendering every line again.
            text = envelope("".join(self.texts[run.lo : run.hi]))
        else:
            text = render_chunk(pieces)
        if utf8_len(text) <= self.budget:  # fits for sure: its count only informs figures
            return [(pieces, text, estimate(self.tokenizer, text))]
        tokens = self.tokenizer.count(text)
        if tokens <= self.budget:
            return [(pieces, text, tokens)]
        # The per-file sums fell short (line-number padding, the nonce): split for real.
        if run.hi - run.lo == 1:
            return self._alone(run.lo)
        cut = self._cut(run.lo, run.hi)
        return [*self._emit(_Run(run.lo, cut)), *self._emit(_Run(cut, run.hi))]

    def _alone(self, i: int) -> list[_Group]:
        """File ``i`` in a chunk of its own, with less context until it fits; else in parts."""
        file, current = self.files[i], self.pieces[i].context
        levels = self.contexts.get(file.path, ())
        lower = [c for c in levels if len(c) < len(current)] if current else []
        for context in lower:
            piece = _whole(file, context)
            text = render_chunk((piece,))
            if fits(self.tokenizer, text, self.budget):
                return [((piece,), text, estimate(self.tokenizer, text))]
        return self._file_parts(file)

    # ------------------------------------------------------------------ one file -> parts

    def _file_parts(self, file: FileDiff) -> list[_Group]:
        margin = 0
        while True:
            groups, dropped = self._try_file_parts(file, margin)
            if all(tokens <= self.budget for _, _, tokens in groups):
                break
            margin = max(16, 2 * margin)
        if dropped:
            self.not_reviewed.append(
                NotReviewed(path=file.path, reason="over-budget", detail=self._detail(dropped))
            )
        return groups

    def _detail(self, lines: Sequence[int]) -> str:
        ordered = sorted(set(lines))
        ranges: list[list[int]] = []
        for n in ordered:
            if ranges and n == ranges[-1][1] + 1:
                ranges[-1][1] = n
            else:
                ranges.append([n, n])
        shown = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges[:_RANGES_SHOWN])
        if len(ranges) > _RANGES_SHOWN:
            shown += f" and {len(ranges) - _RANGES_SHOWN} more ranges"
        budget = f"too long for the {self.budget}-token chunk budget"
        if len(ordered) == 1:
            return f"line {shown} is {budget} on its own; not reviewed"
        return f"lines {shown} are each {budget} on their own; not reviewed"

    def _try_file_parts(self, file: FileDiff, margin: int) -> tuple[list[_Group], list[int]]:
        whole = _whole(file)
        width = number_width((whole,))
        label = whole.model_copy(update={"part": _PART_LABEL, "parts": _PART_LABEL})
        header = self.tokenizer.count(render_file_header(label))
        room = self.budget - self.envelope_tokens - header - margin
        overlap = 0 if file.whole_file else self.overlap
        units: list[tuple[Hunk, int]] = []
        dropped: list[int] = []
        costs = count_each(self.tokenizer, [render_hunk(hunk, width) for hunk in file.hunks])
        for hunk, cost in zip(file.hunks, costs, strict=True):
            if cost <= room:
                units.append((hunk, cost))
            else:
                slices, lost = self._slice_hunk(hunk, room, width, overlap)
                units.extend(slices)
                dropped.extend(
                    ln.new_no
                    for ln in lost
                    if ln.new_no is not None and (file.whole_file or ln.kind == "add")
                )
        bins: list[list[Hunk]] = []
        used = room + 1
        for hunk, cost in units:
            if used + cost > room:
                bins.append([])
                used = 0
            bins[-1].append(hunk)
            used += cost
        groups: list[_Group] = []
        for k, hunks in enumerate(bins, start=1):
            part = whole.model_copy(update={"hunks": tuple(hunks), "part": k, "parts": len(bins)})
            text = render_chunk((part,))
            groups.append(((part,), text, self.tokenizer.count(text)))
        return groups, dropped

    def _slice_hunk(
        self, hunk: Hunk, room: int, width: int, overlap: int
    ) -> tuple[list[tuple[Hunk, int]], list[DiffLine]]:
        """Cut a hunk into slices of at most ``room`` tokens; lines too long for any are lost."""
        lines = hunk.lines
        costs = count_each(self.tokenizer, [render_line(ln, width) for ln in lines])
        header = self.tokenizer.count(render_hunk_header(hunk)) + _SLICE_HEADER_SLACK
        room -= header
        slices: list[tuple[Hunk, int]] = []
        lost: list[DiffLine] = []
        floor = 0  # overlap never reaches back across a lost line
        i = 0
        while i < len(lines):
            if costs[i] > room:
                lost.append(lines[i])
                i += 1
                floor = i
                continue
            start = max(floor, i - overlap)
            used = sum(costs[start:i]) + (i - start) * _OVERLAP_LINE_SLACK
            while start < i and used + costs[i] > room:
                used -= costs[start] + _OVERLAP_LINE_SLACK
                start += 1
            end = i
            while end < len(lines) and used + costs[end] <= room:
                used += costs[end]
                end += 1
            slices.append((_slice(hunk, start, i, end), header + used))
            i = end
        return slices, lost


def _whole(file: FileDiff, context: tuple[DiffLine, ...] = ()) -> ChunkFile:
    return ChunkFile(
        path=file.path,
        old_path=file.old_path,
        status=file.status,
        hunks=file.hunks,
        whole_file=file.whole_file,
        context=context,
    )


def _slice(hunk: Hunk, start: int, first_new: int, end: int) -> Hunk:
    """Lines ``start``..``end`` of ``hunk``; those before ``first_new`` repeat as context."""
    taken = hunk.lines[start:end]
    olds = [ln.old_no for ln in taken if ln.kind != "add" and ln.old_no is not None]
    news = [ln.new_no for ln in taken if ln.kind != "del" and ln.new_no is not None]
    shown = tuple(
        ln.model_copy(update={"kind": "ctx"}) if j < first_new and ln.kind == "add" else ln
        for j, ln in enumerate(taken, start=start)
    )
    return Hunk(
        old_start=olds[0] if olds else _line_before(hunk, start, "old"),
        old_len=len(olds),
        new_start=news[0] if news else _line_before(hunk, start, "new"),
        new_len=len(news),
        header=hunk.header,
        lines=shown,
    )


def _line_before(hunk: Hunk, index: int, side: Literal["old", "new"]) -> int:
    """The unified-diff start of an empty range: the number of the line before it."""
    skip = "add" if side == "old" else "del"
    for ln in reversed(hunk.lines[:index]):
        number = ln.old_no if side == "old" else ln.new_no
        if ln.kind != skip and number is not None:
            return number
    start, length = (
        (hunk.old_start, hunk.old_len) if side == "old" else (hunk.new_start, hunk.new_len)
    )
    return start if length == 0 else max(0, start - 1)
