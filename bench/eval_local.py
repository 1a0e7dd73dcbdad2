"""``review eval`` against a real local model: the built-in corpus, SmolLM2-135M on llama.cpp.

The server is llama-cpp-python serving SmolLM2-135M from ``scripts/local_llm.py`` (built and
cached once per machine); the client is the installed ``review`` script, run the way
docs/local.md tells users to (``--provider llamacpp --jobs 1``, a context window matching the
server's n_ctx 4096, a patient timeout).

    python bench/eval_local.py                        # start a server, the whole corpus
    python bench/eval_local.py --cases 'python/*'     # some cases
    python bench/eval_local.py --url http://127.0.0.1:8080/v1   # a server already running

Writes ``bench/results/eval-smollm2-135m.json`` (the ``-o json`` report) and ``.md`` (the
``-o markdown`` tables) and prints the markdown. A 135M model finds little; the point is that
every figure comes from real requests through the real pipeline. Exit code: review eval's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_llm import local_server

ROOT = Path(__file__).resolve().parents[1]
REVIEW = str(Path(sys.executable).with_name("review"))
RESULTS = ROOT / "bench" / "results"
NAME = "eval-smollm2-135m"
# The recipe's n_ctx is 4096; SmolLM2 answers in a few hundred tokens at most.
LOCAL_FLAGS = (
    "--provider",
    "llamacpp",
    "--jobs",
    "1",
    "--context-window",
    "4096",
    "--max-output-tokens",
    "300",
    "--timeout",
    "600",
    "--deadline",
    "1800",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="a running server's base URL (default: start one)")
    parser.add_argument("--cases", action="append", default=[], help="only these case ids")
    parser.add_argument("--n-threads", type=int, help="server threads (default: its own)")
    parser.add_argument("--name", default=NAME, help=f"result file name (default {NAME})")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_out, md_out = RESULTS / f"{args.name}.json", RESULTS / f"{args.name}.md"
    selection = [arg for case in args.cases for arg in ("--cases", case)]
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp, contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(
            local_server(args.n_threads, Path(tmp) / "server.log")
        )
        cmd = [REVIEW, "eval", *LOCAL_FLAGS, "--base-url", url, *selection]
        cmd += ["-o", f"json={json_out}", "-o", f"markdown={md_out}"]
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        code = subprocess.run(cmd, env=env, check=False, stdin=subprocess.DEVNULL).returncode
    if md_out.is_file():
        print(md_out.read_text(encoding="utf-8"))
    return code


if __name__ == "__main__":
    sys.exit(main())
