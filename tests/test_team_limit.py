"""One rate limit for every process using the store, and the provider's headers feeding it.

* Pure parts: the ``x-ratelimit-*`` parser, the pacing rule, GCRA booking.
* The limiters: memory and SQLite (threads of one process here), the Redis script.
* End to end, measured at the fake model server: four ``review`` processes at once hold the
  configured requests-per-minute, through Redis and through SQLite on one machine; a reply
  saying the key is spent holds the next process's request until the reset.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import TEST_KEY, clean_answer
from fake_openai import (
    FakeOpenAI,
    ProviderLimit,
    Received,
    go_duration,
    ratelimit_headers,
    reply_json,
)
from redis_server import RedisServer

from reviewer.llm.backend import ChatRequest, Message
from reviewer.llm.openai_backend import OpenAIBackend
from reviewer.llm.ratelimit import (
    RateGate,
    RateLimits,
    parse_duration,
    parse_rate_limit_headers,
    pause_from_limits,
)
from reviewer.store.limiter import Limit, MemoryLimiter, RedisLimiter, SqliteLimiter, book
from reviewer.store.redis_link import RedisLink

# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("2.5", 2.5),
        ("0s", 0.0),
        ("soon", None),
        ("1x", None),
        ("-3", None),
        ("", None),
        (None, None),
    ],
)
def test_reset_durations_parse_as_openai_writes_them(
    text: str | None, seconds: float | None
) -> None:
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_rate_limit_headers_parse_case_insensitively_and_ignore_garbage() -> None:
    limits = parse_rate_limit_headers(
        {
            "X-RateLimit-Limit-Requests": "500",
            "x-ratelimit-remaining-requests": "499",
            "x-ratelimit-reset-requests": "120ms",
            "x-ratelimit-limit-tokens": "30000",
            "x-ratelimit-remaining-tokens": "not a number",
            "x-ratelimit-reset-tokens": "1m0.5s",
            "content-type": "application/json",
        }
    )
    assert limits == RateLimits(
        limit_requests=500,
        remaining_requests=499,
        reset_requests=0.12,
        limit_tokens=30000,
        reset_tokens=60.5,
    )
    assert parse_rate_limit_headers({"content-type": "application/json"}) is None
    assert parse_rate_limit_headers({"x-ratelimit-remaining-requests": "junk"}) is None


def test_plenty_left_means_no_pause_and_the_last_requests_are_spread_to_the_reset() -> None:
    assert pause_from_limits(RateLimits(remaining_requests=400, reset_requests=10)) == 0
    assert pause_from_limits(RateLimits(remaining_requests=0, reset_requests=2)) == 2
    assert pause_from_limits(RateLimits(remaining_requests=3, reset_requests=2)) == 0.5
    # tokens: 5,000 left at 1,000 a request is 5 requests' worth
    tokens = RateLimits(remaining_tokens=5000, reset_tokens=12)
    assert pause_from_limits(tokens, tokens=1000) == 2.0
    assert pause_from_limits(tokens, tokens=100) == 0  # 50 requests' worth
    assert pause_from_limits(RateLimits(remaining_requests=0)) == 0  # no reset: no guess


def test_the_backend_hands_the_headers_to_the_reply() -> None:
    headers = ratelimit_headers(
        limit_requests=60, remaining_requests=0, reset_requests=1.5, remaining_tokens=900
    )
    with FakeOpenAI() as srv:
        srv.enqueue(reply_json({"summary": "ok", "findings": []}, headers=headers))
        with OpenAIBackend(base_url=srv.base_url, api_key=TEST_KEY, model="m") as backend:
            reply = backend.complete(
                ChatRequest(messages=(Message(role="user", content="x"),), mode="json_object")
            )
    assert reply.rate_limits == RateLimits(
        limit_requests=60, remaining_requests=0, reset_requests=1.5, remaining_tokens=900
    )
    assert go_duration(90) == "1m30s"


# --------------------------------------------------------------------------- GCRA


def test_gcra_spaces_requests_after_a_burst_of_one_seconds_worth() -> None:
    limits = [Limit("requests", 120)]  # 0.5 s apart, burst 2
    tats, starts = [0.0], []
    for _ in range(5):
        start, tats = book(100.0, 0.0, tats, limits, tokens=1)
        starts.append(start)
    assert starts == pytest.approx([100.0, 100.0, 100.5, 101.0, 101.5])


def test_gcra_charges_tokens_and_a_request_larger_than_the_burst_waits_for_an_idle_limit() -> None:
    limits = [Limit("tokens", 6000)]  # 100 tokens/s, burst 100
    start1, tats = book(0.0, 0.0, [0.0], limits, tokens=500)
    start2, tats = book(0.0, 0.0, tats, limits, tokens=500)
    assert (start1, start2) == (0.0, pytest.approx(5.0))  # the first 500 took 5 s of budget
    # both limits together: the later of the two decides, and both are booked
    both = [Limit("requests", 600), Limit("tokens", 6000)]
    start, tats = book(0.0, 0.0, [0.0, 0.0], both, tokens=50)
    assert start == 0.0 and tats == pytest.approx([0.1, 0.5])


def test_a_pause_moves_every_booking_past_it() -> None:
    start, _ = book(10.0, 13.0, [0.0], [Limit("requests", 60)], tokens=1)
    assert start == 13.0


def test_memory_limiter_refuses_what_would_wait_past_max_wait_and_books_nothing() -> None:
    now = [0.0]
    limiter = MemoryLimiter([Limit("requests", 60)], clock=lambda: now[0])
    assert limiter.reserve(1, max_wait=math.inf) == 0.0
    assert limiter.reserve(1, max_wait=0.5) is None  # would wait 1 s
    assert limiter.reserve(1, max_wait=5) == pytest.approx(1.0)
    limiter.pause(10)
    assert limiter.reserve(1, max_wait=math.inf) == pytest.approx(10.0)


def test_sqlite_limiter_is_shared_by_two_instances_of_one_file(tmp_path: Path) -> None:
    warnings: list[str] = []
    a = SqliteLimiter(tmp_path, "scope", [Limit("requests", 60)], warnings.append)
    b = SqliteLimiter(tmp_path, "scope", [Limit("requests", 60)], warnings.append)
    other = SqliteLimiter(tmp_path, "other", [Limit("requests", 60)], warnings.append)
    try:
        assert a.reserve(1, math.inf) == pytest.approx(0.0, abs=0.05)
        assert b.reserve(1, math.inf) == pytest.approx(1.0, abs=0.05)
        assert a.reserve(1, math.inf) == pytest.approx(2.0, abs=0.05)
        assert other.reserve(1, math.inf) == pytest.approx(0.0, abs=0.05)  # its own scope
        b.pause(30)
        assert a.reserve(1, math.inf) == pytest.approx(30.0, abs=0.1)
    finally:
        for limiter in (a, b, other):
            limiter.close()
    assert warnings == []


def test_an_unusable_sqlite_limiter_warns_once_and_limits_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    warnings: list[str] = []
    limiter = SqliteLimiter(blocker, "s", [Limit("requests", 60)], warnings.append)
    assert limiter.reserve(1, math.inf) == 0.0
    assert limiter.reserve(1, math.inf) == pytest.approx(1.0, abs=0.05)
    assert len(warnings) == 1 and "limiting this process only" in warnings[0]


def test_the_redis_script_books_like_the_python_one(redis_server: RedisServer) -> None:
    warnings: list[str] = []
    link = RedisLink(redis_server.url, {}, warnings.append)
    fallback = MemoryLimiter([Limit("requests", 60)])
    limiter = RedisLimiter(link, "s", [Limit("requests", 60), Limit("tokens", 600)], fallback)
    try:
        waits = [limiter.reserve(5, math.inf) for _ in range(3)]
        # requests: 1 s apart; tokens: 10/s with a burst of 10, 5 a request: 0.5 s apart
        assert waits == pytest.approx([0.0, 1.0, 2.0], abs=0.05)
        assert limiter.reserve(5, max_wait=1.0) is None  # 3 s away: not booked
        assert limiter.reserve(5, math.inf) == pytest.approx(3.0, abs=0.05)
        limiter.pause(20)
        assert limiter.reserve(1, math.inf) == pytest.approx(20.0, abs=0.1)
    finally:
        link.close()
    assert warnings == []
    assert fallback.reserve(1, math.inf) == 0.0  # never used


def test_the_gate_waits_for_its_booked_slot() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    shared = MemoryLimiter([Limit("requests", 60)], clock=lambda: now[0])
    gate = RateGate(clock=lambda: now[0], sleep=sleep, shared=shared)
    assert gate.acquire(deadline=10.0)
    assert gate.acquire(deadline=10.0)
    assert slept == [1.0]
    now[0] = 1.0
    assert not gate.acquire(deadline=1.5)  # the next slot (2 s) is past the deadline
    gate.observe(RateLimits(remaining_requests=0, reset_requests=4.0))
    assert gate.paused_until == 5.0
    assert shared.reserve(1, math.inf) == pytest.approx(4.0)  # the pause reached the store


def test_threads_of_one_process_share_one_sqlite_limit(tmp_path: Path) -> None:
    limiter = SqliteLimiter(tmp_path, "s", [Limit("requests", 1200)], lambda m: None)
    gate = RateGate(shared=limiter)
    sent: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            assert gate.acquire()
            with lock:
                sent.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    limiter.close()
    sent.sort()
    # 20 a second, bursts of 20: 20 at once; the next would wait 50 ms
    assert len(sent) == 20
    assert max_in_window(sent, 0.5) <= 20 + 10 + 1


# --------------------------------------------------------------------------- processes


def max_in_window(times: list[float], window: float) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] < t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def make_sources(root: Path, count: int, per_process: int) -> list[list[str]]:
    """``count`` groups of ``per_process`` files with distinct content (no cache hits)."""
    groups = []
    for p in range(count):
        names = []
        for i in range(per_process):
            name = f"p{p}_m{i}.py"
            (root / name).write_text(
                "".join(f"value_{p}_{i}_{n} = compute({n})\n" for n in range(15))
            )
            names.append(name)
        groups.append(names)
    return groups


# The real entry point, with openai imported before it starts: its ~0.5 s (seconds under
# load) import would otherwise come between the limiter's slot and the request reaching the
# server, and the server measures arrivals.
# With READY_DIR set, each process says it is ready and waits for the word to go, so that
# four processes start sending together however long their interpreters took to start.
PREIMPORTED = """
import os, sys, time
import openai
from reviewer.cli import console
ready = os.environ.get("READY_DIR")
if ready:
    open(os.path.join(ready, str(os.getpid())), "w").close()
    while not os.path.exists(os.path.join(ready, "go")):
        time.sleep(0.005)
sys.argv = ["review", *sys.argv[1:]]
console()
"""


def start_together(procs: list[subprocess.Popen[str]], ready: Path) -> None:
    end = time.monotonic() + 120
    while len([p for p in ready.iterdir() if p.name != "go"]) < len(procs):
        assert time.monotonic() < end, "the review processes did not start"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.01)
    (ready / "go").touch()


def launch(
    llm: FakeOpenAI,
    root: Path,
    files: list[str],
    cache_dir: Path,
    *extra: str,
    ready: Path | None = None,
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "OPENAI_API_KEY": TEST_KEY,
        "REVIEWER_BASE_URL": llm.base_url,
        **({"READY_DIR": str(ready)} if ready else {}),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            PREIMPORTED,
            "-q",
            "-o",
            "json",
            "--max-chunk-tokens",
            "400",
            "--jobs",
            str(len(files)),
            "--cache-dir",
            str(cache_dir),
            *extra,
            *files,
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def finish(procs: list[subprocess.Popen[str]]) -> list[str]:
    errors = []
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        errors.append(err)
    return errors


@pytest.mark.slow  # ~12 s each: a rate slow enough to measure on a loaded 2-core machine
@pytest.mark.parametrize("store", ["redis", "sqlite"])
def test_four_processes_hold_the_requests_per_minute_at_the_server(
    store: str, tmp_path: Path, redis_server: RedisServer
) -> None:
    rpm, processes, chunks = 60.0, 4, 3  # one a second: 12 requests in ~11 s
    root = tmp_path / "src"
    root.mkdir()
    ready = tmp_path / "ready"
    ready.mkdir()
    groups = make_sources(root, processes, chunks)
    extra = ["--requests-per-minute", str(rpm)]
    with FakeOpenAI(default=clean_answer) as llm:
        procs = []
        for p, files in enumerate(groups):
            # Redis: every process its own cache directory; SQLite: one machine, one directory.
            cache_dir = tmp_path / (f"cache{p}" if store == "redis" else "cache")
            more = ["--cache-url", redis_server.url] if store == "redis" else []
            procs.append(launch(llm, root, files, cache_dir, *extra, *more, ready=ready))
        start_together(procs, ready)
        errors = finish(procs)
        arrivals = sorted((r.at, sender(r)) for r in llm.requests)

    assert not any("warning" in e for e in errors), errors
    times = [t for t, _ in arrivals]
    assert len(times) == processes * chunks
    interval, burst = 60 / rpm, max(1, rpm / 60)
    # Never faster than the limit: any n requests span at least (n - burst) intervals. One
    # request of slack (and 0.1 s): a request may reach the server later than its slot (a
    # thread's first connection on a loaded machine). Unlimited, all 12 go in about a second.
    for i in range(len(times)):
        for j in range(i + 1, len(times)):
            n = j - i + 1
            assert times[j] - times[i] >= (n - burst - 1) * interval - 0.1, (i, j, times)
    # And the rate is held, not starved: every process books all its requests as soon as it
    # starts, so from the first request to the last the server sees the configured rate
    # (within 25%; the first burst makes it a little faster).
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate >= 0.75 * rpm / 60, (rate, arrivals)
    assert {p for _, p in arrivals} == set(range(processes))


def sender(req: Received) -> int:
    """Which process sent ``req``: its files are named ``p<process>_m<i>.py``."""
    match = re.search(r"=== FILE: p(\d+)_m", req.messages[-1]["content"])
    assert match, req.messages[-1]["content"][:200]
    return int(match.group(1))


@pytest.mark.parametrize("store", ["redis", "sqlite"])
def test_a_spent_key_holds_the_next_process_until_the_reset(
    store: str, tmp_path: Path, redis_server: RedisServer
) -> None:
    root = tmp_path / "src"
    root.mkdir()
    (first,), (second,) = make_sources(root, 2, 1)
    spent = ratelimit_headers(limit_requests=10, remaining_requests=0, reset_requests=1.5)
    more = ["--cache-url", redis_server.url] if store == "redis" else []
    with FakeOpenAI(default=clean_answer) as llm:
        llm.enqueue(reply_json({"summary": "ok", "findings": []}, headers=spent))
        finish([launch(llm, root, [first], tmp_path / "a", *more)])
        answered = time.monotonic()
        cache_b = tmp_path / ("b" if store == "redis" else "a")
        finish([launch(llm, root, [second], cache_b, *more)])
        requests = llm.requests

    assert len(requests) == 2
    # The second process started after the first had its answer, and still waited.
    assert requests[1].at - requests[0].at >= 1.45
    assert requests[1].at >= answered  # (it was not just the first one being slow)


@pytest.mark.slow  # three processes one after another, paced by the headers
def test_the_provider_limit_is_met_without_a_429_once_its_headers_are_known(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """Three processes one after the other on one key of 2 requests a second: the headers
    of each reply pace the rest, so the limit is never hit."""
    root = tmp_path / "src"
    root.mkdir()
    groups = make_sources(root, 3, 2)
    limit = ProviderLimit(2, 1.0, answer=clean_answer)
    with FakeOpenAI(default=limit) as llm:
        for p, files in enumerate(groups):
            launch_args = ["--jobs", "1", "--cache-url", redis_server.url]
            finish([launch(llm, root, files, tmp_path / f"c{p}", *launch_args)])
        count = len(llm.requests)
    assert limit.rejected == 0
    assert count == 6
