"""The usage ledger, ``review usage`` and the monthly budget.

The ledger's totals must equal what the fake model server counted (requests, and the usage it
reported per reply), for runs in parallel processes and on two laptops sharing one Redis; the
budget warns past 80% in every output and refuses to send past 100% (exit 3, or a warning
under fail-open), while a review the cache answers is still served.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, Run, chunk_files, endpoint_env, run_cli
from fake_openai import FakeOpenAI, Received, Reply, confirm_all, reply_json
from gitrepo import commit, git, write
from redis_server import RedisServer

from reviewer.app.usage import parse_since, summarize
from reviewer.store.ledger import SqliteLedger, UsageRecord, month_of, next_month


class CountingServer:
    """A default reply reporting different usage on every request, and the sums it reported."""

    def __init__(self) -> None:
        self.counter = itertools.count(1)
        self.lock = threading.Lock()
        self.prompt = 0
        self.completion = 0

    def __call__(self, req: Received) -> Reply:
        with self.lock:
            n = next(self.counter)
            usage = {"prompt_tokens": 100 + 7 * n, "completion_tokens": 10 + n}
            self.prompt += usage["prompt_tokens"]
            self.completion += usage["completion_tokens"]
        findings = [
            {
                "path": path,
                "start_line": lines[0],
                "end_line": lines[0],
                "severity": "low",
                "category": "bug",
                "confidence": 0.9,
                "title": "t",
                "message": "m",
                "suggestion": None,
            }
            for path, lines in chunk_files(req).items()
            if lines
        ]
        return reply_json({"summary": "ok", "findings": findings}, usage=usage)

    def verify(self, req: Received) -> Reply:
        """The verification pass's requests are counted too: they cost as much."""
        reply = confirm_all(req)
        with self.lock:
            self.prompt += reply.body["usage"]["prompt_tokens"]
            self.completion += reply.body["usage"]["completion_tokens"]
        return reply


@pytest.fixture
def counting() -> Any:
    counter = CountingServer()
    with FakeOpenAI(default=counter, verifier=counter.verify) as server:
        yield server, counter


def config(repo: Path, text: str) -> None:
    (repo / ".reviewer.toml").write_text(text)


def stage(repo: Path, name: str, salt: str = "") -> None:
    write(repo, name, "".join(f"x_{n} = f({n}){salt}\n" for n in range(10)))
    git(repo, "add", name)


@pytest.fixture
def base(repo: Path) -> Path:
    write(repo, "README.md", "readme\n")
    commit(repo, "base")
    # USD per 1M tokens: big, so one small run costs cents and the sums are exact enough
    config(repo, "price-in = 1000\nprice-out = 2000\n")
    return repo


def usage_json(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    run = run_cli("usage", "-o", "json", *args, env=env)
    assert run.code == 0, run.err
    data: dict[str, Any] = json.loads(run.out)
    return data


def review_process(repo: Path, server: FakeOpenAI, *args: str) -> subprocess.Popen[str]:
    env = {
        **dict(__import__("os").environ),
        **endpoint_env(server),
    }
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("review")), "-q", "-o", "json", *args],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


# --------------------------------------------------------------------------- totals


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_the_ledger_totals_equal_what_the_server_counted(
    store: str, base: Path, counting: Any, redis_server: RedisServer, tmp_path: Path
) -> None:
    server, counter = counting
    shared = ["--cache-url", redis_server.url] if store == "redis" else []
    dirs = ["a", "b", "c"] if store == "redis" else ["a", "a", "a"]  # laptops, or one machine
    for i in range(6):
        write(base, f"src/m{i}.py", "".join(f"v{i}_{n} = g({n})\n" for n in range(12)))
    # three reviews at once, each of its own files (whole-file mode), then one re-run
    procs = [
        review_process(
            base,
            server,
            "--cache-dir",
            str(tmp_path / d),
            "--max-chunk-tokens",
            "300",
            *shared,
            f"src/m{2 * i}.py",
            f"src/m{2 * i + 1}.py",
        )
        for i, d in enumerate(dirs)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    cached = review_process(
        base, server, "--cache-dir", str(tmp_path / dirs[0]), "--max-chunk-tokens", "300",
        *shared, "src/m0.py", "src/m1.py",
    )  # fmt: skip
    out, err = cached.communicate(timeout=120)
    assert cached.returncode == 0, err

    report = usage_json("--cache-dir", str(tmp_path / dirs[0]), *shared, "--by", "source")
    total = report["total"]
    assert total["runs"] == 4
    assert total["requests"] == len(server.requests)
    assert total["tokens_in"] == counter.prompt
    assert total["tokens_out"] == counter.completion
    expected_cost = (counter.prompt * 1000 + counter.completion * 2000) / 1_000_000
    assert total["cost_usd"] == pytest.approx(expected_cost)
    assert total["cache_hits"] == json.loads(out)["stats"]["chunks_cached"] >= 1
    assert [r["key"] for r in report["rows"]] == ["path"]
    assert sum(r["stats"]["requests"] for r in results) == len(server.requests)
    if store == "redis":
        # each laptop's own ledger has only its own run; Redis has the team's
        local = usage_json("--cache-dir", str(tmp_path / "b"))
        assert local["total"]["runs"] == 1 and local["store"].endswith("b")


def test_usage_groups_by_day_model_repo_and_source(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path, lambda m: None)
    day = 86_400.0
    t0 = 1_750_000_000.0  # 2025-06-15
    for at, repo, source, model, cost in [
        (t0, "acme/a", "hook", "gpt-4o-mini", 0.5),
        (t0 + 60, "acme/b", "pr", "gpt-4o-mini", 0.25),
        (t0 + day, "acme/a", "hook", "deepseek-chat", 1.0),
    ]:
        ledger.record(
            UsageRecord(
                at=at, repository=repo, source=source, provider="p", model=model,
                requests=2, tokens_in=100, tokens_out=10, cost_usd=cost, cache_hits=1,
            )
        )  # fmt: skip
    records = ledger.records(0)
    ledger.close()
    assert [(r.key, r.runs) for r in summarize(records, "day")[0]] == [
        ("2025-06-15", 2),
        ("2025-06-16", 1),
    ]
    assert [(r.key, r.cost_usd) for r in summarize(records, "model")[0]] == [
        ("p/deepseek-chat", 1.0),
        ("p/gpt-4o-mini", 0.75),
    ]
    assert [r.key for r in summarize(records, "repo")[0]] == ["acme/a", "acme/b"]
    assert [r.key for r in summarize(records, "source")[0]] == ["hook", "pr"]
    assert summarize(records, "day")[1].requests == 6

    table = run_cli("usage", "--since", "2025-06-01", "--by", "repo", "--cache-dir", str(tmp_path))
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[1].split()[:3] == ["repo", "runs", "requests"]
    assert lines[2].split()[:3] == ["acme/a", "2", "4"]
    assert lines[-1].split()[:3] == ["total", "3", "6"]


def test_since_reads_ages_and_dates_and_refuses_the_rest(tmp_path: Path) -> None:
    now = 1_750_000_000.0
    assert parse_since("30d", now) == now - 30 * 86_400
    assert parse_since("12h", now) == now - 12 * 3600
    assert parse_since("2w", now) == now - 14 * 86_400
    assert parse_since("2025-06-01", now) == 1_748_736_000.0
    bad = run_cli("usage", "--since", "yesterday", "--cache-dir", str(tmp_path))
    assert bad.code == 2 and "--since 'yesterday'" in bad.err
    assert month_of(now) == "2025-06" and next_month(now) == "2025-07-01"
    assert next_month(1_735_000_000.0) == "2025-01-01"  # December rolls the year


# --------------------------------------------------------------------------- budget


def budget_run(repo: Path, server: FakeOpenAI, cache_dir: Path, *args: str) -> Run:
    return run_cli("-o", "json", "--cache-dir", str(cache_dir), *args, env=endpoint_env(server))


def test_past_80_percent_every_output_warns(base: Path, counting: Any, tmp_path: Path) -> None:
    server, _ = counting
    cache = tmp_path / "c"
    spent_before = SqliteLedger(cache, lambda m: None)  # earlier runs this month: $0.70
    spent_before.record(
        UsageRecord(at=time.time(), repository="r", source="hook", provider="p", model="m",
                    cost_usd=0.7)
    )  # fmt: skip
    spent_before.close()
    stage(base, "a.py")
    sarif, summary, report = tmp_path / "r.sarif", tmp_path / "summary.md", tmp_path / "r.json"
    run = run_cli(
        "-o", "terminal", "-o", f"json={report}", "-o", f"sarif={sarif}",
        "-o", f"github={summary}", "--cache-dir", str(cache), "--monthly-budget", "1",
        env=endpoint_env(server),
    )  # fmt: skip
    assert run.code == 0, run.err
    data = json.loads(report.read_text())
    share = 0.7 + data["stats"]["cost_usd"]  # this run: a review and its verification
    assert 0.8 < share < 1
    warning = f"monthly budget: ${share:.2f} of $1.00 spent in "
    assert any(w.startswith(warning) and f"({share:.0%})" in w for w in data["warnings"])
    assert warning in run.out
    assert warning in sarif.read_text()
    assert warning in summary.read_text()


def test_past_100_percent_nothing_is_sent_exit_3_and_fail_open_warns(
    base: Path, counting: Any, tmp_path: Path
) -> None:
    server, _ = counting
    cache = tmp_path / "c"
    stage(base, "a.py")
    env = {**endpoint_env(server), "REVIEWER_MONTHLY_BUDGET": "0.000001"}
    first = run_cli("-o", "json", "--cache-dir", str(cache), env=env)
    assert first.code == 0, first.err  # nothing spent before it: sent
    assert any("monthly budget spent" in w for w in first.json()["warnings"])
    sent = len(server.requests)

    stage(base, "b.py")  # something new to send
    refused = run_cli("-o", "json", "--cache-dir", str(cache), env=env)
    assert refused.code == 3
    assert "monthly budget spent" in refused.err and "nothing was sent" in refused.err
    assert len(server.requests) == sent

    failing_open = run_cli("-o", "json", "--cache-dir", str(cache), "--fail-open", env=env)
    assert failing_open.code == 0
    assert "review: warning: monthly budget spent" in failing_open.err
    assert len(server.requests) == sent

    git(base, "reset", "-q", "b.py")  # back to the change the cache answers
    (base / "b.py").unlink()
    cached = run_cli("-o", "json", "--cache-dir", str(cache), env=env)
    assert cached.code == 0, cached.err  # served: a cached review sends nothing
    assert cached.json()["stats"]["chunks_cached"] == cached.json()["stats"]["chunks"]
    assert any("monthly budget spent" in w for w in cached.json()["warnings"])
    assert len(server.requests) == sent

    raised = run_cli("-o", "json", "--cache-dir", str(cache), "--monthly-budget", "1000", env=env)
    assert raised.code == 0 and raised.json()["warnings"] == []


def test_the_budget_is_the_teams_through_redis(
    base: Path, counting: Any, redis_server: RedisServer, tmp_path: Path
) -> None:
    server, _ = counting
    env = {**endpoint_env(server), "REVIEWER_MONTHLY_BUDGET": "0.000001"}
    url = ["--cache-url", redis_server.url]
    stage(base, "a.py")
    assert run_cli("-o", "json", "--cache-dir", str(tmp_path / "a"), *url, env=env).code == 0
    stage(base, "b.py")
    other_laptop = run_cli("-o", "json", "--cache-dir", str(tmp_path / "b"), *url, env=env)
    assert other_laptop.code == 3  # the other laptop's spending counts
    assert "monthly budget spent" in other_laptop.err
    report = usage_json("--cache-dir", str(tmp_path / "b"), *url, env=env)
    assert report["budget"]["share"] > 1 and report["budget"]["limit_usd"] == 0.000001


def test_no_record_for_dry_runs_and_nothing_to_review(
    base: Path, counting: Any, tmp_path: Path
) -> None:
    server, _ = counting
    cache = tmp_path / "c"
    assert run_cli("--cache-dir", str(cache), env=endpoint_env(server)).code == 0  # nothing
    stage(base, "a.py")
    assert run_cli("--dry-run", "--cache-dir", str(cache), env=endpoint_env(server)).code == 0
    assert usage_json("--cache-dir", str(cache))["total"]["runs"] == 0
    assert TEST_KEY not in json.dumps(usage_json("--cache-dir", str(cache)))


def test_usage_with_redis_down_is_one_warning_and_this_machines_ledger(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path, lambda m: None)
    ledger.record(
        UsageRecord(at=time.time(), repository="r", source="pr", provider="p", model="m",
                    requests=3, cost_usd=0.5)
    )  # fmt: skip
    ledger.close()
    run = run_cli(
        "usage", "-o", "json", "--cache-dir", str(tmp_path), "--cache-url",
        "redis://127.0.0.1:1/0", "--monthly-budget", "2",
    )  # fmt: skip
    assert run.code == 0, run.err
    warnings = [line for line in run.err.splitlines() if line.startswith("review: warning:")]
    assert len(warnings) == 1 and "is unreachable" in warnings[0]
    data = json.loads(run.out)
    assert data["total"]["requests"] == 3
    assert data["budget"] == {"month": month_of(time.time()), "limit_usd": 2.0,
                              "spent_usd": 0.5, "share": 0.25}  # fmt: skip
