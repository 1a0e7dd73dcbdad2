"""Secret-bearing names, by construction rather than by a list of spellings.

A name (``aws_secret_access_key_0``, ``dbPassword1``, ``X-Api-Key``, ``spring.datasource.password``,
``--client-secret``) is split into words across every case style (snake, camel, kebab,
SCREAMING, dotted) and digits; it bears a secret when one of its words is a secret word, in
whatever position and with whatever prefix or suffix, unless the words around it say it is
about the secret rather than the secret itself (``password_hash``, ``token_type``,
``max_tokens``, ``public_key``).

The vocabulary below is the whole of it: add a word here and every syntax in ``syntax.py``
understands it.
"""

from __future__ import annotations

import functools
import re

# A word that is a secret on its own, also at the end of a run-together word ("dbpassword",
# "accesstoken", "clientsecret"), in any case.
STRONG_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "secret",
    "token",
    "credential",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "privkey",
    "signingkey",
    "masterkey",
    "authkey",
    "sessionkey",
    "connstr",
    "connectionstring",
    "mnemonic",
)
# Secret words only as a whole word: "pass" in ``db_pass`` but not in ``bypass``.
WEAK_WORDS = frozenset(
    {
        "pass",
        "pwd",
        "pw",
        "pswd",
        "psw",
        "auth",
        "oauth",
        "authorization",
        "creds",
        "cred",
        "sig",
        "signature",
        "salt",
        "session",
        "sessionid",
        "sessid",
        "jsessionid",
        "phpsessid",
        "cookie",
        "dsn",
        "sk",  # secret key, as Chinese cloud SDKs name it (HUAWEICLOUD_SDK_SK, VOLC_SK)
        "ak",
    }
)
# "key" is a secret when qualified: api key, access key, private key...
KEY_QUALIFIERS = frozenset(
    {
        "api",
        "access",
        "secret",
        "private",
        "priv",
        "auth",
        "signing",
        "sign",
        "encryption",
        "encrypt",
        "enc",
        "crypt",
        "crypto",
        "cipher",
        "aes",
        "des",
        "hmac",
        "jwt",
        "master",
        "account",
        "client",
        "app",
        "application",
        "consumer",
        "shared",
        "storage",
        "subscription",
        "session",
        "license",
        "licence",
        "deploy",
        "ssh",
        "gpg",
        "pgp",
        "webhook",
        "bot",
        "admin",
        "root",
        "write",
        "merchant",
        "secure",
        "security",
        "service",
        "server",
        "user",
        "personal",
    }
)
# "conn string", "connection string"
_STRING_QUALIFIERS = frozenset({"conn", "connection"})
# Words ending in "pass" that are not passwords.
_PASS_WORDS = frozenset(
    {
        "bypass",
        "compass",
        "encompass",
        "trespass",
        "surpass",
        "overpass",
        "underpass",
        "multipass",
        "subpass",
        "renderpass",
        "firstpass",
        "secondpass",
    }
)
# After the secret word, these make the name about the secret: password_hash, token_type,
# secret_name, auth_url, session_timeout, cookie_domain. Digits and other words do not
# (aws_secret_access_key_0, password_prod, api_key_v2).
METADATA_WORDS = frozenset(
    {
        "type",
        "types",
        "kind",
        "name",
        "names",
        "label",
        "hint",
        "prompt",
        "field",
        "fields",
        "input",
        "column",
        "col",
        "header",
        "headers",
        "url",
        "uri",
        "urls",
        "endpoint",
        "host",
        "domain",
        "path",
        "file",
        "filename",
        "dir",
        "env",
        "var",
        "variable",
        "length",
        "len",
        "size",
        "count",
        "min",
        "max",
        "limit",
        "regex",
        "re",
        "pattern",
        "policy",
        "rule",
        "rules",
        "expiry",
        "expires",
        "expiration",
        "expire",
        "exp",
        "ttl",
        "timeout",
        "lifetime",
        "age",
        "hash",
        "hashed",
        "digest",
        "checksum",
        "sha",
        "md5",
        "fingerprint",
        "version",
        "format",
        "prefix",
        "suffix",
        "mask",
        "placeholder",
        "required",
        "enabled",
        "disabled",
        "enable",
        "flag",
        "mode",
        "strategy",
        "provider",
        "providers",
        "source",
        "store",
        "manager",
        "service",
        "handler",
        "validator",
        "validation",
        "error",
        "errors",
        "message",
        "msg",
        "text",
        "title",
        "description",
        "desc",
        "help",
        "class",
        "widget",
        "form",
        "index",
        "idx",
        "usage",
        "budget",
        "encoding",
        "algorithm",
        "algorithms",
        "alg",
        "method",
        "methods",
        "scheme",
        "scope",
        "scopes",
        "issuer",
        "audience",
        "location",
        "position",
        "offset",
        "id",
        "ids",
        "ref",
        "arn",
        "samesite",
        "httponly",
        "secure",
        "backend",
        "engine",
        "storage",
        "cache",
        "counter",
        "generator",
        "factory",
        "builder",
        "parser",
        "serializer",
        "middleware",
        "plugin",
        "module",
        "schema",
        "config",
        "settings",
        "options",
        "exists",
        "present",
        "set",
        "missing",
        "valid",
        "invalid",
        "changed",
        "updated",
        "created",
        "at",
        "date",
        "time",
        "seconds",
        "minutes",
        "hours",
        "days",
        "ms",
        "bits",
        "bytes",
        "rounds",
        "iterations",
        "strength",
        "complexity",
        "user",
        "username",
        "verify",
        "verified",
        "verification",
        "check",
        "validate",
        "from",
        "for",
        "to",
        "of",
        "by",
        "login",
        "email",
        "owner",
    }
)
# Before the secret word, these make the name about the secret: public_key, max_tokens,
# is_password, get_secret, fake_token.
PREFIX_NEGATORS = frozenset(
    {
        "public",
        "publishable",
        "pub",
        "max",
        "min",
        "num",
        "count",
        "total",
        "is",
        "has",
        "no",
        "enable",
        "enabled",
        "disable",
        "allow",
        "require",
        "required",
        "show",
        "hide",
        "mask",
        "masked",
        "validate",
        "verify",
        "check",
        "get",
        "fetch",
        "read",
        "load",
        "find",
        "lookup",
        "parse",
        "encode",
        "decode",
        "hash",
        "hashed",
        "generate",
        "gen",
        "fake",
        "dummy",
        "mock",
        "example",
        "sample",
        "placeholder",
        "expected",
        "invalid",
        "wrong",
        "bad",
    }
)
# In calls the callee's first word decides: setPassword("x"), .password("x"), withToken("x")
# set; getPassword("x"), verifyToken("x"), hashPassword("x") take a name or a candidate.
LOOKUP_VERBS = PREFIX_NEGATORS | frozenset(
    {
        "compare",
        "encrypt",
        "decrypt",
        "prompt",
        "ask",
        "input",
        "redact",
        "print",
        "log",
        "remove",
        "delete",
        "del",
        "clear",
        "revoke",
        "invalidate",
        "rotate",
        "list",
        "describe",
        "assert",
        "expect",
        "test",
        "sign",
        "create",
        "make",
        "build",
        "request",
        "exchange",
        "introspect",
        "forgot",
        "send",
        "match",
        "matches",
    }
)

_STRONG_SUFFIX = re.compile("(?:" + "|".join(STRONG_WORDS) + r")s?$")
_SPLIT = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_CONSTANT = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_PLURALS = {"tokens": "token", "secrets": "secret", "passwords": "password", "keys": "key"}


def split_words(name: str) -> tuple[str, ...]:
    """``aws_secret_access_key_0`` -> aws, secret, access, key, 0; ``dbPassword1`` -> db,
    password, 1; ``APIKey`` -> api, key; ``x-api-key`` -> x, api, key."""
    return tuple(w.lower() for w in _SPLIT.findall(name))


def _secret_at(words: tuple[str, ...], i: int, *, constant: bool = False) -> bool:
    word = _PLURALS.get(words[i], words[i])
    if word in WEAK_WORDS:
        return True
    if word == "key":
        # ALGOLIA_KEY, PUSHER_APP_KEY: a vendor's key as a SCREAMING constant or env var is
        # a credential; cache_key or primary_key in code is not.
        return i > 0 and (words[i - 1] in KEY_QUALIFIERS or constant)
    if word in ("string", "str"):
        return i > 0 and words[i - 1] in _STRING_QUALIFIERS
    if word.endswith("pass") and len(word) > 4:
        return word not in _PASS_WORDS  # storepass, keypass, ssid_pass
    return _STRONG_SUFFIX.search(word) is not None


def secret_word_span(name: str) -> tuple[int, int] | None:
    """The first and last secret word of ``name``, or None: the name is not secret-bearing."""
    words = split_words(name)
    constant = _CONSTANT.match(name) is not None
    hits = [i for i in range(len(words)) if _secret_at(words, i, constant=constant)]
    if not hits:
        return None
    first, last = hits[0], hits[-1]
    if any(w in PREFIX_NEGATORS for w in words[:first]):
        return None
    tail = [w for w in words[last + 1 :] if not w.isdigit()]
    # A session or cookie id is the credential itself (session_id, cookie_id).
    session_id = tail[:1] == ["id"] and words[last] in ("session", "cookie")
    if tail and tail[0] in METADATA_WORDS and not session_id:
        return None
    return first, last


@functools.lru_cache(maxsize=8192)
def is_secret_name(name: str) -> bool:
    """Whether ``name`` (an identifier, key, flag or header name) bears a secret."""
    return secret_word_span(name) is not None


@functools.lru_cache(maxsize=4096)
def is_setter(callee: str) -> bool:
    """Whether a call to ``callee`` with a literal passes a secret in (``setPassword``,
    ``password``, ``withApiKey``, ``HTTPBasicAuth``) rather than looks one up."""
    words = split_words(callee.rsplit(".", 1)[-1])
    return bool(words) and words[0] not in LOOKUP_VERBS and is_secret_name(callee)


@functools.lru_cache(maxsize=4096)
def is_password_name(name: str) -> bool:
    """A password's name: its value may be a long lowercase passphrase."""
    return any(w.startswith(("pass", "pwd", "pw")) for w in split_words(name))


def is_aws_secret_name(name: str) -> bool:
    """aws_secret_access_key, SecretAccessKey, AWS_SECRET_KEY_1, awsSecret."""
    words = set(split_words(name))
    return "secret" in words and ("aws" in words or {"access", "key"} <= words)
