"""Throughput of a review against a real local model: a 20-file change, ``--jobs 1`` and ``2``.

The server is llama-cpp-python with SmolLM2-135M from ``scripts/local_llm.py`` (built and cached
once per machine), the client the installed ``review`` script, run the way docs/local.md tells
users to, plus ``--no-cache`` so every chunk is a request. A warm-up run first puts the shared
instructions in the server's prompt cache, as in any session after the first review.

    python bench/local_llm.py                          # start a server, run jobs 1 and 2
    python bench/local_llm.py --n-threads 2            # the server's threads
    python bench/local_llm.py --url http://127.0.0.1:8080/v1   # a server already running

Prints one row per run and the line for BENCHMARKS.md. A 135M model's findings mean nothing;
requests/s, tokens/s and how many chunks came back valid are the point. Tokens are the usage
the server reports: prompt tokens include the cached instructions it did not read again.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REVIEW = str(Path(sys.executable).with_name("review"))
MAX_OUTPUT_TOKENS = 300
CONTEXT_WINDOW = 4096  # the recipe's n_ctx
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

# Twenty small modules, each with something a reviewer could flag.
BODIES = (
    "def mean(xs):\n    return sum(xs) / len(xs)\n",
    "def last(items):\n    return items[len(items)]\n",
    "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n",
    "import pickle\n\n\ndef restore(blob):\n    return pickle.loads(blob)\n",
    "def load(path):\n    try:\n        return open(path).read()\n"
    "    except Exception:\n        pass\n",
    "def find(db, name):\n    return db.execute(\"SELECT * FROM t WHERE n = '%s'\" % name)\n",
    "import threading\n\ncount = 0\n\n\ndef inc():\n    global count\n    count += 1\n",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "def parse(text):\n    return eval(text)\n",
    "def add(item, bucket=[]):\n    bucket.append(item)\n    return bucket\n",
)


def _load_recipe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("local_llm_recipe", ROOT / "scripts/local_llm.py")
    if spec is None or spec.loader is None:
        raise SystemExit("cannot load scripts/local_llm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def local_server(n_threads: int | None, log: Path) -> Iterator[str]:
    recipe = _load_recipe()
    wheel = recipe.ensure_wheel(sys.executable)
    if recipe.missing_server_modules(sys.executable) or not recipe.installed_from(
        sys.executable, wheel
    ):
        recipe.install(sys.executable)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = recipe.start_server(
        sys.executable, recipe.ensure_model(), port, log, n_threads=n_threads
    )
    try:
        yield str(recipe.base_url(port))
    finally:
        recipe.stop_process(proc.pid)
        proc.wait(timeout=30)


def _git(repo: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    subprocess.run(["git", *args], cwd=repo, env={**env, **GIT_ENV}, check=True, text=True)


def module(i: int, salt: int) -> str:
    """About 150 tokens of Python; ``salt`` makes every run's text new to the prompt cache."""
    return (
        f'"""Module {i} (revision {salt})."""\n\n'
        f"{BODIES[i % len(BODIES)]}\n\n"
        f"class Store{i}:\n"
        f"    def __init__(self, limit={10 + salt}):\n"
        f"        self.items = {{}}\n"
        f"        self.limit = limit\n\n"
        f"    def put(self, key, value):\n"
        f"        if len(self.items) > self.limit:\n"
        f"            self.items.pop(next(iter(self.items)))\n"
        f"        self.items[key] = value * {i + 1}\n"
    )


def make_change(repo: Path, files: int, salt: int = 0) -> None:
    """A repository whose staged change adds ``files`` modules."""
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    for i in range(files):
        path = repo / f"pkg/mod_{i:02d}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(module(i, salt))
    _git(repo, "add", "-A")


def review(url: str, cwd: Path, jobs: int, extra: Sequence[str], cache: Path) -> dict[str, Any]:
    cmd = [
        REVIEW,
        "--staged",
        "--provider",
        "llamacpp",
        "--base-url",
        url,
        "--jobs",
        str(jobs),
        "--max-output-tokens",
        str(MAX_OUTPUT_TOKENS),
        "--context-window",
        str(CONTEXT_WINDOW),
        "--timeout",
        "900",
        "--deadline",
        "7200",
        "--no-cache",
        "--fail-on",
        "never",
        "-q",
        "-o",
        "json",
        *extra,
    ]
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if done.returncode not in (0, 3) or not done.stdout:
        raise SystemExit(f"review failed ({done.returncode}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    result["wall_s"] = wall
    result["exit"] = done.returncode
    return result


def row(jobs: int, result: dict[str, Any]) -> dict[str, Any]:
    stats = result["stats"]
    wall = result["wall_s"]
    tokens = stats["tokens_in"] + stats["tokens_out"]
    kinds: dict[str, int] = {}
    for failure in result["failures"]:
        kinds[failure["kind"]] = kinds.get(failure["kind"], 0) + 1
    return {
        "jobs": jobs,
        "files": stats["files_reviewed"],
        "chunks": stats["chunks"],
        "failed": stats["chunks_failed"],
        "failure_kinds": kinds,
        "failure_messages": [f["message"][:200] for f in result["failures"]],
        "requests": stats["requests"],
        "tokens_in": stats["tokens_in"],
        "tokens_out": stats["tokens_out"],
        "wall_s": round(wall, 1),
        "requests_per_s": round(stats["requests"] / wall, 3),
        "tokens_per_s": round(tokens / wall, 1),
        "out_tokens_per_s": round(stats["tokens_out"] / wall, 2),
        "exit": result["exit"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="a running server's base URL (default: start one)")
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--n-threads", type=int, help="server threads (default: its own)")
    parser.add_argument(
        "--max-chunk-tokens",
        type=int,
        default=400,
        help="passed to review; the default makes one chunk (request) per file",
    )
    args = parser.parse_args(argv)
    extra = ["--max-chunk-tokens", str(args.max_chunk_tokens)]

    with tempfile.TemporaryDirectory(prefix="bench-local-llm-") as tmp:
        work = Path(tmp)
        warm = work / "warm"
        make_change(warm, 1, salt=-1)
        for jobs in args.jobs:
            make_change(work / f"jobs-{jobs}", args.files, salt=jobs)
        with contextlib.ExitStack() as stack:
            url = args.url or stack.enter_context(local_server(args.n_threads, work / "server.log"))
            review(url, warm, 1, extra, work / "cache")  # the instructions into the prompt cache
            rows = [
                row(jobs, review(url, work / f"jobs-{jobs}", jobs, extra, work / "cache"))
                for jobs in args.jobs
            ]
    for r in rows:
        print(json.dumps(r))
    threads = args.n_threads or "default"
    for r in rows:
        print(
            f"| local llama-cpp-python 0.3.36, SmolLM2-135M Q4_1, n_ctx 4096, threads {threads}, "
            f"{os.cpu_count()} CPUs | {r['files']} files, {r['chunks']} chunks, `--jobs "
            f"{r['jobs']}` | {r['requests_per_s']} requests/s, {r['tokens_per_s']} tokens/s "
            f"({r['out_tokens_per_s']} out), {r['wall_s']} s wall, "
            f"{r['chunks'] - r['failed']}/{r['chunks']} chunks valid |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
