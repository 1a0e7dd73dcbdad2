"""Redaction of what is sent: free text, hunks, whole file diffs, with the record of where
each replacement was (``RedactionSite``: path, line, family, kind; never the value)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reviewer.core.values import DiffLine, FileDiff, Hunk, RedactionSite
from reviewer.prepare.redact.engine import (
    BlockSpans,
    apply,
    block_spans,
    named_lines,
    redact_view,
    scan,
)
from reviewer.prepare.redact.gate import Hits
from reviewer.prepare.redact.model import Kind, Redaction
from reviewer.prepare.redact.rules import Hints, families
from reviewer.prepare.redact.view import View

_K8S_SECRET = re.compile(r"""^\s*["']?kind["']?\s*:\s*["']?Secret["']?\s*,?\s*(?:#.*)?$""", re.M)


def _hints(texts: Sequence[str]) -> Hints:
    text = "\n".join(texts)
    return Hints(k8s_secret="Secret" in text and _K8S_SECRET.search(text) is not None)


def kind_of(family: str) -> Kind:
    return _KINDS.get(family, "secret")


_KINDS = families()


def redact_line(
    line: str, index: int = 0, *, pii: bool = True
) -> tuple[str, tuple[Redaction, ...]]:
    """Redact one line (without its terminator) on its own: a key block on one line is
    found, multi-line ones need ``redact_lines``. ``index`` goes into the ``Redaction``s."""
    spans = block_spans(View((line,)), _hints((line,)))
    text, found = apply(line, index, spans.get(0, ()), pii=pii)
    return text, tuple(found)


def redact_lines(
    lines: Sequence[str], *, pii: bool = True
) -> tuple[tuple[str, ...], tuple[Redaction, ...]]:
    """Redact a sequence of lines (no line terminators) as one text: blocks may span them."""
    done = redact_view(lines, _hints(lines), pii=pii)
    if not done:
        return tuple(lines), ()
    out = list(lines)
    found: list[Redaction] = []
    for i, (text, reds) in sorted(done.items()):
        out[i] = text
        found.extend(reds)
    return tuple(out), tuple(found)


def redact_text(text: str, *, pii: bool = True) -> tuple[str, tuple[Redaction, ...]]:
    """Redact free text (a commit message, a PR body, a whole file). Line terminators are
    kept byte for byte, so ``splitlines()`` and ``count("\\n")`` are unchanged."""
    raw = text.splitlines(keepends=True)
    bodies = [ln.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029") for ln in raw]
    redacted, found = redact_lines(bodies, pii=pii)
    if not found:
        return text, ()
    return "".join(r + ln[len(b) :] for r, ln, b in zip(redacted, raw, bodies, strict=True)), found


def _hunk_spans(lines: Sequence[DiffLine], full: View, hints: Hints) -> BlockSpans:
    """Blocks of a hunk, found in the old side (ctx + del) and the new side (ctx + add)
    separately: an edit inside a key interleaves both sides' lines. ``full``: every line."""
    kinds = {ln.kind for ln in lines}
    if "del" not in kinds or "add" not in kinds:
        # One side is the context alone, which the other side (all the lines) holds too.
        return block_spans(full, hints)
    spans: BlockSpans = {}
    for side in ("del", "add"):
        view = [i for i, ln in enumerate(lines) if ln.kind in ("ctx", side)]
        for j, found in block_spans(View([lines[i].text for i in view]), hints).items():
            merged = spans.setdefault(view[j], [])
            merged.extend(f for f in found if f not in merged)
    return spans


@dataclass(frozen=True, slots=True)
class RedactedHunk:
    hunk: Hunk
    count: int
    sites: tuple[RedactionSite, ...]


def _site(path: str, ln: DiffLine | None, family: str) -> RedactionSite:
    return RedactionSite.model_construct(
        path=path,
        line=ln.new_no if ln is not None else None,
        old_line=ln.old_no if ln is not None and ln.new_no is None else None,
        family=family,
        kind=kind_of(family),
    )


def redact_hunk_sites(
    hunk: Hunk, path: str = "", *, pii: bool = True, hints: Hints | None = None
) -> RedactedHunk:
    """The hunk with every line's text (and its header) redacted, how many spans were
    replaced (a private key counts once per body line) and where."""
    full = View([ln.text for ln in hunk.lines])
    hints = hints if hints is not None else _hints(full.lines)
    hits = scan(full, pii=pii)
    full.named = named_lines(hits)
    spans = _hunk_spans(hunk.lines, full, hints)
    sites: list[RedactionSite] = []
    new_lines = list(hunk.lines)
    for i in sorted(hits.keys() | spans.keys()):
        ln = hunk.lines[i]
        text, found = apply(ln.text, i, spans.get(i, ()), pii=pii, hits=hits.get(i, Hits()))
        sites.extend(_site(path, ln, r.kind) for r in found)
        if found:
            new_lines[i] = ln.model_copy(update={"text": text})
    header, found = apply(hunk.header, 0, pii=pii) if hunk.header else ("", [])
    sites.extend(_site(path, None, r.kind) for r in found)
    if not sites:
        return RedactedHunk(hunk, 0, ())
    new = hunk.model_copy(update={"lines": tuple(new_lines), "header": header})
    return RedactedHunk(new, len(sites), tuple(sites))


def redact_hunk(hunk: Hunk, *, pii: bool = True) -> tuple[Hunk, int]:
    """The hunk with every line's text (and its header) redacted, and the number of spans
    replaced (a private key counts once per body line)."""
    done = redact_hunk_sites(hunk, pii=pii)
    return done.hunk, done.count


@dataclass(frozen=True, slots=True)
class RedactedFiles:
    files: tuple[FileDiff, ...]
    sites: tuple[RedactionSite, ...]


def redact_file_sites(fd: FileDiff, *, pii: bool = True) -> RedactedFiles:
    """``fd`` redacted (the same object when there was nothing to redact), and where."""
    hints = _hints([ln.text for h in fd.hunks for ln in h.lines])
    hunks: list[Hunk] = []
    sites: list[RedactionSite] = []
    for hunk in fd.hunks:
        done = redact_hunk_sites(hunk, fd.path, pii=pii, hints=hints)
        hunks.append(done.hunk)
        sites.extend(done.sites)
    if not sites:
        return RedactedFiles((fd,), ())
    return RedactedFiles((fd.model_copy(update={"hunks": tuple(hunks)}),), tuple(sites))


def redact_file_diff(fd: FileDiff, *, pii: bool = True) -> tuple[FileDiff, int]:
    """``fd`` with every hunk redacted (the same object when there was nothing to redact)."""
    done = redact_file_sites(fd, pii=pii)
    return done.files[0], len(done.sites)


def redact_changes(files: Sequence[FileDiff], *, pii: bool = True) -> RedactedFiles:
    """Every file redacted, in order, with every site."""
    out: list[FileDiff] = []
    sites: list[RedactionSite] = []
    for fd in files:
        done = redact_file_sites(fd, pii=pii)
        out.extend(done.files)
        sites.extend(done.sites)
    return RedactedFiles(tuple(out), tuple(sites))


def redact_files(
    files: Sequence[FileDiff], *, pii: bool = True
) -> tuple[tuple[FileDiff, ...], int]:
    """Every file redacted, in order, and the total count for ``Stats.redactions``."""
    done = redact_changes(files, pii=pii)
    return done.files, len(done.sites)
