"""Outlines for languages without a grammar here, from indentation and braces.

A block is a line followed by more deeply indented lines; it ends before the next line at its
own depth or shallower, and takes that line along when it only closes the block (``}``,
``end``, ``fi``, ...). A block whose first line looks like a definition in the common
languages (``def``, ``function``, ``fun``, ``class``, ``sub``, ``proc``, ``impl``, or a
``name(...) {`` header) is named after it; the others are plain ``block``s, which still serve
as an enclosing scope where no definition encloses a change.
"""

from __future__ import annotations

import re

from reviewer.prepare.context.outline import Definition, Outline, sort_outline

_TAB = 4
_MODIFIERS = (
    r"(?:(?:export|default|public|private|protected|internal|static|final|abstract|async|"
    r"override|virtual|inline|extern|pub|open|sealed|data|suspend|fileprivate|local|unsafe|"
    r"partial|readonly|def|let|const|var)\s+)*"
)
_KEYWORD_DEF = re.compile(
    r"^\s*" + _MODIFIERS + r"(?P<kw>def|function|func|fun|fn|sub|proc|procedure|method|"
    r"class|module|struct|interface|trait|impl|enum|object|record|namespace|protocol|"
    r"extension|defmodule|defp|defmacro)\b[\s*&]*(?:\([^)]*\)\s*)?(?P<name>[A-Za-z_$][\w$.:!?]*)?"
)
# `Type name(args) {` or `name(args) {`: C-like functions and methods (C#, Kotlin, Swift,
# PHP, Dart, Scala...), but not control statements.
_CALL_DEF = re.compile(r"^\s*(?:[\w<>\[\],.*&:~?]+\s+)*(?P<name>[A-Za-z_$][\w$]*)\s*\(")
_CONTROL = frozenset(
    {
        "if",
        "for",
        "while",
        "switch",
        "catch",
        "with",
        "return",
        "elif",
        "else",
        "foreach",
        "until",
        "unless",
        "case",
        "when",
        "try",
        "do",
        "loop",
        "match",
        "select",
    }
)
_TYPES = frozenset(
    {"class", "module", "struct", "interface", "trait", "enum", "object", "record", "protocol"}
)
_CONTAINERS = frozenset({"impl", "namespace", "extension", "defmodule"})
_CLOSERS = re.compile(r"^\s*(?:[})\]]|end\b|fi\b|done\b|esac\b|endif\b|endfunction\b|</)")


def fallback_outline(text: str) -> Outline:
    lines = text.split("\n")
    definitions: list[Definition] = []
    stack: list[tuple[int, int]] = []  # (indent, line) of open blocks' first lines
    last = 0  # the last non-blank line seen
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        depth = _indent(line)
        closes = _CLOSERS.match(line) is not None
        while stack and depth <= stack[-1][0]:
            indent, start = stack.pop()
            end = number if closes and depth == indent else last
            if end > start:
                definitions.append(_block(lines[start - 1], start, end))
            closes = closes and depth != indent  # a closer closes one block
        stack.append((depth, number))
        last = number
    for _, start in stack:
        if last > start:
            definitions.append(_block(lines[start - 1], start, last))
    return sort_outline(definitions)


def _indent(line: str) -> int:
    width = 0
    for ch in line:
        if ch == " ":
            width += 1
        elif ch == "\t":
            width += _TAB
        else:
            break
    return width


def _block(header: str, start: int, end: int) -> Definition:
    words = header.split(None, 1)
    if words and words[0].rstrip(":(") in _CONTROL:
        return Definition("block", "", start, end, start)
    match = _KEYWORD_DEF.match(header)
    if match:
        keyword = match.group("kw")
        kind = "class" if keyword in _TYPES else "module" if keyword in _CONTAINERS else "function"
        return Definition(kind, (match.group("name") or "").rstrip(":."), start, end, start)
    call = _CALL_DEF.match(header)
    if call and call.group("name") not in _CONTROL and not header.rstrip().endswith(";"):
        return Definition("function", call.group("name"), start, end, start)
    return Definition("block", "", start, end, start)
