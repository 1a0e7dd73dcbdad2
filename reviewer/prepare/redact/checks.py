"""Value checks: does a literal look like a credential, or like something a reviewer needs to
see (a placeholder, a lookup, a hash, a path, a word)?

These decide the name-based rules, where the name says "secret" and only the value can say
"not really". The decisions are listed in the README ("What is kept visible").
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import string
from collections import Counter

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
    "yoursecret",
    "redacted",
    "xxxx",
    "****",
    "....",
    "•••",
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
_PLACEHOLDER_WORD = re.compile("|".join(re.escape(w) for w in _PLACEHOLDER_WORDS))
# ${VAR}, {{ x }}, {% x %}, <%= x %>, %(x)s, %s, $(cmd), #{x}, {name}, $VAR, %VAR%, <your-key>
_TEMPLATE = re.compile(
    r"\$\{|\{\{|\{%|<%|%\(|%[sd]\b|\$\(|#\{|\{[A-Za-z_][\w.]*\}|^\$[A-Za-z_]\w*$|<[^>]*>"
    r"|^%[A-Za-z_]\w*%$"
)
# Where a secret is kept rather than the secret: secret managers, vaults, environment.
_REFERENCE = re.compile(
    r"^(?:arn:aws|vault:|secret:|secrets:|sm:|ssm:|env:|file:|op://|keyvault:|azurekeyvault:"
    r"|projects/[\w-]+/secrets/|@Microsoft\.KeyVault)",
    re.IGNORECASE,
)
# A hash says what it is: sha256:..., sha512-... (integrity), $2b$... (bcrypt), {SSHA}...
_HASH = re.compile(
    r"^(?:(?:sha(?:1|224|256|384|512)|md5|blake2[bs]?|xxh\d*)[-:=]"
    r"|\$(?:2[abxy]?|argon2(?:id|i|d)|[1356]|5|y|gy|scrypt|pbkdf2[-\w]*)\$"
    r"|(?:pbkdf2_sha\d+|bcrypt_sha256|argon2)\$"
    r"|\{(?:SSHA|SHA|MD5|SMD5|CRYPT|SSHA256|SSHA512|BCRYPT|PBKDF2[-\w]*)\})",
    re.IGNORECASE,
)
_PATH_OR_URL = re.compile(r"^(?:/|\./|\.\./|~/|[A-Za-z]:\\|[A-Za-z][\w+.-]*://)")
# lowercase words joined by separators with few digits: "app.session.v1", "auth-cookie"
# snake_case too, with leading or trailing underscores: "_hypothesis_stats", "access_token".
_SLUG = re.compile(
    r"^_*(?:[a-z0-9]+|[A-Z][a-z0-9]*|[A-Z0-9]+)(?:[._:/-]+(?:[a-z0-9]+|[A-Z][a-z0-9]*|[A-Z0-9]+))+_*$"
)
# Public by definition, though shaped like a secret: the Cache Directory Tagging signature.
_PUBLIC_VALUES = frozenset({"8a477f597d28d172789f06886806bc55"})
# A command-line flag is an option's name: "--full-trace", "-storepass".
_FLAG = re.compile(r"^--?[A-Za-z][\w-]*=?$")
_VERSION = re.compile(r"^v?\d+(?:\.\d+)+(?:[-+][\w.]+)?$")
# Unquoted values that are code, not literals: settings.API_KEY, self._token, MY_TOKEN_2
_DOTTED = re.compile(r"^[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)+$")
_SNAKE_SEGMENT = re.compile(r"^(?:[a-z_][a-z0-9_]*|[A-Z_][A-Z0-9_]*)$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A call or an index, quoted or not: os.environ['X'], config.get("token"), getpass()
_CODE_EXPR = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:\(.*\)|\[.*\])$")
# A quoted constant name is a name: os.getenv("DB_PASSWORD_2"), "SECRET_KEY_BASE".
_SCREAMING = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_WHITESPACE = re.compile(r"\s")
_REGEX_HINT = re.compile(r"\[\^|\]\+|\]\*|\(\?|\\[dwsbDWS]|\.\*|\.\+|\[[a-z0-9]-[a-z0-9]")


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s own character distribution."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def is_placeholder(value: str) -> bool:
    low = value.lower()
    return (
        low in _PLACEHOLDER_EXACT
        or _PLACEHOLDER_WORD.search(low) is not None
        or _TEMPLATE.search(value) is not None
    )


# One anchored match for all the shapes that stay visible by their start.
_VISIBLE_START = re.compile(
    "|".join(
        [_PATH_OR_URL.pattern, _VERSION.pattern]
        + [f"(?i:{rx.pattern})" for rx in (_REFERENCE, _HASH)]
    )
)


def is_kept_visible(value: str) -> bool:
    """Values a reviewer needs and that grant nothing: placeholders, templates, references to
    a secret store, hashes, paths and URLs, versions."""
    return is_placeholder(value) or _VISIBLE_START.match(value) is not None


_CAMEL_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")


def _is_word_like(core: str) -> bool:
    # Words and camelCase names ("Contraseña", "#bygroup", "userAuthHeader", "AsyncAPIKeys")
    # vs random letters, which switch case about every other character.
    switches = sum(1 for a, b in itertools.pairwise(core) if a.isupper() != b.isupper())
    if len(core) < 12 or switches * 4 < len(core):
        return True
    words = _CAMEL_WORD.findall(core)
    return len(core) / max(len(words), 1) >= 3 and sum(len(w) == 1 for w in words) <= 1


@functools.lru_cache(maxsize=4096)
def looks_random(value: str, *, passphrase: bool = False) -> bool:
    """Whether a literal given to a secret-bearing name looks like a real credential.

    ``passphrase``: the name is a password's, where a long run of lowercase letters
    ("correcthorsebatterystaple") is a credential too.
    """
    if len(value) < 8 or value.isdigit() or "[REDACTED:" in value or value in _PUBLIC_VALUES:
        return False
    if _WHITESPACE.search(value):
        return False  # prose (UI labels, messages) is not a credential
    if is_kept_visible(value) or _SCREAMING.match(value) or _CODE_EXPR.match(value):
        return False
    if _FLAG.match(value):
        return False
    if _DOTTED.match(value) and is_code_reference(value):
        return False  # "settings.API_KEY": a reference to where the secret is
    if _SLUG.match(value):
        digits = sum(ch.isdigit() for ch in value)
        if digits * 5 < len(value):
            return False
    if _REGEX_HINT.search(value):
        return False  # a regular expression literal: token = r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
    core = value.strip(string.punctuation)
    if core.isalpha():
        if passphrase and core.islower() and len(core) >= 16:
            return True
        if _is_word_like(core):
            return False
    return shannon_entropy(value) >= 3.0


@functools.lru_cache(maxsize=4096)
def is_code_reference(value: str) -> bool:
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


def mixed_alnum(value: str) -> bool:
    """Random tokens mix digits and both cases; kebab-case names ("sk-learn-...") do not."""
    return (
        any(c.isdigit() for c in value)
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
    )


def random_body(value: str, *, min_entropy: float = 3.0) -> bool:
    """A token body after a known prefix: random characters, not words joined by dashes.

    Mixed case with digits is random enough; one case (hex keys, lowercase keys) needs both
    letters and digits, or high entropy, and no word-like runs between separators.
    """
    if mixed_alnum(value):
        return True
    parts = [p for p in re.split(r"[-_.]", value) if p]
    if len(parts) > 2 and all(p.isalpha() and len(p) < 12 for p in parts):
        return False  # sk-learn-extra-utilities
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    if has_digit and has_alpha:
        return shannon_entropy(value) >= min_entropy
    return len(value) >= 32 and shannon_entropy(value) >= 3.5
