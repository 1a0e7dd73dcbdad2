"""The team's Redis store, against a real ``redis-server`` the tests start (tests/redis_server.py).

Shared cache across two cache directories (laptops), the dialect memory, compressed values in
a namespace per project, never the API key; the password from the URL or the environment and
never printed; and every fault (unreachable, too slow, full, garbage) a one-line warning with
the review finishing on the local store.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TEST_KEY, Run, endpoint_env, run_cli, run_subprocess
from fake_openai import FakeOpenAI, rejects_json_schema
from gitrepo import commit, git, write
from redis_server import IN_CI, RedisServer, make_tls_files

from reviewer.store.redis_link import redacted_url

FILES = 6
PROJECT = "acme/widgets"


def module(i: int, salt: str = "") -> str:
    return "".join(f"value_{i}_{n} = compute({n}, {i}){salt}\n" for n in range(12))


@pytest.fixture
def staged(repo: Path) -> Path:
    write(repo, "README.md", "readme\n")
    commit(repo, "base")
    git(repo, "remote", "add", "origin", f"git@github.com:{PROJECT}.git")
    for i in range(FILES):
        write(repo, f"pkg/mod_{i}.py", module(i))
    git(repo, "add", "-A")
    return repo


def review(
    llm: FakeOpenAI, url: str, cache_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Run:
    return run_cli(
        "-o",
        "json",
        "--max-chunk-tokens",
        "300",
        "--cache-dir",
        str(cache_dir),
        "--cache-url",
        url,
        *args,
        env={**endpoint_env(llm), **(env or {})},
    )


def warnings_of(run: Run) -> list[str]:
    return [line for line in run.err.splitlines() if line.startswith("review: warning:")]


# --------------------------------------------------------------------------- sharing


def test_two_cache_dirs_share_answers_through_redis(
    staged: Path, llm: FakeOpenAI, redis_server: RedisServer, tmp_path: Path
) -> None:
    first = review(llm, redis_server.url, tmp_path / "laptop-a")
    assert first.code == 0, first.err
    assert len(first.json()["findings"]) == FILES  # a finding on every file
    sent = len(llm.requests)
    assert len(llm.review_requests) == first.json()["stats"]["chunks"] >= 2
    assert len(llm.verify_requests) == first.json()["stats"]["verify_chunks"] >= 2

    second = review(llm, redis_server.url, tmp_path / "laptop-b")

    assert second.code == 0, second.err
    # Nothing sent: laptop B found A's answers and their verifications in Redis.
    assert len(llm.requests) == sent
    assert second.json()["findings"] == first.json()["findings"]
    assert second.json()["stats"]["chunks_cached"] == second.json()["stats"]["chunks"]
    assert warnings_of(first) == warnings_of(second) == []

    client = redis_server.client()
    try:
        keys = sorted(k.decode() for k in client.keys("reviewer:cache:*"))
        answers = [k for k in keys if ":answer:" in k or ":verify:" in k]
        assert len(answers) == sent
        assert all(k.startswith(f"reviewer:cache:{PROJECT}:") for k in keys)  # the namespace
        for name in answers:
            value = client.get(name)
            assert value.startswith(b"rv1z")
            text = zlib.decompress(value[4:])
            assert b'"findings"' in text and len(value) < len(text)  # compressed JSON
            ttl = client.ttl(name)
            assert 29 * 86_400 < ttl <= 30 * 86_400  # the SQLite cache's 30 days
        for name in client.keys("*"):  # nothing anywhere carries the key
            if client.type(name) == b"string":
                raw = client.get(name)
                assert TEST_KEY.encode() not in raw
                if raw.startswith(b"rv1z"):
                    assert TEST_KEY.encode() not in zlib.decompress(raw[4:])
            assert TEST_KEY.encode() not in name
    finally:
        client.close()


def test_an_answer_only_one_laptop_has_is_shared_on_its_next_run(
    staged: Path, llm: FakeOpenAI, redis_server: RedisServer, tmp_path: Path
) -> None:
    local_only = run_cli(
        "-o", "json", "--cache-dir", str(tmp_path / "a"), "--max-chunk-tokens", "300",
        env=endpoint_env(llm),
    )  # fmt: skip
    assert local_only.code == 0
    sent = len(llm.requests)
    assert review(llm, redis_server.url, tmp_path / "a").code == 0  # served locally, shared
    assert review(llm, redis_server.url, tmp_path / "b").code == 0  # served from Redis
    assert len(llm.requests) == sent


def test_the_dialect_an_endpoint_accepts_is_remembered_for_every_laptop(
    staged: Path, redis_server: RedisServer, tmp_path: Path
) -> None:
    with FakeOpenAI(dialects=[rejects_json_schema]) as llm:
        first = review(llm, redis_server.url, tmp_path / "a", "--jobs", "1")
        assert first.code == 0, first.err
        assert llm.requests[0].mode == "json_schema"
        write(staged, "pkg/mod_0.py", module(0, "  # changed"))
        git(staged, "add", "-A")
        before = len(llm.requests)
        second = review(llm, redis_server.url, tmp_path / "b", "--jobs", "1")
        assert second.code == 0, second.err
        new = llm.requests[before:]
    assert new and all(r.mode == "json_object" for r in new)  # no json_schema attempt first


def test_clear_cache_empties_the_projects_share_and_keeps_the_ledger(
    staged: Path, llm: FakeOpenAI, redis_server: RedisServer, tmp_path: Path
) -> None:
    assert review(llm, redis_server.url, tmp_path / "a").code == 0
    client = redis_server.client()
    try:
        client.set("reviewer:cache:someone/else:answer:x", b"theirs")
        cleared = run_cli(
            "--clear-cache", "--cache-dir", str(tmp_path / "a"), "--cache-url", redis_server.url
        )
        assert cleared.code == 0, cleared.err
        assert f"of project {PROJECT} in {redis_server.url}" in cleared.out
        assert client.keys(f"reviewer:cache:{PROJECT}:*") == []
        assert client.get("reviewer:cache:someone/else:answer:x") == b"theirs"
        assert client.xlen("reviewer:usage") == 1
    finally:
        client.close()


# --------------------------------------------------------------------------- the password


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "locked", password="s3cret-Redis-pass") as server:
        yield server


def test_the_password_comes_from_the_environment_or_the_url_and_is_never_shown(
    staged: Path, llm: FakeOpenAI, locked: RedisServer, tmp_path: Path
) -> None:
    password = "s3cret-Redis-pass"
    from_env = review(llm, locked.url, tmp_path / "a", env={"REVIEWER_CACHE_PASSWORD": password})
    assert from_env.code == 0 and warnings_of(from_env) == [], from_env.err
    sent = len(llm.requests)
    with_url = locked.url.replace("redis://", f"redis://:{password}@")
    in_url = review(llm, with_url, tmp_path / "b")
    assert in_url.code == 0 and warnings_of(in_url) == [], in_url.err
    assert len(llm.requests) == sent  # the same store

    shown = run_cli("--show-config", "--cache-url", with_url)
    assert shown.code == 0
    assert password not in shown.out
    assert redacted_url(with_url) in shown.out and "***@127.0.0.1" in shown.out

    wrong = review(llm, locked.url.replace("redis://", "redis://:wrong-password@"), tmp_path / "c")
    assert wrong.code == 0, wrong.err  # reviewed all the same, from the local store
    (warning,) = warnings_of(wrong)
    assert "refused the password" in warning and "wrong-password" not in wrong.err
    assert password not in from_env.err + in_url.err + wrong.err + wrong.out


def test_a_password_in_the_config_file_is_refused(staged: Path, llm: FakeOpenAI) -> None:
    (staged / ".reviewer.toml").write_text('cache-url = "redis://:hunter22@127.0.0.1:6379/0"\n')
    run = run_cli("-o", "json", env=endpoint_env(llm))
    assert run.code == 2
    assert "carries a password" in run.err and "hunter22" not in run.err
    assert llm.requests == []


def test_a_url_that_is_not_redis_is_a_usage_error(staged: Path, llm: FakeOpenAI) -> None:
    run = run_cli("--cache-url", "http://:pw12345678@cache.example/", env=endpoint_env(llm))
    assert run.code == 2
    assert "must be a redis:// or rediss:// URL" in run.err and "pw12345678" not in run.err


# --------------------------------------------------------------------------- faults


def assert_fell_back(run: Run, reason: str, llm: FakeOpenAI, sent_before: int) -> None:
    assert run.code == 0, run.err  # the review itself completed: findings, exit 1
    (warning,) = warnings_of(run)  # one line, whatever failed first
    assert reason in warning and "using this machine's store" in warning
    assert run.json()["failures"] == []
    assert len(llm.requests) > sent_before


def test_an_unreachable_redis_is_one_warning_and_the_local_store(
    staged: Path, llm: FakeOpenAI, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"  # bound, never listening
    run = review(llm, closed, tmp_path / "a", "--requests-per-minute", "6000")
    assert_fell_back(run, "is unreachable", llm, 0)
    sent = len(llm.requests)
    again = review(llm, closed, tmp_path / "a")  # the local cache kept every answer
    assert again.code == 0 and len(llm.requests) == sent
    assert len(warnings_of(again)) == 1


def test_a_redis_that_stops_answering_costs_a_bounded_wait(
    staged: Path, llm: FakeOpenAI, own_redis: RedisServer, tmp_path: Path
) -> None:
    own_redis.freeze()  # accepts connections, answers nothing
    try:
        started = time.monotonic()
        run = review(llm, own_redis.url, tmp_path / "a", "--requests-per-minute", "6000")
        elapsed = time.monotonic() - started
    finally:
        own_redis.thaw()
    assert_fell_back(run, "did not answer in time", llm, 0)
    assert elapsed < 30  # one 0.5 s timeout, then local (the rest is a loaded machine)


def test_a_full_redis_is_one_warning_and_the_answers_stay_local(
    staged: Path, llm: FakeOpenAI, own_redis: RedisServer, tmp_path: Path
) -> None:
    client = own_redis.client()
    try:
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", "1")  # every write: OOM
        run = review(llm, own_redis.url, tmp_path / "a")
        assert_fell_back(run, "is full (out of memory)", llm, 0)
        client.config_set("maxmemory", "0")
    finally:
        client.close()
    sent = len(llm.requests)
    assert review(llm, own_redis.url, tmp_path / "a").code == 0  # from the local cache
    assert len(llm.requests) == sent


def test_garbage_in_redis_is_one_warning_and_never_served(
    staged: Path, llm: FakeOpenAI, redis_server: RedisServer, tmp_path: Path
) -> None:
    first = review(llm, redis_server.url, tmp_path / "a")
    assert first.code == 0
    sent = len(llm.requests)
    client = redis_server.client()
    try:
        for name in client.keys("reviewer:cache:*:answer:*"):
            client.set(name, b'{"summary": "planted", "findings": []}')  # not ours
    finally:
        client.close()
    run = review(llm, redis_server.url, tmp_path / "b")
    assert_fell_back(run, "returned garbage", llm, sent)
    assert "planted" not in run.out


class GarbageServer:
    """Speaks anything but Redis: every read gets an HTTP error page."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def test_a_server_answering_garbage_is_one_warning(
    staged: Path, llm: FakeOpenAI, tmp_path: Path
) -> None:
    server = GarbageServer()
    try:
        run = review(llm, server.url, tmp_path / "a", "--requests-per-minute", "6000")
    finally:
        server.close()
    assert run.code == 0, run.err
    (warning,) = warnings_of(run)
    assert "returned garbage" in warning or "is unreachable" in warning, warning


def test_the_hook_with_a_dead_redis_still_commits_quickly(
    staged: Path, llm: FakeOpenAI, tmp_path: Path
) -> None:
    """The real console script, as pre-commit runs it: no traceback, one warning."""
    run = run_subprocess(
        "--hook",
        "pre-commit",
        "--cache-url",
        "redis://127.0.0.1:1/0",
        "--cache-dir",
        str(tmp_path / "c"),
        cwd=staged,
        env=endpoint_env(llm),
    )
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    assert len(warnings_of(run)) == 1


# --------------------------------------------------------------------------- start-up

PROBE = """
import sys
sys.argv = ["review", *sys.argv[1:]]
from reviewer.cli import main
try:
    main()
finally:
    sys.stderr.write("\\nPROBE redis=%s\\n" % ("redis" in sys.modules))
"""


def imports_redis(*args: str, cwd: Path, env: dict[str, str]) -> bool:
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    return "PROBE redis=True" in proc.stderr


def test_without_a_cache_url_redis_is_never_imported(
    staged: Path, llm: FakeOpenAI, redis_server: RedisServer, tmp_path: Path
) -> None:
    env = endpoint_env(llm)
    cache = ("--cache-dir", str(tmp_path / "c"))
    limited = ("--requests-per-minute", "6000", "--monthly-budget", "100")
    assert not imports_redis(*cache, *limited, cwd=staged, env=env)  # sends, limits, records
    assert not imports_redis(*cache, *limited, cwd=staged, env=env)  # from the cache
    assert imports_redis(*cache, "--cache-url", redis_server.url, cwd=staged, env=env)


# --------------------------------------------------------------------------- TLS


def test_rediss_talks_tls_and_refuses_a_server_it_cannot_verify(
    staged: Path, llm: FakeOpenAI, tmp_path: Path
) -> None:
    if not shutil.which("openssl"):
        message = "openssl is not installed: no certificates for the TLS test (.ci/run installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    tls = make_tls_files(tmp_path / "tls")
    with RedisServer(tmp_path / "redis-tls", tls=tls) as server:
        assert server.url.startswith("rediss://")
        first = review(llm, server.url, tmp_path / "a")
        assert first.code == 0 and warnings_of(first) == [], first.err
        sent = len(llm.requests)
        second = review(llm, server.url, tmp_path / "b")
        assert second.code == 0 and len(llm.requests) == sent  # shared over TLS
        # Without our CA the certificate cannot be verified: a warning, never plain text.
        unverified = server.url.split("?", 1)[0]
        third = review(llm, unverified, tmp_path / "c")
        assert third.code == 0, third.err
        (warning,) = warnings_of(third)
        assert "is unreachable" in warning and "CERTIFICATE" in warning.upper()
