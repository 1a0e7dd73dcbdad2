"""Chunks go out ``--jobs`` at a time, under one rate gate that a 429 closes for every worker.

The fake server records when each request arrives (``Received.at``, ``time.monotonic()`` in
this process, the same clock the in-process run uses), so the assertions are about what
reached the server and when.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from conftest import clean_answer, endpoint_env, run_cli
from fake_openai import FakeOpenAI, Received, Reply, reply_error, reply_json
from gitrepo import commit, git, write

from reviewer.llm.ratelimit import RateGate

LATENCY = 0.3
# Small enough that every file below is a chunk of its own.
ONE_FILE_PER_CHUNK = ("--max-chunk-tokens", "300")


def slow_clean(delay: float) -> object:
    def answer(req: Received) -> Reply:
        return reply_json({"summary": "ok", "findings": []}, delay=delay)

    return answer


def stage_files(repo: Path, count: int) -> None:
    write(repo, "README.md", "readme\n")
    commit(repo, "base")
    for i in range(count):
        body = "".join(f"item_{i}_{n} = make({n}, {i})\n" for n in range(9))
        write(repo, f"src/file_{i:02d}.py", body)
    git(repo, "add", "-A")


def review(server: FakeOpenAI, *args: str) -> dict[str, object]:
    run = run_cli("-o", "json", "--no-cache", *ONE_FILE_PER_CHUNK, *args, env=endpoint_env(server))
    assert run.code == 0, run.err
    result: dict[str, object] = run.json()
    return result


def arrivals(server: FakeOpenAI) -> list[float]:
    return sorted(r.at for r in server.requests)


def test_chunks_go_out_jobs_at_a_time(repo: Path) -> None:
    stage_files(repo, 8)
    with FakeOpenAI(default=clean_answer, latency=LATENCY) as server:
        result = review(server, "--jobs", "4")
        times = arrivals(server)

    assert result["stats"]["chunks"] == 8  # type: ignore[index]
    assert len(times) == 8
    # Four at once (well inside one latency), and the fifth only once one of them is answered.
    assert times[3] - times[0] < LATENCY
    assert times[4] - times[0] >= LATENCY
    # Never more than four in flight: the (k+4)th starts after the kth is answered.
    for k in range(len(times) - 4):
        assert times[k + 4] - times[k] >= LATENCY


def test_jobs_1_sends_one_request_at_a_time(repo: Path) -> None:
    stage_files(repo, 3)
    with FakeOpenAI(default=clean_answer, latency=0.15) as server:
        review(server, "--jobs", "1")
        times = arrivals(server)

    assert len(times) == 3
    assert all(b - a >= 0.15 for a, b in itertools.pairwise(times))


def test_a_429_with_retry_after_holds_every_worker(repo: Path) -> None:
    """One worker is told to wait 0.5 s while three others are in flight: none of the four
    sends anything until the pause is over."""
    stage_files(repo, 8)
    pause, reply_delay = 0.5, 0.2
    with FakeOpenAI(default=slow_clean(LATENCY)) as server:
        # The first request to arrive gets the 429, after the other three are on their way.
        server.enqueue(
            Reply(
                status=429,
                body={"error": {"message": "Rate limit reached", "type": "rate_limit"}},
                headers={"Retry-After": str(pause)},
                delay=reply_delay,
            )
        )
        result = review(server, "--jobs", "4")
        times = arrivals(server)

    assert result["stats"]["chunks"] == 8  # type: ignore[index]
    assert result["stats"]["retries"] == 1  # type: ignore[index]
    assert not result["failures"]
    assert len(times) == 9  # eight chunks and one retry
    limited = times[0]
    first_wave = [t for t in times if t < limited + reply_delay]
    assert len(first_wave) == 4, f"expected four requests in flight, got {times}"
    # The 429 left the server at limited + reply_delay; the pause runs from when the client
    # read it, so nothing may arrive before limited + reply_delay + pause.
    later = times[4:]
    assert min(later) >= limited + reply_delay + pause, (
        f"a request arrived during the pause: {[round(t - limited, 3) for t in times]}"
    )
    # Without the shared gate the three others would have sent their next chunk at ~LATENCY.
    assert reply_delay + pause > LATENCY


def test_a_429_that_outlasts_the_deadline_fails_the_chunk_not_the_run(repo: Path) -> None:
    stage_files(repo, 1)
    with FakeOpenAI(default=clean_answer) as server:
        server.enqueue(reply_error(429, "Rate limit reached", {"Retry-After": "30"}))
        run = run_cli(
            "-o", "json", "--no-cache", "--deadline", "2", "--fail-open", env=endpoint_env(server)
        )
        assert len(server.requests) == 1  # no retry that would start after the deadline

    assert run.code == 0, run.err
    failures = run.json()["failures"]
    assert [f["kind"] for f in failures] == ["rate-limited"]


# --------------------------------------------------------------------------- RateGate


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_gate_is_open_until_a_pause() -> None:
    clock = FakeClock()
    gate = RateGate(clock=clock, sleep=clock.sleep)
    assert gate.acquire() is True
    assert clock.slept == [] and gate.pauses == 0


def test_a_pause_holds_acquire_until_it_ends() -> None:
    clock = FakeClock()
    gate = RateGate(clock=clock, sleep=clock.sleep)
    gate.pause_for(2.0)
    assert gate.acquire() is True
    assert clock.now == pytest.approx(102.0)
    assert gate.pauses == 1


def test_a_shorter_pause_never_shortens_a_longer_one() -> None:
    clock = FakeClock()
    gate = RateGate(clock=clock, sleep=clock.sleep)
    gate.pause_for(5.0)
    gate.pause_for(1.0)
    assert gate.paused_until == pytest.approx(105.0)
    gate.pause_for(8.0)
    assert gate.paused_until == pytest.approx(108.0)
    assert gate.pauses == 3


def test_acquire_gives_up_at_once_when_the_pause_outlasts_the_deadline() -> None:
    clock = FakeClock()
    gate = RateGate(clock=clock, sleep=clock.sleep)
    gate.pause_for(10.0)
    assert gate.acquire(deadline=105.0) is False
    assert clock.slept == []  # no waiting for a pause it cannot outlive
    assert gate.acquire(deadline=120.0) is True


def test_negative_pauses_are_no_pauses() -> None:
    clock = FakeClock()
    gate = RateGate(clock=clock, sleep=clock.sleep)
    gate.pause_for(-3.0)
    assert gate.acquire() is True and clock.slept == []
