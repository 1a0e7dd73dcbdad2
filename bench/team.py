"""Team-scale figures for BENCHMARKS.md: one Redis rate limit shared by parallel reviews, the
store's added latency per request, and the GitHub Action's warm overhead we can measure here.

    python bench/team.py                       # every section (~2 minutes: the limit runs 64 s)
    python bench/team.py limit --processes 8 --rpm 60 --chunks 8
    python bench/team.py latency --calls 2000
    python bench/team.py action
    python bench/team.py --json figures.json

Sections:

* ``limit``: ``--processes`` ``review`` processes at once (the installed console script, each
  with its own cache directory, as separate laptops or runners), each with ``--chunks`` chunks
  of its own, all with ``--cache-url`` on one real ``redis-server`` and
  ``--requests-per-minute``; the fake model server (``--latency`` s per answer) records every
  arrival. Reported: requests per minute over the run, the most in any 60 s window, the
  largest burst in any second, and the 429s a provider with exactly that limit would have sent.
* ``latency``: the store's own cost per sent request, in-process against local Redis and
  SQLite: a cache read (miss), the limiter's booking, the cache write; medians and p99 of
  ``--calls`` calls each, plus the ledger's one write per run.
* ``action``: the action's steps that run on every warm run, timed here: the cache-key script,
  the install step reusing a restored environment, the size of that environment packed as
  actions/cache packs it (tar + zstd) and its unpacking, and a one-file review with the review
  cache restored (everything but the model's time). What a hosted runner adds (setup-python's
  tool cache, downloading the caches from GitHub) cannot be measured here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAI, Received, Reply, reply_json  # noqa: E402
from redis_server import RedisServer  # noqa: E402

KEY = "sk-bench-0123456789abcdef"
REVIEW = str(Path(sys.executable).with_name("review"))


def clean(_req: Received) -> Reply:
    return reply_json({"summary": "ok", "findings": []})


def env_for(server: FakeOpenAI, home: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("REVIEWER_")},
        "OPENAI_API_KEY": KEY,
        "REVIEWER_BASE_URL": server.base_url,
        "XDG_CACHE_HOME": str(home),
    }


def sources(root: Path, processes: int, chunks: int) -> list[list[str]]:
    groups = []
    for p in range(processes):
        names = []
        for i in range(chunks):
            name = f"p{p}_m{i}.py"
            text = "".join(f"value_{p}_{i}_{n} = compute({n}, {p})\n" for n in range(15))
            (root / name).write_text(text)
            names.append(name)
        groups.append(names)
    return groups


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --------------------------------------------------------------------------- limit


def bench_limit(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    root = work / "src"
    root.mkdir()
    groups = sources(root, args.processes, args.chunks)
    with RedisServer(work / "redis") as redis, FakeOpenAI(default=clean) as llm:
        llm.latency = args.latency
        started = time.monotonic()
        procs = [
            launch(files, root, work / f"cache{p}", redis.url, args.rpm, env_for(llm, work))
            for p, files in enumerate(groups)
        ]
        errors = [proc.communicate(timeout=900)[1] for proc in procs]
        wall = time.monotonic() - started
        times = sorted(r.at for r in llm.requests)
    codes = [proc.returncode for proc in procs]
    assert all(c == 0 for c in codes), (codes, errors)
    span = times[-1] - times[0]
    return {
        "processes": args.processes,
        "chunks_per_process": args.chunks,
        "rpm_limit": args.rpm,
        "requests": len(times),
        "wall_s": round(wall, 1),
        "first_to_last_s": round(span, 1),
        "requests_per_minute": round((len(times) - 1) / span * 60, 1),
        "max_in_any_60s": window_max(times, 60.0),
        "max_in_any_1s": window_max(times, 1.0),
        "provider_429s": provider_rejections(times, args.rpm),
        "warnings": sum("warning" in e for e in errors),
    }


def launch(
    files: list[str], root: Path, cache_dir: Path, url: str, rpm: float, env: dict[str, str]
) -> subprocess.Popen[str]:
    args = ["-q", "-o", "json", "--max-chunk-tokens", "400", "--jobs", "4", "--deadline", "600"]
    args += ["--cache-dir", str(cache_dir), "--cache-url", url, "--requests-per-minute", str(rpm)]
    return subprocess.Popen(
        [REVIEW, *args, *files],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def window_max(times: list[float], window: float) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def provider_rejections(times: list[float], rpm: float) -> int:
    """What a provider limiting to ``rpm`` per sliding minute would have refused."""
    accepted: list[float] = []
    rejected = 0
    for t in times:
        recent = [a for a in accepted if a > t - 60]
        if len(recent) >= rpm:
            rejected += 1
        else:
            accepted.append(t)
    return rejected


# --------------------------------------------------------------------------- latency


def timed(calls: int, fn: Any) -> dict[str, float]:
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": round(statistics.median(samples), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
    }


def bench_latency(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from reviewer.llm.answer import ModelAnswer
    from reviewer.store.cache import ReviewCache
    from reviewer.store.ledger import UsageRecord
    from reviewer.store.team import TeamStore

    answer = ModelAnswer.model_validate({"summary": "ok " * 40, "findings": []})
    record = UsageRecord(
        at=time.time(), repository="r", source="hook", provider="p", model="m", requests=3
    )
    figures: dict[str, Any] = {}
    with RedisServer(work / "redis") as redis:
        for label, url in (("redis", redis.url), ("sqlite", None)):
            store = TeamStore(
                directory=work / f"store-{label}",
                url=url,
                namespace="bench/p",
                environ={},
                warn=print,
            )
            figures[label] = store_latency(store, args.calls, answer, record)
            store.close()
    # the local SQLite cache alone, as before this change, for comparison
    local = ReviewCache(work / "plain", print)
    local.get("warm-up")
    figures["sqlite_cache_only"] = {
        "cache_miss": timed(args.calls, lambda i: local.get(f"m-{i}")),
        "cache_put": timed(args.calls, lambda i: local.put(f"k-{i}", answer)),
    }
    local.close()
    return figures


def store_latency(store: Any, calls: int, answer: Any, record: Any) -> dict[str, Any]:
    cache, ledger = store.answers, store.ledger
    limiter = store.limiter(
        base_url="http://x", model="m", requests_per_minute=1e9, tokens_per_minute=1e12
    )
    cache.get("warm-up")  # the connection, and for Redis its import, are paid once
    limiter.reserve(1, 1.0)
    figures: dict[str, Any] = {
        "cache_miss": timed(calls, lambda i: cache.get(f"missing-{i}")),
        "limiter_reserve": timed(calls, lambda i: limiter.reserve(3000, 10.0)),
        "cache_put": timed(calls, lambda i: cache.put(f"key-{i}", answer)),
        "cache_hit": timed(calls, lambda i: cache.get(f"key-{i}")),
        "ledger_record_per_run": timed(50, lambda i: ledger.record(record)),
    }
    parts = ("cache_miss", "limiter_reserve", "cache_put")
    figures["per_sent_request_median_ms"] = round(sum(figures[k]["median_ms"] for k in parts), 3)
    return figures


# --------------------------------------------------------------------------- action


def run_bash(script: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        env=env, check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return time.perf_counter() - started


def bench_action(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import yaml

    steps = {
        s.get("id"): s for s in yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]
    }
    runner_temp = work / "runner-temp"
    runner_temp.mkdir()
    base = {**os.environ, "RUNNER_TEMP": str(runner_temp), "GITHUB_ACTION_PATH": str(ROOT)}
    out = work / "github-output"
    out.write_text("")
    keys = run_bash(
        steps["keys"]["run"], {**base, "SETUP_PYTHON": sys.executable, "GITHUB_OUTPUT": str(out)}
    )
    # A real environment, built once as a cold run would (network: PyPI), then reused.
    venv = runner_temp / "reviewer-venv"
    build = run_bash(
        steps["install"]["run"],
        {**base, "SETUP_PYTHON": sys.executable, "VENV": str(venv), "GITHUB_OUTPUT": str(out)},
    )
    reuse = [
        run_bash(
            steps["install"]["run"],
            {**base, "SETUP_PYTHON": sys.executable, "VENV": str(venv), "GITHUB_OUTPUT": str(out)},
        )
        for _ in range(3)
    ]
    figures: dict[str, Any] = {
        "keys_step_s": round(keys, 3),
        "install_cold_s": round(build, 1),
        "install_reused_s": round(statistics.median(reuse), 3),
    }
    if shutil.which("zstd"):
        archive = work / "venv.tar.zst"
        started = time.perf_counter()
        subprocess.run(
            [
                "tar",
                "--use-compress-program",
                "zstd -T0",
                "-cf",
                str(archive),
                "-C",
                str(runner_temp),
                "reviewer-venv",
            ],
            check=True,
        )
        figures["venv_pack_s"] = round(time.perf_counter() - started, 2)
        figures["venv_archive_mb"] = round(archive.stat().st_size / 1e6, 1)
        target = work / "unpacked"
        target.mkdir()
        started = time.perf_counter()
        subprocess.run(
            ["tar", "--use-compress-program", "zstd -d", "-xf", str(archive), "-C", str(target)],
            check=True,
        )
        figures["venv_unpack_s"] = round(time.perf_counter() - started, 2)
    figures["review_warm_s"] = review_warm(venv, work)
    return figures


def review_warm(venv: Path, work: Path) -> dict[str, float]:
    """A one-file change reviewed with the review cache restored: once to fill it (the first
    run of a repository), then a new change (what a push costs: everything but the model),
    then the same change again (a re-run: nothing sent)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from gitrepo import commit, git, make_repo, write

    repo = make_repo(work / "pr")
    write(repo, "app.py", "".join(f"x{n} = {n}\n" for n in range(40)))
    commit(repo, "base")
    review = str(venv / "bin" / "review")
    times = {}
    with FakeOpenAI(default=clean) as llm:
        env = env_for(llm, work / "xdg")
        env["REVIEWER_CACHE_DIR"] = str(work / "review-cache")
        for label, salt in (("first_run_s", "a"), ("new_change_s", "b"), ("rerun_cached_s", "b")):
            write(repo, "app.py", "".join(f"x{n} = {n}  # {salt}\n" for n in range(40)))
            git(repo, "add", "-A")
            started = time.perf_counter()
            subprocess.run(
                [review, "-q", "-o", "json"],
                cwd=repo,
                env=env,
                check=True,
                capture_output=True,
                timeout=120,
            )
            times[label] = round(time.perf_counter() - started, 3)
    return times


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sections", nargs="*", default=["latency", "action", "limit"])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--rpm", type=float, default=60.0)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"load_average_start": os.getloadavg()[0]}
    benches = {"limit": bench_limit, "latency": bench_latency, "action": bench_action}
    for section in args.sections:
        with tempfile.TemporaryDirectory(prefix=f"bench-team-{section}-") as work:
            report[section] = benches[section](args, Path(work))
        print(json.dumps({section: report[section]}, indent=2), flush=True)
    report["load_average_end"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
