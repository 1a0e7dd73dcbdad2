"""The built-in corpus of ``review eval``: its size and spread, its schema, and that every known
problem can be found through the real pipeline (an oracle model that reports exactly the labelled
problems scores 100% recall and precision with no false findings)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, Received, Reply, reply_json
from jsonschema import Draft202012Validator
from test_cli import review

from reviewer.core.values import CATEGORIES
from reviewer.evaluate.corpus import (
    SCHEMA_FILE,
    Case,
    builtin_corpus_dir,
    case_json_schema,
    load_builtin_corpus,
    load_corpus,
)
from reviewer.source.diffparse import parse_unified_diff

CORPUS = load_builtin_corpus()
SCHEMA = json.loads((builtin_corpus_dir().parent / SCHEMA_FILE).read_text(encoding="utf-8"))
_ADDED = re.compile(r"^\s*(\d+) \+ \|(.*)$")


def test_the_corpus_is_big_and_varied_enough() -> None:
    cases = CORPUS.cases
    clean = [c for c in cases if c.clean]
    languages = Counter(c.spec.language for c in cases)
    assert len(cases) >= 60
    assert len(clean) >= 20
    assert {"python", "go", "java", "rust"} <= set(languages)
    assert languages["javascript"] + languages["typescript"] >= 10
    families = Counter(
        "js/ts" if lang in ("javascript", "typescript") else lang for lang in languages.elements()
    )
    assert all(count >= 8 for count in families.values()), families  # no token language
    # Clean changes in every language: a model that flags everything must pay for it everywhere.
    assert {c.spec.language for c in clean} >= {"python", "go", "java", "rust"}
    categories = Counter(p.category for c in cases for p in c.spec.problems)
    assert {"bug", "security", "performance", "error-handling", "concurrency"} <= set(categories)
    assert set(categories) <= set(CATEGORIES)
    # Both forms of a change are used, and both are exercised by the oracle test below.
    assert any(c.patch is not None for c in cases) and any(c.after is not None for c in cases)


def test_every_problem_is_described() -> None:
    for case in CORPUS.cases:
        assert case.spec.title and case.spec.language
        for problem in case.spec.problems:
            assert len(problem.description) > 30, (case.id, problem)
            assert problem.severity is not None, case.id


def test_the_shipped_schema_is_the_models_and_every_case_follows_it() -> None:
    assert case_json_schema() == SCHEMA, (
        "regenerate reviewer/evaluate/case.schema.json from "
        "reviewer.evaluate.corpus.case_json_schema()"
    )
    validator = Draft202012Validator(SCHEMA)
    for path in sorted(builtin_corpus_dir().rglob("case.json")):
        errors = list(validator.iter_errors(json.loads(path.read_text(encoding="utf-8"))))
        assert errors == [], (path, errors[0].message if errors else "")


def test_the_test_corpus_follows_the_schema_too() -> None:
    root = Path(__file__).parent / "data" / "eval-corpus"
    validator = Draft202012Validator(SCHEMA)
    for path in sorted(root.rglob("case.json")):
        assert list(validator.iter_errors(json.loads(path.read_text()))) == [], path
    assert len(load_corpus(root).cases) == 6


def test_the_fingerprint_is_stable_and_sensitive(tmp_path: Path) -> None:
    import shutil

    assert load_builtin_corpus().fingerprint == CORPUS.fingerprint
    copy = tmp_path / "corpus"
    shutil.copytree(builtin_corpus_dir(), copy)
    assert load_corpus(copy).fingerprint == CORPUS.fingerprint
    victim = next(copy.rglob("after/*"))
    victim = next(p for p in victim.rglob("*") if p.is_file()) if victim.is_dir() else victim
    victim.write_text(victim.read_text() + "\n")
    assert load_corpus(copy).fingerprint != CORPUS.fingerprint


# --------------------------------------------------------------------------- the oracle


def _label_text(case: Case) -> dict[tuple[str, int], str]:
    """(path, start line) of every known problem -> the text of that line after the change."""
    texts: dict[tuple[str, int], str] = {}
    for problem in case.spec.problems:
        if case.after is not None:
            lines = case.after[problem.path].decode().split("\n")
            text = lines[problem.start_line - 1]
        else:
            assert case.patch is not None
            diff = next(
                d for d in parse_unified_diff(case.patch.decode()) if d.path == problem.path
            )
            text = next(
                ln.text for h in diff.hunks for ln in h.lines if ln.new_no == problem.start_line
            )
        texts[(problem.path, problem.start_line)] = text
    return texts


LABELS = [(case, _label_text(case)) for case in CORPUS.cases]


def _shown(req: Received) -> dict[str, dict[int, str]]:
    """path -> {new line number: text} of the changed lines in the request's chunk."""
    user = next(m["content"] for m in req.messages if m["role"] == "user")
    shown: dict[str, dict[int, str]] = {}
    current: dict[int, str] = {}
    for line in user.split("\n"):
        if line.startswith("=== FILE: "):
            current = shown.setdefault(line[len("=== FILE: ") :].rsplit(" (", 1)[0], {})
        elif match := _ADDED.match(line):
            current[int(match.group(1))] = match.group(2).removeprefix(" ")
    return shown


def oracle(req: Received) -> Reply:
    """Reports exactly the known problems whose first line is in the chunk, as labelled."""
    shown = _shown(req)
    findings = []
    for case, texts in LABELS:
        for problem in case.spec.problems:
            lines = shown.get(problem.path, {})
            if lines.get(problem.start_line) == texts[(problem.path, problem.start_line)]:
                findings.append(
                    {
                        "path": problem.path,
                        "start_line": problem.start_line,
                        "end_line": problem.end_line,
                        "severity": problem.severity or "medium",
                        "category": problem.category,
                        "confidence": 0.9,
                        "title": case.spec.title,
                        "message": problem.description,
                        "suggestion": None,
                    }
                )
    return reply_json({"summary": "Reviewed.", "findings": findings})


@pytest.mark.slow
def test_an_oracle_finds_every_problem_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    known = sum(len(c.spec.problems) for c in CORPUS.cases)
    clean = sum(c.clean for c in CORPUS.cases)
    with FakeOpenAI(default=oracle) as server:
        run = review(
            "eval", "--jobs", "8", "-q", "-o", "terminal", "-o", "json=e.json", server=server
        )
    assert run.code == 0, run.out + run.err
    assert (
        f"recall {known}/{known} 100.0%; precision {known}/{known} 100.0%; false findings on "
        f"clean changes 0 (0/{clean} clean changes flagged); category agreement "
        f"{known}/{known} 100.0%"
    ) in run.out
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["corpus"] == {
        "name": "built-in",
        "cases": len(CORPUS.cases),
        "fingerprint": CORPUS.fingerprint,
    }
    assert all(c["status"] == "scored" for c in report["cases"])
    reviews = [r for r in server.requests if not r.is_verification]
    checks = [r for r in server.requests if r.is_verification]
    assert len(reviews) == len(CORPUS.cases)  # one small chunk per case
    # eval runs the pipeline users get: each case with a finding is checked once, clean ones never
    assert len(checks) == sum(not c.clean for c in CORPUS.cases)


def test_the_builtin_corpus_plans_as_one_chunk_per_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every case builds, every label is on a changed line (else a usage error), nothing sent."""
    monkeypatch.chdir(tmp_path)
    run = review("eval", "--dry-run", env={"OPENAI_API_KEY": "sk-unused"})
    assert run.code == 0, run.err
    cases = len(CORPUS.cases)
    assert run.out.startswith(f"{cases} cases in {cases} chunk(s), ~")


def test_bytecode_in_a_corpus_is_ignored(tmp_path: Path) -> None:
    """pip byte-compiles the installed corpus; a __pycache__ must not become part of a change."""
    import shutil

    root = Path(__file__).parent / "data" / "eval-corpus"
    copy = tmp_path / "corpus"
    shutil.copytree(root, copy)
    for tree in ("sql/before/app", "sql/after/app"):
        (copy / tree / "__pycache__").mkdir()
        (copy / tree / "__pycache__" / "users.cpython-311.pyc").write_bytes(b"\x00\x01")
    (copy / "__pycache__").mkdir()
    loaded = load_corpus(copy)
    assert loaded.fingerprint == load_corpus(root).fingerprint
    sql = next(c for c in loaded.cases if c.id == "sql")
    assert list(sql.before) == ["app/users.py"] and list(sql.after or {}) == ["app/users.py"]
