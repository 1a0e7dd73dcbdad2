"""The rules: one per finding category, its texts kept as data, and their descriptors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from reviewer.core.values import CATEGORIES, Category, Finding

INFORMATION_URI: Final = "https://github.com/reviewer-dev/reviewer"
SECURITY_RULE_SEVERITY: Final = "8.0"


@dataclass(frozen=True)
class RuleText:
    name: str
    short: str
    full: str
    level: str  # defaultConfiguration.level
    problem_severity: str  # error | warning | recommendation
    tags: tuple[str, ...]


RULES: Final[dict[Category, RuleText]] = {
    "bug": RuleText(
        "Bug",
        "Likely bug in changed code.",
        "Code that probably does not do what it intends: wrong logic, off-by-one errors, "
        "wrong types, unhandled cases or broken invariants.",
        "error",
        "error",
        ("correctness", "reliability"),
    ),
    "security": RuleText(
        "SecurityIssue",
        "Possible security vulnerability in changed code.",
        "Code that may be exploitable: injection, unsafe deserialization, missing "
        "authorization, secrets in code, weak cryptography or unsafe handling of untrusted input.",
        "error",
        "error",
        ("security",),
    ),
    "performance": RuleText(
        "PerformanceIssue",
        "Performance problem in changed code.",
        "Code that does needless work: repeated computation, quadratic loops over growing "
        "data, blocking calls on hot paths or unbounded memory use.",
        "warning",
        "warning",
        ("performance", "efficiency"),
    ),
    "maintainability": RuleText(
        "MaintainabilityIssue",
        "Maintainability problem in changed code.",
        "Code that will be hard to change safely: duplication, tangled responsibilities, "
        "misleading names or hidden coupling.",
        "note",
        "recommendation",
        ("maintainability",),
    ),
    "error-handling": RuleText(
        "ErrorHandlingIssue",
        "Error handling problem in changed code.",
        "Errors that are swallowed, reported misleadingly, or leave state inconsistent; "
        "resources that are not released on failure.",
        "warning",
        "warning",
        ("reliability", "error-handling"),
    ),
    "concurrency": RuleText(
        "ConcurrencyIssue",
        "Concurrency problem in changed code.",
        "Races, deadlocks, unsynchronized shared state or misuse of async primitives.",
        "warning",
        "warning",
        ("reliability", "concurrency"),
    ),
    "style": RuleText(
        "StyleIssue",
        "Style problem in changed code.",
        "Code that departs from the project's conventions or reads poorly without being wrong.",
        "note",
        "recommendation",
        ("style",),
    ),
    "docs": RuleText(
        "DocumentationIssue",
        "Documentation problem in changed code.",
        "Missing, outdated or misleading comments, docstrings or documentation.",
        "note",
        "recommendation",
        ("documentation",),
    ),
    "tests": RuleText(
        "TestIssue",
        "Testing problem in changed code.",
        "Missing tests for changed behaviour, tests that cannot fail, or fragile tests.",
        "note",
        "recommendation",
        ("testing",),
    ),
}


def rule_descriptors(findings: tuple[Finding, ...]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every category's rule in a fixed order (so ``ruleIndex`` is stable across runs), then any
    other rule id a finding carries, sorted."""
    rules = [_rule(f"reviewer/{cat}", cat) for cat in CATEGORIES]
    known = {r["id"] for r in rules}
    extra: dict[str, Category] = {}
    for f in findings:
        if f.rule_id not in known:
            extra.setdefault(f.rule_id, f.category)
    rules.extend(_rule(rid, extra[rid]) for rid in sorted(extra))
    return rules, {r["id"]: i for i, r in enumerate(rules)}


def _rule(rule_id: str, category: Category) -> dict[str, Any]:
    text = RULES[category]
    tags = ["reviewer", "ai-review", *text.tags]
    props: dict[str, Any] = {
        "tags": list(dict.fromkeys(tags)),
        "precision": "medium",  # a model's judgement: often right, never certain
        "problem.severity": text.problem_severity,
        "category": category,
    }
    if category == "security":
        props["security-severity"] = SECURITY_RULE_SEVERITY
    help_text = (
        f"{text.full} Findings come from an AI review of the change; "
        "check each one before acting on it."
    )
    help_md = (
        f"**{text.short}**\n\n{text.full}\n\n"
        "Findings come from an AI review of the change; check each one before acting on it. "
        "A finding's suggestion, when present, replaces exactly the reported lines."
    )
    return {
        "id": rule_id,
        "name": text.name,
        "shortDescription": {"text": text.short},
        "fullDescription": {"text": text.full},
        "help": {"text": help_text, "markdown": help_md},
        "helpUri": INFORMATION_URI,
        "defaultConfiguration": {"level": text.level},
        "properties": props,
    }
