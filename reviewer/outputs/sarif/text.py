"""Message text for SARIF: sentences, the length cap, Markdown escapes and code fences."""

from __future__ import annotations

import re
from typing import Final

MAX_MESSAGE_CHARS: Final = 8_000
_SENTENCE_END = (".", "!", "?", ":")


def sentence(text: str) -> str:
    text = text.strip()
    if text and not text.endswith(_SENTENCE_END):
        text += "."
    return text


def clip(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return text[: MAX_MESSAGE_CHARS - 1].rstrip() + "…"


def escape_md(text: str) -> str:
    return text.replace("*", r"\*")


def fence(code: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    return "`" * max(3, longest + 1)


def strip_one_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text
