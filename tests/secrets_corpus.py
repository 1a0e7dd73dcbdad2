"""The labelled redaction corpus in tests/data/secrets/: loading, and what counts as a hit.

Rows are JSON lines: ``{"id", "file", "family" | "group", "text"}``. In ``text``,
``⟦...⟧`` marks a value that must not survive (a secret or personal data) and ``⟪cs:n⟫`` is
``n`` characters generated at load time from the charset letters ``cs`` (A upper, a lower,
9 digits, x/X hex, + base64 "+/", _ "_", - "-", . ".", p punctuation, B bech32). So no file holds a complete
fake token that a secret scanner would flag, and every run sees the same values (seeded by
the row's id). See tests/data/secrets/README.md.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

CORPUS = Path(__file__).parent / "data" / "secrets"
FILES = {"secret": "secrets.jsonl", "pii": "pii.jsonl", "look-alike": "not_secrets.jsonl"}
Label = Literal["secret", "pii", "look-alike"]

_CHARSETS = {
    "A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "a": "abcdefghijklmnopqrstuvwxyz",
    "9": "0123456789",
    "x": "0123456789abcdef",
    "X": "0123456789ABCDEF",
    "+": "+/",
    "_": "_",
    "-": "-",
    "p": "!#$%^&*",
    ".": ".",
    "B": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",  # bech32
}
_GENERATED = re.compile(r"⟪([Aa9xX+_\-p.B]+):(\d+)⟫")
_SECRET = re.compile(r"⟦(.*?)⟧", re.S)
_MARKER = re.compile(r"\[REDACTED:[a-z0-9-]+\]")


@dataclass(frozen=True)
class Case:
    id: str
    file: str  # the kind of file the text comes from: a name or an extension
    label: str  # the family (secrets, personal data) or the group (look-alikes)
    kind: Label
    text: str
    values: tuple[str, ...]  # what must not survive redaction


def _generate(spec: str, n: int, rng: random.Random) -> str:
    classes = [_CHARSETS[c] for c in spec]
    alphabet = "".join(classes)
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(n))
        # Every class present (when there is room), as in real tokens.
        if n < len(classes) or all(any(ch in cls for ch in value) for cls in classes):
            return value


def render(row_id: str, template: str) -> tuple[str, tuple[str, ...]]:
    """The text with generated parts filled in, and the marked values."""
    rng = random.Random(hashlib.sha256(row_id.encode()).digest())
    text = _GENERATED.sub(lambda m: _generate(m.group(1), int(m.group(2)), rng), template)
    values = tuple(m.group(1) for m in _SECRET.finditer(text))
    return _SECRET.sub(lambda m: m.group(1), text), values


def load(kind: Label) -> list[Case]:
    cases = []
    with (CORPUS / FILES[kind]).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            text, values = render(row["id"], row["text"])
            label = row.get("family") or row["group"]
            cases.append(Case(row["id"], row["file"], label, kind, text, values))
    return cases


def load_all() -> list[Case]:
    return [*load("secret"), *load("pii"), *load("look-alike")]


Redact = Callable[[str], str]


def leaked(value: str, out: str, public: str) -> bool:
    """Whether any 8-character window of ``value`` (all of it when shorter) is in ``out``,
    not counting windows the text shows anyway outside the values (``public``)."""
    width = min(len(value), 8)
    return any(
        value[i : i + width] in out and value[i : i + width] not in public
        for i in range(len(value) - width + 1)
    )


def hit(case: Case, redact: Redact) -> bool:
    """A secret or personal data case is detected when nothing of its values survives and a
    marker of its family is there; a look-alike is a hit when it comes back changed."""
    out = redact(case.text)
    if case.kind == "look-alike":
        return out != case.text
    bare = _MARKER.sub("\0", out)
    if out.count("\n") != case.text.count("\n"):
        return False
    public = case.text
    for value in case.values:
        public = public.replace(value, "\0")
    return f"[REDACTED:{case.label}]" in out and not any(
        leaked(v, bare, public) for v in case.values
    )


@dataclass(frozen=True)
class Score:
    total: int
    hits: int
    by_label: dict[str, tuple[int, int]]  # label -> (cases, hits)
    misses: tuple[str, ...]  # ids of the cases that missed (or were damaged)

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 0.0


def score(cases: Iterable[Case], redact: Redact) -> Score:
    by_label: dict[str, list[bool]] = defaultdict(list)
    wrong: list[str] = []
    for case in cases:
        ok = hit(case, redact)
        by_label[case.label].append(ok)
        if ok == (case.kind == "look-alike"):
            wrong.append(case.id)
    hits = sum(sum(v) for v in by_label.values())
    total = sum(len(v) for v in by_label.values())
    return Score(
        total,
        hits,
        {k: (len(v), sum(v)) for k, v in sorted(by_label.items())},
        tuple(wrong),
    )
