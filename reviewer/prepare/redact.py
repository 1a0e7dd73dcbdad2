"""Secrets -> ``[REDACTED:<kind>]`` before anything leaves the machine.

Every line that would be sent (hunk lines of every kind, hunk headers, commit messages, PR
text) is scanned; each secret's span is replaced by a marker *within its line*, so line
structure and numbers never change. Private key blocks span lines: every body line is
redacted, the BEGIN/END lines stay so the reviewer still sees that a key was committed.

Detectors are precompiled regexes behind one cheap gate regex, so the common line (no
credential-ish text at all) costs a single ``search``. Redacting is idempotent: markers are
never matched again, and any match overlapping or touching a marker is dropped.

Specific formats (provider prefixes, PEM, JWT, URL credentials) are redacted as found.
``generic-secret`` (a secret-named key assigned a literal) also needs the value to look like
a credential: at least 8 characters, Shannon entropy >= 3 bits/char, and not a placeholder,
template, lookup, path, regex, word or prose. See tests/data/secrets/README.md for the
labelled corpus and the decisions it encodes.

Files that are secret by nature (``.env``, ``*.pem``, ``id_rsa``...) are never sent at all:
see ``is_secret_file``.
"""

from __future__ import annotations

import itertools
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from reviewer.core.values import DiffLine, FileDiff, Frozen, Hunk

SecretKind = Literal[
    "private-key",
    "aws-access-key-id",
    "aws-secret-access-key",
    "github-token",
    "gitlab-token",
    "slack-token",
    "slack-webhook",
    "stripe-key",
    "google-api-key",
    "openai-key",
    "anthropic-key",
    "huggingface-token",
    "npm-token",
    "pypi-token",
    "sendgrid-key",
    "jwt",
    "url-password",
    "bearer-token",
    "basic-auth",
    "generic-secret",
]


class Redaction(Frozen):
    """Where a secret was replaced. Never carries the secret itself.

    ``line`` is the 0-based index of the line (``str.splitlines`` of the text, or the
    position in the hunk's ``lines``); ``start``/``end`` are offsets into the *original*
    line, end exclusive.
    """

    kind: SecretKind
    line: int
    start: int
    end: int


def marker(kind: SecretKind) -> str:
    return f"[REDACTED:{kind}]"


# --------------------------------------------------------------------------- value checks

_MARKER = re.compile(r"\[REDACTED:[a-z0-9-]+\]")

# Values that stand for a secret rather than being one: fixtures, docs, templates.
_PLACEHOLDER_EXACT = frozenset(
    {"none", "null", "nil", "undefined", "true", "false", "passw0rd", "p@ssw0rd", "p@ssword"}
)
_PLACEHOLDER_WORDS = (
    "example",
    "sample",
    "dummy",
    "fake",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "changethis",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "yourpassword",
    "redacted",
    "xxxx",
    "****",
    "....",
    "test",
    "password",
    "passwd",
    "secret",
    "token",
    "insert",
    "replace",
    "todo",
    "fixme",
    "12345",
    "abcdef",
    "qwerty",
)
# ${VAR}, {{ x }}, {% x %}, <%= x %>, %(x)s, %s, $(cmd), #{x}, {name}, $VAR
_TEMPLATE = re.compile(
    r"\$\{|\{\{|\{%|<%|%\(|%[sd]\b|\$\(|#\{|\{[A-Za-z_][\w.]*\}|^\$[A-Za-z_]|<[^>]*>"
)
_PATH_OR_URL = re.compile(r"^(?:/|\./|\.\./|~/|[A-Za-z]:\\|[A-Za-z][\w+.-]*://)")
# lowercase words joined by separators with few digits: "app.session.v1", "auth-cookie"
_SLUG = re.compile(r"^[a-z0-9]+(?:[._:/-][a-z0-9]+)+$")
# Unquoted values that are code, not literals: settings.API_KEY, self._token, MY_TOKEN_2
_DOTTED = re.compile(r"^[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)+$")
_SNAKE_SEGMENT = re.compile(r"^(?:[a-z_][a-z0-9_]*|[A-Z_][A-Z0-9_]*)$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REGEX_HINT = re.compile(r"\[\^|\]\+|\]\*|\(\?|\\[dwsbDWS]|\.\*|\.\+|\[[a-z0-9]-[a-z0-9]")
# publicKeyToken, public_key: named like a secret, public by definition.
_PUBLIC_NAME = re.compile(r"(?i:public)[\w.-]*$")


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s own character distribution."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


_PLACEHOLDER_WORD = re.compile("|".join(re.escape(w) for w in _PLACEHOLDER_WORDS))


def _is_placeholder(value: str) -> bool:
    low = value.lower()
    return (
        low in _PLACEHOLDER_EXACT
        or _PLACEHOLDER_WORD.search(low) is not None
        or _TEMPLATE.search(value) is not None
    )


def _looks_random(value: str) -> bool:
    """Whether a literal assigned to a secret-named key looks like a real credential."""
    if len(value) < 8 or value.isdigit() or _is_placeholder(value):
        return False
    if any(ch.isspace() for ch in value) or _PATH_OR_URL.match(value):
        return False  # prose (UI labels) and paths are not credentials
    if _SLUG.match(value):
        digits = sum(ch.isdigit() for ch in value)
        if digits * 5 < len(value):
            return False
    if _REGEX_HINT.search(value):
        return False  # a regular expression literal: token = r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
    core = value.strip(string.punctuation)
    if core.isalpha():
        # Words and camelCase names ("Contraseña", "#bygroup", "userAuthHeader") vs random
        # letters, which switch case about every other character.
        switches = sum(1 for a, b in itertools.pairwise(core) if a.isupper() != b.isupper())
        if len(core) < 12 or switches * 4 < len(core):
            return False
    return shannon_entropy(value) >= 3.0


def _is_code_reference(value: str) -> bool:
    """An unquoted value in source code is an expression, not a literal secret."""
    if _DOTTED.match(value):
        segments = re.split(r"\.|::|->", value)
        return not any(ch.isdigit() for ch in value) or all(
            _SNAKE_SEGMENT.match(s) for s in segments
        )
    if _IDENTIFIER.match(value):
        if not any(ch.isdigit() for ch in value):
            return True
        return "_" in value and bool(_SNAKE_SEGMENT.match(value))
    return False


def _mixed_alnum(value: str) -> bool:
    """Random tokens mix digits and both cases; kebab-case names ("sk-learn-...") do not."""
    return (
        any(c.isdigit() for c in value)
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
    )


# --------------------------------------------------------------------------- line detectors


@dataclass(frozen=True, slots=True)
class _Detector:
    kind: SecretKind
    needles: tuple[str, ...]  # lowercase; the detector runs only if one is in the line
    pattern: re.Pattern[str]
    group: str | int = 0  # the part of the match that is the secret
    accept: Callable[[re.Match[str]], bool] | None = None
    # name=value detectors look for a match at every start position: a long unquoted value
    # that is rejected must not hide an assignment inside it. Their values are bounded, so
    # this stays linear; token detectors match only the token and use finditer.
    overlapping: bool = False


def _not_example(m: re.Match[str]) -> bool:
    # AWS's documented examples (AKIAIOSFODNN7EXAMPLE, wJalr...EXAMPLEKEY) are public.
    return "EXAMPLE" not in m.group("v")


def _random_body(m: re.Match[str]) -> bool:
    return _mixed_alnum(m.group("v"))


def _random_letters(m: re.Match[str]) -> bool:
    # Hugging Face tokens are letters only; names like hf_modelconfiguration... are one case.
    v = m.group("v")
    return any(c.isupper() for c in v) and any(c.islower() for c in v) and shannon_entropy(v) >= 3.5


def _url_password(m: re.Match[str]) -> bool:
    pw = m.group("pw")
    if _TEMPLATE.search(pw) or pw.startswith("$"):
        return False
    low = pw.lower()
    # Public defaults (postgres:postgres, guest:guest) and words standing for a password.
    placeholders = {
        "password",
        "pass",
        "passwd",
        "pwd",
        "pw",
        "secret",
        "changeme",
        "x-oauth-basic",
    }
    return (
        low not in placeholders
        and low != m.group("user").lower()
        and set(pw) - {"*", "x", "X"} != set()
    )


def _header_value(m: re.Match[str]) -> bool:
    return _looks_random(m.group("v"))


def _xml_value(m: re.Match[str]) -> bool:
    return "public" not in m.group("tag").lower() and _looks_random(m.group("v"))


def _public_name(m: re.Match[str]) -> bool:
    start = m.start()
    return _PUBLIC_NAME.search(m.string, max(0, start - 32), start) is not None


def _generic(m: re.Match[str]) -> bool:
    quoted = m.group("dq") if m.group("dq") is not None else m.group("sq")
    if quoted is None:
        quoted = m.group("bq")
    if quoted is None:
        value = m.group("uv")
        if m.group("sep").startswith("=="):
            return False  # `if token == EXPECTED:` compares with code, not a literal
        if _is_code_reference(value):
            return False
    else:
        value = quoted
    return _looks_random(value) and not _public_name(m)


def _flag_value(m: re.Match[str]) -> bool:
    return _looks_random(m.group("uv"))


# A secret-ish name ending here: DB_PASSWORD, apiKey, client_secret, x-api-key; not
# token_type, passwordHash, tokenizer, max_tokens. The leading lookahead on the possible first
# letters lets `re` skip most positions cheaply (a case-insensitive alternation cannot).
_SENSITIVE_NAME = (
    r"(?=[PpSsTtCcAaEeMm])(?i:passw(?:or)?d|passphrase|secrets?|token|credentials?"
    r"|(?:api|secret|access|private|auth|signing|encryption|account|master)[_.-]?key)"
    r"(?![A-Za-z0-9_])"
)
_QUOTED = (
    r"""[rRbBuUfF]{0,2}(?:"(?P<dq>[^"\\]*+(?:\\.[^"\\]*+)*+)\""""
    r"""|'(?P<sq>[^'\\]*+(?:\\.[^'\\]*+)*+)'|`(?P<bq>[^`\\]*+(?:\\.[^`\\]*+)*+)`)"""
)
# At most 256 characters and then a delimiter: longer unquoted runs are data, not a secret,
# and the bound keeps the every-position search linear.
_VALUE_CHAR = r"""[^\s"'`,;(){}\[\]<>]"""
_UNQUOTED = rf"(?P<uv>{_VALUE_CHAR}{{1,256}}+)(?!{_VALUE_CHAR})"

_AWS_ID_PREFIXES = ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "APKA")
_GITLAB_PREFIXES = ("glpat-", "glptt-", "gldt-", "glrt-", "glcbt-", "glsoat-", "glffct-", "glimt-")
_NAME_NEEDLES = ("passw", "passphrase", "secret", "token", "credential", "key")

_DETECTORS: tuple[_Detector, ...] = (
    _Detector("anthropic-key", ("sk-ant-",), re.compile(r"\bsk-ant-[A-Za-z0-9_-]{32,}")),
    _Detector(
        "openai-key",
        ("sk-",),
        re.compile(
            r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-|None-)?(?P<v>[A-Za-z0-9_-]{20,})"
            r"(?![A-Za-z0-9_-])"
        ),
        accept=_random_body,
    ),
    _Detector(
        "github-token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244})\b"),
    ),
    _Detector(
        "gitlab-token",
        _GITLAB_PREFIXES,
        re.compile(
            r"\bgl(?:pat|ptt|dt|rt|cbt|soat|ffct|imt)-[A-Za-z0-9_-]{20,}"
            r"(?:\.[A-Za-z0-9_-]+)*(?![A-Za-z0-9_-])"
        ),
    ),
    _Detector(
        "slack-token",
        ("xox", "xapp-"),
        re.compile(
            r"\b(?:(?:xoxe\.)?xox[abpsrce]-(?=[0-9A-Za-z-]*[0-9])[0-9A-Za-z-]{10,}"
            r"|xapp-[0-9]-[0-9A-Za-z-]{10,})"
        ),
    ),
    _Detector(
        "slack-webhook",
        ("hooks.slack.com/",),
        re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9/_+-]{20,})"),
        group=1,
    ),
    _Detector(
        "stripe-key",
        ("_live_", "_test_", "whsec_"),
        re.compile(r"\b(?:(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,247}|whsec_[0-9A-Za-z]{32,})\b"),
    ),
    _Detector("google-api-key", ("aiza",), re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    _Detector(
        "huggingface-token",
        ("hf_",),
        re.compile(r"\bhf_(?P<v>[A-Za-z0-9]{34,40})\b"),
        accept=_random_letters,
    ),
    _Detector("npm-token", ("npm_",), re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    _Detector("pypi-token", ("pypi-age",), re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{50,}")),
    _Detector(
        "sendgrid-key",
        ("sg.",),
        re.compile(r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"),
    ),
    _Detector(
        "aws-access-key-id",
        tuple(p.lower() for p in _AWS_ID_PREFIXES),
        re.compile(r"\b(?P<v>(?:" + "|".join(_AWS_ID_PREFIXES) + r")[A-Z0-9]{16})\b"),
        group="v",
        accept=_not_example,
    ),
    _Detector(
        "jwt",
        ("eyj",),
        re.compile(
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}(?![A-Za-z0-9_-])"
        ),
    ),
    _Detector(
        "aws-secret-access-key",
        ("secret",),
        re.compile(
            r"(?=[AaSs])(?i:aws[_.-]?secret(?:[_.-]?access)?[_.-]?key|secret[_.-]?access[_.-]?key)"
            r"[\"'\]]{0,2}\s*(?::=|=>|=|:)\s*[\"']?(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        group="v",
        accept=_not_example,
    ),
    _Detector(
        "url-password",
        ("://",),
        # Starts at the literal "://" (after a scheme character) so `re` can skip ahead to
        # it; the scheme is not part of the secret.
        re.compile(
            r"(?<=[A-Za-z0-9+.-])://(?P<user>[^\s:/?#@\"'`<>]*)"
            r":(?P<pw>[^\s/\"'`<>]+)@[^\s/?#@\"'`<>]+"
        ),
        group="pw",
        accept=_url_password,
    ),
    _Detector(
        "bearer-token",
        ("bearer", "authorization"),
        re.compile(
            r"(?=[BbAa])(?:\b[Bb]earer|(?i:authorization)[\"'\]]{0,2}\s*[:=]\s*[\"']?(?i:token))"
            r"\s+(?P<v>[A-Za-z0-9._~+/-]{16,}=*)"
        ),
        group="v",
        accept=_header_value,
    ),
    _Detector(
        "basic-auth",
        ("authorization",),
        re.compile(
            r"(?=[Aa])(?i:authorization)[\"'\]]{0,2}\s*[:=]\s*[\"']?(?i:basic)\s+"
            r"(?P<v>[A-Za-z0-9+/]{8,}={0,2})"
        ),
        group="v",
        accept=_header_value,
    ),
    _Detector(
        "generic-secret",
        _NAME_NEEDLES,
        re.compile(
            _SENSITIVE_NAME + r"[\"'\]]{0,2}"
            # a type annotation: `password: str = "..."`. Atomic: once `: type =` is seen the
            # parse is committed, so a second pass cannot fall back to reading `token:` + value.
            # Whitespace before a lone "=" and a value after it: in YAML `password: QmFzZTY0=`
            # the "=" is base64 padding and `password: Abc=def` is one value, not `Abc` typed.
            r"(?>(?:\s*:\s*[A-Za-z_][\w\[\]., |]{0,40}?(?=\s+=(?![=>])\s*[^\s=]))?)"
            r"\s*(?P<sep>===?|:=|=>|\|\|=|\?\?=|=|:(?!:))\s*"
            r"(?:" + _QUOTED + "|" + _UNQUOTED + ")"
        ),
        group="value",
        accept=_generic,
        overlapping=True,
    ),
    _Detector(
        "generic-secret",
        _NAME_NEEDLES,
        # XML elements: Maven settings.xml <password>, .NET <ApiKey>
        re.compile(r"<(?P<tag>[\w.:-]*" + _SENSITIVE_NAME + r")>(?P<v>[^<\s]{1,256}+)</(?P=tag)>"),
        group="v",
        accept=_xml_value,
        overlapping=True,
    ),
    _Detector(
        "generic-secret",
        _NAME_NEEDLES,
        # command-line flags: --password hunter2xyz, --api-key=... is the generic form above
        re.compile(r"(?<![\w-])--?[\w-]*(?i:password|passwd|token|secret|api-?key)\s+" + _UNQUOTED),
        group="uv",
        accept=_flag_value,
        overlapping=True,
    ),
    _Detector(
        "generic-secret",
        _NAME_NEEDLES,
        # The name and the value as two strings: environ.setdefault("DB_PASSWORD", "..."),
        # setProperty("db.password", "..."), .NET <add key="ApiKey" value="..." />
        re.compile(
            r"""["'][\w.-]{0,64}?"""
            + _SENSITIVE_NAME
            + r"""["']\s*(?:,|\s+value\s*=)\s*"""
            + _QUOTED
        ),
        group="value",
        accept=_generic,
        overlapping=True,
    ),
)


_Trie = dict[str, "_Trie"]


def _trie(words: Sequence[str]) -> str:
    """An alternation factored by common prefixes: `re` tries one branch per position
    instead of every needle, which makes the gate several times faster."""
    tree: _Trie = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        if "" in node:
            return ""  # a shorter needle already matches: its extensions add nothing
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items())]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(tree)


_NEEDLES = sorted({n for det in _DETECTORS for n in det.needles})
# Searched in the lowercased line: _GATE answers "anything at all?" for the common line;
# _GATE_ALL's lookahead then reports every needle (none can hide inside another's match),
# and what matched says which detectors to run.
_GATE = re.compile(_trie(_NEEDLES))
_GATE_ALL = re.compile("(?=(" + _trie(_NEEDLES) + "))")


def _detectors_by_needle() -> dict[str, tuple[int, ...]]:
    # The trie reports the shortest needle of a family ("sk-" for "sk-ant-" too), so a
    # detector runs when the shortest needle prefixing one of its own is found.
    shortest = [n for n in _NEEDLES if not any(n != p and n.startswith(p) for p in _NEEDLES)]
    runs: dict[str, set[int]] = {p: set() for p in shortest}
    for i, det in enumerate(_DETECTORS):
        for n in det.needles:
            runs[next(p for p in shortest if n.startswith(p))].add(i)
    return {p: tuple(sorted(ids)) for p, ids in runs.items()}


_RUNS = _detectors_by_needle()


def _group_span(m: re.Match[str], group: str | int) -> tuple[int, int]:
    if group == "value":
        for name in ("dq", "sq", "bq", "uv"):
            if m.group(name) is not None:
                return m.span(name)
    return m.span(group)


@dataclass(frozen=True, slots=True)
class _Candidate:
    priority: int
    start: int
    end: int
    kind: SecretKind
    # The whole match (name, separator, value). Matches touching an earlier marker are
    # dropped, which keeps redaction idempotent: `[REDACTED:generic-secret] = x` must not
    # read as a key named "secret", nor `token:NAME=[REDACTED:openai-key]` as the value
    # "NAME=" on a second pass. (Lookarounds see at most one character past a match.)
    context: tuple[int, int]


def _matches(det: _Detector, line: str) -> Iterator[re.Match[str]]:
    if not det.overlapping:
        yield from det.pattern.finditer(line)
        return
    pos = 0
    while (m := det.pattern.search(line, pos)) is not None:
        yield m
        pos = m.start() + 1


def _line_candidates(line: str, needles: set[str]) -> list[_Candidate]:
    found: list[_Candidate] = []
    for i in sorted({i for n in needles for i in _RUNS[n]}):
        det = _DETECTORS[i]
        for m in _matches(det, line):
            if det.accept is not None and not det.accept(m):
                continue
            start, end = _group_span(m, det.group)
            if start < end:
                found.append(_Candidate(i + 1, start, end, det.kind, m.span()))
    return found


# --------------------------------------------------------------------------- key blocks

_KEY_HEADER = re.compile(r"-{4,5} ?(BEGIN|END) (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)? ?-{4,5}")
# Code around key lines: indentation, quotes, concatenation, "\n" escapes. Possessive
# quantifiers (`*+`) because these classes overlap: without them a long run of "+" or
# spaces after a BEGIN line backtracks quadratically.
_LEAD = r"""^[\s,(\[]*+(?:\+\s)?+[\s"'`(\[]*+"""
_TRAIL = r"""(?:\\r)?+(?:\\n)?+[\s"'`+,;)\]\\]*+$"""
_BODY_LINE = re.compile(
    _LEAD + r"(?P<core>=?[A-Za-z0-9+/]++={0,3}+"
    r"|(?:Proc-Type|DEK-Info|Comment|Version|Hash|Charset)\s*+:[^\"'\\]*+)" + _TRAIL
)
_BLANK_OR_MARKER_LINE = re.compile(r"""^(?:\[REDACTED:[a-z0-9-]+\]|[\s"'`+,;()\[\]]|\\[rn]?)*+$""")
# A run of key material; `(?<!\\)` keeps the "n" of a "\n" escape out of it.
_RUN = re.compile(r"(?<!\\)=?[A-Za-z0-9+/]{2,}={0,3}")
_FULL_BODY_LINE = 16  # PEM lines are 64 chars; only the last one before END is shorter

_Spans = dict[int, set[tuple[int, int]]]


# What may share a line with a BEGIN/END header: key material, armor headers, "\n" escapes
# and quoting. `KEY_FOOTER = "-----END ...` is code, not key material.
_MATERIAL = r"""(?:[A-Za-z0-9+/=\s:,-]|\\[rn])*+"""
_INLINE_BLOCK = re.compile(_MATERIAL)
_BEGIN_REST = re.compile(_MATERIAL + _TRAIL)
_END_LEAD = re.compile(_LEAD + _MATERIAL)


def _run_span(line: str, start: int, end: int) -> tuple[int, int] | None:
    """From the first to the last run of key material in ``line[start:end]``."""
    runs = list(_RUN.finditer(line, start, end))
    if not runs:
        return None
    return runs[0].start(), runs[-1].end()


def _segment_span(
    shape: re.Pattern[str], line: str, start: int, end: int
) -> tuple[int, int] | None:
    if shape.fullmatch(line, start, end) is None:
        return None
    return _run_span(line, start, end)


class _Blocks:
    """Finds private key material in one contiguous view of lines.

    A block runs from a BEGIN line while lines look like key body (base64, armor headers,
    blank); an END line closes it. Lines before an END line are swept backwards too, so a
    hunk that starts inside a key still hides its tail. A stray BEGIN in code ends at the
    first ordinary line instead of swallowing the rest of the hunk.
    """

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines
        self.spans: _Spans = {}
        self.headers: dict[int, list[re.Match[str]]] = {}
        for i, line in enumerate(lines):
            if "PRIVATE KEY" in line:
                found = list(_KEY_HEADER.finditer(line))
                if found:
                    self.headers[i] = found

    def _add(self, i: int, span: tuple[int, int] | None) -> None:
        if span is not None:
            self.spans.setdefault(i, set()).add(span)

    def _is_end(self, i: int) -> bool:
        found = self.headers.get(i)
        return found is not None and found[0].group(1) == "END"

    def _body(self, i: int, *, last: bool) -> bool:
        """Whether line ``i`` belongs to a block body (and record its span if so)."""
        line = self.lines[i]
        m = _BODY_LINE.match(line)
        if m is not None:
            core = m.group("core")
            if len(core) < _FULL_BODY_LINE and not last and "=" not in core and ":" not in core:
                return False  # "pass", "return": code, not a short final key line
            self._add(i, _run_span(line, 0, len(line)))
            return True
        return _BLANK_OR_MARKER_LINE.match(line) is not None

    def find(self) -> _Spans:
        if not self.headers:
            return self.spans
        lines = self.lines
        i = 0
        while i < len(lines):
            found = self.headers.get(i)
            if not found:
                i += 1
                continue
            for a, b in itertools.pairwise(found):
                if a.group(1) == "BEGIN" and b.group(1) == "END":
                    self._add(i, _segment_span(_INLINE_BLOCK, lines[i], a.end(), b.start()))
            i += 1
            if found[-1].group(1) != "BEGIN":
                continue
            opener = lines[i - 1]
            self._add(i - 1, _segment_span(_BEGIN_REST, opener, found[-1].end(), len(opener)))
            while i < len(lines):
                if self._is_end(i):
                    closer = self.headers[i][0].start()
                    self._add(i, _segment_span(_END_LEAD, lines[i], 0, closer))
                    break  # the END line is looked at again: it may open the next block
                if i in self.headers or not self._body(i, last=self._is_end(i + 1)):
                    break
                i += 1
        for end in self.headers:
            if self._is_end(end):
                j = end - 1
                while j >= 0 and j not in self.headers and self._body(j, last=j == end - 1):
                    j -= 1
        return self.spans


# --------------------------------------------------------------------------- applying


def _apply(
    line: str, index: int, blocks: set[tuple[int, int]] | None = None
) -> tuple[str, list[Redaction]]:
    low = line.lower()
    if _GATE.search(low) is None:
        if not blocks:
            return line, []  # the common case: nothing secret-shaped on the line
        candidates = []
    else:
        candidates = _line_candidates(line, {m.group(1) for m in _GATE_ALL.finditer(low)})
    if blocks:
        candidates.extend(_Candidate(0, s, e, "private-key", (s, e)) for s, e in blocks)
    if not candidates:
        return line, []
    markers = [m.span() for m in _MARKER.finditer(line)] if "[REDACTED:" in line else []
    taken = list(markers)
    chosen: list[_Candidate] = []
    for cand in sorted(candidates, key=lambda c: (c.priority, c.start, -c.end)):
        if any(cand.start < e and s < cand.end for s, e in taken):
            continue
        if any(cand.context[0] <= e and s <= cand.context[1] for s, e in markers):
            continue
        taken.append((cand.start, cand.end))
        chosen.append(cand)
    if not chosen:
        return line, []
    chosen.sort(key=lambda c: c.start)
    parts: list[str] = []
    pos = 0
    for cand in chosen:
        parts.append(line[pos : cand.start])
        parts.append(marker(cand.kind))
        pos = cand.end
    parts.append(line[pos:])
    return "".join(parts), [
        Redaction(kind=c.kind, line=index, start=c.start, end=c.end) for c in chosen
    ]


def redact_line(line: str, index: int = 0) -> tuple[str, tuple[Redaction, ...]]:
    """Redact one line (without its terminator) on its own: a key block on one line is
    found, multi-line ones need ``redact_lines``. ``index`` goes into the ``Redaction``s."""
    spans = _Blocks((line,)).find()
    text, found = _apply(line, index, spans.get(0))
    return text, tuple(found)


def redact_lines(lines: Sequence[str]) -> tuple[tuple[str, ...], tuple[Redaction, ...]]:
    """Redact a sequence of lines (no line terminators) as one text: key blocks may span them."""
    spans = _Blocks(lines).find()
    out: list[str] = []
    found: list[Redaction] = []
    for i, line in enumerate(lines):
        text, reds = _apply(line, i, spans.get(i))
        out.append(text)
        found.extend(reds)
    return tuple(out), tuple(found)


def redact_text(text: str) -> tuple[str, tuple[Redaction, ...]]:
    """Redact free text (a commit message, a PR body, a whole file). Line terminators are
    kept byte for byte, so ``splitlines()`` and ``count("\\n")`` are unchanged."""
    raw = text.splitlines(keepends=True)
    bodies = [ln.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029") for ln in raw]
    redacted, found = redact_lines(bodies)
    if not found:
        return text, ()
    return "".join(r + ln[len(b) :] for r, ln, b in zip(redacted, raw, bodies, strict=True)), found


def _hunk_spans(lines: Sequence[DiffLine]) -> _Spans:
    """Key blocks of a hunk, found in the old side (ctx + del) and the new side (ctx + add)
    separately: an edit inside a key interleaves both sides' lines."""
    spans: _Spans = {}
    for side in ("del", "add"):
        view = [i for i, ln in enumerate(lines) if ln.kind in ("ctx", side)]
        for j, found in _Blocks([lines[i].text for i in view]).find().items():
            spans.setdefault(view[j], set()).update(found)
    return spans


def redact_hunk(hunk: Hunk) -> tuple[Hunk, int]:
    """The hunk with every line's text (and its header) redacted, and the number of spans
    replaced (a private key counts once per body line)."""
    spans = _hunk_spans(hunk.lines) if any("PRIVATE KEY" in ln.text for ln in hunk.lines) else {}
    count = 0
    new_lines: list[DiffLine] = []
    for i, ln in enumerate(hunk.lines):
        text, found = _apply(ln.text, i, spans.get(i))
        count += len(found)
        new_lines.append(ln.model_copy(update={"text": text}) if found else ln)
    header, found = _apply(hunk.header, 0, None)
    count += len(found)
    if not count:
        return hunk, 0
    return hunk.model_copy(update={"lines": tuple(new_lines), "header": header}), count


def redact_file_diff(fd: FileDiff) -> tuple[FileDiff, int]:
    """``fd`` with every hunk redacted (the same object when there was nothing to redact)."""
    hunks: list[Hunk] = []
    count = 0
    for hunk in fd.hunks:
        new, n = redact_hunk(hunk)
        hunks.append(new)
        count += n
    if not count:
        return fd, 0
    return fd.model_copy(update={"hunks": tuple(hunks)}), count


def redact_files(files: Sequence[FileDiff]) -> tuple[tuple[FileDiff, ...], int]:
    """Every file redacted, in order, and the total count for ``Stats.redactions``."""
    out: list[FileDiff] = []
    count = 0
    for fd in files:
        new, n = redact_file_diff(fd)
        out.append(new)
        count += n
    return tuple(out), count


# --------------------------------------------------------------------------- secret files

_SECRET_NAMES = frozenset(
    {
        ".netrc",
        "_netrc",
        ".npmrc",  # registry auth tokens (_authToken, _auth); the rest is rarely worth a review
        ".pypirc",
        ".git-credentials",
        ".pgpass",
        ".htpasswd",
        "credentials.json",  # Google OAuth client / service account downloads
    }
)
_SECRET_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx")
_SSH_KEY_PREFIXES = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")
_ENV_TEMPLATES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})


def is_secret_file(path: str) -> bool:
    """Whether a file is secret by nature and must never be sent, whatever its content."""
    pure = PurePosixPath(path.replace("\\", "/"))
    name = pure.name.lower()
    if name == ".env" or (name.startswith(".env.") and name not in _ENV_TEMPLATES):
        return True
    if name in _SECRET_NAMES or name.endswith(_SECRET_SUFFIXES):
        return True
    if name.startswith("client_secret") and name.endswith(".json"):
        return True
    if name == "credentials" and pure.parent.name == ".aws":
        return True
    # id_rsa, id_rsa.old...; the .pub half is public and harmless to send.
    return name.startswith(_SSH_KEY_PREFIXES) and not name.endswith(".pub")
