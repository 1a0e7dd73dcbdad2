"""reviewer.prepare.priority: the documented order a senior reviewer would open files in."""

from __future__ import annotations

import pytest

from reviewer.prepare.priority import (
    FileFacts,
    PriorityRules,
    kind_of,
    rank,
    score,
    sensitive_content,
    sensitive_word,
)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("src/app/views.py", "source"),
        ("cmd/server/main.go", "source"),
        ("lib/index.ts", "source"),
        ("tests/test_views.py", "test"),
        ("pkg/server/handler_test.go", "test"),
        ("web/src/App.test.tsx", "test"),
        ("web/src/App.spec.js", "test"),
        ("src/test/java/org/acme/FooTest.java", "test"),
        ("conftest.py", "test"),
        ("README.md", "docs"),
        ("docs/guide/intro.py", "docs"),
        ("LICENSE", "docs"),
        ("pyproject.toml", "config"),
        (".github/workflows/ci.yml", "config"),
        ("deploy/Dockerfile", "config"),
        ("config/settings.json", "config"),
        (".env.example", "config"),
        ("api/v1/service_pb2.py", "generated"),
        ("proto/service.pb.go", "generated"),
        ("static/app.min.js", "generated"),
        ("dist/bundle.js", "generated"),
        ("vendor/github.com/x/y.go", "generated"),
    ],
)
def test_kind_from_the_path(path: str, kind: str) -> None:
    assert kind_of(path) == kind


@pytest.mark.parametrize(
    ("path", "word"),
    [
        ("src/auth/login.py", "auth"),
        ("app/SessionStore.java", "session"),
        ("internal/crypto/aes.go", "crypto"),
        ("db/queries.sql", "db"),
        ("src/userPermissions.ts", "permissions"),
        ("src/utils/strings.py", None),
        ("src/keyboard.py", None),  # words, not substrings
    ],
)
def test_sensitive_paths_by_word(path: str, word: str | None) -> None:
    assert sensitive_word(path) == word


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("subprocess.run(cmd, shell=True)", "subprocess"),
        ('q = "SELECT * FROM users WHERE id=" + uid', "SELECT * FROM users WHERE"),
        ("cur.execute(q)", ".execute("),
        ("data = pickle.loads(blob)", "pickle.loads"),
        ("requests.get(url, verify=False)", "verify=False"),
        ("el.innerHTML = html", "innerHTML"),
        ("total = price * quantity", None),
    ],
)
def test_sensitive_content(text: str, hit: str | None) -> None:
    assert sensitive_content(text) == hit


def test_the_documented_order() -> None:
    facts = [
        FileFacts("README.md", 40),
        FileFacts("tests/test_app.py", 40),
        FileFacts("src/app.py", 2),
        FileFacts("src/payments/charge.py", 2),
        FileFacts("src/util.py", 2, added_text="os.system(cmd)"),
        FileFacts("src/big.py", 400),
        FileFacts("pyproject.toml", 3),
        FileFacts("gen/models_pb2.py", 900),
    ]
    order = [r.path for r in rank(facts, PriorityRules())]
    assert order == [
        "src/payments/charge.py",  # source + sensitive path
        "src/util.py",  # source + sensitive content
        "src/big.py",  # source, more changed lines first
        "src/app.py",
        "pyproject.toml",
        "tests/test_app.py",
        "README.md",
        "gen/models_pb2.py",
    ]


def test_team_globs_beat_every_heuristic() -> None:
    facts = [
        FileFacts("src/auth/session.py", 100),
        FileFacts("docs/payments.md", 1),
        FileFacts("src/legacy/old.py", 500),
    ]
    rules = PriorityRules(priority=("docs/**",), deprioritize=("src/legacy/**",))
    ranked = rank(facts, rules)
    assert [r.path for r in ranked] == [
        "docs/payments.md",
        "src/auth/session.py",
        "src/legacy/old.py",
    ]
    assert "priority glob" in ranked[0].reasons
    assert "deprioritize glob" in ranked[-1].reasons


def test_files_named_by_the_review_rules_come_before_their_peers() -> None:
    rules = PriorityRules(named=("src/api/**",))
    a = score(FileFacts("src/api/v1.py", 1), rules)
    b = score(FileFacts("src/core.py", 1), rules)
    assert a.score > b.score and "named by the review rules" in a.reasons


def test_size_never_outranks_a_kind() -> None:
    assert (
        score(FileFacts("src/a.py", 1), PriorityRules()).score
        > score(FileFacts("tests/test_a.py", 10**9), PriorityRules()).score
    )


def test_ties_are_broken_by_path() -> None:
    facts = [FileFacts("b.py", 1), FileFacts("a.py", 1)]
    assert [r.path for r in rank(facts, PriorityRules())] == ["a.py", "b.py"]


def test_waves_grow_and_a_late_search_reranks_what_is_left() -> None:
    from reviewer.core.values import FileEntry
    from reviewer.pipeline.waves import FIRST_WAVE_LINES, ONE_WAVE_LINES, Waves

    entries = [FileEntry(path=f"src/m{i:02d}.py", added=300) for i in range(30)]
    assert sum(e.changed_lines for e in entries) > ONE_WAVE_LINES
    waves = Waves(entries, PriorityRules())
    first = next(waves)
    assert sum(300 for _ in first.paths) >= FIRST_WAVE_LINES and len(first.paths) == 1
    waves.rerank(frozenset({"src/m29.py"}))  # git's search: its changed lines are sensitive
    second = next(waves)
    assert second.paths[0] == "src/m29.py"
    rest = [p for w in waves for p in w.paths]
    assert sorted([*first.paths, *second.paths, *rest]) == sorted(e.path for e in entries)


def test_a_small_change_is_one_wave() -> None:
    from reviewer.core.values import FileEntry
    from reviewer.pipeline.waves import Waves

    entries = [FileEntry(path=f"m{i}.py", added=10) for i in range(50)]
    assert [len(w.paths) for w in Waves(entries, PriorityRules())] == [50]
