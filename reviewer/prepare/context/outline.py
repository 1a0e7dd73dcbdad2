"""A file's outline: its definitions (functions, methods, classes, ...) with their line spans.

Line numbers are 1-based new-file numbers, as the rendered chunk shows them. ``header_end`` is
the last line of the signature (decorators and a multi-line parameter list included): what
"the signature of a definition" means when the change calls it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from reviewer.prepare.context.languages import TREE_SITTER_LANGUAGES

# Bump when an outliner changes what it finds: it is part of the outline cache key.
OUTLINE_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Definition:
    kind: str  # "function", "class", "module" (namespaces, impls), or "block" (fallback only)
    name: str  # "" when unknown
    start: int
    end: int
    header_end: int

    @property
    def short_name(self) -> str:
        """The name a call uses: the last part of ``Outer::name`` or ``Type.name``."""
        return self.name.replace("::", ".").rsplit(".", 1)[-1]


Outline = tuple[Definition, ...]  # sorted by (start, -end): outer before inner


class Outliner(Protocol):
    """Finds the outline of a file's text (the store wraps one with a cache)."""

    def outline(self, language: str, text: str) -> Outline: ...


class ParsingOutliner:
    """Tree-sitter for the languages it has a grammar for, indentation and braces otherwise."""

    def outline(self, language: str, text: str) -> Outline:
        if language in TREE_SITTER_LANGUAGES:
            from reviewer.prepare.context.treesitter import tree_sitter_outline

            return tree_sitter_outline(language, text)
        from reviewer.prepare.context.fallback import fallback_outline

        return fallback_outline(text)


def sort_outline(definitions: list[Definition]) -> Outline:
    return tuple(sorted(set(definitions), key=lambda d: (d.start, -d.end, d.kind, d.name)))


def outline_to_json(outline: Outline) -> str:
    return json.dumps([[d.kind, d.name, d.start, d.end, d.header_end] for d in outline])


def outline_from_json(data: str) -> Outline | None:
    """The outline stored by ``outline_to_json``; None when the entry is unusable."""
    try:
        rows = json.loads(data)
        return tuple(Definition(str(k), str(n), int(s), int(e), int(h)) for k, n, s, e, h in rows)
    except (ValueError, TypeError):
        return None
