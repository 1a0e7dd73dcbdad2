"""Every redaction rule, in priority order: what the engine (``engine.py``) applies.

Line rules are ``model.Rule`` values (family, kind, pattern, validator, description) from
their modules: ``tokens`` (self-identifying formats), ``syntax`` (headers, URLs, command
lines, and values after a secret-bearing name), ``pii`` (personal data). Block rules read
several lines at once (``keys``, ``contexts``). On overlapping matches the earlier rule wins:
blocks, then specific token formats, then the general ones, then personal data.

To add a family: a ``Rule`` in the module it belongs to, cases in ``tests/data/secrets/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reviewer.prepare.redact import contexts, keys
from reviewer.prepare.redact.model import Kind, Rule
from reviewer.prepare.redact.pii import PII
from reviewer.prepare.redact.syntax import AFTER_NAME, COMMAND_LINES, HEADERS_AND_URLS
from reviewer.prepare.redact.tokens import TOKENS
from reviewer.prepare.redact.view import View


@dataclass(frozen=True, slots=True)
class Hints:
    """What is known about the file a view of lines comes from."""

    k8s_secret: bool = False  # the file holds a Kubernetes Secret somewhere


@dataclass(frozen=True, slots=True)
class BlockRule:
    """A rule over several lines: ``find`` returns the spans to replace, by line."""

    family: str
    kind: Kind
    description: str
    find: Callable[[View, Hints], keys.LineSpans]


LINE_RULES: tuple[Rule, ...] = (*TOKENS, *HEADERS_AND_URLS, *COMMAND_LINES, *AFTER_NAME, *PII)

BLOCK_RULES: tuple[BlockRule, ...] = (
    BlockRule(
        "private-key",
        "secret",
        "PEM and armoured private key blocks (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, PGP): "
        "the body, on one line or many; BEGIN/END stay visible.",
        lambda view, _hints: keys.pem_blocks(view),
    ),
    BlockRule(
        "private-key",
        "secret",
        "PuTTY-User-Key-File: the private lines and the MAC.",
        lambda view, _hints: keys.putty_keys(view),
    ),
    BlockRule(
        "private-key",
        "secret",
        "Three or more full-width (64/70) base64 lines outside any visible certificate or "
        "public key: a key body seen without its BEGIN/END lines.",
        lambda view, _hints: keys.headless_keys(view),
    ),
    BlockRule(
        "k8s-secret",
        "secret",
        "Every value under data:/stringData: of a Kubernetes Secret.",
        lambda view, hints: contexts.kubernetes_secrets(view, hints.k8s_secret),
    ),
    BlockRule(
        "generic-secret",
        "secret",
        "The lines of a multi-line string (YAML | or >, triple quotes, backticks) given to a "
        "secret-bearing name.",
        lambda view, _hints: contexts.multiline_strings(view),
    ),
    BlockRule(
        "generic-secret",
        "secret",
        "A secret-bearing name and its value on neighbouring lines: Kubernetes env "
        "(name/value), Terraform variable defaults, plist <key>/<string>.",
        lambda view, _hints: contexts.name_value_pairs(view),
    ),
)


def families() -> dict[str, Kind]:
    """Every family a marker can name, with its kind."""
    found: dict[str, Kind] = {}
    for block in BLOCK_RULES:
        found.setdefault(block.family, block.kind)
    for rule in LINE_RULES:
        found.setdefault(rule.family, rule.kind)
    return found
