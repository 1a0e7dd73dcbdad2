"""``review eval`` end to end: the real entry point, real git, the fake model server answering
each case from a script, and the exact figures the run must print.

The corpus is ``tests/data/eval-corpus`` (six cases: four with five known problems, two clean
changes; one given as a diff, one a rename). The script below answers per file, so every figure
follows from it by hand:

=========  ===============================  ==========================================
case       known problems                   scripted findings
=========  ===============================  ==========================================
sql        users.py:9 security              :9 security (match), :10 maintainability
cache      cache.go:12 bug, :16-18 concur.  :17 bug (matches the second, other category)
config     load.py:8-9 error-handling       :8 error-handling (match)
retry      fetch.py:12 bug                  :12 bug (match), :11 performance
refactor   (clean)                          total.js:6 maintainability (false)
rename     (clean)                          none
=========  ===============================  ==========================================

recall 4/5; precision 4/6; category agreement 3/4; one false finding on the two clean changes.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, chunk_files, endpoint_env
from fake_openai import FakeOpenAI, Received, Reply, reply_json, reply_text
from test_cli import review

CORPUS = Path(__file__).parent / "data" / "eval-corpus"


def finding(path: str, line: int, category: str, end: int | None = None) -> dict[str, Any]:
    return {
        "path": path,
        "start_line": line,
        "end_line": end or line,
        "severity": "high",
        "category": category,
        "confidence": 0.9,
        "title": f"{category} problem",
        "message": "Explained.",
        "suggestion": None,
    }


SCRIPT: dict[str, list[dict[str, Any]]] = {
    "app/users.py": [
        finding("app/users.py", 9, "security"),
        finding("app/users.py", 10, "maintainability"),
    ],
    "store/cache.go": [finding("store/cache.go", 17, "bug")],
    "conf/load.py": [finding("conf/load.py", 8, "error-handling")],
    "net/fetch.py": [
        finding("net/fetch.py", 12, "bug"),
        finding("net/fetch.py", 11, "performance"),
    ],
    "web/total.js": [finding("web/total.js", 6, "maintainability")],
    "src/main/java/shop/PriceMath.java": [],
}


def scripted(req: Received) -> Reply:
    findings = [f for path in chunk_files(req) for f in SCRIPT[path]]
    return reply_json({"summary": "Reviewed.", "findings": findings})


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory: no config file of the project's applies."""
    directory = tmp_path / "work"
    directory.mkdir()
    monkeypatch.chdir(directory)
    return directory


@pytest.fixture
def model() -> Any:
    with FakeOpenAI(default=scripted) as server:
        yield server


def evaluate(server: FakeOpenAI, *args: str, env: dict[str, str] | None = None) -> Any:
    return review("eval", "--corpus", str(CORPUS), *args, server=server, env=env)


def squeeze(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text)


def table(out: str, header: str) -> dict[str, str]:
    """The rows of the table whose header starts with ``header``, by their first cell."""
    section = next(s for s in out.split("\n\n") if s.startswith(header))
    return {line.split(" ")[0]: line for line in section.splitlines()[1:]}


# --------------------------------------------------------------------------- the figures


def test_the_exact_figures_of_a_scripted_run(work: Path, model: FakeOpenAI) -> None:
    """One run, three outputs: the terminal tables, the JSON report and the markdown."""
    run = evaluate(model, "-o", "terminal", "-o", "json=eval.json", "-o", "markdown=eval.md")
    assert run.code == 0, run.err
    check_terminal(squeeze(run.out))
    check_sent(model)
    check_json(json.loads((work / "eval.json").read_text()))
    markdown = (work / "eval.md").read_text()
    assert "| category | known | found | recall |" in markdown
    assert "| overall | 5 | 4 | 80.0% | 6 | 4 | 66.7% | 3/4 | 1 |" in markdown


def check_terminal(out: str) -> None:
    assert (
        "recall 4/5 80.0%; precision 4/6 66.7%; false findings on clean changes 1 "
        "(1/2 clean changes flagged); category agreement 3/4 75.0%"
    ) in out
    assert "6 cases scored: 4 with known problems, 2 clean changes; 0 failed (not scored)" in out
    # Per category: problems of the category for recall, findings the model put in it for
    # precision, findings in it on clean changes for false findings.
    rows = table(out, "category known")
    assert rows["bug"].startswith("bug 2 1 50.0% 2 2 100.0% 1/1 0")
    assert rows["security"].startswith("security 1 1 100.0% 1 1 100.0% 1/1 0")
    assert rows["concurrency"].startswith("concurrency 1 1 100.0% 0 0 - 0/1 0")
    assert rows["error-handling"].startswith("error-handling 1 1 100.0% 1 1 100.0% 1/1 0")
    assert rows["maintainability"].startswith("maintainability 0 0 - 1 0 0.0% 0/0 1")
    assert rows["performance"].startswith("performance 0 0 - 1 0 0.0% 0/0 0")
    assert rows["overall"] == "overall 5 4 80.0% 6 4 66.7% 3/4 1"
    # Per language: cases, failed, found, recall, matched, precision, false on clean.
    rows = table(out, "language cases")
    assert rows["python"].startswith("python 3 0 3/3 100.0% 3/5 60.0% 0 (0/0)")
    assert rows["go"].startswith("go 1 0 1/2 50.0% 1/1 100.0% 0 (0/0)")
    assert rows["javascript"].startswith("javascript 1 0 0/0 - 0/0 - 1 (1/1)")
    assert rows["overall"] == "overall 6 0 4/5 80.0% 4/6 66.7% 1 (1/2)"
    # Tokens, cost and latency per category: the cases with a problem of the category.
    rows = table(out, "cost by category")
    assert rows["bug"].startswith("bug 2 0 400 80 $0.000108 ")
    assert "maintainability" not in rows  # no case has a maintainability problem
    # Six review requests and five verification requests (one per case with findings: eval
    # measures what a review costs), each of 100 prompt and 20 completion tokens (the fake's
    # usage), at gpt-4o-mini's $0.15/$0.60 per million.
    assert "tokens 1,100 in, 220 out; cost $0.000297;" in out


def check_sent(model: FakeOpenAI) -> None:
    """Every case went to the model as the change a review sees: changed lines only, numbered
    in the after version; the rename under its new path; the diff applied to its before/."""
    sent = sorted(tuple(sorted(chunk_files(r).items())) for r in model.review_requests)
    assert len(model.verify_requests) == 5  # every case with findings is checked once
    assert sent == sorted(
        [
            (("app/users.py", [8, 9, 10, 11, 12]),),
            (("conf/load.py", [5, 6, 7, 8, 9]),),
            (("net/fetch.py", [1, 5, 6, 7, 8, 9, 10, 11, 12]),),
            (("src/main/java/shop/PriceMath.java", [3, 4]),),
            (("store/cache.go", [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]),),
            (("web/total.js", [1, 2, 3, 4, 6]),),
        ]
    )
    user = next(m["content"] for m in model.review_requests[0].messages if m["role"] == "user")
    assert "<<<REVIEW-DATA" in user  # the review's own rendering and envelope


def check_json(report: dict[str, Any]) -> None:
    assert report["report"] == "reviewer-eval" and report["schema_version"] == 1
    assert (report["model"], report["provider"]) == ("gpt-4o-mini", "openai")
    overall = report["overall"]
    assert (overall["known"], overall["found"], overall["recall"]) == (5, 4, 0.8)
    assert (overall["findings"], overall["matched"], overall["precision"]) == (6, 4, 0.6667)
    assert (overall["clean_findings"], overall["clean_flagged"], overall["clean"]) == (1, 1, 2)
    assert overall["category_agreement"] == 0.75
    assert report["by_category"]["bug"]["recall"] == 0.5
    assert report["settings"]["cache"] is False  # no cache unless asked for
    assert "base_url" not in report["settings"]  # where things live stays on this machine
    cases = {c["id"]: c for c in report["cases"]}
    assert sorted(cases) == ["cache", "config", "refactor", "rename", "retry", "sql"]
    cache = cases["cache"]
    assert [p["found"] for p in cache["problems"]] == [False, True]
    assert cache["problems"][1]["found_by"] == [0] and not cache["problems"][1]["same_category"]
    assert cache["findings"][0]["matches"] == [1]
    assert all(c["status"] == "scored" for c in cases.values())
    # A review request each, and a verification request for each case with findings.
    assert {i: c["requests"] for i, c in cases.items()} == {
        "cache": 2,
        "config": 2,
        "refactor": 2,
        "rename": 1,
        "retry": 2,
        "sql": 2,
    }


# --------------------------------------------------------------------------- failures


def test_a_failed_case_is_reported_and_never_scored(work: Path, model: FakeOpenAI) -> None:
    def broken_retry(req: Received) -> Reply:
        if "net/fetch.py" in chunk_files(req):
            return reply_text("this is not JSON")  # twice: the re-ask fails too
        return scripted(req)

    model.default = broken_retry
    run = evaluate(model, "-o", "terminal", "-o", "json=eval.json")
    assert run.code == 3, run.err
    out = squeeze(run.out)
    # retry's known problem is neither a miss (known 4, not 5) nor its findings counted.
    assert "recall 3/4 75.0%; precision 3/4 75.0%;" in out
    assert "5 cases scored: 3 with known problems, 2 clean changes; 1 failed (not scored)" in out
    assert "failed cases (not scored): 1" in out
    assert re.search(r"retry: invalid-output: ", out)
    assert "[6/6] retry: FAILED (invalid-output" in run.err or "retry: FAILED" in run.err
    report = json.loads((work / "eval.json").read_text())
    retry = next(c for c in report["cases"] if c["id"] == "retry")
    assert retry["status"] == "failed" and retry["error"].startswith("invalid-output")
    assert report["overall"]["failed"] == 1 and report["overall"]["known"] == 4


def test_a_server_error_fails_the_case_not_the_run(work: Path, model: FakeOpenAI) -> None:
    def unavailable(req: Received) -> Reply:
        if "web/total.js" in chunk_files(req):
            return Reply(status=503, body={"error": {"message": "overloaded"}})
        return scripted(req)

    model.default = unavailable
    run = evaluate(model, "--max-retries", "0")
    assert run.code == 3
    out = squeeze(run.out)
    # The failed clean change is not a clean pass either: one clean change left, unflagged.
    assert "false findings on clean changes 0 (0/1 clean changes flagged)" in out
    assert "refactor: server-error" in out


def test_a_missing_key_ends_the_run_before_anything_is_built(work: Path) -> None:
    run = review("eval", "--corpus", str(CORPUS))
    assert run.code == 3
    assert "no API key" in run.err and "OPENAI_API_KEY" in run.err


def test_a_rejected_key_ends_the_run(work: Path, model: FakeOpenAI) -> None:
    model.default = lambda _req: Reply(status=401, body={"error": {"message": "bad key"}})
    run = evaluate(model, "--jobs", "1")
    assert run.code == 3
    assert "review: error:" in run.err
    assert len(model.requests) == 1  # every other case would fail the same way
    assert TEST_KEY not in run.err


# --------------------------------------------------------------------------- cost and cache


def test_dry_run_estimates_and_sends_nothing(work: Path, model: FakeOpenAI) -> None:
    run = evaluate(model, "--dry-run")
    assert run.code == 0, run.err
    assert re.fullmatch(
        r"6 cases in 6 chunk\(s\), ~[\d,]+ tokens in, estimated cost \$0\.\d+\n", run.out
    )
    assert model.requests == []


def _estimate(server: FakeOpenAI) -> float:
    out = evaluate(server, "--dry-run").out
    return float(re.search(r"estimated cost \$([0-9.]+)", out).group(1))  # type: ignore[union-attr]


def test_above_max_cost_without_a_terminal_refuses(work: Path, model: FakeOpenAI) -> None:
    estimate = _estimate(model)
    for env in ({"CI": "true"}, {}):  # CI, or just no terminal on stdin (pytest's)
        run = evaluate(model, "--max-cost", f"{estimate / 2:.8f}", env=env)
        assert run.code == 3
        assert "above --max-cost" in run.err and "nothing was sent" in run.err
    assert model.requests == []
    run = evaluate(model, "--max-cost", f"{estimate * 2:.8f}", "-q")
    assert run.code == 0, run.err
    assert len(model.review_requests) == 6


def test_max_cost_with_an_unknown_price_refuses(work: Path, model: FakeOpenAI) -> None:
    run = evaluate(model, "--model", "my-local-model", "--max-cost", "100")
    assert run.code == 3
    assert "price of model my-local-model is unknown" in run.err
    assert model.requests == []


def _on_a_terminal(args: list[str], answer: bytes, env: dict[str, str]) -> tuple[int, str]:
    """``review ARGS`` with a pseudo-terminal on stdin; ``answer`` typed at the prompt."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("review")), *args],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        os.write(leader, answer)
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(leader)
        os.close(follower)
    return proc.returncode, out.decode() + err.decode()


@pytest.mark.parametrize(("answer", "code", "requests"), [(b"y\n", 0, 6), (b"n\n", 3, 0)])
def test_above_max_cost_on_a_terminal_asks(
    work: Path, model: FakeOpenAI, answer: bytes, code: int, requests: int
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(endpoint_env(model))
    args = ["eval", "--corpus", str(CORPUS), "-q", "--max-cost", "0.000001"]
    status, output = _on_a_terminal(args, answer, env)
    assert status == code, output
    assert "is above --max-cost" in output and "Run it?" in output
    assert len(model.review_requests) == requests
    if code:
        assert "cancelled, nothing was sent" in output


def test_no_cache_unless_asked_for_whatever_the_config_file_says(
    work: Path, model: FakeOpenAI
) -> None:
    assert evaluate(model, "-q", "--cache").code == 0
    assert evaluate(model, "-q", "--cache").code == 0
    assert len(model.review_requests) == 6  # the second run came from the cache
    # A review's cache setting does not apply: an eval measures the model, not old answers.
    (work / ".reviewer.toml").write_text("cache = true\nmin-confidence = 0.95\n")
    assert evaluate(model, "-q", "-o", "json=eval.json").code == 0
    assert len(model.review_requests) == 12
    report = json.loads((work / "eval.json").read_text())
    # The rest of the config does: the scripted findings (confidence 0.9) are filtered.
    assert report["settings"]["min_confidence"] == 0.95
    assert report["overall"]["findings"] == 0 and report["overall"]["found"] == 0


# --------------------------------------------------------------------------- selection, jobs


def test_cases_selects_by_id(work: Path, model: FakeOpenAI) -> None:
    run = evaluate(model, "--cases", "sql", "--cases", "re*")
    assert run.code == 0, run.err
    # sql, and refactor, rename and retry
    assert "4 cases scored: 2 with known problems, 2 clean changes" in squeeze(run.out)
    assert len(model.review_requests) == 4
    run = evaluate(model, "--cases", "nothing-like-this")
    assert run.code == 2
    assert "no case of corpus" in run.err


def test_jobs_reviews_cases_concurrently(work: Path, model: FakeOpenAI) -> None:
    # Every request waits until six are in flight: only six cases at once get through.
    barrier = threading.Barrier(6, timeout=30)

    def together(req: Received) -> Reply:
        barrier.wait()
        return scripted(req)

    model.default = together
    run = evaluate(model, "--jobs", "6", "-o", "json=eval.json")
    assert run.code == 0, run.err
    assert not barrier.broken
    report = json.loads((work / "eval.json").read_text())
    assert report["jobs"] == 6
    assert [c["id"] for c in report["cases"]] == sorted(c["id"] for c in report["cases"])


# --------------------------------------------------------------------------- compare


def test_compare_prints_two_runs_side_by_side(work: Path, model: FakeOpenAI) -> None:
    run = evaluate(model, "-o", "json=a.json")
    assert run.code == 0 and run.out == ""
    assert "review eval: recall 4/5 80.0%" in run.err  # without the terminal report, the log
    model.default = lambda _req: reply_json({"summary": "Fine.", "findings": []})
    assert evaluate(model, "-q", "-o", "json=b.json").code == 0
    run = review("eval", "--compare", "a.json", "b.json")
    assert run.code == 0, run.err
    out = squeeze(run.out)
    assert "recall 4/5 80.0% 0/5 0.0% -80.0 pts" in out
    assert "precision 4/6 66.7% 0/0 - -" in out
    assert "false findings on clean 1 0 -1" in out
    assert "known problems found by A only: 4; by B only: 0" in out
    assert "different corpora" not in out
    run = review("eval", "--compare", "a.json", "b.json", "-o", "markdown=cmp.md")
    assert run.code == 0
    assert "| recall | 4/5 80.0% | 0/5 0.0% | -80.0 pts |" in (work / "cmp.md").read_text()


def test_compare_refuses_what_is_not_an_eval_report(work: Path) -> None:
    (work / "review.json").write_text(json.dumps({"schema_version": 1, "findings": []}))
    (work / "broken.json").write_text("{")
    for args in (
        ("review.json", "review.json"),
        ("broken.json", "review.json"),
        ("missing.json", "review.json"),
    ):
        run = review("eval", "--compare", *args)
        assert run.code == 2, args
        assert "review: error:" in run.err


# --------------------------------------------------------------------------- bad corpora


def _case(root: Path, name: str, spec: dict[str, Any], before: str, after: str) -> None:
    case = root / name
    (case / "before").mkdir(parents=True)
    (case / "after").mkdir()
    (case / "before" / "m.py").write_text(before)
    (case / "after" / "m.py").write_text(after)
    (case / "case.json").write_text(json.dumps(spec))


def test_a_problem_off_the_changed_lines_is_a_corpus_error(work: Path, model: FakeOpenAI) -> None:
    problem = {"path": "m.py", "start_line": 1, "end_line": 1, "category": "bug"}
    spec = {"title": "t", "language": "python", "problems": [problem]}
    _case(work / "corpus", "off-by-one", spec, "a = 1\nb = 2\n", "a = 1\nb = 3\n")
    run = review("eval", "--corpus", "corpus", server=model)
    assert run.code == 2
    assert "corpus case off-by-one: problem 1 (m.py:1-1) is on no line the change adds" in run.err
    assert model.requests == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"title": "t", "language": "python"}, "problems: Field required"),
        (
            {"title": "t", "language": "python", "problems": [], "extra": 1},
            "extra: Extra inputs are not permitted",
        ),
        (
            {
                "title": "t",
                "language": "python",
                "problems": [
                    {"path": "../m.py", "start_line": 1, "end_line": 1, "category": "bug"}
                ],
            },
            "must not contain empty, '.' or '..' parts",
        ),
        (
            {
                "title": "t",
                "language": "python",
                "problems": [{"path": "m.py", "start_line": 2, "end_line": 1, "category": "bug"}],
            },
            "end_line must be >= start_line",
        ),
    ],
)
def test_a_malformed_case_is_a_usage_error(
    work: Path, model: FakeOpenAI, spec: dict[str, Any], message: str
) -> None:
    _case(work / "corpus", "bad", spec, "a = 1\n", "a = 2\n")
    run = review("eval", "--corpus", "corpus", server=model)
    assert run.code == 2
    assert "corpus case bad: case.json" in run.err and message in run.err


def test_corpus_errors_name_the_problem(work: Path, model: FakeOpenAI) -> None:
    assert review("eval", "--corpus", "nowhere", server=model).code == 2
    (work / "empty").mkdir()
    run = review("eval", "--corpus", "empty", server=model)
    assert run.code == 2 and "no cases in empty" in run.err
    spec = {"title": "t", "language": "python", "problems": []}
    _case(work / "same", "nothing", spec, "a = 1\n", "a = 1\n")
    run = review("eval", "--corpus", "same", server=model)
    assert run.code == 2 and "after/ changes nothing" in run.err
    case = work / "patch" / "p"
    (case / "before").mkdir(parents=True)
    (case / "before" / "m.py").write_text("a = 1\n")
    (case / "case.json").write_text(json.dumps(spec))
    (case / "change.diff").write_text("--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 9\n+x = 1\n")
    run = review("eval", "--corpus", "patch", server=model)
    assert run.code == 2 and "corpus case p: the change does not apply" in run.err
    assert model.requests == []


def test_unknown_output_format_is_a_usage_error(work: Path, model: FakeOpenAI) -> None:
    run = evaluate(model, "-o", "sarif")
    assert run.code == 2
    assert "unknown output format 'sarif' for review eval" in run.err
