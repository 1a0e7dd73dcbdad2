"""Big changes within a budget: the highest-priority chunks are reviewed, every other file is
listed as ``over-budget`` in every output, ``--over-budget refuse`` keeps the old refusal, and
a budget that fits no chunk says so. Driven through the CLI against the fake model server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Run, chunk_files, endpoint_env, run_cli
from fake_openai import FakeOpenAI, Received, Reply, reply_json
from gitrepo import commit, git, write

# One chunk per file (--max-chunk-tokens), so the budget's choices are per file.
PER_FILE = ("--max-chunk-tokens", "400")
FILES = {
    "docs/guide.md": "".join(f"Step {n}: run the tool with care.\n" for n in range(20)),
    "tests/test_orders.py": "".join(f"def test_{n}():\n    assert go({n})\n" for n in range(11)),
    "src/orders/total.py": "".join(f"def total_{n}(x):\n    return x * {n}\n" for n in range(11)),
    "src/auth/session.py": "".join(f"def token_{n}(s):\n    return s[{n}]\n" for n in range(11)),
    "config/app.yml": "".join(f"key_{n}: value {n}\n" for n in range(20)),
}
# Highest first: sensitive source, source, configuration, tests, docs.
ORDER = [
    "src/auth/session.py",
    "src/orders/total.py",
    "config/app.yml",
    "tests/test_orders.py",
    "docs/guide.md",
]


def clean(_req: Received) -> Reply:
    return reply_json({"summary": "Fine.", "findings": []})


@pytest.fixture
def staged(repo: Path) -> Path:
    write(repo, "README.md", "readme\n")
    commit(repo, "base")
    for path, text in FILES.items():
        write(repo, path, text)
    git(repo, "add", "-A")
    return repo


@pytest.fixture
def server() -> Any:
    with FakeOpenAI(default=clean) as fake:
        yield fake


def review(fake: FakeOpenAI, *args: str) -> Run:
    return run_cli("--no-cache", "--no-verify", *PER_FILE, *args, env=endpoint_env(fake))


def sent_files(fake: FakeOpenAI) -> list[str]:
    return [path for r in fake.review_requests for path in chunk_files(r)]


def dry(fake: FakeOpenAI, *args: str) -> dict[str, Any]:
    run = review(fake, "--dry-run", "-o", "json", *args)
    assert run.code == 0, run.err
    result: dict[str, Any] = run.json()
    return result


def test_chunks_are_planned_and_sent_in_priority_order(staged: Path, server: FakeOpenAI) -> None:
    plan = dry(server)
    assert [c["paths"] for c in plan["chunks"]] == [[p] for p in ORDER]
    assert [c["index"] for c in plan["chunks"]] == list(range(5))

    run = review(server, "--jobs", "1", "-o", "json")
    assert run.code == 0, run.err
    assert sent_files(server) == ORDER  # one worker: exactly the priority order


def test_max_chunks_reviews_the_highest_priorities_and_lists_the_rest_everywhere(
    staged: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    sarif, summary = tmp_path / "r.sarif", tmp_path / "summary.md"
    run = review(
        server,
        "--max-chunks",
        "2",
        "-o",
        "json",
        "-o",
        f"sarif={sarif}",
        "-o",
        f"github={summary}",
        "-o",
        f"terminal={tmp_path / 'report.txt'}",
    )
    assert run.code == 0, run.err  # findings decide the exit code, not the budget
    assert sorted(sent_files(server)) == sorted(ORDER[:2])
    result = run.json()
    left = {n["path"]: n for n in result["not_reviewed"] if n["reason"] == "over-budget"}
    assert sorted(left) == sorted(ORDER[2:])
    assert result["reviewed_paths"] == sorted(ORDER[:2])
    assert result["stats"]["chunks_over_budget"] == 3
    assert [c["status"] for c in result["chunks"]] == ["review"] * 2 + ["over-budget"] * 3
    (warning,) = [w for w in result["warnings"] if w.startswith("budget")]
    assert "3 chunk(s) left out" in warning and "--max-chunks" in warning

    properties = json.loads(sarif.read_text())["runs"][0]["properties"]
    assert sorted(o["path"] for o in properties["overBudget"]) == sorted(ORDER[2:])
    github = summary.read_text()
    terminal = (tmp_path / "report.txt").read_text()
    for path in ORDER[2:]:
        assert path in github and path in terminal
    assert "over-budget" in github and "over-budget" in terminal


def test_max_cost_sends_what_fits_and_the_estimate_of_what_was_sent_fits(
    staged: Path, server: FakeOpenAI
) -> None:
    # Per-chunk estimates, in priority order: a budget of the first two and half the third.
    estimates = _estimates(server)
    assert len(estimates) == 5 and all(e > 0 for e in estimates)
    budget = estimates[0] + estimates[1] + estimates[2] / 2
    run = review(server, "--max-cost", f"{budget:.8f}", "-o", "json")
    assert run.code == 0, run.err
    sent = sent_files(server)
    assert ORDER[0] in sent and ORDER[1] in sent and ORDER[2] not in sent
    spent = sum(estimates[ORDER.index(p)] for p in sent)
    assert spent <= budget
    left = [n["path"] for n in run.json()["not_reviewed"] if n["reason"] == "over-budget"]
    assert ORDER[2] in left
    assert sorted(sent + left) == sorted(ORDER)  # every file reviewed or listed


def _estimates(server: FakeOpenAI) -> list[float]:
    """Each chunk's estimated cost, in priority order: the dry run of one chunk at a time."""
    plan = dry(server)
    out = []
    for chunk in plan["chunks"]:
        (path,) = chunk["paths"]
        others = [p for p in ORDER if p != path]
        alone = dry(server, *[a for p in others for a in ("--exclude", p)])
        out.append(alone["stats"]["estimated_cost_usd"])
    return out


def test_config_globs_reorder_the_review(staged: Path, server: FakeOpenAI) -> None:
    (staged / ".reviewer.toml").write_text(
        'priority = ["docs/**"]\ndeprioritize = ["src/auth/**"]\n'
    )
    order = [c["paths"][0] for c in dry(server)["chunks"]]
    assert order[0] == "docs/guide.md" and order[-1] == "src/auth/session.py"

    run = review(server, "--max-chunks", "1", "-o", "json")
    assert sent_files(server) == ["docs/guide.md"]
    assert "src/auth/session.py" in {n["path"] for n in run.json()["not_reviewed"]}


def test_the_dry_run_shows_the_order_and_where_the_budget_falls(
    staged: Path, server: FakeOpenAI
) -> None:
    run = review(server, "--dry-run", "--max-chunks", "3")
    assert run.code == 0, run.err
    assert "Budget: 3 of 5 chunks fit; 2 chunks" in run.out
    lines = [ln for ln in run.out.splitlines() if ln.startswith("  chunk ")]
    assert [ln.split(" changed lines: ")[1].split(" [")[0] for ln in lines] == ORDER
    assert [ln.endswith("[over budget: not sent]") for ln in lines] == [False] * 3 + [True] * 2
    assert server.requests == []


def test_over_budget_refuse_still_exits_3_and_sends_nothing(
    staged: Path, server: FakeOpenAI
) -> None:
    run = review(server, "--max-chunks", "2", "--over-budget", "refuse")
    assert run.code == 3
    assert "exceed --max-chunks 2" in run.err and "nothing was sent" in run.err
    assert server.requests == []
    total = dry(server)["stats"]["estimated_cost_usd"]
    run = review(server, "--max-cost", f"{total / 2:.8f}", "--over-budget", "refuse")
    assert run.code == 3 and "exceeds --max-cost" in run.err
    assert server.requests == []


def test_a_budget_that_fits_no_chunk_says_so(staged: Path, server: FakeOpenAI) -> None:
    run = review(server, "--max-cost", "0.00000001")
    assert run.code == 3
    assert "the budget fits no chunk" in run.err and "nothing was sent" in run.err
    assert server.requests == []
    run = review(server, "--max-chunks", "0")
    assert run.code == 3 and "--max-chunks 0 allows no request" in run.err


def test_cached_chunks_cost_nothing_and_are_always_served(
    staged: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    cache = ("--cache", "--cache-dir", str(tmp_path / "cache"))
    first = review(server, *cache, "--max-chunks", "2", "-o", "json")
    assert first.code == 0, first.err
    sent = sent_files(server)
    second = review(server, *cache, "--max-chunks", "2", "-o", "json")
    assert second.code == 0, second.err
    newly = sent_files(server)[len(sent) :]
    assert sorted(newly) == sorted(ORDER[2:4])  # the two cached, then the next two
    assert second.json()["stats"]["chunks_cached"] == 2
    assert [n["path"] for n in second.json()["not_reviewed"]] == [ORDER[4]]
