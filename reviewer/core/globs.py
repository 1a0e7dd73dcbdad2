"""Paths matched by .gitignore-style globs.

A glob follows .gitignore rules: a pattern without ``/`` matches a name at any depth (``*.md``),
one with ``/`` is anchored at the repository root (``src/*.py``), ``**`` spans directories
(``**/*.py``, ``src/**``, ``a/**/b``), a trailing ``/`` matches directories only, and a
pattern that matches a directory matches everything under it. ``!`` negation is not supported.
"""

from __future__ import annotations

import functools
import re


def glob_matches(pattern: str, path: str) -> bool:
    """Whether repo-relative POSIX ``path`` matches the .gitignore-style ``pattern``."""
    return compile_glob(pattern).fullmatch(path) is not None


@functools.lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """A .gitignore-style glob as a regex to ``fullmatch`` against repo-relative paths."""
    dir_only = pattern.endswith("/")
    body = pattern.rstrip("/")
    anchored = "/" in body
    body = body.lstrip("/")
    if not body:
        return re.compile(r"(?!)")  # matches nothing: an empty pattern selects no file
    parts = body.split("/")
    regex = "" if anchored else "(?:.*/)?"
    for idx, part in enumerate(parts):
        last = idx == len(parts) - 1
        if part == "**":
            regex += ".*" if last else "(?:.*/)?"
        else:
            regex += _translate_segment(part) + ("" if last else "/")
    # A pattern naming a directory covers everything below it.
    regex += "/.*" if dir_only else "(?:/.*)?"
    return re.compile(regex, re.DOTALL)


def _translate_segment(segment: str) -> str:
    out: list[str] = []
    i, n = 0, len(segment)
    while i < n:
        ch = segment[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(segment[i]))
        elif ch == "[":
            end = _class_end(segment, i)
            if end < 0:
                out.append(re.escape(ch))
            else:
                inner = segment[i + 1 : end]
                negate = inner[:1] in ("!", "^")
                inner = inner[1:] if negate else inner
                escaped = re.sub(r"([\\\[\]])", r"\\\1", inner)
                out.append(f"[{'^/' if negate else ''}{escaped}]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _class_end(segment: str, start: int) -> int:
    """Index of the ``]`` closing the class opened at ``start``, or -1."""
    j = start + 1
    if j < len(segment) and segment[j] in "!^":
        j += 1
    if j < len(segment) and segment[j] == "]":
        j += 1  # a leading "]" is a member, not the end
    return segment.find("]", j)
