"""The repository's instruction files under a token budget, and which apply to which paths.

Every file is capped at ``FILE_BUDGET`` tokens (a longer one is cut at a line boundary, with
a note) and all of them together at ``TOTAL_BUDGET`` tokens, or an eighth of the model's
context window when that is smaller: a chunk's prompt can carry every one of them, and the
chunk budget (``reviewer.pipeline.plan.chunk_budget``) counts them. Files are taken in the
order they were found (``reviewer.source.rulefiles``: the reviewer's own first); one that no
longer fits is left out as ``over-budget``. Each file is listed in the outputs with its status.
"""

from __future__ import annotations

from collections.abc import Sequence

from reviewer.core.globs import glob_matches
from reviewer.core.values import InstructionFile, InstructionSource
from reviewer.prepare.measure import estimate, utf8_len
from reviewer.prepare.tokens import Tokenizer

FILE_BUDGET = 1500
TOTAL_BUDGET = 4000
TRUNCATED_NOTE = "[... cut here: the rest of this file is over the review's instruction budget]"


def total_budget(window: int) -> int:
    return min(TOTAL_BUDGET, window // 8)


def budget_instructions(
    files: Sequence[InstructionFile], tokenizer: Tokenizer, window: int
) -> tuple[tuple[InstructionFile, ...], tuple[InstructionSource, ...]]:
    """(the files to send, possibly cut; how each was used)."""
    left = total_budget(window)
    used: list[InstructionFile] = []
    sources: list[InstructionSource] = []
    for file in files:
        cap = min(FILE_BUDGET, left)
        text, tokens, cut = _fit(file.text.strip(), cap, tokenizer)
        if tokens == 0 or not text:
            status = "over-budget" if file.text.strip() else "skipped"
            detail = "the instruction budget is spent" if status == "over-budget" else "empty"
            sources.append(_source(file, 0, status, detail))
            continue
        left -= tokens
        used.append(file.model_copy(update={"text": text}))
        detail = f"cut to {tokens} tokens" if cut else ""
        sources.append(_source(file, tokens, "truncated" if cut else "used", detail))
    return tuple(used), tuple(sources)


def applicable(
    files: Sequence[InstructionFile], paths: Sequence[str]
) -> tuple[InstructionFile, ...]:
    """The files that apply to any of ``paths`` (a file without globs applies to every path)."""
    return tuple(
        f for f in files if not f.globs or any(glob_matches(g, p) for g in f.globs for p in paths)
    )


def label(file: InstructionFile) -> str:
    """How the prompt names a file: its path, and the files it is for."""
    if not file.globs:
        return file.path
    return f"{file.path} (for files matching {', '.join(file.globs)})"


def _fit(text: str, cap: int, tokenizer: Tokenizer) -> tuple[str, int, bool]:
    """``text`` cut at a line boundary to at most ``cap`` tokens: (text, tokens, was cut)."""
    if not text or cap <= 0:
        return "", 0, bool(text)
    if utf8_len(text) <= cap:  # short enough to need no count
        return text, estimate(tokenizer, text), False
    tokens = tokenizer.count(text)
    if tokens <= cap:
        return text, tokens, False
    lines = text.split("\n")

    def cut_at(n: int) -> str:
        return "\n".join(lines[:n]) + "\n" + TRUNCATED_NOTE

    # The longest prefix of whole lines that fits, by bisection: a few counts, not one a line.
    low, high = 0, len(lines) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if tokenizer.count(cut_at(middle)) <= cap:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        return _fit_line(lines[0], cap, tokenizer)
    cut = cut_at(low)
    return cut, tokenizer.count(cut), True


def _fit_line(line: str, cap: int, tokenizer: Tokenizer) -> tuple[str, int, bool]:
    """Not even the first line fits: as much of it as does, cut at a space."""

    def cut_at(n: int) -> str:
        return line[:n].rsplit(" ", 1)[0] + "\n" + TRUNCATED_NOTE

    low, high = 0, len(line)
    while low < high:
        middle = (low + high + 1) // 2
        if tokenizer.count(cut_at(middle)) <= cap:
            low = middle
        else:
            high = middle - 1
    cut = cut_at(low)
    if low == 0 or not cut_at(low).strip(" \n").removesuffix(TRUNCATED_NOTE).strip():
        return "", 0, True
    return cut, tokenizer.count(cut), True


def _source(file: InstructionFile, tokens: int, status: str, detail: str = "") -> InstructionSource:
    return InstructionSource.model_validate(
        {
            "path": file.path,
            "revision": file.revision,
            "globs": file.globs,
            "tokens": tokens,
            "status": status,
            "detail": detail,
        }
    )
