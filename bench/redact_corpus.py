"""Recall and false positives of reviewer.prepare.redact over the labelled corpus, and its speed.

    python bench/redact_corpus.py [--lines 50000] [--repeat 5] [--path DIR ...] [--write]

Prints Markdown: per-family tables for secrets, personal data and look-alikes
(tests/data/secrets, loaded by tests/secrets_corpus.py), then ms per 1,000 lines for redacting
real code (this repository's *.py files, and every --path DIR) as FileDiff hunks, as lines and
as one text, a secret-dense synthetic sample, and the same code at 1x/2x/4x to show that the
cost is linear. CPU time is the best of --repeat runs (the steadier figure on a busy machine).
--write puts the output into BENCHMARKS.md between its redaction markers.
"""

from __future__ import annotations

import argparse
import io
import platform
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from secrets_corpus import Score, load, score  # noqa: E402

from reviewer.core.values import DiffLine, FileDiff, Hunk  # noqa: E402
from reviewer.prepare.redact import redact_files, redact_lines, redact_text  # noqa: E402

START, END = "<!-- redact-bench:start -->", "<!-- redact-bench:end -->"

# Ordinary code with a few secrets, denser than a real diff: 7 lines in 20 reach a detector.
CODE = (
    "import json",
    "from app.db import session",
    "",
    "def handler(event, context):",
    '    """Return the user for the request."""',
    "    user = session.get(User, event['user_id'])",
    "    if user is None:",
    "        raise NotFound(f\"no user {event['user_id']}\")",
    "    token = issue_token(user, ttl=3600)  # short-lived",
    "    headers = {'Content-Type': 'application/json', 'Cache-Control': 'no-store'}",
    "    return {'statusCode': 200, 'headers': headers, 'body': json.dumps(user.to_dict())}",
    "",
    "# see https://docs.example.com/api/v2/users#get for the response schema",
    "class UserSerializer(serializers.ModelSerializer):",
    "    password = serializers.CharField(write_only=True, min_length=12)",
    "    api_key = 'Zq8vN3kP0sW2xR7tY5uB'",
    "    for i, row in enumerate(rows):",
    "        total += row.amount * rate[row.currency]",
    "    logger.info('processed %d rows in %.2fs', len(rows), elapsed)",
    "    DATABASE_URL = 'postgres://app:Zq8vN3kP0sW2@db.internal:5432/app'",
)


def _redacted(text: str) -> str:
    return redact_text(text)[0]


def table(title: str, result: Score, what: str) -> None:
    print(f"\n| {title} | cases | {what} | rate |\n| --- | ---: | ---: | ---: |")
    for label, (cases, hits) in result.by_label.items():
        print(f"| {label} | {cases} | {hits} | {hits / cases:.0%} |")
    print(
        f"| **all ({len(result.by_label)})** | {result.total} | {result.hits} | {result.rate:.1%} |"
    )


def best_cpu(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def as_files(lines: list[str]) -> list[FileDiff]:
    """Added files of 1,000 lines in hunks of 50: the shape of a large diff."""
    files = []
    for f in range(0, len(lines), 1000):
        chunk = lines[f : f + 1000]
        hunks = tuple(
            Hunk(
                old_start=0,
                old_len=0,
                new_start=h + 1,
                new_len=len(chunk[h : h + 50]),
                lines=tuple(
                    DiffLine(kind="add", text=t, new_no=h + k + 1)
                    for k, t in enumerate(chunk[h : h + 50])
                ),
            )
            for h in range(0, len(chunk), 50)
        )
        files.append(FileDiff(path=f"src/m{f}.py", status="added", hunks=hunks))
    return files


def timings(title: str, lines: list[str], repeat: int) -> None:
    n = len(lines)
    text = "\n".join(lines) + "\n"
    files = as_files(lines)
    _, count = redact_files(files)
    print(f"\n{title}: {n:,} lines, {count:,} redactions; CPU, best of {repeat}:\n")
    print("| input | ms / 1,000 lines | lines/s |\n| --- | ---: | ---: |")
    for label, fn in (
        ("redact_files (hunks of 50 lines)", lambda: redact_files(files)),
        ("redact_lines", lambda: redact_lines(lines)),
        ("redact_text (one string)", lambda: redact_text(text)),
    ):
        cpu = best_cpu(repeat, fn)
        print(f"| {label} | {cpu / n * 1e6:.2f} | {n / max(cpu, 1e-9):,.0f} |")


def linearity(lines: list[str], repeat: int) -> None:
    print("\nLinear in size (redact_lines, CPU, best of the runs):\n")
    print("| lines | ms | ms / 1,000 lines |\n| ---: | ---: | ---: |")
    for factor in (1, 2, 4):
        sample = lines * factor
        cpu = best_cpu(repeat, lambda sample=sample: redact_lines(sample))  # type: ignore[misc]
        print(f"| {len(sample):,} | {cpu * 1e3:.0f} | {cpu / len(sample) * 1e6:.2f} |")


def code_lines(paths: list[Path], limit: int) -> list[str]:
    lines: list[str] = []
    for base in paths:
        for file in sorted(base.rglob("*.py")):
            lines.extend(file.read_text(encoding="utf-8", errors="replace").splitlines())
            if len(lines) >= limit:
                return lines[:limit]
    return lines


def report(args: argparse.Namespace) -> None:
    secrets = score(load("secret"), _redacted)
    pii = score(load("pii"), _redacted)
    damaged = score(load("look-alike"), _redacted)
    table("secret family", secrets, "redacted")
    table("personal data", pii, "redacted")
    table("look-alike group", damaged, "damaged")
    found = secrets.hits + pii.hits
    cases = secrets.total + pii.total
    print(
        f"\n**Recall {found / cases:.1%}** ({found}/{cases}: secrets {secrets.rate:.1%}, "
        f"personal data {pii.rate:.1%}); **look-alikes damaged {damaged.rate:.1%}** "
        f"({damaged.hits}/{damaged.total})."
    )
    print(f"\nPython {platform.python_version()}, {platform.machine()}.")
    own = code_lines([ROOT / "reviewer", ROOT / "tests"], args.lines)
    timings("This repository's code (reviewer/, tests/)", own, args.repeat)
    for path in args.path:
        timings(str(path), code_lines([path], args.lines), args.repeat)
    timings(
        "Secret-dense sample (35% of lines reach a detector)",
        [CODE[i % len(CODE)] for i in range(args.lines)],
        args.repeat,
    )
    linearity(own[:10_000], args.repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--path", type=Path, action="append", default=[], help="more code")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args()
    out = io.StringIO()
    with redirect_stdout(out):
        report(args)
    print(out.getvalue())
    if args.write:
        bench = ROOT / "BENCHMARKS.md"
        text = bench.read_text(encoding="utf-8")
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        bench.write_text(f"{head}{START}\n{out.getvalue().strip()}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
