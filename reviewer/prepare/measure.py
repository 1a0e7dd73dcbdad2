"""Token counts only where they decide something (pure; never imports tiktoken).

A length in bytes bounds a count from above, so most fit decisions need no count at all, and
figures that decide nothing (what a run costs) are estimated; a review of a small change never
loads the encoding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from reviewer.prepare.tokens import Tokenizer


# Every token stands for at least one byte of UTF-8: a text's length in bytes bounds its token
# count from above, so a text that short fits any budget of that many tokens without counting.
def utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def fits(tokenizer: Tokenizer, text: str, limit: int) -> bool:
    """Whether ``text`` has at most ``limit`` tokens; counted only when its length in bytes
    does not already say so (a short text never loads the encoding)."""
    return utf8_len(text) <= limit or tokenizer.count(text) <= limit


def estimate(tokenizer: Tokenizer, text: str) -> int:
    """Tokens of ``text`` for figures that decide nothing (what a run will cost, how long a
    prompt is): exact when the tokenizer is at hand or knows the text, else chars / 3.5
    (``ApproxTokenizer``), never worth loading the encoding for."""
    guess = getattr(tokenizer, "estimate", None)
    return int(guess(text)) if callable(guess) else tokenizer.count(text)


def count_each(tokenizer: Tokenizer, texts: Sequence[str]) -> list[int]:
    """Exact counts of many small texts (a hunk's lines, a file's hunks) in one call: a
    caching tokenizer keeps them as one entry, not thousands."""
    each = getattr(tokenizer, "count_each", None)
    if callable(each):
        return [int(n) for n in each(texts)]
    return [tokenizer.count(text) for text in texts]


def approx(text: str) -> int:
    """chars / 3.5, rounded up: within ~10% of o200k for source code. For policies (how much
    context a file may get) that must not depend on whether the encoding happens to be loaded:
    the same change gets the same chunks, and the same cache keys, every run."""
    return approx_chars(len(text))


def approx_chars(length: int) -> int:
    """``approx`` of a text of ``length`` characters."""
    return -(-length * 2 // 7)
