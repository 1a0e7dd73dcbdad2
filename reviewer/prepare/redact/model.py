"""The shapes shared by the rule tables and the engine: a rule, what its validator sees, and
the record of one replacement."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from reviewer.core.values import Frozen

Kind = Literal["secret", "pii"]

# The group names a value can be captured under (see ``syntax.quoted``): for a rule whose
# ``group`` is "value" the engine replaces the first of these (or of these + "w", a literal
# inside a call) that matched; for "value2" the first of these + "2" (a second literal).
VALUE_GROUPS = ("tq", "dq", "sq", "bq", "eq", "uv")


@dataclass(frozen=True, slots=True)
class Found:
    """What a validator sees: the match, the text that would be replaced and, for the rules
    that read what follows a secret-bearing name, that name and where it starts."""

    match: re.Match[str]
    value: str
    name: str = ""
    name_start: int = -1

    @property
    def line(self) -> str:
        return self.match.string


Validator = Callable[[Found], bool]


# Character classes for ``Rule.run``.
BODY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~-"
BASE64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
DIGITS = "0123456789"


@dataclass(frozen=True, slots=True)
class Rule:
    """One redaction rule, as data.

    ``pattern`` is regex source (compiled once, on first use). The replaced span is the named
    group ``group``, or the first of ``VALUE_GROUPS`` that matched when ``group`` is "value".

    Where the engine tries the rule (the rest of a text costs one C-speed pass):

    - ``needles``: lowercase literals of which every match holds one; the rule runs on the
      lines that hold one.
    - ``run``: (characters, length): every match holds a run of at least ``length``
      consecutive ASCII characters from the set (a token's body, a number's digits). With
      needles, they are looked for only on lines that have such a run; without, the rule
      runs on every such line (that ``gate``, when given, also finds).
    - ``after_name``: matched right after each secret-bearing name on a line
      (``names.is_secret_name``) instead, when what follows the name fits ``follows``.
    """

    family: str
    kind: Kind
    pattern: str
    description: str
    validator: Validator | None = None
    needles: tuple[str, ...] = ()
    group: str = "secret"
    after_name: bool = False
    run: tuple[str, int] | None = None
    gate: str = ""  # a regex the line must also hold (checked on the lines ``run`` found)
    # after_name rules: what the first character after the name and any spaces, quotes or
    # brackets can be; " ": whitespace right after the name; "": anything.
    follows: str = ""


class Redaction(Frozen):
    """Where a value was replaced. Never carries the value itself.

    ``kind`` is the family, the word in the marker ``[REDACTED:<kind>]``. ``line`` is the
    0-based index of the line (``str.splitlines`` of the text, or the position in the hunk's
    ``lines``); ``start``/``end`` are offsets into the *original* line, end exclusive.
    """

    kind: str
    line: int
    start: int
    end: int


def marker(family: str) -> str:
    return f"[REDACTED:{family}]"


MARKER = re.compile(r"\[REDACTED:[a-z0-9-]+\]")
