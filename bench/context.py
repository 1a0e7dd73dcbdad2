"""What context costs and what it shows: this repository's own history replayed as reviews.

    python bench/context.py                      # both corpora, all three modes, startup
    python bench/context.py --files 80 --runs 5  # a larger per-file sample, more start-ups
    python bench/context.py --markdown           # BENCHMARKS.md's tables at the end
    python bench/context.py --json figures.json  # the raw figures

Corpora (real diffs, from a clone of this repository):

* ``commits``: every first-parent commit with a parent, reviewed as a pull request would be
  (``review --base C~1 --head C``);
* ``files``: a deterministic sample of (commit, file) pairs, each reviewed alone
  (``review --base C~1 --head C PATH``): the size of a typical small commit.

Each review runs the installed ``review`` console script against the fake model server of the
test suite, with ``--context lines`` (what every review sent before context existed), ``scope``
(the default) and ``file``, and ``--no-cache``. The server counts the prompt it receives with the
o200k tokenizer and reports it as the usage, so ``tokens in`` is what was really sent (system
prompt included); its answer holds one finding on the first changed line of each file, so the
output side is alike in every mode. Wall time is the whole process, as a hook runs it.

``startup`` measures the two runs the hook depends on, a run with nothing staged and a fully
cached 20-file review, with ``--context lines`` and the default ``scope``, medians of ``--runs``.
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from fake_openai import FakeOpenAI, Received, Reply, reply_json  # noqa: E402
from gitrepo import PINNED, commit, git, make_repo, write  # noqa: E402
from run import Bench, expect, machine, repo_with_changes  # noqa: E402

from reviewer.prepare.tokens import load_tokenizer  # noqa: E402

MODES = ("lines", "scope", "file")
TOKENIZER = load_tokenizer("gpt-4o-mini")
# Per-request overhead of the chat format (role markers), as OpenAI counts it.
_PER_MESSAGE = 3


def counting_answer(req: Received) -> Reply:
    """One finding on the first changed line of each file, with the usage the server would
    report: the prompt as received, counted."""
    import re

    user = next((m["content"] for m in req.messages if m.get("role") == "user"), "")
    findings = []
    for block in re.split(r"^(?==== FILE: )", user, flags=re.MULTILINE):
        path = re.match(r"=== FILE: (.+?) \(", block)
        first = re.search(r"^\s*(\d+) \+ \|", block, re.MULTILINE)
        if path and first:
            line = int(first.group(1))
            findings.append(
                {
                    "path": path.group(1),
                    "start_line": line,
                    "end_line": line,
                    "severity": "low",
                    "category": "maintainability",
                    "confidence": 0.6,
                    "title": "A finding to give the answer a realistic size",
                    "message": "The model would explain the problem here in two sentences.",
                    "suggestion": None,
                }
            )
    answer = {"summary": "Benchmark answer.", "findings": findings}
    prompt = sum(TOKENIZER.count(str(m.get("content", ""))) + _PER_MESSAGE for m in req.messages)
    completion = TOKENIZER.count(json.dumps(answer))
    return reply_json(answer, usage={"prompt_tokens": prompt, "completion_tokens": completion})


# --------------------------------------------------------------------------- corpus


def clone(work: Path) -> Path:
    target = work / "corpus"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(target)],
        check=True,
        env={**os.environ, **PINNED},
    )
    return target


def commit_reviews(repo: Path) -> list[tuple[str, list[str]]]:
    """(commit, no paths) for every first-parent commit with a parent, oldest first."""
    revs = git(repo, "rev-list", "--first-parent", "--reverse", "HEAD").split()
    return [(c, []) for c in revs if git(repo, "rev-list", "--parents", "-n1", c).count(" ")]


def file_reviews(repo: Path, commits: Sequence[str], limit: int) -> list[tuple[str, list[str]]]:
    """(commit, [path]) pairs: every text file a commit modified or added, evenly sampled."""
    pairs: list[tuple[str, list[str]]] = []
    for rev in commits:
        out = git(repo, "diff", "--name-only", "--diff-filter=AM", f"{rev}~1", rev)
        pairs.extend((rev, [p]) for p in out.split("\n") if p)
    if len(pairs) <= limit:
        return pairs
    step = len(pairs) / limit
    return [pairs[int(i * step)] for i in range(limit)]


def review_once(
    b: Bench, repo: Path, server: FakeOpenAI, rev: str, paths: list[str], mode: str
) -> dict[str, Any]:
    before = len(server.requests)
    args = ["--base", f"{rev}~1", "--head", rev, "--no-cache", "-q", "-o", "json"]
    args += ["--context", mode, "--fail-on", "never", *paths]
    wall, _, proc = b.run(args, repo, {"REVIEWER_BASE_URL": server.base_url})
    if proc.returncode != 0:
        raise SystemExit(f"bench: exit {proc.returncode}\n{proc.stderr}")
    stats = json.loads(proc.stdout)["stats"]
    return {
        "requests": len(server.requests) - before,
        "chunks": stats["chunks"],
        "tokens_in": stats["tokens_in"],
        "tokens_out": stats["tokens_out"],
        "context_tokens": stats["context_tokens"],
        "changed_files": stats["files_reviewed"],
        "wall_s": wall,
    }


def bench_corpus(b: Bench, repo: Path, reviews: list[tuple[str, list[str]]]) -> dict[str, Any]:
    totals: dict[str, dict[str, float]] = {}
    per_review: list[dict[str, Any]] = []
    with FakeOpenAI(default=counting_answer) as server:
        for rev, paths in reviews:
            row: dict[str, Any] = {"commit": rev[:12], "paths": paths}
            for mode in MODES:
                figures = review_once(b, repo, server, rev, paths, mode)
                row[mode] = figures
                total = totals.setdefault(mode, {})
                for key, value in figures.items():
                    total[key] = total.get(key, 0) + value
            per_review.append(row)
    base = totals["lines"]
    ratios = {
        mode: {
            "tokens_in": round(totals[mode]["tokens_in"] / base["tokens_in"], 3),
            "tokens_out": round(totals[mode]["tokens_out"] / base["tokens_out"], 3),
            "wall_s": round(totals[mode]["wall_s"] / base["wall_s"], 3),
        }
        for mode in MODES
    }
    # The median review's growth, so that one huge commit does not hide the small ones.
    growth = {
        mode: round(
            statistics.median(r[mode]["tokens_in"] / r["lines"]["tokens_in"] for r in per_review),
            3,
        )
        for mode in MODES
    }
    for total in totals.values():
        total["wall_s"] = round(total["wall_s"], 2)
    return {
        "reviews": len(reviews),
        "totals": totals,
        "ratio_to_lines": ratios,
        "median_review_ratio_to_lines": growth,
        "per_review": per_review,
    }


# --------------------------------------------------------------------------- startup


def repo_with_modifications(parent: Path, files: int, lines: int) -> Path:
    """20 modules committed, then one line in the middle of each changed and staged: the
    review reads and outlines every file (new files would need no context)."""
    repo = repo_with_changes(parent, "twenty", files=files, lines=lines)
    commit(repo, "modules")
    for i in range(files):
        path = repo / f"src/pkg/module_{i:03d}.py"
        text = path.read_text().replace("# step 20\n", "# step 20, changed\n")
        path.write_text(text)
    git(repo, "add", "-A")
    return repo


def bench_startup(b: Bench, modes: Sequence[str]) -> dict[str, Any]:
    """``modes``: ``--context`` values, or "default" for no flag (a version without it)."""
    empty = make_repo(b.work, "empty")
    write(empty, "README.md", "x\n")
    commit(empty, "initial")
    changed = repo_with_modifications(b.work, files=20, lines=40)
    results: dict[str, Any] = {}
    cases = [
        ("nothing to review (--hook pre-commit)", ["--hook", "pre-commit"], empty),
        ("fully cached 20-file review (--hook pre-commit)", ["--hook", "pre-commit"], changed),
        ("fully cached 20-file review", [], changed),
    ]
    with FakeOpenAI(default=counting_answer) as server:
        env = {"REVIEWER_BASE_URL": server.base_url}
        for mode in modes:
            context = [] if mode == "default" else ["--context", mode]
            b.run(context, changed, env)  # fill the cache (answers, counts, outlines)
            for label, args, cwd in cases:
                b.run([*args, *context], cwd, env)  # warm-up
                sent = len(server.requests)
                figures = b.median([*args, *context], cwd, env, check=expect(0))
                figures["requests"] = len(server.requests) - sent
                results.setdefault(label, {})[mode] = figures
    if {"lines", "scope"} <= set(modes):
        for by_mode in results.values():
            for key, figure in (
                ("scope_to_lines", "median_s"),
                ("scope_to_lines_cpu", "cpu_median_s"),
            ):
                by_mode[key] = round(by_mode["scope"][figure] / by_mode["lines"][figure], 3)
    return results


# --------------------------------------------------------------------------- report


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    out = [
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}; "
        f"load average at start {m['load_avg_at_start']}.",
        "",
    ]
    for name in ("commits", "files"):
        if name not in report:
            continue
        c = report[name]
        out += [
            f"| corpus `{name}` ({c['reviews']} reviews) | requests | tokens in | tokens out "
            "| context tokens | wall (sum) | in vs lines | median review in vs lines |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for mode in MODES:
            t = c["totals"][mode]
            out.append(
                f"| `--context {mode}` | {t['requests']:,.0f} | {t['tokens_in']:,.0f} | "
                f"{t['tokens_out']:,.0f} | {t['context_tokens']:,.0f} | {t['wall_s']:.1f} s | "
                f"{c['ratio_to_lines'][mode]['tokens_in']:.2f}x | "
                f"{c['median_review_ratio_to_lines'][mode]:.2f}x |"
            )
        out.append("")
    if "startup" in report and "scope_to_lines" in next(iter(report["startup"].values())):
        out += [
            "| start-up (median wall / CPU) | `--context lines` | `--context scope` "
            "| scope / lines (wall) | scope / lines (CPU) |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for label, f in report["startup"].items():
            lines, scope = f["lines"], f["scope"]
            out.append(
                f"| {label} | {lines['median_s']:.3f} s / {lines['cpu_median_s']:.3f} s "
                f"| {scope['median_s']:.3f} s / {scope['cpu_median_s']:.3f} s "
                f"| {f['scope_to_lines']:.2f} | {f['scope_to_lines_cpu']:.2f} |"
            )
        out.append("")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "sections", nargs="*", default=["commits", "files", "startup"], metavar="SECTION"
    )
    parser.add_argument("--files", type=int, default=40, help="per-file reviews sampled")
    parser.add_argument("--runs", type=int, default=5, help="runs per start-up median")
    parser.add_argument(
        "--startup-modes",
        default="lines,scope",
        help="--context values for the start-up runs; 'default' passes none (an older version)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--markdown", action="store_true", help="print the tables at the end")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"machine": machine()}
    work = Path(tempfile.mkdtemp(prefix="reviewer-bench-context-"))
    try:
        b = Bench(work, args.runs)
        repo = clone(work) if {"commits", "files"} & set(args.sections) else None
        commits = commit_reviews(repo) if repo else []
        for section in args.sections:
            if section == "commits" and repo:
                report["commits"] = bench_corpus(b, repo, commits)
            elif section == "files" and repo:
                sample = file_reviews(repo, [c for c, _ in commits], args.files)
                report["files"] = bench_corpus(b, repo, sample)
            elif section == "startup":
                report["startup"] = bench_startup(b, args.startup_modes.split(","))
            else:
                parser.error(f"unknown section {section!r}")
            shown = {k: v for k, v in report[section].items() if k != "per_review"}
            print(json.dumps({section: shown}, indent=2), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.markdown:
        print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
