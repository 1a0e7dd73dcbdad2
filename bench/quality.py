"""What the review's second look costs: requests, tokens and wall time with and without the
verification pass (and, once the context work lands, each ``--context`` mode), on a corpus of
real diffs: this repository's own history, each commit replayed as ``review --base PARENT
--head COMMIT`` against the fake model server.

    python bench/quality.py                        # the pinned corpus, verify on and off
    python bench/quality.py --context lines,scope  # also one run per --context mode
    python bench/quality.py --commits 5 --latency 0.1 --json out.json --markdown

The fake model is scripted, not random: a chunk gets findings when a hash of its text says so
(``--finding-share``, default one chunk in three), two findings on its first changed lines,
with titles and messages of a typical length; the verification confirms the first candidate
and refutes the second. Token counts are the real ones: the fake counts every request and
answer with the o200k_base tokenizer (what gpt-4o-mini bills), plus OpenAI's per-message
overhead. Every request waits ``--latency`` seconds, so wall time shows what the pass adds
at a typical model speed, with ``--jobs`` requests in flight. Every review starts with an
empty answer cache (nothing is reused between runs or configurations) that holds the
tokenizer's parsed ranks from a warm-up run, as an installed reviewer has them.

The corpus is the history up to ``CORPUS_HEAD`` (pinned, so figures stay comparable while the
history grows); without that commit (a shallow clone), the last ``--commits`` commits of HEAD.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
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

from fake_openai import FakeOpenAI, Received, Reply, candidates, reply_json  # noqa: E402
from gitrepo import PINNED  # noqa: E402

from reviewer.prepare.tokens import load_tokenizer  # noqa: E402

CORPUS_HEAD = "926e05d4c00428fe511a7318d61df6d777fefd74"
KEY = "sk-bench-0123456789abcdef"
REVIEW = str(Path(sys.executable).with_name("review"))
_ADDED = re.compile(r"^\s*(\d+) \+ \|", re.MULTILINE)
_FILE = re.compile(r"^=== FILE: (.+?) \(", re.MULTILINE)
# OpenAI's chat format adds about 3 tokens a message and 3 for the reply's priming.
MESSAGE_OVERHEAD = 3
MESSAGE = (
    "The value is read before the check that guards it, so an empty input reaches the "
    "division below and raises ZeroDivisionError instead of the documented ValueError. "
    "Move the check above the read, or handle the empty case explicitly."
)


class ScriptedModel:
    """Findings for a share of the chunks; verdicts for their candidates; real token counts."""

    def __init__(self, share: float) -> None:
        self.share = share
        self.tokenizer = load_tokenizer("gpt-4o-mini")

    def usage(self, req: Received, content: str) -> dict[str, int]:
        prompt = sum(self.tokenizer.count(m["content"]) + MESSAGE_OVERHEAD for m in req.messages)
        return {
            "prompt_tokens": prompt + MESSAGE_OVERHEAD,
            "completion_tokens": self.tokenizer.count(content),
        }

    def review(self, req: Received) -> Reply:
        user = next(m["content"] for m in req.messages if m["role"] == "user")
        digest = int(hashlib.sha256(user.encode()).hexdigest()[:8], 16)
        findings: list[dict[str, Any]] = []
        path = _FILE.search(user)
        added = [int(n) for n in _ADDED.findall(user)]
        if path and added and digest % 1000 < self.share * 1000:
            for n, line in enumerate(added[:2], start=1):
                findings.append(
                    {
                        "path": path.group(1),
                        "start_line": line,
                        "end_line": line,
                        "severity": "medium" if n == 1 else "low",
                        "category": "bug",
                        "confidence": 0.8,
                        "title": f"The guard comes after the read (finding {n})",
                        "message": MESSAGE,
                        "suggestion": None,
                    }
                )
        body = {"summary": "The change is small and mostly safe.", "findings": findings}
        content = json.dumps(body)
        return reply_json(body, usage=self.usage(req, content))

    def verify(self, req: Received) -> Reply:
        shown = candidates(req)
        confirmed = [
            {**c, "candidate": n, "message": "The read precedes the check."}
            for n, c in shown.items()
            if n % 2 == 1
        ]
        refuted = [
            {"candidate": n, "reason": "The caller already rejects empty input."}
            for n in shown
            if n % 2 == 0
        ]
        body = {"findings": confirmed, "refuted": refuted}
        content = json.dumps(body)
        return reply_json(body, usage=self.usage(req, content))


def corpus(repo: Path, limit: int) -> list[tuple[str, str]]:
    """(parent, commit) pairs, oldest first."""
    head = CORPUS_HEAD if _git(repo, "cat-file", "-e", f"{CORPUS_HEAD}^{{commit}}") else "HEAD"
    shas = _out(repo, "rev-list", "--first-parent", "--reverse", head).split()
    pairs = [(shas[i - 1], shas[i]) for i in range(1, len(shas))]
    return pairs[-limit:] if limit else pairs


def _git(repo: Path, *args: str) -> bool:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, check=False)
    return proc.returncode == 0


def _out(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def replay(
    clone: Path,
    pairs: Sequence[tuple[str, str]],
    server: FakeOpenAI,
    extra: Sequence[str],
    env: dict[str, str],
) -> dict[str, Any]:
    """Every pair reviewed once with ``extra``; the summed figures."""
    totals: dict[str, float] = {}
    walls: list[float] = []
    before = len(server.requests)
    warm = Path(env["XDG_CACHE_HOME"]) / "reviewer" / "tokenizer"
    ratios: list[float] = []  # per diff with a verification: its input over the first pass's
    for parent, commit in pairs:
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=clone.parent))
        shutil.copytree(warm, cache / "reviewer" / "tokenizer")
        args = [REVIEW, "--base", parent, "--head", commit, "-o", "json", "-q"]
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(
            [*args, "--fail-on", "never", *extra],
            cwd=clone,
            env={**env, "XDG_CACHE_HOME": str(cache)},
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
        totals["cpu_s"] = round(totals.get("cpu_s", 0) + cpu, 2)
        if proc.returncode != 0:
            raise SystemExit(f"bench: review {parent[:8]}..{commit[:8]} failed:\n{proc.stderr}")
        stats = json.loads(proc.stdout)["stats"]
        first_in = stats["tokens_in"] - stats["verify_tokens_in"]
        if stats["verify_tokens_in"] and first_in:
            ratios.append(stats["verify_tokens_in"] / first_in)
        for key in (
            "chunks",
            "requests",
            "tokens_in",
            "tokens_out",
            "estimated_tokens_in",
            "verify_requests",
            "verify_tokens_in",
            "verify_tokens_out",
            "estimated_verify_tokens_in",
            "confirmed_findings",
            "refuted_findings",
            "findings_total",
        ):
            totals[key] = totals.get(key, 0) + stats[key]
    sent = server.requests[before:]
    totals["requests_seen_by_the_model"] = len(sent)
    totals["wall_s"] = round(sum(walls), 2)
    totals["wall_median_per_diff_s"] = round(statistics.median(walls), 3)
    if ratios:
        totals["verify_share_per_diff"] = {
            "diffs": len(ratios),
            "min": round(min(ratios), 4),
            "median": round(statistics.median(ratios), 4),
            "max": round(max(ratios), 4),
        }
    return totals


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="reviewer-quality-"))
    clone = work / "corpus"
    subprocess.run(["git", "clone", "-q", "--no-local", str(args.repo), str(clone)], check=True)
    pairs = corpus(clone, args.commits)
    model = ScriptedModel(args.finding_share)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "REVIEWER_", "OPENAI_", "GITHUB_"))
        and not k.endswith("_API_KEY")
    }
    env.update(PINNED)
    env.update({"XDG_CACHE_HOME": str(work / "cache"), "OPENAI_API_KEY": KEY})
    modes: list[str | None] = (
        [None, *(m for m in args.context.split(",") if m)] if args.context else [None]
    )
    results: dict[str, Any] = {
        "corpus": [f"{p[:12]}..{c[:12]}" for p, c in pairs],
        "latency_s": args.latency,
        "jobs": args.jobs,
        "finding_share": args.finding_share,
        "runs": {},
    }
    with FakeOpenAI(default=model.review, verifier=model.verify, latency=args.latency) as server:
        env["REVIEWER_BASE_URL"] = server.base_url
        # Warm-up: the tokenizer's ranks file, parsed once into the cache directory.
        parent, commit = pairs[-1]
        warm = [REVIEW, "--base", parent, "--head", commit, "--dry-run", "-q"]
        subprocess.run(warm, cwd=clone, env=env, capture_output=True, check=True)
        for mode in modes:
            context = ["--context", mode] if mode else []
            for verify in ("--no-verify", "--verify"):
                name = " ".join([*context, verify]) or verify
                extra = [*context, verify, "--jobs", str(args.jobs)]
                results["runs"][name] = replay(clone, pairs, server, extra, env)
                print(f"bench: {name}: {results['runs'][name]}", file=sys.stderr)
    return results


def markdown(results: dict[str, Any]) -> str:
    rows = [
        "| run | requests | of them verification | tokens in | of them verification "
        "| verification / first pass (in) | tokens out | findings shown | refuted | wall | CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results["runs"].items():
        first_in = r["tokens_in"] - r["verify_tokens_in"]
        share = (
            f"{r['verify_tokens_in'] / first_in:.1%}" if first_in and r["verify_tokens_in"] else "-"
        )
        rows.append(
            f"| `{name}` | {int(r['requests'])} | {int(r['verify_requests'])} "
            f"| {int(r['tokens_in']):,} | {int(r['verify_tokens_in']):,} | {share} "
            f"| {int(r['tokens_out']):,} | {int(r['findings_total'])} "
            f"| {int(r['refuted_findings'])} | {r['wall_s']:.1f} s | {r['cpu_s']:.1f} s |"
        )
    verified = [r for n, r in results["runs"].items() if n.endswith("--verify")]
    if verified:
        r = verified[0]
        rows.append("")
        rows.append(
            f"Estimated verification input before sending: {int(r['estimated_verify_tokens_in']):,}"
            f" tokens; measured: {int(r['verify_tokens_in']):,}."
        )
        per = r.get("verify_share_per_diff")
        if per:
            rows.append(
                f"Per diff with a verification ({per['diffs']}): its input over the first pass's"
                f" is {per['min']:.1%} to {per['max']:.1%}, median {per['median']:.1%}."
            )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="whose history to replay")
    parser.add_argument("--commits", type=int, default=0, help="only the last N (0: all)")
    parser.add_argument("--latency", type=float, default=0.3, help="fake model latency, seconds")
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--finding-share", type=float, default=1 / 3)
    parser.add_argument(
        "--context",
        default="",
        help="comma-separated --context modes to run too (needs a review with --context)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--markdown", action="store_true", help="print the table at the end")
    args = parser.parse_args(argv)
    results = run(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
