"""Big pull requests: wall time, time to first request, peak RSS and requests, 10 to 5,000 files.

    python bench/bigpr.py                              # the default curve (a few minutes)
    python bench/bigpr.py --files 1000 --kind modified # one point
    python bench/bigpr.py --files 10 100 --kind added --json out.json
    python bench/bigpr.py --one-file --latency 1.0     # a cold one-file review, with its split

The generator rebuilds the branches the issue describes: ``git init``, N files of real Python
code from the packages installed next to this interpreter (each cut or repeated to ~1,000
lines), committed on ``main``; then a branch that either edits every 10th line of every file
("modified": 100 one-line hunks per file) or adds all N files ("added"). The review is
``review --base main`` through the installed console script against the fake OpenAI server of
the test suite (``tests/fake_openai.py``, a real HTTP server on 127.0.0.1) with a fixed model
latency and answers without findings.

* time to first request: the first request's arrival at the server, from the process start
  (bytecode compiled beforehand by a warm-up run, as a pip-installed package ships it);
* peak RSS: the review process's ``VmHWM`` (its resident high-water mark), read every 20 ms
  until it exits;
* requests: what the server received.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAI, Received, Reply, reply_json  # noqa: E402
from gitrepo import git, git_env  # noqa: E402

KEY = "sk-bench-0123456789abcdef"
REVIEW = str(Path(sys.executable).with_name("review"))
LINES = 1000


def source_texts(count: int) -> list[str]:
    """``count`` real Python modules of ~LINES lines from site-packages (repeated if short)."""
    site = Path(sysconfig.get_paths()["purelib"])
    texts: list[str] = []
    for path in sorted(site.rglob("*.py")):
        if len(texts) >= count:
            break
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        lines = [ln for ln in text.splitlines() if len(ln) < 200]
        if len(lines) < 200:
            continue
        while len(lines) < LINES:
            lines = lines + lines
        texts.append("\n".join(lines[:LINES]) + "\n")
    while len(texts) < count:  # fewer modules than asked: reuse them under other names
        texts.append(texts[len(texts) % max(1, len(texts))])
    return texts


def make_branch(parent: Path, files: int, kind: str) -> Path:
    repo = parent / f"{kind}-{files}"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    texts = source_texts(files)
    paths = [f"pkg{i // 100:03d}/mod_{i:05d}.py" for i in range(files)]
    (repo / "README.md").write_text("bench\n")
    if kind == "modified":
        for path, text in zip(paths, texts, strict=True):
            target = repo / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    for index, (path, text) in enumerate(zip(paths, texts, strict=True)):
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "modified":
            lines = text.splitlines()
            for n in range(0, len(lines), 10):
                lines[n] = lines[n] + f"  # edit {index}.{n}"
            target.write_text("\n".join(lines) + "\n")
        else:
            target.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "feature")
    return repo


def clean(_req: Received) -> Reply:  # a model that finds nothing
    return reply_json({"summary": "No problems.", "findings": []})


def make_one_file(parent: Path) -> Path:
    """A 180-line module with two one-line edits on a branch: the hook's everyday change."""
    repo = parent / "one-file"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    text = "".join(f"def f{i}(x):\n    return x * {i}\n\n" for i in range(60))
    (repo / "app.py").write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    edited = text.replace("return x * 7\n", "return x * 7 + 1\n")
    (repo / "app.py").write_text(edited.replace("return x * 30\n", "return x / 30\n"))
    git(repo, "commit", "-q", "-am", "feature")
    return repo


def one_file(
    server: FakeOpenAI, work: Path, repeat: int, extra: Sequence[str], exe: str = REVIEW
) -> dict:
    """Cold one-file reviews (a fresh cache each): medians of wall, time to the first request
    and what follows the answer, which is the wall minus both and the model's latency."""
    repo = work / "one-file"
    if not repo.exists():
        make_one_file(work)
    runs = [
        measured(repo, server, Path(tempfile.mkdtemp(dir=work)), extra, exe) for _ in range(repeat)
    ]
    walls = sorted(r["wall_s"] for r in runs)
    firsts = sorted(r["first_request_s"] for r in runs)
    wall, first = walls[len(walls) // 2], firsts[len(firsts) // 2]
    return {
        "kind": "one-file",
        "runs": repeat,
        "review": exe,
        "wall_s": wall,
        "first_request_s": first,
        "after_answer_s": round(wall - first - server.latency, 3),
        "wall_min_s": walls[0],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
    }


def review_args(server: FakeOpenAI, extra: Sequence[str], exe: str = REVIEW) -> list[str]:
    args = [exe, "--base", "main", "--base-url", server.base_url, "--model", "gpt-4o-mini"]
    return [*args, "-q", "-o", "json", "--jobs", "8", "--deadline", "3600", *extra]


def _high_water_kb(pid: int) -> int:
    """``VmHWM`` of ``pid`` (0 once it is gone). Not ``ru_maxrss`` from ``wait4``: Linux carries
    the parent's resident size over ``fork``/``exec`` into it, so a bench process grown by the
    fake server's history would inflate every later figure."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measured(
    repo: Path, server: FakeOpenAI, cache: Path, extra: Sequence[str] = (), exe: str = REVIEW
) -> dict:
    """One review: wall, first request, peak RSS (``wait4`` of the process), requests."""
    env = {
        **git_env(),
        "OPENAI_API_KEY": KEY,
        "XDG_CACHE_HOME": str(cache),
        "NO_COLOR": "1",
    }
    latency = server.latency
    server.reset()  # forgets the history, and the latency and answers too: set them again
    server.latency, server.default = latency, clean
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            review_args(server, extra, exe), cwd=repo, env=env, stdout=out, stderr=err
        )
        peak_kb = 0
        while True:  # the process's own high-water mark, read until it exits
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak_kb = max(peak_kb, _high_water_kb(proc.pid))
            time.sleep(0.02)
        ended = time.monotonic()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        report, errors = out.read(), err.read().decode(errors="replace")
    requests = server.requests
    first = min((r.at for r in requests), default=None)
    figures: dict[str, Any] = {
        "exit": proc.returncode,
        "wall_s": round(ended - started, 3),
        "first_request_s": round(first - started, 3) if first is not None else None,
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "requests": len(requests),
    }
    if report.strip().startswith(b"{"):
        result = json.loads(report)
        figures["chunks"] = result["stats"]["chunks"]
        figures["not_reviewed"] = len(result["not_reviewed"])
    if proc.returncode not in (0, 1):
        figures["stderr"] = errors[-300:]
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, nargs="*", default=[10, 100, 1000, 5000])
    parser.add_argument("--kind", choices=["modified", "added", "both"], default="both")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="build the branches here and keep them")
    parser.add_argument("--one-file", action="store_true", help="cold one-file reviews only")
    parser.add_argument("--repeat", type=int, default=7, help="runs of --one-file (median)")
    parser.add_argument("--review", help="the review executable (default: this interpreter's)")
    parser.add_argument("extra", nargs="*", help="extra review arguments (after --)")
    opts = parser.parse_args(argv)
    exe = opts.review or REVIEW
    kinds = ["modified", "added"] if opts.kind == "both" else [opts.kind]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(latency=opts.latency) as server:
        server.default = clean
        work = opts.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        warm = work / "modified-10"
        if not warm.exists():
            make_branch(work, 10, "modified")
        measured(warm, server, Path(tempfile.mkdtemp(dir=tmp)), (), exe)  # compiles bytecode
        if opts.one_file:
            kinds = []
            rows.append(one_file(server, work, opts.repeat, opts.extra, exe))
            print(json.dumps(rows[-1]), flush=True)
        for kind in kinds:
            for files in opts.files:
                repo = work / f"{kind}-{files}"
                if not repo.exists():
                    built = time.monotonic()
                    make_branch(work, files, kind)
                    print(f"built {repo.name} in {time.monotonic() - built:.1f}s", file=sys.stderr)
                cache = Path(tempfile.mkdtemp(dir=tmp))
                figures = {
                    "kind": kind,
                    "files": files,
                    **measured(repo, server, cache, opts.extra, exe),
                }
                print(json.dumps(figures), flush=True)
                rows.append(figures)
    load = os.getloadavg()[0]
    if opts.json:
        opts.json.write_text(json.dumps({"load": load, "rows": rows}, indent=2))
    print(f"load average at the end: {load:.1f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
