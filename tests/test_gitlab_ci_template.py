"""The GitLab CI template (``ci/gitlab/review.gitlab-ci.yml``) users ``include:``.

The fast tests read it; the slow one runs it: ``gitlab-ci-local`` (npm, pinned in
``tools/package-lock.json``) validates the pipeline against GitLab's CI schema and runs the
template's job with the shell executor and a merge-request pipeline's variables, against the
fake GitLab and the fake model. The job installs reviewer with pip (a copy of this checkout:
network to PyPI for its dependencies) and posts the review.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TEST_KEY
from fake_gitlab import BOT, FakeGitLab
from fake_openai import FakeOpenAI
from gitlab_harness import MergeRequestRepo, marker_findings, numbered
from gitrepo import git

from reviewer.outputs.github.markdown import SUMMARY_MARKER

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "ci" / "gitlab" / "review.gitlab-ci.yml"
EXAMPLE = ROOT / "docs" / "examples" / "gitlab-ci.yml"
GITLAB_CI_LOCAL = ROOT / "tools" / "node_modules" / ".bin" / "gitlab-ci-local"
IN_CI = os.environ.get("CI", "").lower() == "true"


def job() -> dict[str, Any]:
    return dict(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))["ai-review"])


def test_the_job_runs_only_in_merge_request_pipelines() -> None:
    assert job()["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]


def test_the_job_reviews_the_mr_and_reports_code_quality() -> None:
    spec = job()
    review = spec["script"][-1]
    assert "--gitlab-mr" in review
    assert "-o codequality=gl-code-quality-report.json" in review
    assert spec["artifacts"]["reports"] == {"codequality": "gl-code-quality-report.json"}
    assert spec["artifacts"]["when"] == "always"  # the report also when findings fail the job
    assert spec["cache"]["paths"] == [".cache/pip", ".cache/reviewer"]
    assert spec["variables"]["XDG_CACHE_HOME"] == "$CI_PROJECT_DIR/.cache"
    assert spec["interruptible"] is True


def test_the_readme_shows_how_to_include_the_template() -> None:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## GitLab merge requests", 1)
    assert len(section) == 2
    text = section[1].split("\n## ", 1)[0]
    assert "ci/gitlab/review.gitlab-ci.yml" in text
    for needed in ("REVIEWER_GITLAB_TOKEN", "api", "Developer", "allow_failure", "codequality"):
        assert needed in text, needed


def test_the_readme_example_is_the_checked_file() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- example: docs/examples/gitlab-ci.yml -->\n```yaml\n", 1)[1]
    assert block.split("```", 1)[0] == EXAMPLE.read_text(encoding="utf-8")
    assert f"/{TEMPLATE.relative_to(ROOT).as_posix()}" in EXAMPLE.read_text(encoding="utf-8")


def local_example() -> str:
    """The README's example, including this checkout's template instead of the released one."""
    text = EXAMPLE.read_text(encoding="utf-8")
    remote = next(ln for ln in text.splitlines() if ln.strip().startswith("- remote:"))
    return text.replace(remote, "  - local: ci/gitlab/review.gitlab-ci.yml")


# --------------------------------------------------------------------------- the real run


@pytest.fixture
def gl() -> Iterator[FakeGitLab]:
    with FakeGitLab() as server:
        yield server


@pytest.mark.slow
def test_gitlab_ci_local_runs_the_template_and_the_job_posts_the_review(
    tmp_path: Path, gl: FakeGitLab, llm: FakeOpenAI
) -> None:
    if not GITLAB_CI_LOCAL.exists():
        message = "gitlab-ci-local is not installed (npm ci --prefix tools)"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    llm.default = marker_findings
    # the project's pipeline is the README's example with the template included locally
    # (committed: gitlab-ci-local, like GitLab, reads local includes from the repository)
    pipeline_files = {
        ".gitlab-ci.yml": local_example(),
        "ci/gitlab/review.gitlab-ci.yml": TEMPLATE.read_text(encoding="utf-8"),
    }
    mr = MergeRequestRepo.create(tmp_path, {"a.py": numbered("a", 20), **pipeline_files})
    mr.push({"a.py": numbered("a", 20, {6: "a_6 = 'BUG six'"}), "c.py": "C = 'BUG'\n"})
    mr.push_to_target({"z.py": "Z = 1\n"})
    mr.sync(gl)
    # the runner's checkout: the project on the MR's head
    git(tmp_path, "clone", "-q", "--branch=feature", mr.origin.as_uri(), "project")
    project = tmp_path / "project"
    package = tmp_path / "reviewer-src"
    shutil.copytree(
        ROOT / "reviewer", package / "reviewer", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, package / name)
    variables = {
        **{k: v for k, v in mr.ci_variables(gl).items() if k not in ("CI", "GITLAB_CI")},
        "REVIEWER_GITLAB_TOKEN": gl.token,
        "OPENAI_API_KEY": TEST_KEY,
        "REVIEWER_BASE_URL": llm.base_url,
        "REVIEWER_PACKAGE": str(package),
        # where a runner clones to and runs from (gitlab-ci-local would say /builds/...)
        "CI_PROJECT_DIR": str(project),
    }
    args = [str(GITLAB_CI_LOCAL), "--force-shell-executor", "--json-schema-validation"]
    args += ["--ignore-predefined-vars", ",".join(variables)]
    for name, value in variables.items():
        args += ["--variable", f"{name}={value}"]
    # a runner's shell: none of this test process's settings (conftest's XDG_CACHE_HOME)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REVIEWER_", "CI_", "XDG_", "PIP_", "VIRTUAL_ENV"))
    }

    proc = subprocess.run(
        [*args, "ai-review"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        stdin=subprocess.DEVNULL,
    )

    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "json schema validated" in log
    assert "PASS  ai-review" in log
    assert "published on MR !7: 2 thread(s) posted" in log
    assert gl.count_status(400) == 0
    assert sorted(d["notes"][0]["position"]["new_path"] for d in gl.threads()) == ["a.py", "c.py"]
    assert [n for n in gl.notes_by(BOT) if n["body"].startswith(SUMMARY_MARKER)]
    report = json.loads((project / "gl-code-quality-report.json").read_text(encoding="utf-8"))
    assert sorted((i["location"]["path"], i["location"]["lines"]["begin"]) for i in report) == [
        ("a.py", 6),
        ("c.py", 1),
    ]
    assert (project / ".cache" / "reviewer").is_dir()  # the review cache the job caches
    assert TEST_KEY not in log and gl.token not in log
