"""A chunk's files -> the user-message text the model sees (see ARCHITECTURE.md).

The code sits in a data envelope whose boundary carries a nonce derived from the content,
so code under review cannot close the envelope. Lines carry their new-file number, which
is what findings anchor on. Pure and deterministic: the cache keys on this text.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Sequence

from reviewer.core.values import ChunkFile, DiffLine, Hunk

# Numbers are padded to at least four columns, so files under 10,000 lines render the same
# whichever chunk they land in (the chunker's per-file token counts stay exact).
MIN_NUMBER_WIDTH = 4
NONCE_LEN = 12
WHOLE_FILE_NOTE = "(whole file: every line is reviewable)"
CONTEXT_HEADER = "::: context :::\n"
CONTEXT_MARKER = ":"
_MARKERS = {"add": "+", "del": "-", "ctx": " "}


def render_chunk(files: Sequence[ChunkFile]) -> str:
    width = number_width(files)
    return envelope("".join(render_file(f, width) for f in files))


def envelope(inner: str) -> str:
    """Wrap ``inner`` (file blocks, each ending in a newline) in the nonce-fenced envelope."""
    nonce = hashlib.sha256(inner.encode("utf-8", "surrogatepass")).hexdigest()[:NONCE_LEN]
    return f"<<<REVIEW-DATA {nonce}>>>\n{inner}<<<END-REVIEW-DATA {nonce}>>>"


def number_width(files: Iterable[ChunkFile]) -> int:
    largest = 0
    for f in files:
        for h in f.hunks:
            for ln in h.lines:
                if ln.new_no is not None and ln.new_no > largest:
                    largest = ln.new_no
        if f.context:
            largest = max(largest, f.context[-1].new_no or 0)  # sorted: the last is the largest
    return width_for(largest)


def width_for(largest: int) -> int:
    """The width of the line-number column when ``largest`` is the largest number in it."""
    return max(MIN_NUMBER_WIDTH, len(str(largest)))


def render_file(file: ChunkFile, width: int) -> str:
    if not file.context:
        return render_file_header(file) + "".join(render_hunk(h, width) for h in file.hunks)
    # Context runs and hunks in new-file order; a run never straddles a hunk.
    pieces: list[tuple[float, str]] = [(_position(h), render_hunk(h, width)) for h in file.hunks]
    stops = sorted(_position(h) for h in file.hunks)
    for run in _runs(file.context, stops):
        pieces.append((float(run[0].new_no or 0), render_context(run, width)))
    pieces.sort(key=lambda piece: piece[0])
    return render_file_header(file) + "".join(text for _, text in pieces)


def render_context(lines: Sequence[DiffLine], width: int) -> str:
    """Context lines (new-file numbers, the ``:`` marker), a header before each run of
    consecutive numbers."""
    out: list[str] = []
    previous = None
    for ln in lines:
        if previous is None or ln.new_no != previous + 1:
            out.append(CONTEXT_HEADER)
        out.append(f"{ln.new_no:>{width}} {CONTEXT_MARKER} | {ln.text.rstrip(chr(13))}\n")
        previous = ln.new_no
    return "".join(out)


def context_length(lines: Iterable[tuple[int, str]], width: int) -> int:
    """``len(render_context(...))`` of context lines given as (new-file number, text without
    a trailing CR), in order, without building them: how a file's context is measured before
    a level is chosen."""
    total = 0
    previous = None
    for number, text in lines:
        if previous is None or number != previous + 1:
            total += len(CONTEXT_HEADER)
        # "{number:>{width}} : | {text}\n"
        total += max(width, len(str(number))) + 5 + len(CONTEXT_MARKER) + len(text)
        previous = number
    return total


def _position(hunk: Hunk) -> float:
    """Where a hunk sits among new-file lines: at its first line, or just after the line a
    pure deletion follows."""
    return float(hunk.new_start) if hunk.new_len else hunk.new_start + 0.5


def _runs(lines: Sequence[DiffLine], stops: Sequence[float]) -> list[list[DiffLine]]:
    """Consecutive context lines, cut where a hunk sits between them."""
    runs: list[list[DiffLine]] = []
    for ln in lines:
        number = ln.new_no or 0
        if runs:
            previous = runs[-1][-1].new_no or 0
            between = bisect.bisect_right(stops, previous)
            if number == previous + 1 and not (between < len(stops) and stops[between] < number):
                runs[-1].append(ln)
                continue
        runs.append([ln])
    return runs


def render_file_header(file: ChunkFile) -> str:
    notes: list[str] = [file.status]
    if file.old_path is not None and file.old_path != file.path:
        verb = "copied" if file.status == "copied" else "renamed"
        notes.append(f"{verb} from {_one_line(file.old_path)}")
    if file.parts > 1:
        notes.append(f"part {file.part}/{file.parts}")
    whole = f" {WHOLE_FILE_NOTE}" if file.whole_file else ""
    return f"=== FILE: {_one_line(file.path)} ({', '.join(notes)}){whole} ===\n"


def render_hunk(hunk: Hunk, width: int) -> str:
    return render_hunk_header(hunk) + "".join(render_line(ln, width) for ln in hunk.lines)


def render_hunk_header(hunk: Hunk) -> str:
    ranges = f"@@ -{hunk.old_start},{hunk.old_len} +{hunk.new_start},{hunk.new_len} @@"
    header = _one_line(hunk.header.rstrip("\r"))
    return f"{ranges} {header}\n" if header else f"{ranges}\n"


def render_line(line: DiffLine, width: int) -> str:
    number = "" if line.new_no is None else str(line.new_no)
    return f"{number:>{width}} {_MARKERS[line.kind]} | {line.text.rstrip(chr(13))}\n"


def _one_line(text: str) -> str:
    # A newline in a path or hunk header would break the block structure the model reads.
    return text.replace("\r", "\\r").replace("\n", "\\n")
