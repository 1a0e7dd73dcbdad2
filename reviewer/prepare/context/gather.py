"""Each file's context, ready for the chunker: read the new content, check it against the
diff, outline it, select the levels (``select``), redact them and fit them to the budget.

The content comes from a ``ContentReader`` (the source stage's: the index blob of a staged
change, the head tree's blob of ``--base``), one file at a time: only the chosen context lines
are kept, never whole contents, so a large pull request costs the memory of one file at once.

Budget. A file's context may take up to ``max(CONTEXT_FLOOR, CONTEXT_RATIO x the tokens of
its diff)`` in ``scope`` mode (so a one-line change still sees its function, and a large
change does not double in size), and whatever the chunk budget leaves next to the diff in
``file`` mode; the richest level under that is kept, together with every smaller level for
the chunker to fall back on when the file shares or overflows a chunk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from reviewer.core.errors import ReviewerError
from reviewer.core.settings import ContextMode
from reviewer.core.values import ChunkFile, DiffLine, FileDiff, RedactionSite
from reviewer.prepare.context.languages import language_of
from reviewer.prepare.context.outline import Outliner
from reviewer.prepare.context.select import context_levels
from reviewer.prepare.measure import approx, approx_chars
from reviewer.prepare.redact import redact_lines
from reviewer.prepare.redact.diffs import kind_of
from reviewer.prepare.render import context_length, number_width, render_file, width_for
from reviewer.prepare.tokens import Tokenizer

CONTEXT_FLOOR = 1000
CONTEXT_RATIO = 1.0
_REDACTED = "[REDACTED:"

# A file's context levels, richest first: lines of the new file, none inside the hunks.
Levels = tuple[tuple[DiffLine, ...], ...]


class ContentReader(Protocol):
    """The new-side content of a changed file, by its path in the change."""

    def read(self, path: str) -> str | None:
        """The text, or None when there is none to read (deleted, binary, too large)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Gathered:
    levels: Mapping[str, Levels]  # by path
    sites: tuple[RedactionSite, ...] = ()  # where context lines were redacted
    warnings: tuple[str, ...] = ()

    @property
    def redactions(self) -> int:
        return len(self.sites)


def gather_context(
    files: Sequence[FileDiff],
    *,
    mode: ContextMode,
    reader: ContentReader | None,
    outliner: Outliner,
    tokenizer: Tokenizer,
    budget: int,
    redact: bool,
    pii: bool = True,
) -> Gathered:
    """The context levels of every file that gets some (``lines`` mode: none)."""
    if mode == "lines" or reader is None:
        return Gathered({})
    levels: dict[str, Levels] = {}
    sites: list[RedactionSite] = []
    stale: list[str] = []
    for file in files:
        if file.whole_file or file.status == "added" or not file.hunks:
            continue  # every line is already shown (a whole-file review, a new file)
        try:
            text = reader.read(file.path)
        except ReviewerError as exc:
            return Gathered(levels, tuple(sites), (f"context: {exc}; the rest has none",))
        if text is None:
            continue
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if not _agrees(file, lines):
            stale.append(file.path)
            continue
        outline = outliner.outline(language_of(file.path), text)
        fitted, found = _fit(
            file,
            lines,
            context_levels(len(lines), file.hunks, outline),
            mode=mode,
            tokenizer=tokenizer,
            budget=budget,
            redact=redact,
            pii=pii,
        )
        if fitted:
            levels[file.path] = fitted
            sites.extend(found)
    warnings: tuple[str, ...] = ()
    if stale:
        warnings = (
            f"context: the content of {len(stale)} file(s) does not match the diff "
            f"(e.g. {stale[0]}); they are shown without context",
        )
    return Gathered(levels, tuple(sites), warnings)


def _agrees(file: FileDiff, lines: Sequence[str]) -> bool:
    """Whether the content read is the new side the diff shows (a clean/smudge filter or a
    file changed since the diff would put wrong numbers on lines)."""
    for hunk in file.hunks:
        for ln in hunk.lines:
            if ln.new_no is None:
                continue
            if ln.new_no > len(lines):
                return False
            if _REDACTED in ln.text:
                continue  # redacted in the diff; the content is not yet
            if lines[ln.new_no - 1].rstrip("\r") != ln.text.rstrip("\r"):
                return False
    return True


def _fit(
    file: FileDiff,
    lines: Sequence[str],
    candidates: Sequence[tuple[str, frozenset[int]]],
    *,
    mode: ContextMode,
    tokenizer: Tokenizer,
    budget: int,
    redact: bool,
    pii: bool,
) -> tuple[Levels, tuple[RedactionSite, ...]]:
    """The levels at or below the richest that fits this file's context allowance, and
    where the richest one's lines were redacted."""
    if not candidates:
        return (), ()
    bare = ChunkFile(path=file.path, old_path=file.old_path, status=file.status, hunks=file.hunks)
    # The allowance is a policy, not a bound (the chunker keeps every chunk within budget and
    # steps the context down when it must): measured by length, the same in every run.
    diff_tokens = approx(render_file(bare, number_width((bare,))))
    room = budget - diff_tokens
    allowance = room
    if mode == "scope":
        allowance = min(room, max(CONTEXT_FLOOR, int(CONTEXT_RATIO * diff_tokens)))
    texts = _Texts(lines, redact, pii)
    diff_width = number_width((bare,))
    for index, (_, numbers) in enumerate(candidates):
        # Measured from the redacted texts: a level's lines are built only if it is kept.
        width = max(diff_width, width_for(max(numbers))) if numbers else diff_width
        # Its numbers and markers alone are a lower bound: a level too long without its
        # texts is never read or redacted.
        bare_length = context_length(((n, "") for n in sorted(numbers)), width)
        if approx_chars(bare_length) > allowance:
            continue
        if approx_chars(context_length(texts.texts(numbers), width)) <= allowance:
            kept = tuple(texts.lines(n) for _, n in candidates[index:])
            return kept, texts.sites(file.path, numbers)
    return (), ()


class _Texts:
    """Context lines as ``DiffLine``s, redacted once each (a file holding a private key block
    is redacted whole: a block's body lines are only found between its markers)."""

    def __init__(self, lines: Sequence[str], redact: bool, pii: bool) -> None:
        self._lines = lines
        self._redact = redact
        self._pii = pii
        self._done: dict[int, tuple[str, tuple[str, ...]]] = {}  # line -> (text, families)
        self._objects: dict[int, DiffLine] = {}
        if redact and any("PRIVATE KEY" in line for line in lines):
            self._redact_lines(range(1, len(lines) + 1))

    def lines(self, numbers: frozenset[int]) -> tuple[DiffLine, ...]:
        ordered = self._redacted(numbers)
        return tuple(self._line(n) for n in ordered)

    def texts(self, numbers: frozenset[int]) -> list[tuple[int, str]]:
        """(number, redacted text) of each line, in order."""
        return [(n, self._done[n][0]) for n in self._redacted(numbers)]

    def _redacted(self, numbers: frozenset[int]) -> list[int]:
        ordered = sorted(numbers)
        todo = [n for n in ordered if n not in self._done]
        if todo:
            self._redact_lines(todo)
        return ordered

    def _line(self, number: int) -> DiffLine:
        # One object per line, shared by every level; built without validation (ours, and a
        # level may hold a whole file).
        line = self._objects.get(number)
        if line is None:
            line = DiffLine.model_construct(
                kind="ctx", text=self._done[number][0], old_no=None, new_no=number
            )
            self._objects[number] = line
        return line

    def sites(self, path: str, numbers: frozenset[int]) -> tuple[RedactionSite, ...]:
        return tuple(
            RedactionSite(path=path, line=n, family=family, kind=kind_of(family))
            for n in sorted(numbers)
            for family in self._done[n][1]
        )

    def _redact_lines(self, numbers: Sequence[int]) -> None:
        raw = [self._lines[n - 1].rstrip("\r") for n in numbers]
        if not self._redact:
            self._done.update((n, (text, ())) for n, text in zip(numbers, raw, strict=True))
            return
        redacted, found = redact_lines(raw, pii=self._pii)
        per_line: dict[int, list[str]] = {}
        for redaction in found:
            per_line.setdefault(redaction.line, []).append(redaction.kind)
        for i, (n, text) in enumerate(zip(numbers, redacted, strict=True)):
            self._done[n] = (text, tuple(per_line.get(i, ())))
