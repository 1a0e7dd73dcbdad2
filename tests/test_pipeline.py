"""The pipeline through the CLI: the line model (findings anchored on the chunk, or counted as
discarded/clamped) and the strict-JSON conversation with an endpoint that misbehaves.

Every scenario is a real ``review`` run against the fake OpenAI server, asserted on the
``-o json`` result, the exit code and what the server received.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, chunk_files, clean_answer
from fake_openai import (
    FakeOpenAI,
    Received,
    Reply,
    rejects_json_schema,
    reply_error,
    reply_json,
    reply_text,
)
from gitrepo import commit, git, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import change, json_of, lines, review

# Keep every finding the model makes visible, so the counts below add up.
SHOW_ALL = ("--min-severity", "info", "--min-confidence", "0", "--max-findings", "0")


def finding(path: str, start: int, end: int | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "path": path,
        "start_line": start,
        "end_line": start if end is None else end,
        "severity": "medium",
        "category": "bug",
        "confidence": 0.9,
        "title": f"Problem at {path}:{start}-{end}",
        "message": "Wrong.",
        "suggestion": None,
        **extra,
    }


def chunk_of(req: Received) -> dict[str, list[int]]:
    """``chunk_files`` of the chunk a request carries, also in a re-ask (whose last message
    is the re-ask, not the code)."""
    return chunk_files(dataclasses.replace(req, body={**req.body, "messages": req.messages[:2]}))


def first_changed_line(req: Received) -> Reply:
    """One finding on the first changed line of each file of the chunk (as on a re-ask)."""
    return answer(*(finding(path, changed[0]) for path, changed in chunk_of(req).items()))


def answer(*findings: dict[str, Any]) -> Reply:
    return reply_json({"summary": "Reviewed.", "findings": list(findings)})


@pytest.fixture
def diffed(repo: Path) -> Path:
    """Staged: two lines (6, 7) inserted into a committed ten-line ``a.py``; context 3-5, 8-10."""
    write(repo, "a.py", lines(10, "a"))
    commit(repo)
    change(repo, "a.py", at=5, text="new_1 = 1\nnew_2 = 2\n")
    git(repo, "add", "a.py")
    return repo


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, llm: FakeOpenAI) -> Path:
    """A plain directory with ``good.py`` and ``bad.py``, reviewed whole; with
    ``--max-chunk-tokens 200`` each is one chunk."""
    write(tmp_path, "good.py", lines(6, "good"))
    write(tmp_path, "bad.py", lines(6, "bad"))
    monkeypatch.chdir(tmp_path)
    llm.default = first_changed_line
    return tmp_path


TWO_CHUNKS = ("good.py", "bad.py", "--max-chunk-tokens", "200", "-o", "json")


# --------------------------------------------------------------------------- the line model


def test_findings_off_the_chunk_are_discarded_and_partial_ones_clamped(
    diffed: Path, llm: FakeOpenAI
) -> None:
    llm.enqueue(
        answer(
            finding("other.py", 6),  # not a file of the chunk
            finding("a.py", 3, 4),  # context lines only
            finding("a.py", 40),  # a line the chunk never showed
            finding("a.py", 4, 6),  # overlaps the change: clamped to 6
            finding("a.py", 7),  # on a changed line: kept as is
        )
    )
    run = review("-o", "json", "--no-cache", *SHOW_ALL, server=llm)
    assert run.code == 0, run.err
    assert [chunk_files(r) for r in llm.review_requests] == [{"a.py": [6, 7]}]
    result = json_of(run)
    assert sorted((f["start_line"], f["end_line"]) for f in result["findings"]) == [(6, 6), (7, 7)]
    assert {f["path"] for f in result["findings"]} == {"a.py"}
    stats = result["stats"]
    assert (stats["discarded_findings"], stats["clamped_findings"]) == (3, 1)
    assert stats["findings_total"] == 2

    # The terminal report says that some were not shown.
    llm.enqueue(answer(finding("other.py", 6), finding("a.py", 7)))
    run = review("--no-cache", *SHOW_ALL, server=llm)
    assert "not shown: 1 discarded" in run.out


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a.py", "./a.py", "b/a.py", "other.py"]),
            st.integers(min_value=1, max_value=14),
            st.integers(min_value=0, max_value=4),
        ),
        max_size=6,
    )
)
def test_no_finding_ever_lands_off_the_changed_lines(
    diffed: Path, llm: FakeOpenAI, model_findings: list[tuple[str, int, int]]
) -> None:
    llm.reset().enqueue(
        answer(
            *(
                finding(path, start, start + length, title=f"t{i}")
                for i, (path, start, length) in enumerate(model_findings)
            )
        )
    )
    run = review("-o", "json", "--no-cache", *SHOW_ALL, server=llm)
    assert run.code == 0, run.err
    result = json_of(run)
    (request,) = llm.review_requests
    changed = chunk_files(request)
    assert changed == {"a.py": [6, 7]}
    for f in result["findings"]:
        assert f["path"] in changed
        assert set(range(f["start_line"], f["end_line"] + 1)) <= set(changed[f["path"]])
    stats = result["stats"]
    accounted = len(result["findings"]) + stats["discarded_findings"] + stats["duplicate_findings"]
    assert accounted == len(model_findings)


# --------------------------------------------------------------------------- strict JSON


def test_response_format_fallback_is_reported_loudly(files: Path, llm: FakeOpenAI) -> None:
    llm.dialects = (rejects_json_schema,)
    run = review("good.py", "-o", "json", "-o", "terminal=report.txt", server=llm)
    assert run.code == 0, run.err
    assert [r.mode for r in llm.review_requests] == ["json_schema", "json_object"]
    # The verification starts where the review ended: no second fallback, no second warning.
    assert [r.mode for r in llm.verify_requests] == ["json_object"]
    result = json_of(run)
    assert result["stats"]["response_format"] == "json_object"
    assert len(result["findings"]) == 1
    (warning,) = result["warnings"]
    assert "rejected response format json_schema" in warning
    assert "This response_format type is unavailable now" in warning
    report = (files / "report.txt").read_text()
    assert "\nWarnings\n  ! the endpoint rejected response format json_schema" in report
    # No terminal report on stdout: the warning goes to stderr too.
    assert f"review: warning: {warning}" in run.err.splitlines()


def test_invalid_json_is_re_asked_once(files: Path, llm: FakeOpenAI) -> None:
    llm.enqueue(reply_text("Sure! Here is my review: {not json"))
    run = review("good.py", "-o", "json", server=llm)
    assert run.code == 0, run.err
    _first, second = llm.review_requests
    assert [m["role"] for m in second.messages] == ["system", "user", "assistant", "user"]
    assert second.messages[2]["content"] == "Sure! Here is my review: {not json"
    assert "Your previous answer was rejected" in second.messages[3]["content"]
    result = json_of(run)
    assert result["failures"] == []
    assert len(result["findings"]) == 1
    assert (result["stats"]["requests"], result["stats"]["verify_requests"]) == (3, 1)


def test_a_chunk_invalid_twice_fails_and_the_other_chunks_count(
    files: Path, llm: FakeOpenAI
) -> None:
    def reply(req: Received) -> Reply:
        if "bad.py" in chunk_of(req):
            return reply_json({"summary": "x", "findings": [{"path": "bad.py"}]})
        return first_changed_line(req)

    llm.default = reply
    run = review(*TWO_CHUNKS, "-o", "terminal=report.txt", server=llm)
    assert run.code == 3, run.err
    result = json_of(run)
    (failure,) = result["failures"]
    assert failure["paths"] == ["bad.py"]
    assert failure["kind"] == "invalid-output"
    assert "invalid twice" in failure["message"]
    assert [f["path"] for f in result["findings"]] == ["good.py"]
    assert result["stats"]["chunks_failed"] == 1
    assert len(llm.review_requests) == 3  # bad.py asked twice, good.py once
    assert [list(chunk_files(r)) for r in llm.verify_requests] == [["good.py"]]
    report = (files / "report.txt").read_text()
    assert "Review INCOMPLETE: 1 of 2 chunks failed" in report
    assert "Failed chunks (1)" in report and "bad.py - invalid-output" in report


def test_an_answer_cut_off_is_re_asked_with_more_room(files: Path, llm: FakeOpenAI) -> None:
    llm.enqueue(reply_text('{"summary": "Rev', finish_reason="length"))
    run = review("good.py", "-o", "json", server=llm)
    assert run.code == 0, run.err
    first, second = llm.review_requests
    assert second.body["max_tokens"] > first.body["max_tokens"]
    assert "cut off" in second.messages[-1]["content"]
    assert len(json_of(run)["findings"]) == 1

    llm.reset().default = lambda _req: reply_text('{"summary": "Rev', finish_reason="length")
    run = review("good.py", "-o", "json", "--no-cache", server=llm)
    assert run.code == 3
    (failure,) = json_of(run)["failures"]
    assert failure["kind"] == "length"


def test_401_ends_the_run_naming_the_key_variable_not_the_key(files: Path, llm: FakeOpenAI) -> None:
    llm.enqueue(reply_error(401, f"Incorrect API key provided: {TEST_KEY}", code="invalid_api_key"))
    run = review(*TWO_CHUNKS, "--jobs", "1", "--quiet", server=llm)
    assert run.code == 3
    assert run.out == ""
    (line,) = run.err.splitlines()
    assert line.startswith("review: error: ")
    assert "HTTP 401" in line and "OPENAI_API_KEY" in line
    assert len(llm.requests) == 1  # the other chunk would fail the same way: not sent


def test_429_waits_for_retry_after_then_succeeds(files: Path, llm: FakeOpenAI) -> None:
    llm.enqueue(reply_error(429, "Rate limit reached", headers={"Retry-After": "0.3"}))
    run = review("good.py", "-o", "json", server=llm)
    assert run.code == 0, run.err
    first, second = llm.review_requests
    assert second.at - first.at >= 0.3
    result = json_of(run)
    stats = result["stats"]
    assert (stats["retries"], stats["requests"], stats["verify_requests"]) == (1, 3, 1)
    assert len(result["findings"]) == 1


def test_500_is_retried(files: Path, llm: FakeOpenAI) -> None:
    # retry-after-ms keeps the test fast; without it the backoff is about a second.
    llm.enqueue(
        reply_error(
            500, "The server had an error", type="server_error", headers={"retry-after-ms": "20"}
        )
    )
    run = review("good.py", "-o", "json", server=llm)
    assert run.code == 0, run.err
    result = json_of(run)
    stats = result["stats"]
    assert (stats["retries"], stats["requests"], stats["verify_requests"]) == (1, 3, 1)
    assert result["failures"] == []


def test_a_timeout_fails_the_chunk_quickly(files: Path, llm: FakeOpenAI) -> None:
    llm.enqueue(Reply(body=None, delay=5))
    started = time.monotonic()
    run = review("good.py", "-o", "json", "--timeout", "0.3", "--max-retries", "0", server=llm)
    elapsed = time.monotonic() - started
    assert run.code == 3
    (failure,) = json_of(run)["failures"]
    assert failure["kind"] == "timeout"
    assert "0.3s" in failure["message"]
    assert elapsed < 3


def test_cached_answers_are_not_asked_again(files: Path, llm: FakeOpenAI) -> None:
    first = json_of(review("good.py", "-o", "json", server=llm))
    second = json_of(review("good.py", "-o", "json", server=llm))
    assert (len(llm.review_requests), len(llm.verify_requests)) == (1, 1)
    assert second["stats"]["chunks_cached"] == 1
    assert second["stats"]["verify_cached"] == 1
    assert second["findings"] == first["findings"]
    llm.default = clean_answer
    third = json_of(review("good.py", "-o", "json", "--no-cache", server=llm))
    assert len(llm.review_requests) == 2 and third["findings"] == []
    assert len(llm.verify_requests) == 1  # nothing found: nothing to check


def test_json_result_round_trips(files: Path, llm: FakeOpenAI) -> None:
    from reviewer.core.values import ReviewResult

    run = review("good.py", "-o", "json", server=llm)
    parsed = ReviewResult.model_validate(json.loads(run.out))
    assert parsed.findings[0].path == "good.py"
