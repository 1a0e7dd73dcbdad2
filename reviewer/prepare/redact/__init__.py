"""Secrets and personal data -> ``[REDACTED:<family>]`` before anything leaves the machine.

Every line that would be sent (hunk lines of every kind, hunk headers) is scanned; each
value's span is replaced by a marker *within its line*, so line structure and numbers never
change. Files that are secret by nature (``.env``, ``*.pem``, ``id_rsa``...) are never sent at
all (``is_secret_file``).

The package is rules as data and an engine that applies them:

- ``model``: the ``Rule`` shape (family, kind, pattern, validator, description), ``Redaction``.
- ``rules``: every rule in priority order, gathered from ``tokens`` (self-identifying token
  formats), ``syntax`` (values given to secret-bearing names in every syntax, headers, URLs,
  command lines), ``pii`` (personal data with validators), ``keys`` and ``contexts`` (what
  several lines reveal: key blocks, Kubernetes Secrets, multi-line strings).
- ``names``: which names bear a secret, by splitting them into words.
- ``checks``: which values are credentials and which stay visible (placeholders, lookups,
  hashes, paths).
- ``gate``/``view``/``engine``: find the few lines worth a look, match, resolve overlaps,
  replace; ``diffs``: texts, hunks, files and the sites (path, line, family, kind) for
  ``--show-redactions``.

The names below are loaded on first use: a run with nothing to redact never pays for the
rules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reviewer.prepare.redact.checks import shannon_entropy
    from reviewer.prepare.redact.diffs import (
        RedactedFiles,
        kind_of,
        redact_changes,
        redact_file_diff,
        redact_files,
        redact_hunk,
        redact_line,
        redact_lines,
        redact_text,
    )
    from reviewer.prepare.redact.files import is_secret_file
    from reviewer.prepare.redact.model import Redaction, Rule, marker
    from reviewer.prepare.redact.rules import BLOCK_RULES, LINE_RULES, families

_WHERE = {
    "shannon_entropy": "checks",
    "RedactedFiles": "diffs",
    "kind_of": "diffs",
    "redact_changes": "diffs",
    "redact_file_diff": "diffs",
    "redact_files": "diffs",
    "redact_hunk": "diffs",
    "redact_line": "diffs",
    "redact_lines": "diffs",
    "redact_text": "diffs",
    "is_secret_file": "files",
    "Redaction": "model",
    "Rule": "model",
    "marker": "model",
    "BLOCK_RULES": "rules",
    "LINE_RULES": "rules",
    "families": "rules",
}

__all__ = [
    "BLOCK_RULES",
    "LINE_RULES",
    "RedactedFiles",
    "Redaction",
    "Rule",
    "families",
    "is_secret_file",
    "kind_of",
    "marker",
    "redact_changes",
    "redact_file_diff",
    "redact_files",
    "redact_hunk",
    "redact_line",
    "redact_lines",
    "redact_text",
    "shannon_entropy",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
