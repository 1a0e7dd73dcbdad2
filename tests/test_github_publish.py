"""publish_review driven as the Action drives it: an event file, an environment, the fake."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_github import (
    BOT,
    HUMAN,
    FakeGitHub,
    make_changes,
    make_finding,
    make_hunk,
    make_result,
    new_lines,
)

from reviewer.core.errors import GitHubError
from reviewer.outputs.github.client import GitHubClient
from reviewer.outputs.github.event import PullRequestContext
from reviewer.outputs.github.markdown import SUMMARY_MARKER, fingerprint_in, fingerprint_marker
from reviewer.outputs.github.publish import PublishOutcome, last_reviewed_head, publish_review

HEAD = "a" * 40
A_HUNKS = [make_hunk(1, "cccaaaaccc")]  # a.py: new lines 1-10, added 4-7
B_HUNKS = [make_hunk(20, "caac")]  # b.py: new lines 20-23
CHANGES = make_changes({"a.py": A_HUNKS, "b.py": B_HUNKS})
GITHUB_DIFF = {"a.py": new_lines(A_HUNKS), "b.py": new_lines(B_HUNKS)}


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(diff=GITHUB_DIFF, head_sha=HEAD) as fake:
        yield fake


class Run:
    """One Action run: event file + environment -> context, client with a recording sleep."""

    def __init__(self, gh: FakeGitHub, tmp_path: Path, *, token: str | None = None) -> None:
        event = {
            "number": gh.number,
            "pull_request": {
                "number": gh.number,
                "base": {"sha": "b" * 40, "ref": "main", "repo": {"full_name": gh.repo}},
                "head": {"sha": gh.head_sha, "ref": "feat", "repo": {"full_name": "fork/app"}},
            },
        }
        event_path = tmp_path / "event.json"
        event_path.write_text(json.dumps(event), encoding="utf-8")
        self.step_summary = tmp_path / "step_summary.md"
        env = {
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REPOSITORY": gh.repo,
            "GITHUB_TOKEN": token or gh.token,
            "GITHUB_API_URL": gh.api_url,
            "GITHUB_STEP_SUMMARY": str(self.step_summary),
        }
        ctx = PullRequestContext.from_env(env)
        assert ctx is not None
        self.ctx = ctx
        self.sleeps: list[float] = []
        self.client = GitHubClient.for_context(ctx, sleep=self.sleeps.append)
        self.out = io.StringIO()

    def publish(self, result: Any, changes: Any = CHANGES, **kw: Any) -> PublishOutcome:
        return publish_review(result, changes, self.ctx, self.client, out=self.out, **kw)


def review_posts(gh: FakeGitHub) -> list[Any]:
    return gh.calls("POST", f"{gh.pr_path}/reviews")


def summaries(gh: FakeGitHub) -> list[dict[str, Any]]:
    return [c for c in gh.issue_comments if c["body"].startswith(SUMMARY_MARKER)]


def test_first_run_posts_one_review_and_a_summary(gh: FakeGitHub, tmp_path: Path) -> None:
    single = make_finding("a.py", 5, title="Null deref")
    multi = make_finding("a.py", 4, 6, suggestion="fixed = True\n", severity="critical")
    other = make_finding("b.py", 21, severity="low")
    off = make_finding("a.py", 40, title="Outside the diff", message="Far away")
    run = Run(gh, tmp_path)
    outcome = run.publish(make_result([multi, single, other, off]))

    (post,) = review_posts(gh)
    assert post.body["commit_id"] == HEAD
    assert post.body["event"] == "COMMENT"
    comments = post.body["comments"]
    assert [(c["path"], c.get("start_line"), c["line"], c["side"]) for c in comments] == [
        ("a.py", 4, 6, "RIGHT"),
        ("a.py", None, 5, "RIGHT"),
        ("b.py", None, 21, "RIGHT"),
    ]
    assert comments[0]["start_side"] == "RIGHT"
    assert "```suggestion\nfixed = True\n```" in comments[0]["body"]
    assert [fingerprint_in(c["body"]) for c in comments] == [
        multi.fingerprint,
        single.fingerprint,
        other.fingerprint,
    ]
    assert len(gh.review_comments) == 3

    (summary,) = summaries(gh)
    assert f"<!-- reviewer:head={HEAD} -->" in summary["body"]
    assert "Outside the diff" in summary["body"] and "Far away" in summary["body"]
    assert "files#diff-" in summary["body"]  # the inline ones are linked
    assert outcome == PublishOutcome(
        posted=3,
        moved_to_summary=1,
        review_ids=(gh.reviews[0]["id"],),
        summary_comment_id=summary["id"],
    )
    assert run.out.getvalue() == ""  # no annotations when we can write


def test_rerun_posts_no_duplicates_and_updates_the_summary_in_place(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    result = make_result([make_finding("a.py", 5), make_finding("b.py", 21)])
    Run(gh, tmp_path).publish(result)
    first_summary = summaries(gh)[0]["id"]

    outcome = Run(gh, tmp_path).publish(result)
    assert len(review_posts(gh)) == 1  # nothing new to post: no second review
    assert len(gh.review_comments) == 2
    assert outcome.skipped_duplicates == 2 and outcome.posted == 0
    assert [c["id"] for c in summaries(gh)] == [first_summary]
    assert outcome.summary_updated and outcome.summary_comment_id == first_summary
    assert gh.count("PATCH", f"/repos/{gh.repo}/issues/comments/{first_summary}") == 1
    assert "already commented on" in summaries(gh)[0]["body"]


def test_stale_comments_are_deleted_but_not_humans_or_discussed_ones(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    keep, gone, discussed = (make_finding("a.py", n) for n in (4, 5, 6))
    Run(gh, tmp_path).publish(make_result([keep, gone, discussed]))
    by_fp = {fingerprint_in(c["body"]): c for c in gh.review_comments}
    reply = gh.add_review_comment(
        "a.py", 6, "Why?", user=HUMAN, in_reply_to_id=by_fp[discussed.fingerprint]["id"]
    )
    human = gh.add_review_comment("a.py", 7, "Please rename this.", user=HUMAN)
    forged = gh.add_review_comment("a.py", 7, fingerprint_marker("feedbeef") + "\nhi", user=HUMAN)

    outcome = Run(gh, tmp_path).publish(make_result([keep]))
    deleted = [r.path for r in gh.calls("DELETE")]
    assert deleted == [f"/repos/{gh.repo}/pulls/comments/{by_fp[gone.fingerprint]['id']}"]
    remaining = {c["id"] for c in gh.review_comments}
    assert {reply["id"], human["id"], forged["id"], by_fp[discussed.fingerprint]["id"]} <= remaining
    assert by_fp[gone.fingerprint]["id"] not in remaining
    assert (outcome.deleted_stale, outcome.kept_with_replies) == (1, 1)


def test_422_is_bisected_and_the_refused_comment_moves_to_the_summary(
    tmp_path: Path,
) -> None:
    # GitHub's diff of b.py is narrower than ours (say, another diff algorithm)
    narrower = {"a.py": GITHUB_DIFF["a.py"], "b.py": {20, 21}}
    findings = [make_finding("a.py", n) for n in (4, 5, 6)] + [
        make_finding("b.py", 22, title="Refused one", message="Details of the refused one")
    ]
    with FakeGitHub(diff=narrower, head_sha=HEAD) as gh:
        outcome = Run(gh, tmp_path).publish(make_result(findings))
        posted = {fingerprint_in(c["body"]) for c in gh.review_comments}
        assert posted == {f.fingerprint for f in findings[:3]}
        assert outcome.posted == 3 and outcome.moved_to_summary == 1
        assert len(outcome.review_ids) == len(gh.reviews) >= 1
        body = summaries(gh)[0]["body"]
        assert "Refused one" in body and "Details of the refused one" in body
        assert "refused by GitHub" in body


def test_422_naming_the_commit_is_not_bisected(gh: FakeGitHub, tmp_path: Path) -> None:
    run = Run(gh, tmp_path)
    gh.head_sha = "c" * 40  # a push landed while we reviewed
    findings = [make_finding("a.py", n) for n in (4, 5, 6, 7)]
    outcome = run.publish(make_result(findings))
    assert len(review_posts(gh)) == 1
    assert outcome.posted == 0 and outcome.moved_to_summary == 4
    assert len(summaries(gh)) == 1


def test_read_only_token_falls_back_to_annotations_and_step_summary(
    gh: FakeGitHub, tmp_path: Path
) -> None:
    findings = [
        make_finding("a.py", 4, 6, title="Bad, really: bad", message="100% wrong\nsecond line"),
        make_finding("b.py", 21, severity="medium"),
    ]
    run = Run(gh, tmp_path, token="ghs_read_only_token_42")
    outcome = run.publish(make_result(findings))

    assert outcome.fallback_used and outcome.annotations == 2 and outcome.step_summary_written
    lines = run.out.getvalue().splitlines()
    assert lines[0] == (
        "::error file=a.py,line=4,endLine=6,title=[high] Bad%2C really%3A bad::"
        "100%25 wrong%0Asecond line"
    )
    assert lines[1].startswith("::warning file=b.py,line=21,endLine=21,")
    summary = run.step_summary.read_text(encoding="utf-8")
    assert "Bad, really: bad" in summary and "Could not write to the pull request" in summary
    assert "<!--" not in summary
    assert gh.review_comments == [] and gh.issue_comments == []
    assert gh.token not in run.out.getvalue() + summary


def test_step_summary_is_appended_not_replaced(gh: FakeGitHub, tmp_path: Path) -> None:
    run = Run(gh, tmp_path, token="ghs_read_only_token_42")
    run.step_summary.write_text("earlier step\n", encoding="utf-8")
    run.publish(make_result([make_finding("a.py", 5)]))
    assert run.step_summary.read_text(encoding="utf-8").startswith("earlier step\n## reviewer")


def test_secondary_rate_limit_on_the_review_is_honoured(gh: FakeGitHub, tmp_path: Path) -> None:
    gh.fail_next(
        "POST",
        r".*/reviews",
        403,
        body={"message": "You have exceeded a secondary rate limit."},
        headers={"Retry-After": "17"},
    )
    run = Run(gh, tmp_path)
    outcome = run.publish(make_result([make_finding("a.py", 5)]))
    assert 17.0 in run.sleeps
    assert len(review_posts(gh)) == 2 and len(gh.reviews) == 1
    assert outcome.posted == 1


def test_existing_comments_are_read_across_pages(gh: FakeGitHub, tmp_path: Path) -> None:
    dup = make_finding("a.py", 5)
    for i in range(140):  # page 1 of 100 is all other people's comments
        gh.add_review_comment("a.py", 4, f"chatter {i}")
    gh.add_review_comment("a.py", 5, fingerprint_marker(dup.fingerprint) + "\nold", user=BOT)
    for i in range(120):
        gh.add_issue_comment(f"discussion {i}")
    gh.add_issue_comment(SUMMARY_MARKER + "\nold summary", user=BOT)

    outcome = Run(gh, tmp_path).publish(make_result([dup]))
    assert outcome.skipped_duplicates == 1 and outcome.posted == 0
    assert review_posts(gh) == []
    pages = [r.query.get("page", "1") for r in gh.calls("GET", f"{gh.pr_path}/comments")]
    assert pages == ["1", "2"]
    assert outcome.summary_updated
    assert len(summaries(gh)) == 1 and "old summary" not in summaries(gh)[0]["body"]


def test_incremental_run(gh: FakeGitHub, tmp_path: Path) -> None:
    old_a, old_b = make_finding("a.py", 5), make_finding("b.py", 21)
    run = Run(gh, tmp_path)
    assert last_reviewed_head(run.ctx, run.client) is None
    run.publish(make_result([old_a, old_b]))
    assert last_reviewed_head(run.ctx, run.client) == HEAD

    # new push: only b.py changed since; a.py's comment is left alone, b.py's is re-judged
    new_head = "d" * 40
    gh.head_sha = new_head
    run = Run(gh, tmp_path)
    increment = make_changes({"b.py": B_HUNKS})
    new_b = make_finding("b.py", 22)
    outcome = run.publish(make_result([new_b]), increment, incremental_base=HEAD, pr_diff=CHANGES)
    remaining = {fingerprint_in(c["body"]) for c in gh.review_comments}
    assert remaining == {old_a.fingerprint, new_b.fingerprint}
    assert outcome.deleted_stale == 1 and outcome.incremental_base == HEAD
    body = summaries(gh)[0]["body"]
    assert "incrementally" in body
    assert last_reviewed_head(run.ctx, run.client) == new_head


def test_last_reviewed_head_ignores_a_human_summary(gh: FakeGitHub, tmp_path: Path) -> None:
    gh.add_issue_comment(f"{SUMMARY_MARKER}\n<!-- reviewer:head={'e' * 40} -->", user=HUMAN)
    run = Run(gh, tmp_path)
    assert last_reviewed_head(run.ctx, run.client) is None


def test_no_findings_still_leaves_a_summary(gh: FakeGitHub, tmp_path: Path) -> None:
    outcome = Run(gh, tmp_path).publish(make_result([]))
    assert review_posts(gh) == []
    assert "## reviewer: 10/10" in summaries(gh)[0]["body"]
    assert outcome.summary_comment_id == summaries(gh)[0]["id"]


def test_other_errors_propagate(gh: FakeGitHub, tmp_path: Path) -> None:
    gh.fail_next("POST", r".*/reviews", 400, body={"message": "Problems parsing JSON"})
    with pytest.raises(GitHubError) as info:
        Run(gh, tmp_path).publish(make_result([make_finding("a.py", 5)]))
    assert info.value.status == 400


def test_model_text_cannot_mention_or_inject(gh: FakeGitHub, tmp_path: Path) -> None:
    evil = make_finding(
        "a.py",
        5,
        title="@security-team look </sub>",
        message="<!-- reviewer:summary --> [click](https://evil.example) ```\n",
    )
    Run(gh, tmp_path).publish(make_result([evil], summary="cc @everyone <img src=x>"))
    (comment,) = gh.review_comments
    assert "@security" not in comment["body"] and "</sub>" not in comment["body"].split("\n")[1]
    assert "](https://" not in comment["body"]
    summary = summaries(gh)[0]["body"]
    assert "@everyone" not in summary and "<img" not in summary
    assert summary.count(SUMMARY_MARKER) == 1
