"""A change larger than one wave: files are read, prepared and sent wave by wave, highest
priority first, and still every changed line reaches the model exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from conftest import chunk_files, endpoint_env, run_cli
from fake_openai import FakeOpenAI, Received, Reply, reply_json
from gitrepo import commit, git, write

from reviewer.pipeline.waves import ONE_WAVE_LINES, WAVE_FILES

FILES = 60
LINES = 120  # 7,200 changed lines: more than ONE_WAVE_LINES, so several waves


def clean(_req: Received) -> Reply:
    return reply_json({"summary": "Fine.", "findings": []})


def test_every_changed_line_is_sent_once_across_waves(repo: Path) -> None:
    assert FILES * LINES > ONE_WAVE_LINES and FILES < WAVE_FILES
    write(repo, "README.md", "readme\n")
    commit(repo, "base")
    for i in range(FILES):
        folder = "src/auth" if i % 10 == 0 else "src/app"
        write(repo, f"{folder}/m{i:02d}.py", "".join(f"v{i}_{n} = f({n})\n" for n in range(LINES)))
    git(repo, "add", "-A")
    with FakeOpenAI(default=clean) as llm:
        run = run_cli(
            "--no-cache", "--no-verify", "--jobs", "1", "-o", "json", env=endpoint_env(llm)
        )
        requests = list(llm.review_requests)
    assert run.code == 0, run.err
    sent = Counter((path, n) for r in requests for path, ns in chunk_files(r).items() for n in ns)
    assert max(sent.values()) == 1  # no line twice
    expected = {(p, n) for p in run.json()["reviewed_paths"] for n in range(1, LINES + 1)}
    assert set(sent) == expected and len(expected) == FILES * LINES
    # Planned in more than one wave (one progress line each), the sensitive paths first.
    assert sum("chunk(s), ~" in line for line in run.err.splitlines()) >= 2
    first = chunk_files(requests[0])  # one worker: in the order sent
    assert any(path.startswith("src/auth/") for path in first)
