"""``review eval`` end to end against a real model: the installed ``review`` script, llama.cpp's
server and SmolLM2-135M, on one case per language and a clean change.

A 135M model's findings are not judged; the contract is: a documented exit code that agrees
with the report, every case scored or failed with its reason (never silently dropped), the
figures consistent with the cases, and usage and latency from real requests.
``python -m pytest -m local_llm -n 0`` (CI runs it); nothing here skips.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_subprocess
from local_llm_env import ensure_local_server

from reviewer.evaluate.report import EvalReport

CASES = (
    "python/sql-fstring-search",
    "javascript/xss-comment-body",
    "go/nil-map-write",
    "java/string-identity-compare",
    "rust/len-minus-one-underflow",
    "python/tests-for-slugify",
)
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


@pytest.mark.local_llm
def test_eval_against_the_local_model(tmp_path: Path) -> None:
    selection = [arg for case in CASES for arg in ("--cases", case)]
    with ensure_local_server() as url:
        run = run_subprocess(
            "eval",
            *LOCAL_FLAGS,
            "--base-url",
            url,
            *selection,
            "-o",
            "terminal",
            "-o",
            "json=eval.json",
            cwd=tmp_path,
            timeout=1800,
        )
    assert run.code in (0, 3), run.err
    report = EvalReport.model_validate_json((tmp_path / "eval.json").read_text())
    assert [c.id for c in report.cases] == sorted(CASES)
    assert report.provider == "llamacpp"
    failed = report.failed_cases
    assert (run.code == 3) == bool(failed)
    for case in failed:
        assert case.error, case.id  # a failure says why
    scored = [c for c in report.cases if c.status == "scored"]
    assert all(c.requests >= 1 and c.tokens_in > 0 and c.duration_s > 0 for c in scored)
    overall = report.overall
    assert overall.failed == len(failed)
    assert overall.known == sum(len(c.problems) for c in scored if not c.clean)
    assert overall.tokens_in == sum(c.tokens_in for c in report.cases)
    if scored:
        assert overall.latency_p50_s is not None
    assert f"recall {overall.found}/{overall.known}" in run.out
    print(json.dumps(overall.model_dump(), indent=1))  # shown with -rA / -s
