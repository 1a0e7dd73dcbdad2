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
- ``engine``: gate, match, resolve overlaps, replace; ``diffs``: texts, hunks, files and the
  sites (path, line, family, kind) for ``--show-redactions``.
"""

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
