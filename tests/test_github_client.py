from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fake_github import BOT, FakeGitHub

from reviewer.core.errors import GitHubError, ReviewerError
from reviewer.outputs.github.client import GitHubClient

SECONDARY = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits",
}


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(diff={"a.py": {1, 2, 3}}) as fake:
        yield fake


class Clock:
    """Injected time: ``sleep`` records and advances, so nothing waits."""

    def __init__(self) -> None:
        self.t = 1_700_000_000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def now(self) -> float:
        return self.t


def client_for(gh: FakeGitHub, clock: Clock, **kw: Any) -> GitHubClient:
    kw.setdefault("write_interval", 0.0)
    return GitHubClient(
        gh.api_url,
        kw.pop("token", gh.token),
        sleep=clock.sleep,
        monotonic=clock.now,
        now=clock.now,
        **kw,
    )


def test_sends_githubs_headers(gh: FakeGitHub) -> None:
    client_for(gh, Clock()).list_issue_comments(gh.repo, gh.number)
    (req,) = gh.requests
    assert req.headers["authorization"] == f"Bearer {gh.token}"
    assert req.headers["accept"] == "application/vnd.github+json"
    assert req.headers["x-github-api-version"] == "2022-11-28"
    assert req.headers["user-agent"].startswith("reviewer/")
    assert req.query == {"per_page": "100"}


@pytest.mark.parametrize(("count", "per_page", "pages"), [(0, 100, 1), (35, 30, 2), (205, 100, 3)])
def test_pagination_follows_link_headers(
    gh: FakeGitHub, count: int, per_page: int, pages: int
) -> None:
    for i in range(count):
        gh.add_review_comment("a.py", 1, f"comment {i}")
    comments = client_for(gh, Clock(), per_page=per_page).list_review_comments(gh.repo, gh.number)
    assert [c.body for c in comments] == [f"comment {i}" for i in range(count)]
    assert [r.query.get("page", "1") for r in gh.requests] == [str(n) for n in range(1, pages + 1)]


def test_pagination_is_bounded(gh: FakeGitHub) -> None:
    for i in range(5):
        gh.add_issue_comment(f"c{i}")
    with pytest.raises(GitHubError, match="more than 2 pages"):
        client_for(gh, Clock(), per_page=2, max_pages=2).list_issue_comments(gh.repo, gh.number)


def test_secondary_rate_limit_honours_retry_after(gh: FakeGitHub) -> None:
    clock = Clock()
    gh.fail_next(
        "POST", r".*/issues/\d+/comments", 403, body=SECONDARY, headers={"Retry-After": "7"}
    )
    comment = client_for(gh, clock).create_issue_comment(gh.repo, gh.number, "hello")
    assert clock.sleeps == [7.0]
    assert comment.body == "hello"
    assert gh.count("POST") == 2
    assert [c["body"] for c in gh.issue_comments] == ["hello"]


def test_primary_rate_limit_waits_for_reset(gh: FakeGitHub) -> None:
    clock = Clock()
    reset = int(clock.t) + 42
    gh.fail_next(
        "GET",
        r".*/comments",
        403,
        body={"message": "API rate limit exceeded for installation ID 1."},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )
    client_for(gh, clock).list_review_comments(gh.repo, gh.number)
    assert clock.sleeps == [43.0]  # until the reset, plus a second of clock skew


def test_secondary_limit_without_headers_backs_off(gh: FakeGitHub) -> None:
    clock = Clock()
    gh.fail_next("GET", r".*/comments", 403, body=SECONDARY, times=2)
    client_for(gh, clock).list_review_comments(gh.repo, gh.number)
    assert clock.sleeps == [60.0, 120.0]


def test_429_is_a_rate_limit_too(gh: FakeGitHub) -> None:
    clock = Clock()
    gh.fail_next(
        "GET", r".*/comments", 429, body={"message": "slow down"}, headers={"retry-after": "3"}
    )
    client_for(gh, clock).list_review_comments(gh.repo, gh.number)
    assert clock.sleeps == [3.0]


def test_retries_are_bounded(gh: FakeGitHub) -> None:
    clock = Clock()
    gh.fail_next("GET", r".*/comments", 403, body=SECONDARY, headers={"retry-after": "1"}, times=10)
    with pytest.raises(GitHubError) as info:
        client_for(gh, clock, max_retries=2).list_review_comments(gh.repo, gh.number)
    assert info.value.status == 403
    assert clock.sleeps == [1.0, 1.0]
    assert gh.count("GET") == 3


def test_a_wait_longer_than_max_wait_fails_instead(gh: FakeGitHub) -> None:
    clock = Clock()
    gh.fail_next("GET", r".*/comments", 403, body=SECONDARY, headers={"retry-after": "3600"})
    with pytest.raises(GitHubError, match="rate limited"):
        client_for(gh, clock).list_review_comments(gh.repo, gh.number)
    assert clock.sleeps == []


def test_plain_403_is_not_retried(gh: FakeGitHub) -> None:
    clock = Clock()
    client = client_for(gh, clock, token="ghs_read_only_token_42")
    with pytest.raises(GitHubError) as info:
        client.create_issue_comment(gh.repo, gh.number, "x")
    assert info.value.status == 403
    assert "Resource not accessible by integration" in str(info.value)
    assert clock.sleeps == [] and gh.count("POST") == 1


def test_5xx_retried_for_get_but_not_for_post(gh: FakeGitHub) -> None:
    clock = Clock()
    gh.fail_next("GET", r".*/comments", 502, body={"message": "Bad gateway"})
    assert client_for(gh, clock).list_review_comments(gh.repo, gh.number) == []
    assert clock.sleeps == [1.0]
    gh.fail_next("POST", r".*/comments", 502, body={"message": "Bad gateway"})
    with pytest.raises(GitHubError) as info:
        client_for(gh, clock).create_issue_comment(gh.repo, gh.number, "x")
    assert info.value.status == 502
    assert gh.count("POST") == 1  # it may have been created: never post twice


def test_422_carries_githubs_errors(gh: FakeGitHub) -> None:
    payload = {
        "commit_id": gh.head_sha,
        "event": "COMMENT",
        "comments": [{"path": "a.py", "line": 9, "side": "RIGHT", "body": "x"}],
    }
    with pytest.raises(GitHubError) as info:
        client_for(gh, Clock()).create_review(gh.repo, gh.number, payload)
    assert info.value.status == 422
    assert info.value.errors == ("Line could not be resolved",)
    assert isinstance(info.value, ReviewerError)


def test_token_never_in_errors(gh: FakeGitHub) -> None:
    secret = "ghs_this_is_secret"
    gh.fail_next("GET", r".*", 500, body={"message": f"echoing {secret}"}, times=5)
    with pytest.raises(GitHubError) as info:
        client_for(gh, Clock(), token=secret, max_retries=1).list_issue_comments(gh.repo, gh.number)
    assert secret not in str(info.value)
    assert secret not in repr(client_for(gh, Clock(), token=secret))


def test_connection_errors_become_github_errors() -> None:
    clock = Clock()
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = GitHubClient(
        f"http://127.0.0.1:{port}", "t", sleep=clock.sleep, max_retries=1, timeout=2
    )
    with pytest.raises(GitHubError) as info:
        client.list_issue_comments("o/r", 1)
    assert info.value.status is None
    assert clock.sleeps == [1.0]


def test_pagination_never_leaves_the_api_origin(gh: FakeGitHub) -> None:
    gh.fail_next(
        "GET",
        r".*/comments",
        200,
        body=[],
        headers={"Link": '<https://evil.example/x?page=2>; rel="next"'},
    )
    with pytest.raises(GitHubError, match="refusing"):
        client_for(gh, Clock()).list_issue_comments(gh.repo, gh.number)
    assert len(gh.requests) == 1


def test_writes_are_spaced(gh: FakeGitHub) -> None:
    clock = Clock()
    client = client_for(gh, clock, write_interval=1.0)
    client.create_issue_comment(gh.repo, gh.number, "a")
    client.list_issue_comments(gh.repo, gh.number)  # reads are not spaced
    client.create_issue_comment(gh.repo, gh.number, "b")
    assert clock.sleeps == [1.0]
    assert [c["user"] for c in gh.issue_comments] == [BOT, BOT]
