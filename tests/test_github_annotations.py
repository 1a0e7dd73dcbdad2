from __future__ import annotations

import io
from pathlib import Path

import pytest
from fake_github import FakeGitHub, make_changes, make_finding, make_hunk, make_result
from pydantic import SecretStr

from reviewer.core.errors import GitHubError
from reviewer.outputs.github.annotations import (
    annotation,
    append_step_summary,
    escape_data,
    escape_property,
    write_annotations,
)
from reviewer.outputs.github.client import GitHubClient
from reviewer.outputs.github.event import PullRequestContext
from reviewer.outputs.github.publish import publish_review


@pytest.mark.parametrize(
    ("text", "data", "prop"),
    [
        ("plain", "plain", "plain"),
        ("100%", "100%25", "100%25"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("k: v, w", "k: v, w", "k%3A v%2C w"),
        ("%0A", "%250A", "%250A"),  # an already-escaped-looking value stays literal
    ],
)
def test_escaping(text: str, data: str, prop: str) -> None:
    assert escape_data(text) == data
    assert escape_property(text) == prop


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        ("critical", "error"),
        ("high", "error"),
        ("medium", "warning"),
        ("low", "notice"),
        ("info", "notice"),
    ],
)
def test_levels(severity: str, level: str) -> None:
    assert annotation(make_finding("a.py", 1, severity=severity)).startswith(f"::{level} ")


def test_model_text_cannot_start_a_workflow_command() -> None:
    f = make_finding(
        "dir,x/a:b.py",
        3,
        5,
        title="t\n::add-mask::x",
        message="m\n::set-env name=X::1",
        suggestion="y = 1",
    )
    out = io.StringIO()
    assert write_annotations([f], out) == 1
    (line,) = out.getvalue().splitlines()
    assert line == (
        "::error file=dir%2Cx/a%3Ab.py,line=3,endLine=5,title=[high] t%0A%3A%3Aadd-mask%3A%3Ax"
        "::m%0A::set-env name=X::1%0A%0ASuggested replacement:%0Ay = 1"
    )


def test_step_summary_unwritable_is_a_github_error(tmp_path: Path) -> None:
    with pytest.raises(GitHubError, match="GITHUB_STEP_SUMMARY"):
        append_step_summary(str(tmp_path / "missing-dir" / "summary.md"), "x")


def test_summary_refused_after_review_posted(tmp_path: Path) -> None:
    # the inline comments went up, the issue comment is refused: the summary and the findings
    # that had no inline comment go to the step summary and annotations
    hunks = [make_hunk(1, "aaa")]
    changes = make_changes({"a.py": hunks})
    on_diff, off_diff = make_finding("a.py", 2), make_finding("a.py", 90, title="Far off")
    with FakeGitHub(diff={"a.py": {1, 2, 3}}) as gh:
        gh.fail_next(
            "POST",
            r".*/issues/\d+/comments",
            403,
            body={"message": "Resource not accessible by integration"},
        )
        ctx = PullRequestContext(
            event_name="pull_request",
            repository=gh.repo,
            number=gh.number,
            base_sha="b" * 40,
            base_ref="main",
            head_sha=gh.head_sha,
            head_ref="f",
            head_repository=gh.repo,
            is_fork=False,
            token=SecretStr(gh.token),
            api_url=gh.api_url,
            step_summary=str(tmp_path / "summary.md"),
        )
        out = io.StringIO()
        client = GitHubClient.for_context(ctx, sleep=lambda _s: None)
        outcome = publish_review(make_result([on_diff, off_diff]), changes, ctx, client, out=out)
        assert outcome.posted == 1 and outcome.fallback_used and outcome.annotations == 1
        assert "Far off" in out.getvalue()
        assert "Far off" in (tmp_path / "summary.md").read_text(encoding="utf-8")
        assert len(gh.review_comments) == 1
