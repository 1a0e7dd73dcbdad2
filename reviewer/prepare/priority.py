"""Which changes a senior reviewer would open first: a documented, tunable score per file.

score = kind + sensitive + named + size, then the team's globs:

* **kind** (from the path): source 30, configuration 20, tests 15, docs 10, generated-looking 5;
* **sensitive** +12 when the path or the added lines touch what attackers aim at: authentication,
  sessions and tokens, cryptography, permissions, SQL, deserialisation, processes and shells,
  network input, payments (the words and patterns below);
* **named** +6 when the repository's review rules name the file (instruction globs);
* **size** floor(log2(1 + changed lines)) / 4, at most 4 (1 line: 0.25, 15 lines: 0.75, 16
  lines: 1), so more changed lines come first among equals but never outrank a kind; rounded
  down so a few more or fewer lines rarely reorder files;
* ``priority`` globs add 100 and ``deprioritize`` globs subtract 100 (config), so the team's
  word beats every heuristic.

Higher first; ties by path. Computed from cheap facts only (the path, the added lines' text,
their count), so a large change can be ranked before anything is parsed or counted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from reviewer.core.globs import compile_glob

Kind = Literal["source", "config", "test", "docs", "generated"]
KIND_WEIGHT: dict[Kind, float] = {
    "source": 30.0,
    "config": 20.0,
    "test": 15.0,
    "docs": 10.0,
    "generated": 5.0,
}
SENSITIVE_BONUS = 12.0  # a sensitive configuration file comes before plain source
NAMED_BONUS = 6.0
GLOB_BONUS = 100.0
SIZE_CAP = 4.0  # below the smallest gap between two kinds

_DOC_SUFFIXES = frozenset({".md", ".rst", ".txt", ".adoc", ".org", ".rdoc", ".tex"})
_DOC_NAMES = frozenset({"license", "licence", "copying", "authors", "changelog", "notice"})
_CONFIG_SUFFIXES = frozenset(
    {
        ".yml", ".yaml", ".json", ".toml", ".ini", ".cfg", ".conf", ".properties", ".xml",
        ".env", ".tf", ".tfvars", ".hcl", ".plist", ".gradle", ".cmake",
    }
)  # fmt: skip
_CONFIG_NAMES = frozenset(
    {
        "dockerfile", "makefile", "containerfile", "jenkinsfile", "procfile", "vagrantfile",
        "requirements.txt", "setup.py", "setup.cfg", "pyproject.toml", "package.json",
        "go.mod", "cargo.toml", "pom.xml", "build.gradle", "cmakelists.txt", "gemfile",
    }
)  # fmt: skip
_TEST_DIRS = frozenset(
    {"test", "tests", "testing", "__tests__", "spec", "specs", "e2e", "testdata"}
)
_TEST_NAME = re.compile(
    r"(?:^test_|_test\.|_tests\.|\.test\.|\.spec\.|_spec\.|Tests?\.(?:java|kt|cs|scala)$"
    r"|^conftest\.py$)",
)
_GENERATED_NAME = re.compile(
    r"(?:_pb2(?:_grpc)?\.pyi?$|\.pb\.go$|\.g\.dart$|\.generated\.|_generated\.|\.min\.(?:js|css)$"
    r"|\.designer\.cs$|\.snap$|\.lock$)"
)
_GENERATED_DIRS = frozenset({"generated", "__generated__", "gen", "dist", "build", "vendor"})

# Words in a path (split at separators and case changes) that mark security-sensitive code.
_SENSITIVE_WORDS = frozenset(
    """auth authn authz authenticate authentication authorize authorization login logout signin
    signup session sessions token tokens oauth oidc jwt saml sso password passwd secret secrets
    credential credentials crypto cryptography cipher encrypt decrypt encryption hash hashing
    hmac sign signing signature cert certs certificate tls ssl key keys keystore permission
    permissions perm perms acl rbac role roles policy policies admin sudo privilege sql query
    queries db database migration migrations serializer serializers serialize deserialize
    serialization pickle marshal upload uploads exec shell subprocess command commands process
    spawn sandbox network http https request requests handler handlers router routes route api
    server socket webhook webhooks payment payments billing checkout wallet security sanitize
    sanitizer escape csrf xss cors firewall middleware""".split()  # noqa: SIM905 - reads as words
)
# Patterns in added lines: processes and shells, eval, deserialisation, SQL, weak or disabled
# crypto and TLS, raw HTML, permissions.
_SENSITIVE_CONTENT = re.compile(
    r"subprocess|os\.system|popen|\bexec\s*\(|\beval\s*\(|shell\s*=\s*True|child_process"
    r"|Runtime\.getRuntime|ProcessBuilder|pickle\.loads?|yaml\.load\(|marshal\.loads?"
    r"|ObjectInputStream|unserialize|deserializ"
    r"|\b(?:SELECT|INSERT|UPDATE|DELETE)\b[^\n]{0,80}\b(?:FROM|INTO|SET|WHERE)\b"
    r"|\.execute\(|\.raw\(|cursor\("
    r"|\bmd5\b|\bsha1\b|\bDES\b|\bECB\b|verify\s*=\s*False|InsecureSkipVerify"
    r"|_create_unverified_context|rejectUnauthorized\s*:\s*false"
    r"|innerHTML|dangerouslySetInnerHTML|document\.write"
    r"|\bchmod\b|\bsetuid\b|\bsudo\b|password|passwd|secret|\btoken\b|\bjwt\b|bcrypt|hmac",
    re.IGNORECASE,
)
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What ranking needs of a changed file: cheap to know before anything is parsed."""

    path: str
    changed_lines: int
    added_text: str = ""  # the added lines (or a sample of them), for the content patterns
    sensitive: str | None = None  # what git's own search (-G) found in the changed lines


@dataclass(frozen=True, slots=True)
class Ranked:
    path: str
    score: float
    kind: Kind
    reasons: tuple[str, ...]  # why it ranks where it does, for --dry-run


@dataclass(frozen=True, slots=True)
class PriorityRules:
    priority: tuple[str, ...] = ()  # globs reviewed first
    deprioritize: tuple[str, ...] = ()  # globs reviewed last
    named: tuple[str, ...] = ()  # globs the repository's review rules name


def kind_of(path: str) -> Kind:
    parts = path.lower().split("/")
    name = parts[-1]
    if any(p in _GENERATED_DIRS for p in parts[:-1]) or _GENERATED_NAME.search(name):
        return "generated"
    if any(p in _TEST_DIRS for p in parts[:-1]) or _TEST_NAME.search(path.rsplit("/", 1)[-1]):
        return "test"
    stem, dot, suffix = name.rpartition(".")
    extension = f".{suffix}" if dot else ""
    if name in _CONFIG_NAMES or extension in _CONFIG_SUFFIXES or name.startswith(".env"):
        return "config"
    if extension in _DOC_SUFFIXES or (stem or name) in _DOC_NAMES or "docs" in parts[:-1]:
        return "docs"
    return "source"


def sensitive_word(path: str) -> str | None:
    """The first security-sensitive word in ``path``'s directories and name, if any."""
    for word in _WORD_SPLIT.split(path):
        if word.lower() in _SENSITIVE_WORDS:
            return word.lower()
    return None


def sensitive_content(text: str) -> str | None:
    found = _SENSITIVE_CONTENT.search(text)
    return found.group(0) if found else None


def score(facts: FileFacts, rules: PriorityRules) -> Ranked:
    kind = kind_of(facts.path)
    total = KIND_WEIGHT[kind]
    reasons: list[str] = [kind]
    hit = sensitive_word(facts.path) or sensitive_content(facts.added_text) or facts.sensitive
    if hit is not None:
        total += SENSITIVE_BONUS
        reasons.append(f"sensitive: {hit}")
    if _matches(rules.named, facts.path):
        total += NAMED_BONUS
        reasons.append("named by the review rules")
    total += min(SIZE_CAP, math.floor(math.log2(1 + max(0, facts.changed_lines))) / 4)
    if _matches(rules.priority, facts.path):
        total += GLOB_BONUS
        reasons.append("priority glob")
    if _matches(rules.deprioritize, facts.path):
        total -= GLOB_BONUS
        reasons.append("deprioritize glob")
    return Ranked(path=facts.path, score=round(total, 3), kind=kind, reasons=tuple(reasons))


def rank(facts: Iterable[FileFacts], rules: PriorityRules) -> list[Ranked]:
    """Highest score first; ties by path, so the order is stable."""
    return sorted((score(f, rules) for f in facts), key=lambda r: (-r.score, r.path))


def _matches(globs: Sequence[str], path: str) -> bool:
    return any(compile_glob(g).fullmatch(path) is not None for g in globs)
