"""Reading what a PR's team dismissed: reactions from the REST list, resolved threads from
GraphQL (paginated), and what each failure leaves (a warning, never a failed run). Against the
fake GitHub, which serves both as GitHub does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_github import BOT, HUMAN, FakeGitHub
from test_github_client import Clock
from test_github_client import client_for as rest_client

from reviewer.outputs.github.client import GitHubClient
from reviewer.outputs.github.dismissed import dismissed_fingerprints
from reviewer.outputs.github.event import PullRequestContext
from reviewer.outputs.github.markdown import fingerprint_marker


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(diff={"a.py": set(range(1, 400))}) as fake:
        yield fake


def context(gh: FakeGitHub) -> PullRequestContext:
    return PullRequestContext.model_validate(
        {
            "event_name": "pull_request",
            "repository": gh.repo,
            "number": gh.number,
            "base_sha": "b" * 40,
            "base_ref": "main",
            "head_sha": gh.head_sha,
            "head_ref": "feature",
            "head_repository": gh.repo,
            "is_fork": False,
            "token": gh.token,
            "api_url": gh.api_url,
        }
    )


def client_for(gh: FakeGitHub, clock: Clock) -> GitHubClient:
    return rest_client(gh, clock, graphql_url=f"{gh.api_url}/graphql")


def ours(gh: FakeGitHub, fingerprint: str, line: int = 1) -> int:
    body = f"{fingerprint_marker(fingerprint)}\n**Problem**"
    return int(gh.add_review_comment("a.py", line, body, user=BOT)["id"])


def test_reactions_and_resolved_threads_with_replies_mark_false_positives(
    gh: FakeGitHub,
) -> None:
    thumbed = ours(gh, "aaaa000000000001")
    resolved = ours(gh, "aaaa000000000002")
    silent = ours(gh, "aaaa000000000003")  # resolved without a reply
    ours(gh, "aaaa000000000004")  # untouched
    liked = ours(gh, "aaaa000000000005")
    gh.react(thumbed, "-1")
    gh.react(liked, "+1")
    gh.add_review_comment("a.py", 1, "It is intended.", in_reply_to_id=resolved)
    gh.resolve_thread(resolved)
    gh.resolve_thread(silent)
    # Someone else's comment carrying our marker is not ours to dismiss.
    copied = gh.add_review_comment("a.py", 2, f"{fingerprint_marker('bbbb000000000001')}\nx")
    gh.react(int(copied["id"]), "-1")

    found, warnings = dismissed_fingerprints(context(gh), client_for(gh, Clock()))

    assert found == {"aaaa000000000001", "aaaa000000000002"}
    assert warnings == ()


def test_threads_are_read_page_by_page(gh: FakeGitHub) -> None:
    ids = [ours(gh, f"cccc{n:012d}", line=n) for n in range(1, 231)]
    for comment in ids[::50]:
        gh.add_review_comment("a.py", 1, "Not a bug.", in_reply_to_id=comment, user=HUMAN)
        gh.resolve_thread(comment)

    client = client_for(gh, Clock())
    threads = client.list_review_threads(gh.repo, gh.number)

    assert len(threads) == 230
    assert {t.root_id for t in threads if t.is_resolved} == set(ids[::50])
    assert all(t.comments == 2 for t in threads if t.is_resolved)
    assert len(gh.calls("POST", "/graphql")) == 3  # 100 a page
    found, _ = dismissed_fingerprints(context(gh), client)
    assert len(found) == 5


def test_a_graphql_error_is_a_warning_and_reactions_still_count(gh: FakeGitHub) -> None:
    gh.react(ours(gh, "dddd000000000001"), "-1")
    gh.fail_next("POST", "/graphql", 200, body={"errors": [{"message": "Something went wrong"}]})

    found, warnings = dismissed_fingerprints(context(gh), client_for(gh, Clock()))

    assert found == {"dddd000000000001"}
    (warning,) = warnings
    assert "Something went wrong" in warning
    assert "only thumbs-down reactions" in warning


def test_an_unreadable_pull_request_dismisses_nothing_and_says_so(gh: FakeGitHub) -> None:
    gh.react(ours(gh, "eeee000000000001"), "-1")
    gh.fail_next("GET", r"/repos/.*/pulls/\d+/comments", 404, body={"message": "Not Found"})

    found, warnings = dismissed_fingerprints(context(gh), client_for(gh, Clock()))

    assert found == frozenset()
    (warning,) = warnings
    assert "could not read the pull request's review comments" in warning


def test_no_comments_of_ours_means_no_graphql_query(gh: FakeGitHub) -> None:
    gh.add_review_comment("a.py", 1, "A person's comment.")
    assert dismissed_fingerprints(context(gh), client_for(gh, Clock())) == (frozenset(), ())
    assert gh.calls("POST", "/graphql") == []


def test_reactions_are_served_like_githubs(gh: FakeGitHub) -> None:
    comment = ours(gh, "ffff000000000001")
    client = client_for(gh, Clock())
    created = client.request(
        "POST", f"/repos/{gh.repo}/pulls/comments/{comment}/reactions", body={"content": "-1"}
    )
    assert created.status == 201 and created.data["content"] == "-1"
    (listed,) = client.list_review_comments(gh.repo, gh.number)
    assert listed.reactions is not None
    assert (listed.reactions.total_count, listed.reactions.minus_one) == (1, 1)
    listing = client.paginate(f"/repos/{gh.repo}/pulls/comments/{comment}/reactions")
    assert [r["content"] for r in listing] == ["-1"]


def test_the_graphql_endpoint_of_github_and_of_an_enterprise_server() -> None:
    base = {
        "event_name": "pull_request",
        "repository": "o/r",
        "number": 1,
        "base_sha": "b" * 40,
        "base_ref": "main",
        "head_sha": "a" * 40,
        "head_ref": "f",
        "head_repository": "o/r",
        "is_fork": False,
        "token": "t",
    }
    github = PullRequestContext.model_validate(base)
    assert github.graphql_endpoint == "https://api.github.com/graphql"
    ghes = PullRequestContext.model_validate({**base, "api_url": "https://ghe.example/api/v3"})
    assert ghes.graphql_endpoint == "https://ghe.example/api/graphql"
    named = PullRequestContext.model_validate({**base, "graphql_url": "https://x.example/gql"})
    assert named.graphql_endpoint == "https://x.example/gql"
