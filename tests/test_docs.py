"""Docs that cannot drift: every CLI option, exit code, output format and provider preset
appears in the README, and the README's two commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import click

from reviewer.cli.review import review
from reviewer.core.errors import (
    EXIT_FAILURE,
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
)
from reviewer.llm.providers import ALIASES, PROVIDERS
from reviewer.outputs import REPORTERS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _option_names() -> list[str]:
    names: list[str] = []
    for param in review.params:
        if isinstance(param, click.Option):
            names.extend(n for n in param.opts if n.startswith("--"))
            names.extend(n for n in param.secondary_opts if n.startswith("--"))
    return names


def test_every_option_is_in_the_readme_options_table() -> None:
    table = README.split("### Options", 1)[1].split("\n## ", 1)[0]
    missing = [
        name for name in _option_names() if f"`{name}" not in table and f" {name}" not in table
    ]
    assert missing == []


def test_every_readme_option_exists() -> None:
    table = README.split("### Options", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"(--[a-z][a-z-]+)", table))
    assert documented <= set(_option_names())


def test_exit_codes_are_documented() -> None:
    section = README.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in (EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_FAILURE, EXIT_INTERRUPTED):
        assert f"| {code} |" in section


def test_output_formats_are_documented() -> None:
    section = README.split("## Output formats", 1)[1].split("\n## ", 1)[0]
    for name in REPORTERS:
        assert f"| `{name}`" in section


def test_provider_presets_are_documented() -> None:
    section = README.split("## Providers", 1)[1].split("\n## ", 1)[0]
    for name in PROVIDERS:
        aliases = [a for a, target in ALIASES.items() if target == name]
        assert any(f"`{n}`" in section for n in (name, *aliases)), name


def test_ci_runs_the_readme_test_command() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", quick, re.S)
    test_command = blocks[1].strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # The README installs and runs; CI does the same steps one by one.
    assert 'pip install -e ".[test]"' in test_command and 'pip install --quiet -e ".[test]"' in ci
    assert test_command.endswith("python -m pytest")
    assert "\npython -m pytest\n" in ci


def test_changelog_has_an_unreleased_section() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog


def _eval_section() -> str:
    return README.split("## Which model? `review eval`", 1)[1].split("\n## ", 1)[0]


def test_every_eval_option_is_documented_and_every_documented_one_exists() -> None:
    from reviewer.cli.eval import eval_command

    table = _eval_section().split("### `review eval` options", 1)[1]
    review_table = README.split("### Options", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for param in eval_command.params:
        if isinstance(param, click.Option):
            names.update(n for n in (*param.opts, *param.secondary_opts) if n.startswith("--"))
    # Every option of review eval is in its own table, or a review option in the review's.
    undocumented = [
        n
        for n in sorted(names)
        if not any(f"{p}{n}" in t for p in "` " for t in (table, review_table))
    ]
    assert undocumented == []
    rows = "\n".join(line for line in table.splitlines() if line.startswith("| `"))
    assert set(re.findall(r"(--[a-z][a-z-]+)", rows)) <= names
    # The options it leaves out are named, and are review options.
    excluded = table.split("except those that choose", 1)[1].split("):", 1)[0]
    assert set(re.findall(r"(--[a-z][a-z-]+)", excluded)) <= set(_option_names())
    assert "review eval" in str(review.epilog)  # review --help points at it


def test_the_eval_corpus_figures_in_the_readme_are_true() -> None:
    from collections import Counter

    from reviewer.evaluate.corpus import load_builtin_corpus

    cases = load_builtin_corpus().cases
    section = _eval_section().split("### The built-in corpus", 1)[1].split("###", 1)[0]
    languages = Counter(c.spec.language for c in cases)
    clean = sum(c.clean for c in cases)
    problems = sum(len(c.spec.problems) for c in cases)
    assert f"{len(cases)} cases" in section
    assert (
        f"{len(cases) - clean} changes with one known" in section and problems == len(cases) - clean
    )
    assert f"{clean} clean" in section
    for name, count in (("Python", languages["python"]), ("Go", languages["go"])):
        assert f"{name} ({count})" in section
    assert f"JavaScript/TypeScript ({languages['javascript'] + languages['typescript']})" in section
    assert f"Java ({languages['java']})" in section and f"Rust ({languages['rust']})" in section
