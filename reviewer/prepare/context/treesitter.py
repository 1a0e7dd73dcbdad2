"""Outlines from tree-sitter grammars: the only module that imports ``tree_sitter``.

The grammars are the tree-sitter project's own PyPI packages (``tree-sitter-python``, ...):
wheels with the compiled parser inside, nothing fetched at run time. They are imported on the
first outline of their language, so a run that parses nothing never loads them.

One query per language captures the definition nodes (run in C, so a large file costs no
Python walk over every node); names, signature ends and decorator starts are read off the
captured nodes.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable
from functools import cache

import tree_sitter as ts

from reviewer.prepare.context.outline import Definition, Outline, sort_outline

# language -> (module, function returning the grammar)
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "java": ("tree_sitter_java", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

_FUNCTION = "function"
_CLASS = "class"
_MODULE = "module"
# Node types that are definitions, by kind; types a grammar lacks are left out of its query.
_KINDS: dict[str, str] = {
    # functions and methods
    "function_definition": _FUNCTION,  # python, c, cpp
    "function_declaration": _FUNCTION,  # js, ts, go
    "generator_function_declaration": _FUNCTION,
    "method_definition": _FUNCTION,  # js, ts
    "method_declaration": _FUNCTION,  # go, java
    "constructor_declaration": _FUNCTION,  # java
    "compact_constructor_declaration": _FUNCTION,
    "function_item": _FUNCTION,  # rust
    "function_signature_item": _FUNCTION,
    "macro_definition": _FUNCTION,
    # types
    "class_definition": _CLASS,  # python
    "class_declaration": _CLASS,  # js, ts, java
    "abstract_class_declaration": _CLASS,
    "interface_declaration": _CLASS,
    "enum_declaration": _CLASS,
    "record_declaration": _CLASS,
    "annotation_type_declaration": _CLASS,
    "type_declaration": _CLASS,  # go
    "struct_item": _CLASS,  # rust
    "enum_item": _CLASS,
    "union_item": _CLASS,
    "trait_item": _CLASS,
    "class_specifier": _CLASS,  # cpp
    "struct_specifier": _CLASS,  # c, cpp (only with a body, see _definition)
    "union_specifier": _CLASS,
    "enum_specifier": _CLASS,
    # containers
    "impl_item": _MODULE,  # rust
    "mod_item": _MODULE,
    "namespace_definition": _MODULE,  # cpp
    "internal_module": _MODULE,  # ts namespace
}
# A variable whose value is a function is a definition too (``const f = () => {}``).
_DECLARATORS = ("variable_declarator", "field_definition", "public_field_definition")
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function"})
# Wrappers whose start is the definition's real start (decorators, templates, export).
_WRAPPERS = frozenset(
    {"decorated_definition", "template_declaration", "export_statement", "lexical_declaration"}
)
_NAME_HOLDERS = (
    "function_declarator",
    "pointer_declarator",
    "reference_declarator",
    "parenthesized_declarator",
)

_lock = threading.Lock()


@cache
def _language(name: str) -> ts.Language:
    module, function = _GRAMMARS[name]
    return ts.Language(getattr(importlib.import_module(module), function)())


@cache
def _query(name: str) -> ts.Query:
    language = _language(name)
    present = [t for t in (*_KINDS, *_DECLARATORS) if language.id_for_node_kind(t, True)]
    return ts.Query(language, "[" + " ".join(f"({t})" for t in present) + "] @def")


def tree_sitter_outline(language: str, text: str) -> Outline:
    """The definitions of ``text`` in ``language`` (one of ``TREE_SITTER_LANGUAGES``)."""
    source = text.encode("utf-8", "surrogatepass")
    with _lock:  # parsers and query cursors are not shared across threads
        tree = ts.Parser(_language(language)).parse(source)
        captured = ts.QueryCursor(_query(language)).captures(tree.root_node).get("def", [])
    found = (_definition(node, source) for node in captured)
    return sort_outline([d for d in found if d is not None])


def _definition(node: ts.Node, source: bytes) -> Definition | None:
    kind = _KINDS.get(node.type)
    if kind is None:  # a declarator: only when its value is a function
        value = node.child_by_field_name("value")
        if value is None or value.type not in _FUNCTION_VALUES:
            return None
        kind, body = _FUNCTION, value.child_by_field_name("body")
    else:
        body = node.child_by_field_name("body")
        if body is None and node.type.endswith("_specifier"):
            return None  # `struct foo *p;` mentions a struct, it does not define one
    start_node = node
    while start_node.parent is not None and start_node.parent.type in _WRAPPERS:
        start_node = start_node.parent
    start = start_node.start_point.row + 1
    end = max(start, node.end_point.row + 1)
    return Definition(kind, _name(node), start, end, _header_end(body, start, end, source))


def _header_end(body: ts.Node | None, start: int, end: int, source: bytes) -> int:
    if body is None:
        return start
    row = body.start_point.row + 1
    line_begin = body.start_byte - body.start_point.column  # columns count bytes
    # `f(...) {`: the body opens on the signature's last line, which belongs to the header;
    # `def f(...):` and an indented block: the body's first line does not.
    opens_mid_line = bool(source[line_begin : body.start_byte].strip())
    return min(end, max(start, row if opens_mid_line else row - 1))


def _name(node: ts.Node) -> str:
    for field in ("name", "property"):
        named = node.child_by_field_name(field)
        if named is not None:
            return _text(named)
    declarator = node.child_by_field_name("declarator")  # c, cpp: int *f(int a) {...}
    while declarator is not None and declarator.type in _NAME_HOLDERS:
        declarator = declarator.child_by_field_name("declarator")
    if declarator is not None:
        return _text(declarator)
    implemented = node.child_by_field_name("type") if node.type == "impl_item" else None
    if implemented is not None:
        return _text(implemented)  # rust: impl Trait for Type
    spec = _first(node.named_children, "type_spec")  # go: type Name struct {...}
    named = spec.child_by_field_name("name") if spec is not None else None
    return _text(named) if named is not None else ""


def _first(nodes: Iterable[ts.Node], node_type: str) -> ts.Node | None:
    return next((n for n in nodes if n.type == node_type), None)


def _text(node: ts.Node) -> str:
    raw: bytes = node.text or b""
    return " ".join(raw.decode("utf-8", "replace").split())[:200]
