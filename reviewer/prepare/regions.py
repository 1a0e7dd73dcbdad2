"""The code a finding points at, cut from its chunk: what the verification pass shows the model.

For each finding, the lines of its chunk within ``radius`` lines of its range, inside the
hunks the chunk carries (with the hunk's ``@@`` header, which names the enclosing function
when git found one). Windows of one file that overlap or touch are merged; a removed line is
kept when a neighbouring numbered line is. The result is a tuple of ``ChunkFile``s rendered
like the chunk itself (``reviewer.prepare.render``), so line numbers and markers mean the
same thing in both requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reviewer.core.values import ChunkFile, DiffLine, Hunk

DEFAULT_RADIUS = 10  # lines of the chunk shown on each side of a finding's range

Range = tuple[int, int]  # inclusive new-file line numbers


def code_regions(
    files: Sequence[ChunkFile], ranges: Mapping[str, Sequence[Range]], radius: int = DEFAULT_RADIUS
) -> tuple[ChunkFile, ...]:
    """The parts of ``files`` within ``radius`` lines of ``ranges`` (path -> ranges)."""
    out: list[ChunkFile] = []
    for part in files:
        windows = [(lo - radius, hi + radius) for lo, hi in ranges.get(part.path, ())]
        if not windows:
            continue
        hunks = tuple(sub for hunk in part.hunks for sub in _cut(hunk, windows))
        if hunks:
            out.append(part.model_copy(update={"hunks": hunks}))
    return tuple(out)


def _cut(hunk: Hunk, windows: Sequence[Range]) -> list[Hunk]:
    lines = hunk.lines
    keep = [ln.new_no is not None and _inside(ln.new_no, windows) for ln in lines]
    for i, line in enumerate(lines):
        if line.new_no is None:
            # A removed line belongs to the numbered lines around it.
            before = next(
                (keep[j] for j in range(i - 1, -1, -1) if lines[j].new_no is not None), False
            )
            after = next(
                (keep[j] for j in range(i + 1, len(lines)) if lines[j].new_no is not None), False
            )
            keep[i] = before or after
    runs: list[list[DiffLine]] = []
    for i, line in enumerate(lines):
        if not keep[i]:
            continue
        if i > 0 and keep[i - 1] and runs:
            runs[-1].append(line)
        else:
            runs.append([line])
    return [_sub_hunk(hunk, run) for run in runs]


def _inside(number: int, windows: Sequence[Range]) -> bool:
    return any(lo <= number <= hi for lo, hi in windows)


def _sub_hunk(hunk: Hunk, run: list[DiffLine]) -> Hunk:
    old = [ln.old_no for ln in run if ln.old_no is not None]
    new = [ln.new_no for ln in run if ln.new_no is not None]
    return Hunk(
        old_start=old[0] if old else hunk.old_start,
        old_len=len(old),
        new_start=new[0] if new else hunk.new_start,
        new_len=len(new),
        header=hunk.header,
        lines=tuple(run),
    )
