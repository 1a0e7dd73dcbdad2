"""Benchmarks for the numbers BENCHMARKS.md promises, against the fake model server.

    python bench/run.py                    # everything, 5 runs each, 300 ms model latency
    python bench/run.py startup --runs 9   # one section
    python bench/run.py --json out.json    # also write the raw figures
    python bench/run.py --markdown         # and print BENCHMARKS.md's tables

Sections:

* ``startup``: wall time of ``review --help``, ``review --version``, a run with nothing staged
  and a fully cached review of a 20-file change (the installed console script, as a hook
  runs it); each also checks that ``openai`` was not imported and nothing was sent.
* ``concurrency``: 40 chunks at ``--latency`` seconds each with ``--jobs 8``, against the
  ideal ceil(40/8) x latency; start-up is measured by a ``--dry-run`` of the same change.
* ``chunker``: parse + chunk a synthetic 50,000-changed-line diff over 500 files with the real
  tokenizer, in a fresh subprocess; peak RSS from ``resource.getrusage``.

Figures are medians over ``--runs`` runs. Bytecode is compiled once into a private
``PYTHONPYCACHEPREFIX`` first, as a pip-installed package ships it (an editable checkout run
with PYTHONDONTWRITEBYTECODE=1 would recompile every module on every run).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAI, Received, Reply, reply_json  # noqa: E402
from gitrepo import PINNED, commit, git, make_repo, write  # noqa: E402

KEY = "sk-bench-0123456789abcdef"
REVIEW = str(Path(sys.executable).with_name("review"))
# Printed by the probe run in place of the console script: did this run import openai?
PROBE = (
    "import sys, runpy; sys.argv = ['review', *sys.argv[1:]];"
    "code = 0\n"
    "try:\n    runpy.run_module('reviewer', run_name='__main__')\n"
    "except SystemExit as exc:\n    code = exc.code\n"
    "sys.stderr.write('\\nOPENAI-IMPORTED=%s\\n' % ('openai' in sys.modules)); sys.exit(code)"
)


# --------------------------------------------------------------------------- helpers


def clean_answer(_req: Received) -> Reply:
    return reply_json({"summary": "Looks fine.", "findings": []})


class Bench:
    def __init__(self, work: Path, runs: int) -> None:
        self.work = work
        self.runs = runs
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GIT_", "REVIEWER_", "OPENAI_", "GITHUB_"))
            and not k.endswith("_API_KEY")
            and k != "PYTHONDONTWRITEBYTECODE"
        }
        self.env.update(PINNED)
        self.env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        self.env["XDG_CACHE_HOME"] = str(work / "cache")
        self.env["OPENAI_API_KEY"] = KEY

    def run(
        self, args: Sequence[str], cwd: Path, env: dict[str, str] | None = None
    ) -> tuple[float, float, subprocess.CompletedProcess[str]]:
        """(wall seconds, CPU seconds of the process and the git it ran, the process)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(
            [REVIEW, *args],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu, proc

    def run_timed(
        self, args: Sequence[str], cwd: Path, env: dict[str, str] | None = None
    ) -> tuple[float, float, float, int, str]:
        """(start, first byte on stdout, exit) on ``time.monotonic``; exit code; stdout.

        The report is written in one piece at the end, so its first byte is when the user has
        the result; exit comes after the interpreter's teardown.
        """
        with tempfile.TemporaryFile() as err:
            started = time.monotonic()
            proc = subprocess.Popen(
                [REVIEW, *args],
                cwd=cwd,
                env={**self.env, **(env or {})},
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
            assert proc.stdout is not None
            first = proc.stdout.read(1)
            output = time.monotonic()
            rest = proc.stdout.read()
            code = proc.wait()
            ended = time.monotonic()
        return started, output, ended, code, (first + rest).decode()

    def probe(self, args: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> bool:
        """True when this invocation imports openai."""
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, *args],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        return "OPENAI-IMPORTED=True" in proc.stderr

    def median(
        self,
        args: Sequence[str],
        cwd: Path,
        env: dict[str, str] | None = None,
        check: Callable[[subprocess.CompletedProcess[str]], None] | None = None,
    ) -> dict[str, Any]:
        walls, cpus = [], []
        for _ in range(self.runs):
            wall, cpu, proc = self.run(args, cwd, env)
            if check is not None:
                check(proc)
            walls.append(wall)
            cpus.append(cpu)
        return {
            "median_s": round(statistics.median(walls), 3),
            "min_s": round(min(walls), 3),
            "cpu_median_s": round(statistics.median(cpus), 3),
            "runs": len(walls),
        }


def expect(code: int) -> Callable[[subprocess.CompletedProcess[str]], None]:
    def check(proc: subprocess.CompletedProcess[str]) -> None:
        if proc.returncode != code:
            raise SystemExit(
                f"bench: expected exit {code}, got {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            )

    return check


def module_lines(index: int, lines: int, salt: str = "") -> str:
    body = [f'"""Module {index}{salt}."""', "", "", f"def function_{index}(value):"]
    body += [f"    value = value * {n + 1} + {index}  # step {n}" for n in range(lines - 5)]
    body.append("    return value")
    return "\n".join(body) + "\n"


def repo_with_changes(parent: Path, name: str, files: int, lines: int) -> Path:
    repo = make_repo(parent, name)
    write(repo, "README.md", "bench\n")
    commit(repo, "initial")
    for i in range(files):
        write(repo, f"src/pkg/module_{i:03d}.py", module_lines(i, lines))
    git(repo, "add", "-A")
    return repo


# --------------------------------------------------------------------------- sections


def bench_startup(b: Bench, server: FakeOpenAI) -> dict[str, Any]:
    env = {"REVIEWER_BASE_URL": server.base_url}
    empty = make_repo(b.work, "empty")
    write(empty, "README.md", "x\n")
    commit(empty, "initial")
    changed = repo_with_changes(b.work, "twenty", files=20, lines=40)
    # Warm-up: bytecode, the tokenizer's ranks file and the review cache.
    for args, cwd in ((["--help"], empty), ([], empty), ([], changed)):
        b.run(args, cwd, env)
    server.reset()
    server.default = clean_answer
    results: dict[str, Any] = {}
    cases: list[tuple[str, list[str], Path]] = [
        ("--help", ["--help"], empty),
        ("--version", ["--version"], empty),
        ("nothing to review", [], empty),
        ("nothing to review (--hook pre-commit)", ["--hook", "pre-commit"], empty),
        ("fully cached 20-file review", [], changed),
        ("fully cached 20-file review (--hook pre-commit)", ["--hook", "pre-commit"], changed),
    ]
    for label, args, cwd in cases:
        before = len(server.requests)
        figures = b.median(args, cwd, env, check=expect(0))
        figures["requests"] = len(server.requests) - before
        figures["imports_openai"] = b.probe(args, cwd, env)
        results[label] = figures
    return results


def bench_concurrency(b: Bench, latency: float, chunks: int = 40, jobs: int = 8) -> dict[str, Any]:
    """Each run split in three by the fake's log (one clock: CLOCK_MONOTONIC):
    start-up (process start to the first request: imports, git, tokenizer, chunking, the
    ``openai`` import), sending (first request to last answer), and the tail (report, exit)."""
    repo = repo_with_changes(b.work, "forty", files=chunks, lines=30)
    # One file per chunk: each file is over half of this budget.
    args = ["--no-cache", "--jobs", str(jobs), "--max-chunk-tokens", "900", "-q", "-o", "json"]
    walls, startups, sends, tails, results = [], [], [], [], []
    with FakeOpenAI(default=clean_answer, latency=latency) as server:
        env = {"REVIEWER_BASE_URL": server.base_url}
        b.run(args, repo, env)  # warm-up: bytecode, the tokenizer's ranks file
        for _ in range(b.runs):
            seen = len(server.requests)
            started, output, ended, code, stdout = b.run_timed(args, repo, env)
            if code != 0:
                raise SystemExit(f"bench: exit {code}\n{stdout}")
            got = json.loads(stdout)["stats"]["chunks"]
            if got != chunks:
                raise SystemExit(f"bench: expected {chunks} chunks, got {got}")
            arrivals = [r.at for r in server.requests[seen:]]
            last_answer = max(arrivals) + latency
            walls.append(ended - started)
            results.append(output - started)
            startups.append(min(arrivals) - started)
            sends.append(last_answer - min(arrivals))
            tails.append(output - last_answer)
        requests = len(server.requests)
    ideal = math.ceil(chunks / jobs) * latency
    startup = statistics.median(startups)
    to_result = statistics.median(r - s for r, s in zip(results, startups, strict=True))
    to_exit = statistics.median(w - s for w, s in zip(walls, startups, strict=True))
    return {
        "chunks": chunks,
        "jobs": jobs,
        "latency_s": latency,
        "ideal_s": round(ideal, 3),
        "wall_s": round(statistics.median(walls), 3),
        "startup_s": round(startup, 3),
        "send_s": round(statistics.median(sends), 3),
        "tail_s": round(statistics.median(tails), 3),
        "ratio_send_to_ideal": round(statistics.median(sends) / ideal, 3),
        "ratio_result_minus_startup_to_ideal": round(to_result / ideal, 3),
        "ratio_wall_minus_startup_to_ideal": round(to_exit / ideal, 3),
        "result_s": round(statistics.median(results), 3),
        "requests": requests - chunks,  # without the warm-up run's
        "runs": b.runs,
    }


CHUNKER_SCRIPT = r"""
import json, resource, sys, time
from pathlib import Path
from reviewer.source.diffparse import parse_git_diff
from reviewer.prepare.chunker import make_chunks
from reviewer.prepare.tokens import load_tokenizer

def clocks():
    return time.perf_counter(), time.process_time()

t0 = clocks()
tok = load_tokenizer("gpt-4o-mini", Path(sys.argv[2]))
t1 = clocks()
text = Path(sys.argv[1]).read_text()
parsed = parse_git_diff(text)
t2 = clocks()
chunks, over = make_chunks(parsed.files, 12000, tok)
t3 = clocks()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "files": len(parsed.files),
    "changed_lines": sum(f.added_lines for f in parsed.files),
    "chunks": len(chunks),
    "over_budget": len(over),
    "tokenizer_s": t1[0] - t0[0],
    "parse_s": t2[0] - t1[0], "parse_cpu_s": t2[1] - t1[1],
    "chunk_s": t3[0] - t2[0], "chunk_cpu_s": t3[1] - t2[1],
    "peak_rss_mb": rss / 1024,
}))
"""


def synthetic_diff(files: int, lines_per_file: int) -> str:
    out = []
    for i in range(files):
        path = f"src/pkg{i % 25}/module_{i:04d}.py"
        out.append(f"diff --git a/{path} b/{path}\n")
        out.append("new file mode 100644\n")
        out.append(f"index 0000000000000000000000000000000000000000..{i:040x}\n")
        out.append(f"--- /dev/null\n+++ b/{path}\n")
        out.append(f"@@ -0,0 +1,{lines_per_file} @@\n")
        out.extend(
            f"+    total_{n} = compute(value_{n}, {i} * {n}, name='item-{i}-{n}')  # line {n}\n"
            for n in range(lines_per_file)
        )
    return "".join(out)


def bench_chunker(b: Bench, files: int = 500, lines: int = 100) -> dict[str, Any]:
    diff = b.work / "synthetic.diff"
    diff.write_text(synthetic_diff(files, lines))
    ranks = b.work / "ranks"
    runs = []
    for i in range(b.runs + 1):
        proc = subprocess.run(
            [sys.executable, "-c", CHUNKER_SCRIPT, str(diff), str(ranks)],
            env=b.env,
            capture_output=True,
            text=True,
            check=True,
        )
        if i:  # the first run writes the ranks file
            runs.append(json.loads(proc.stdout))
    first = runs[0]

    def med(key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 3)

    return {
        "files": first["files"],
        "changed_lines": first["changed_lines"],
        "chunks": first["chunks"],
        "parse_s": med("parse_s"),
        "chunk_s": med("chunk_s"),
        "parse_cpu_s": med("parse_cpu_s"),
        "chunk_cpu_s": med("chunk_cpu_s"),
        "parse_plus_chunk_cpu_s": round(
            statistics.median(r["parse_cpu_s"] + r["chunk_cpu_s"] for r in runs), 3
        ),
        "parse_plus_chunk_s": round(
            statistics.median(r["parse_s"] + r["chunk_s"] for r in runs), 3
        ),
        "tokenizer_load_s": med("tokenizer_s"),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
        "runs": len(runs),
    }


# --------------------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


TARGETS = {
    "nothing to review": 0.3,
    "nothing to review (--hook pre-commit)": 0.3,
    "fully cached 20-file review": 0.6,
    "fully cached 20-file review (--hook pre-commit)": 0.6,
}


def markdown(report: dict[str, Any]) -> str:
    """The results as the tables in BENCHMARKS.md."""
    m = report["machine"]
    out = [
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, {m['platform']}; "
        f"load average at start {m['load_avg_at_start']}.",
        "",
    ]
    if "startup" in report:
        out += [
            "| start-up | wall median | wall min | CPU median | target | requests | openai |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for label, f in report["startup"].items():
            target = f"<= {TARGETS[label]} s" if label in TARGETS else ""
            out.append(
                f"| `{label}` | {f['median_s']:.3f} s | {f['min_s']:.3f} s | "
                f"{f['cpu_median_s']:.3f} s | {target} | {f['requests']} | "
                f"{'imported' if f['imports_openai'] else 'not imported'} |"
            )
        out.append("")
    if "concurrency" in report:
        c = report["concurrency"]
        out += [
            f"| concurrency: {c['chunks']} chunks, `--jobs {c['jobs']}`, "
            f"{c['latency_s']} s latency | seconds |",
            "| --- | ---: |",
            f"| ideal: ceil({c['chunks']}/{c['jobs']}) x {c['latency_s']} s | {c['ideal_s']:.3f} |",
            f"| start-up (process start to first request) | {c['startup_s']:.3f} |",
            f"| sending (first request to last answer) | {c['send_s']:.3f} |",
            f"| tail (last answer to the report on stdout) | {c['tail_s']:.3f} |",
            f"| report on stdout (process start to its first byte) | {c['result_s']:.3f} |",
            f"| exit (after the interpreter's teardown) | {c['wall_s']:.3f} |",
            f"| **(report - start-up) / ideal** (target <= 1.2) "
            f"| **{c['ratio_result_minus_startup_to_ideal']:.3f}** |",
            f"| (exit - start-up) / ideal | {c['ratio_wall_minus_startup_to_ideal']:.3f} |",
            f"| sending / ideal | {c['ratio_send_to_ideal']:.3f} |",
            "",
        ]
    if "chunker" in report:
        k = report["chunker"]
        out += [
            f"| chunker: {k['changed_lines']:,} changed lines in {k['files']} files "
            f"-> {k['chunks']} chunks | wall | CPU |",
            "| --- | ---: | ---: |",
            f"| parse the diff | {k['parse_s']:.3f} s | {k['parse_cpu_s']:.3f} s |",
            f"| chunk (real o200k counts) | {k['chunk_s']:.3f} s | {k['chunk_cpu_s']:.3f} s |",
            f"| **parse + chunk** (target < 2 s) | **{k['parse_plus_chunk_s']:.3f} s** "
            f"| {k['parse_plus_chunk_cpu_s']:.3f} s |",
            f"| tokenizer load (ranks file cached) | {k['tokenizer_load_s']:.3f} s | |",
            f"| **peak RSS** (target < 300 MB) | **{k['peak_rss_mb']:.0f} MB** | |",
            "",
        ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "sections", nargs="*", default=["startup", "concurrency", "chunker"], metavar="SECTION"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.3, help="fake model latency, seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--markdown", action="store_true", help="print the tables at the end")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"machine": machine()}
    work = Path(tempfile.mkdtemp(prefix="reviewer-bench-"))
    try:
        b = Bench(work, args.runs)
        for section in args.sections:
            if section == "startup":
                with FakeOpenAI(default=clean_answer) as server:
                    report["startup"] = bench_startup(b, server)
            elif section == "concurrency":
                report["concurrency"] = bench_concurrency(b, args.latency)
            elif section == "chunker":
                report["chunker"] = bench_chunker(b)
            else:
                parser.error(f"unknown section {section!r}")
            print(json.dumps({section: report[section]}, indent=2), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.markdown:
        print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
