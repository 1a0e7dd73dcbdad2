from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reviewer.core.errors import ConfigError
from reviewer.outputs.github.event import PullRequestContext

HEAD = "1" * 40
BASE = "2" * 40


def pr_event(*, head_repo: str | None = "octo/app", **pr: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "base": {"sha": BASE, "ref": "main", "repo": {"full_name": "octo/app"}},
            "head": {
                "sha": HEAD,
                "ref": "feature",
                "repo": None if head_repo is None else {"full_name": head_repo},
            },
        },
    }
    event["pull_request"].update(pr)
    return event


def env_for(tmp_path: Path, event: Any, **extra: str) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(event if isinstance(event, str) else json.dumps(event), encoding="utf-8")
    env = {
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_TOKEN": "ghs_secret_value",
    }
    env.update(extra)
    return env


def test_reads_a_pull_request_event(tmp_path: Path) -> None:
    env = env_for(
        tmp_path,
        pr_event(),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
        GITHUB_API_URL="https://ghe.example.com/api/v3/",
        GITHUB_SERVER_URL="https://ghe.example.com",
    )
    ctx = PullRequestContext.from_env(env)
    assert ctx is not None
    assert (ctx.repository, ctx.number, ctx.event_name) == ("octo/app", 7, "pull_request")
    assert (ctx.base_sha, ctx.base_ref, ctx.head_sha, ctx.head_ref) == (
        BASE,
        "main",
        HEAD,
        "feature",
    )
    assert ctx.is_fork is False
    assert ctx.api_url == "https://ghe.example.com/api/v3"
    assert ctx.pr_url == "https://ghe.example.com/octo/app/pull/7"
    assert ctx.step_summary == str(tmp_path / "summary.md")
    assert ctx.token.get_secret_value() == "ghs_secret_value"


def test_defaults_and_token_never_shown(tmp_path: Path) -> None:
    ctx = PullRequestContext.from_env(env_for(tmp_path, pr_event()))
    assert ctx is not None
    assert ctx.api_url == "https://api.github.com"
    assert ctx.server_url == "https://github.com"
    assert ctx.step_summary is None
    assert "ghs_secret_value" not in repr(ctx)
    assert "ghs_secret_value" not in str(ctx)
    assert "ghs_secret_value" not in ctx.model_dump_json()


@pytest.mark.parametrize(
    ("head_repo", "fork"), [("octo/app", False), ("someone/app", True), (None, True)]
)
def test_fork_detection(tmp_path: Path, head_repo: str | None, fork: bool) -> None:
    ctx = PullRequestContext.from_env(env_for(tmp_path, pr_event(head_repo=head_repo)))
    assert ctx is not None
    assert ctx.is_fork is fork
    assert ctx.head_repository == head_repo


def test_pull_request_target_is_a_pr_event(tmp_path: Path) -> None:
    env = env_for(tmp_path, pr_event(), GITHUB_EVENT_NAME="pull_request_target")
    ctx = PullRequestContext.from_env(env)
    assert ctx is not None and ctx.event_name == "pull_request_target"


def test_repository_falls_back_to_the_event(tmp_path: Path) -> None:
    env = env_for(tmp_path, pr_event())
    del env["GITHUB_REPOSITORY"]
    ctx = PullRequestContext.from_env(env)
    assert ctx is not None and ctx.repository == "octo/app"


@pytest.mark.parametrize(
    "env",
    [
        {},  # not in Actions
        {"GITHUB_EVENT_PATH": "/nonexistent", "GITHUB_EVENT_NAME": "push"},
        {"GITHUB_EVENT_PATH": "/nonexistent", "GITHUB_EVENT_NAME": "workflow_dispatch"},
    ],
)
def test_not_a_pr_run_is_none(env: dict[str, str]) -> None:
    assert PullRequestContext.from_env(env) is None


def test_event_without_pull_request_and_no_event_name_is_none(tmp_path: Path) -> None:
    env = env_for(tmp_path, {"ref": "refs/heads/main"})
    del env["GITHUB_EVENT_NAME"]
    assert PullRequestContext.from_env(env) is None


@pytest.mark.parametrize(
    ("event", "changes", "needle"),
    [
        ("{not json", {}, "not JSON"),
        ("[1, 2]", {}, "not a JSON object"),
        ({"action": "opened"}, {}, "without pull_request"),
        (pr_event(number="seven"), {}, "pull_request.number"),
        (pr_event(number=True), {}, "pull_request.number"),
        (pr_event(head={"sha": "zz", "ref": "x"}), {}, "pull_request.head.sha"),
        (pr_event(base={"ref": "main"}), {}, "pull_request.base.sha"),
        (pr_event(), {"GITHUB_TOKEN": ""}, "GITHUB_TOKEN is not set"),
        (pr_event(), {"GITHUB_REPOSITORY": "no-slash"}, "GITHUB_REPOSITORY"),
        (pr_event(), {"GITHUB_API_URL": "ftp://x"}, "GITHUB_API_URL"),
    ],
)
def test_bad_pieces_are_one_line_config_errors(
    tmp_path: Path, event: Any, changes: dict[str, str], needle: str
) -> None:
    env = env_for(tmp_path, event)
    env.update(changes)
    with pytest.raises(ConfigError) as info:
        PullRequestContext.from_env(env)
    message = str(info.value)
    assert needle in message
    assert "\n" not in message
    assert "ghs_secret_value" not in message


def test_missing_event_file_is_a_config_error(tmp_path: Path) -> None:
    env = env_for(tmp_path, pr_event(), GITHUB_EVENT_PATH=str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="GITHUB_EVENT_PATH"):
        PullRequestContext.from_env(env)


def test_own_login_for_personal_tokens(tmp_path: Path) -> None:
    env = env_for(tmp_path, pr_event(), REVIEWER_GITHUB_LOGIN="review-bot-user")
    ctx = PullRequestContext.from_env(env)
    assert ctx is not None and ctx.own_login == "review-bot-user"
