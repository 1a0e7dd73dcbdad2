"""``review --gitlab-mr`` when something is wrong: one line naming what to fix and exit 3 (a
warning under ``--fail-open``), never a traceback, never "no findings"; and the ways it runs
without writing (no token, ``--no-comment``) or outside CI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TEST_KEY, run_cli
from fake_gitlab import BOT, FakeGitLab
from fake_openai import FakeOpenAI
from gitlab_harness import MergeRequestRepo, Pipeline, make_certificates, marker_findings, numbered
from gitrepo import git

from reviewer.outputs.github.markdown import SUMMARY_MARKER


@pytest.fixture
def gl() -> Iterator[FakeGitLab]:
    with FakeGitLab() as server:
        yield server


@pytest.fixture
def mr(tmp_path: Path) -> MergeRequestRepo:
    repo = MergeRequestRepo.create(tmp_path, {"a.py": numbered("a", 10)})
    repo.push({"a.py": numbered("a", 10, {4: "a_4 = 'BUG'"})})
    return repo


@pytest.fixture
def pipeline(
    mr: MergeRequestRepo, gl: FakeGitLab, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> Pipeline:
    llm.default = marker_findings
    return Pipeline(mr=mr, gl=gl, llm=llm, monkeypatch=monkeypatch)


def one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("review: error: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_a_job_outside_a_merge_request_pipeline_fails_with_what_to_fix(
    pipeline: Pipeline, gl: FakeGitLab, llm: FakeOpenAI
) -> None:
    run = pipeline(drop=("CI_MERGE_REQUEST_IID",))

    assert run.code == 3
    assert "--gitlab-mr needs a merge request" in one_line_error(run.err)
    assert "merge_request_event" in run.err
    assert gl.requests == [] and llm.requests == []

    warned = pipeline("--fail-open", drop=("CI_MERGE_REQUEST_IID",))

    assert warned.code == 0
    assert "review: warning: --gitlab-mr needs a merge request" in warned.err
    assert "(failing open: exit 0)" in warned.err


def test_a_wrong_token_is_named(pipeline: Pipeline, llm: FakeOpenAI) -> None:
    run = pipeline(token="glpat-revoked-000000000000")

    assert run.code == 3
    line = one_line_error(run.err)
    assert "GitLab rejected the token in REVIEWER_GITLAB_TOKEN" in line
    assert "HTTP 401" in line
    assert "glpat-revoked" not in run.err
    assert llm.requests == []


def test_a_token_without_the_api_scope_fails_before_the_model_is_asked(
    pipeline: Pipeline, gl: FakeGitLab, llm: FakeOpenAI
) -> None:
    run = pipeline(token=next(iter(gl.read_api_tokens)))

    assert run.code == 3
    assert "has the scopes read_api; posting threads needs the api scope" in one_line_error(run.err)
    assert llm.requests == []


def test_a_token_that_may_not_comment_fails_after_writing_the_report(
    pipeline: Pipeline, gl: FakeGitLab, tmp_path: Path
) -> None:
    report = tmp_path / "cq.json"

    run = pipeline("-o", f"codequality={report}", token=next(iter(gl.guest_tokens)))

    assert run.code == 3
    line = one_line_error(run.err)
    assert "may not write to merge request !7 of 42" in line and "HTTP 403" in line
    assert [i["location"]["lines"]["begin"] for i in json.loads(report.read_text())] == [4]


def test_a_missing_merge_request_is_named(pipeline: Pipeline, llm: FakeOpenAI) -> None:
    run = pipeline(env={"CI_MERGE_REQUEST_IID": "99"})

    assert run.code == 3
    line = one_line_error(run.err)
    assert "merge request !99 of 42 was not found" in line and "HTTP 404" in line
    assert llm.requests == []


def test_a_gitlab_server_error_fails_the_job(pipeline: Pipeline, gl: FakeGitLab) -> None:
    gl.fail_next("POST", r".*/discussions", 500, body={"message": "500 Internal Server Error"})

    run = pipeline()

    assert run.code == 3
    line = one_line_error(run.err)
    assert "GitLab failed" in line and "HTTP 500" in line
    assert len(gl.calls("POST", r"/discussions$")) == 1  # a POST is never retried after a 5xx


def test_rate_limits_are_waited_out(pipeline: Pipeline, gl: FakeGitLab) -> None:
    gl.fail_next("POST", r".*/discussions", 429, body="Retry later", headers={"Retry-After": "0"})

    run = pipeline()

    assert run.code == 0, run.err
    assert [r.status for r in gl.calls("POST", r"/discussions$")] == [429, 201]


def test_the_diff_gitlab_is_still_computing_is_waited_for(
    pipeline: Pipeline, gl: FakeGitLab
) -> None:
    gl.hidden_version_reads = 1

    run = pipeline(env={"REVIEWER_GITLAB_DIFF_WAIT": "0.2"})

    assert run.code == 0, run.err
    assert len(gl.threads()) == 1

    gl.hidden_version_reads = 100
    late = pipeline(env={"REVIEWER_GITLAB_DIFF_WAIT": "0.1"})

    assert late.code == 3
    assert "GitLab has no diff of merge request !7 of 42" in one_line_error(late.err)


def test_only_a_job_token_is_not_enough_to_comment(
    pipeline: Pipeline, gl: FakeGitLab, llm: FakeOpenAI
) -> None:
    run = pipeline(token="")

    assert run.code == 3
    line = one_line_error(run.err)
    assert "no GitLab token" in line and "REVIEWER_GITLAB_TOKEN" in line
    assert "CI_JOB_TOKEN is set, but GitLab does not let a job token write MR notes" in line
    assert gl.requests == [] and llm.requests == []


def test_without_a_token_no_comment_reviews_from_the_pipeline_variables(
    pipeline: Pipeline, gl: FakeGitLab, tmp_path: Path
) -> None:
    report = tmp_path / "cq.json"

    run = pipeline("--no-comment", "-o", f"codequality={report}", token="")

    assert run.code == 0, run.err
    assert run.reviewed_files() == {"a.py"}
    assert gl.requests == []
    (issue,) = json.loads(report.read_text(encoding="utf-8"))
    assert issue["location"] == {"path": "a.py", "lines": {"begin": 4, "end": 4}}


def test_mr_without_gitlab_mr_is_a_usage_error(pipeline: Pipeline) -> None:
    run = run_cli("--mr", "7")

    assert run.code == 2
    assert "--mr names the merge request for --gitlab-mr" in run.err


def test_from_a_laptop_with_url_project_path_and_mr(
    mr: MergeRequestRepo,
    gl: FakeGitLab,
    llm: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    llm.default = marker_findings
    mr.sync(gl)
    git(tmp_path, "clone", "-q", mr.origin.as_uri(), "laptop")  # on main, not the MR
    monkeypatch.chdir(tmp_path / "laptop")

    run = run_cli(
        "--gitlab-mr",
        "--gitlab-url",
        gl.server_url,  # the instance's address: /api/v4 is added
        "--gitlab-project",
        "group/app",
        "--mr",
        "7",
        env={
            "GITLAB_TOKEN": gl.token,
            "OPENAI_API_KEY": TEST_KEY,
            "REVIEWER_BASE_URL": llm.base_url,
            "REVIEWER_CACHE": "false",
        },
    )

    assert run.code == 0, run.err
    assert all("/projects/group%2Fapp/" in r.path for r in gl.requests if "/projects/" in r.path)
    (thread,) = gl.threads()
    assert thread["notes"][0]["position"]["new_line"] == 4
    assert [n for n in gl.notes_by(BOT) if n["body"].startswith(SUMMARY_MARKER)]


# --------------------------------------------------------------------------- self-managed TLS


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https_pipeline(
    mr: MergeRequestRepo,
    llm: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    certificates: dict[str, Path],
) -> Iterator[Pipeline]:
    llm.default = marker_findings
    tls = (str(certificates["cert"]), str(certificates["key"]))
    with FakeGitLab(tls=tls) as server:
        yield Pipeline(mr=mr, gl=server, llm=llm, monkeypatch=monkeypatch)


@pytest.mark.parametrize("how", ["--gitlab-ca-file", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_a_self_managed_instance_with_its_own_ca(
    https_pipeline: Pipeline, certificates: dict[str, Path], how: str
) -> None:
    ca = str(certificates["ca"])
    args = ("--gitlab-ca-file", ca) if how.startswith("--") else ()
    env = {} if how.startswith("--") else {how: ca}

    run = https_pipeline(*args, env=env)

    assert run.code == 0, run.err
    assert https_pipeline.gl.api_url.startswith("https://127.0.0.1:")
    assert len(https_pipeline.gl.threads()) == 1


def test_an_unknown_ca_fails_with_the_fix(https_pipeline: Pipeline, llm: FakeOpenAI) -> None:
    run = https_pipeline()

    assert run.code == 3
    line = one_line_error(run.err)
    assert "is not trusted" in line and "--gitlab-ca-file" in line
    assert llm.requests == []
