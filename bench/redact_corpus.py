"""Recall and false positives of reviewer.prepare.redact over the labelled corpus, and its speed.

    python bench/redact_corpus.py [--lines 50000] [--repeat 5] [--path DIR]

Prints Markdown tables (per family) for the README, then timings for redacting N lines as
text, as lines, and as FileDiff hunks: a secret-dense synthetic sample, and with --path the
first N lines of the *.py files under DIR (real code). Wall and CPU seconds are the best of
--repeat runs; CPU time is the steadier figure on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reviewer.core.values import DiffLine, FileDiff, Hunk
from reviewer.prepare.redact import redact_files, redact_lines, redact_text

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "secrets"

# Ordinary code with a few secrets, the shape of a real diff: most lines never reach a detector.
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


def load(name: str) -> list[dict[str, Any]]:
    with (CORPUS / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def detected(row: dict[str, Any]) -> bool:
    out, _ = redact_text(row["text"])
    return f"[REDACTED:{row['family']}]" in out and not any(s in out for s in row["secrets"])


def table(title: str, rows: list[dict[str, Any]], hit: Callable[[dict[str, Any]], bool]) -> float:
    by_family: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        by_family[row["family"]].append(hit(row))
    print(f"\n| {title} | samples | hits | rate |\n| --- | ---: | ---: | ---: |")
    for family, hits in sorted(by_family.items()):
        print(f"| {family} | {len(hits)} | {sum(hits)} | {sum(hits) / len(hits):.0%} |")
    total = [h for hits in by_family.values() for h in hits]
    rate = sum(total) / len(total)
    print(f"| **all ({len(by_family)} families)** | {len(total)} | {sum(total)} | {rate:.1%} |")
    return rate


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu)


def timings(title: str, lines: list[str], repeat: int) -> None:
    n = len(lines)
    text = "\n".join(lines) + "\n"
    hunks = tuple(
        Hunk(
            old_start=1,
            old_len=0,
            new_start=start + 1,
            new_len=len(lines[start : start + 50]),
            lines=tuple(
                DiffLine(kind="add", text=t, new_no=start + k + 1)
                for k, t in enumerate(lines[start : start + 50])
            ),
        )
        for start in range(0, n, 50)
    )
    files = [
        FileDiff(path=f"src/m{i}.py", hunks=hunks[i : i + 20]) for i in range(0, len(hunks), 20)
    ]
    _, count = redact_files(files)
    print(f"\n{title}: {n:,} lines, {count:,} redactions, best of {repeat}:\n")
    print("| input | wall s | CPU s | lines/s (CPU) |\n| --- | ---: | ---: | ---: |")
    for label, fn in (
        ("redact_text (one string)", lambda: redact_text(text)),
        ("redact_lines", lambda: redact_lines(lines)),
        (f"redact_files ({len(files)} FileDiffs)", lambda: redact_files(files)),
    ):
        wall, cpu = best_of(repeat, fn)
        print(f"| {label} | {wall:.3f} | {cpu:.3f} | {n / max(cpu, 1e-9):,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--path", type=Path, help="also time the *.py files under this directory")
    args = parser.parse_args()
    recall = table("secret family (recall)", load("secrets.jsonl"), detected)
    fp = table(
        "look-alike (false positives)",
        load("not_secrets.jsonl"),
        lambda row: bool(redact_text(row["text"])[1]),
    )
    print(f"\nrecall {recall:.1%}, false-positive rate {fp:.1%}")
    timings("secret-dense sample", [CODE[i % len(CODE)] for i in range(args.lines)], args.repeat)
    if args.path is not None:
        real: list[str] = []
        for file in sorted(args.path.rglob("*.py")):
            real.extend(file.read_text(encoding="utf-8", errors="replace").splitlines())
            if len(real) >= args.lines:
                break
        timings(str(args.path), real[: args.lines], args.repeat)


if __name__ == "__main__":
    main()
