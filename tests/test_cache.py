"""The review cache: what it saves (requests), what it keys on, and what it survives.

End to end through the real entry point against the fake model server (request counts are
the observable), plus ``ReviewCache`` itself for what a run cannot show in a few seconds:
two processes writing at once, pruning, and buffered token counts.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import TEST_KEY, Run, chunk_files, endpoint_env, run_cli
from fake_openai import FakeOpenAI
from gitrepo import commit, git, write

from reviewer.llm.answer import ModelAnswer
from reviewer.prepare.tokens import ApproxTokenizer
from reviewer.store.cache import (
    FILE_NAME,
    MAX_AGE_DAYS,
    TOKENIZER_DIR,
    CountingTokenizer,
    ReviewCache,
    clear_cache,
)

FILES = 20


def module(i: int, salt: str = "") -> str:
    return "".join(f"value_{i}_{n} = compute({n}, {i}){salt}\n" for n in range(12))


@pytest.fixture
def twenty(repo: Path) -> Path:
    """``repo`` with twenty new files staged."""
    write(repo, "README.md", "readme\n")
    commit(repo, "base")
    for i in range(FILES):
        write(repo, f"pkg/mod_{i:02d}.py", module(i))
    git(repo, "add", "-A")
    return repo


def review(server: FakeOpenAI, *args: str, cache_dir: Path, key: str = TEST_KEY) -> Run:
    env = {**endpoint_env(server), "OPENAI_API_KEY": key}
    run = run_cli("-o", "json", "--cache-dir", str(cache_dir), *args, env=env)
    assert run.code in (0, 1), run.err
    return run


def cache_bytes(cache_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(cache_dir.rglob("*")) if p.is_file())


def answer(summary: str = "ok") -> ModelAnswer:
    return ModelAnswer.model_validate({"summary": summary, "findings": []})


# --------------------------------------------------------------------------- end to end


def test_rerunning_the_same_change_sends_nothing(
    twenty: Path, llm: FakeOpenAI, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    first = review(llm, cache_dir=cache_dir)
    sent = len(llm.requests)
    assert len(llm.review_requests) == first.json()["stats"]["chunks"] >= 1
    # The findings' verification is cached too.
    assert len(llm.verify_requests) == first.json()["stats"]["verify_chunks"] >= 1

    second = review(llm, cache_dir=cache_dir)

    assert len(llm.requests) == sent  # zero new requests, reviews and verifications
    stats = second.json()["stats"]
    assert stats["chunks_cached"] == stats["chunks"] == first.json()["stats"]["chunks"]
    assert stats["requests"] == 0 and stats["tokens_in"] == 0
    assert (
        stats["verify_cached"] == stats["verify_chunks"] == first.json()["stats"]["verify_chunks"]
    )
    # Cached answers give the same review.
    assert second.json()["findings"] == first.json()["findings"]


def test_editing_one_file_of_twenty_resends_only_its_chunk(
    twenty: Path, llm: FakeOpenAI, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    small = ("--max-chunk-tokens", "1000")  # several files per chunk, several chunks
    first = review(llm, *small, cache_dir=cache_dir).json()
    assert len(first["chunks"]) >= 4
    before = len(llm.review_requests)
    checks_before = len(llm.verify_requests)

    edited = "pkg/mod_07.py"
    write(twenty, edited, module(7, salt="  # edited"))
    git(twenty, "add", edited)
    second = review(llm, *small, cache_dir=cache_dir).json()

    resent = llm.review_requests[before:]
    # Only the edited chunk's findings are checked again.
    assert [chunk_files(r).keys() for r in llm.verify_requests[checks_before:]] == [
        chunk_files(resent[0]).keys()
    ]
    assert resent, "the edited file's chunk must be reviewed again"
    for req in resent:
        assert edited in chunk_files(req)
    assert len(resent) == sum(edited in c["paths"] for c in second["chunks"]) == 1
    # Boundaries are stable: the same files are grouped the same way, and every chunk
    # without the edited file keeps its id (its cached answer).
    assert [c["paths"] for c in second["chunks"]] == [c["paths"] for c in first["chunks"]]
    unchanged = [c["id"] for c in first["chunks"] if edited not in c["paths"]]
    assert unchanged == [c["id"] for c in second["chunks"] if edited not in c["paths"]]
    assert second["stats"]["chunks_cached"] == len(first["chunks"]) - 1


def test_the_key_is_not_in_the_cache_and_does_not_key_it(
    twenty: Path, llm: FakeOpenAI, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    review(llm, cache_dir=cache_dir)
    sent = len(llm.requests)
    data = cache_bytes(cache_dir)
    assert data, "the cache was written"
    assert TEST_KEY.encode() not in data
    assert TEST_KEY[-12:].encode() not in data

    # Another key for the same endpoint and model: the same answers, nothing sent.
    review(llm, cache_dir=cache_dir, key="sk-another-key-0000000000000000")
    assert len(llm.requests) == sent


def test_what_changes_the_answer_changes_the_key(
    twenty: Path, llm: FakeOpenAI, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    review(llm, cache_dir=cache_dir)
    counts = [len(llm.requests)]
    for args in (
        ("--temperature", "0.7"),
        ("--model", "gpt-4o"),
        ("--language", "zh"),  # a different system prompt
    ):
        review(llm, *args, cache_dir=cache_dir)
        counts.append(len(llm.requests))
        review(llm, *args, cache_dir=cache_dir)  # and that one is cached in turn
        assert len(llm.requests) == counts[-1]
    assert counts == sorted(set(counts)), "each variant was sent once"


def test_no_cache_sends_every_time_and_writes_nothing(
    twenty: Path, llm: FakeOpenAI, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    review(llm, "--no-cache", cache_dir=cache_dir)
    once = len(llm.requests)
    review(llm, "--no-cache", cache_dir=cache_dir)
    assert len(llm.requests) == 2 * once
    assert not cache_dir.exists()


def test_clear_cache_deletes_it_and_the_next_run_asks_again(
    twenty: Path, llm: FakeOpenAI, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    review(llm, cache_dir=cache_dir)
    sent = len(llm.requests)
    assert (cache_dir / FILE_NAME).is_file()
    # The tokenizer's ranks file (written by the first load in a process) goes too.
    ranks = cache_dir / TOKENIZER_DIR / "o200k_base-0123.marshal"
    write(cache_dir, f"{TOKENIZER_DIR}/{ranks.name}", b"ranks")

    run = run_cli("--clear-cache", "--cache-dir", str(cache_dir))

    assert run.code == 0 and "cleared the review cache" in run.out
    assert not (cache_dir / FILE_NAME).exists()
    assert not ranks.exists()
    review(llm, cache_dir=cache_dir)
    assert len(llm.requests) == 2 * sent


def test_a_corrupt_cache_file_is_a_warning_and_the_review_goes_on(
    twenty: Path, llm: FakeOpenAI, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / FILE_NAME).write_bytes(b"this is not a database\x00" * 200)

    run = review(llm, cache_dir=cache_dir)

    assert run.code == 0
    assert "review: warning: review cache unusable" in run.err
    assert "--clear-cache" in run.err
    assert run.err.count("review cache") == 1  # once, not per chunk
    assert len(llm.review_requests) == run.json()["stats"]["chunks"] >= 1
    assert run.json()["findings"]


def test_an_unusable_cache_dir_is_a_warning_and_the_review_goes_on(
    twenty: Path, llm: FakeOpenAI, tmp_path: Path
) -> None:
    # A regular file where the directory should be: unusable even for root.
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory\n")

    run = review(llm, cache_dir=blocker / "cache")

    assert run.code == 0
    assert "review: warning: review cache unusable" in run.err
    assert run.json()["stats"]["chunks"] >= 1
    assert len(llm.review_requests) == run.json()["stats"]["chunks"]


def test_a_truncated_cache_file_is_a_warning_and_the_review_goes_on(
    twenty: Path, llm: FakeOpenAI, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    review(llm, cache_dir=cache_dir)
    db = cache_dir / FILE_NAME
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(db.read_bytes()[:1500])  # the header survives, the pages do not

    run = review(llm, cache_dir=cache_dir)

    assert run.code == 0, run.err
    assert "review: warning: review cache" in run.err
    assert run.json()["findings"]


# --------------------------------------------------------------------------- two processes

WRITER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path
    from reviewer.llm.answer import ModelAnswer
    from reviewer.store.cache import ReviewCache

    directory, name, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    warnings = []
    cache = ReviewCache(directory, warn=warnings.append)
    # Start together: both processes are ready (imports done) before either writes.
    (directory / f"ready-{name}").touch()
    while not (directory / "go").exists():
        time.sleep(0.005)
    for i in range(n):
        answer = ModelAnswer.model_validate({"summary": f"{name}-{i}", "findings": []})
        cache.put(f"{name}-{i}", answer)
        cache.put_count(f"count-{name}-{i}", i)
        assert cache.get(f"{name}-{i}") is not None
    cache.close()
    print("warnings:", warnings)
    """
)


def test_two_processes_writing_at_once_do_not_corrupt_it(tmp_path: Path) -> None:
    n = 100
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), name, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("hook-a", "hook-b")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{name}").exists() for name in ("hook-a", "hook-b")):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outputs = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "warnings: []" in out

    with sqlite3.connect(tmp_path / FILE_NAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    cache = ReviewCache(tmp_path, warn=pytest.fail)
    for name in ("hook-a", "hook-b"):
        for i in range(n):
            got = cache.get(f"{name}-{i}")
            assert got is not None and got.summary == f"{name}-{i}"
            assert cache.get_count(f"count-{name}-{i}") == i
    cache.close()


# --------------------------------------------------------------------------- ReviewCache


def test_answers_and_dialects_round_trip(tmp_path: Path) -> None:
    cache = ReviewCache(tmp_path, warn=pytest.fail)
    assert cache.get("k") is None and cache.get_mode("url|model") is None
    cache.put("k", answer("first"))
    cache.put_mode("url|model", "json_object")
    cache.close()

    reopened = ReviewCache(tmp_path, warn=pytest.fail)
    got = reopened.get("k")
    assert got is not None and got.summary == "first"
    assert reopened.get_mode("url|model") == "json_object"
    assert (reopened.hits, reopened.misses) == (1, 0)
    reopened.close()


def test_an_entry_of_another_version_is_a_miss(tmp_path: Path) -> None:
    cache = ReviewCache(tmp_path, warn=pytest.fail)
    cache.put("k", answer())
    cache.close()
    with sqlite3.connect(tmp_path / FILE_NAME) as conn:
        conn.execute("UPDATE answers SET answer = ?", (json.dumps({"old": "shape"}),))

    reopened = ReviewCache(tmp_path, warn=pytest.fail)
    assert reopened.get("k") is None
    assert reopened.misses == 1
    reopened.close()


def test_old_entries_are_pruned_once_a_day_by_a_run_that_wrote(tmp_path: Path) -> None:
    day = 86_400.0
    now = [1_000_000_000.0]
    old = ReviewCache(tmp_path, warn=pytest.fail, clock=lambda: now[0])
    old.put("old", answer())
    old.put_count("enc:old", 3)
    old.close()

    now[0] += (MAX_AGE_DAYS + 1) * day
    reader = ReviewCache(tmp_path, warn=pytest.fail, clock=lambda: now[0])
    assert reader.get("old") is not None  # a run that only reads prunes nothing
    reader.close()

    writer = ReviewCache(tmp_path, warn=pytest.fail, clock=lambda: now[0])
    writer.put("new", answer())
    writer.close()

    check = ReviewCache(tmp_path, warn=pytest.fail, clock=lambda: now[0])
    assert check.get("old") is None and check.get_count("enc:old") is None
    assert check.get("new") is not None
    check.close()


def test_token_counts_come_from_the_cache_on_the_next_run(tmp_path: Path) -> None:
    class Counted:
        """The approximate tokenizer, counting the texts it is asked about."""

        def __init__(self) -> None:
            self.calls = 0

        def count(self, text: str) -> int:
            self.calls += 1
            return ApproxTokenizer().count(text)

    texts = [f"text number {i} " * (i + 1) for i in range(30)]
    inner = Counted()
    cache = ReviewCache(tmp_path, warn=pytest.fail)
    first = [CountingTokenizer(inner, cache, "o200k_base").count(t) for t in texts]
    assert inner.calls == len(texts)
    assert first == [ApproxTokenizer().count(t) for t in texts]
    cache.close()

    again = Counted()
    cache = ReviewCache(tmp_path, warn=pytest.fail)
    assert [CountingTokenizer(again, cache, "o200k_base").count(t) for t in texts] == first
    assert again.calls == 0
    # Another encoding's counts are no answer.
    CountingTokenizer(again, cache, "cl100k_base").count(texts[0])
    assert again.calls == 1
    cache.close()


def test_counts_of_many_texts_are_one_entry_and_come_back_on_the_next_run(
    tmp_path: Path,
) -> None:
    """A hunk's lines are counted together (an oversized file is cut line by line): one cache
    entry for the lot, not one per line, and the next run counts none of them again."""

    class Counted:
        def __init__(self) -> None:
            self.calls = 0

        def count(self, text: str) -> int:
            self.calls += 1
            return ApproxTokenizer().count(text)

    lines = [f"+    value_{i} = compute({i})\n" for i in range(1000)]
    inner = Counted()
    cache = ReviewCache(tmp_path, warn=pytest.fail)
    first = CountingTokenizer(inner, cache, "o200k_base").count_each(lines)
    assert first == [ApproxTokenizer().count(t) for t in lines]
    assert inner.calls == len(lines)
    cache.close()

    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        assert db.execute("SELECT COUNT(*) FROM count_lists").fetchone() == (1,)
        assert db.execute("SELECT COUNT(*) FROM token_counts").fetchone() == (0,)

    again = Counted()
    cache = ReviewCache(tmp_path, warn=pytest.fail)
    assert CountingTokenizer(again, cache, "o200k_base").count_each(lines) == first
    assert again.calls == 0
    # A different list (one line changed) is counted afresh.
    changed = [*lines[:-1], "+    other = 1\n"]
    assert CountingTokenizer(again, cache, "o200k_base").count_each(changed)[-1] == (
        ApproxTokenizer().count(changed[-1])
    )
    assert again.calls == len(lines)
    cache.close()


def test_clear_cache_on_a_missing_directory_removes_nothing(tmp_path: Path) -> None:
    assert clear_cache(tmp_path / "absent") == 0
