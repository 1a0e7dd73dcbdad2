"""Which language a path is in, for choosing its outliner."""

from __future__ import annotations

from pathlib import PurePosixPath

# Languages with a tree-sitter grammar (reviewer.prepare.context.treesitter); every other file
# gets the indentation/brace fallback.
TREE_SITTER_LANGUAGES = frozenset(
    {"python", "javascript", "typescript", "tsx", "go", "java", "rust", "c", "cpp"}
)
FALLBACK = "fallback"

_BY_SUFFIX = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".java": "java",
    ".rs": "rust",
    ".c": "c",
    # A .h header may be C or C++: the C++ grammar reads both well enough for an outline.
    ".h": "cpp",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".h++": "cpp",
    ".ipp": "cpp",
    ".inl": "cpp",
}


def language_of(path: str) -> str:
    """The outline language of ``path``: a tree-sitter language, or ``FALLBACK``."""
    return _BY_SUFFIX.get(PurePosixPath(path).suffix.lower(), FALLBACK)
