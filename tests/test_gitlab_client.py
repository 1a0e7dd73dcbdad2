"""The GitLab client against the fake GitLab: headers, X-Next-Page pagination, 429 and 5xx
handling with injected time, error messages without the token, and TLS with a CA of the
instance's own (a self-signed CA generated here with the openssl CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_gitlab import FakeGitLab, diff_rows, gitlab_line_code
from gitlab_harness import make_certificates
from test_github_client import Clock  # injected time: sleep records and advances

from reviewer.core.errors import ConfigError, GitLabError
from reviewer.outputs.gitlab.client import GitLabClient, message_of
from reviewer.outputs.gitlab.context import ssl_context


@pytest.fixture
def gl() -> Iterator[FakeGitLab]:
    with FakeGitLab() as fake:
        yield fake


def client_for(gl: FakeGitLab, clock: Clock, **kw: Any) -> GitLabClient:
    return GitLabClient(
        gl.api_url, kw.pop("token", gl.token), sleep=clock.sleep, now=clock.now, **kw
    )


def test_sends_the_token_as_private_token(gl: FakeGitLab) -> None:
    user = client_for(gl, Clock()).current_user()
    (req,) = gl.requests
    assert user.id == 901 and user.bot
    assert req.headers["private-token"] == gl.token
    assert "authorization" not in req.headers
    assert req.headers["user-agent"].startswith("reviewer/")


def test_follows_x_next_page_to_the_last_page(gl: FakeGitLab) -> None:
    for i in range(5):
        gl.add_note(f"note {i}")

    notes = client_for(gl, Clock(), per_page=2).notes("42", 7)

    assert [n.body for n in notes] == [f"note {i}" for i in range(5)]
    pages = [r.query["page"] for r in gl.calls("GET", r"/notes$")]
    assert pages == ["1", "2", "3"]
    assert gl.calls("GET")[-1].query["per_page"] == "2"


def test_pagination_is_bounded(gl: FakeGitLab) -> None:
    for i in range(5):
        gl.add_note(f"note {i}")
    with pytest.raises(GitLabError, match="more than 2 pages"):
        client_for(gl, Clock(), per_page=1, max_pages=2).notes("42", 7)


def test_429_waits_retry_after_then_ratelimit_reset(gl: FakeGitLab) -> None:
    clock = Clock()
    gl.fail_next("GET", "/user", 429, body="Retry later", headers={"Retry-After": "7"})
    gl.fail_next(
        "GET", "/user", 429, body="Retry later", headers={"RateLimit-Reset": str(int(clock.t) + 20)}
    )

    client_for(gl, clock).current_user()

    assert clock.sleeps == [7.0, 14.0]  # until the reset time, plus a second of clock skew


def test_a_rate_limit_longer_than_max_wait_fails(gl: FakeGitLab) -> None:
    gl.fail_next("GET", "/user", 429, body="Retry later", headers={"Retry-After": "3600"})
    with pytest.raises(GitLabError, match=r"HTTP 429: Retry later; rate limited \(3600s\)"):
        client_for(gl, Clock(), max_wait=300).current_user()


def test_5xx_is_retried_for_reads_only(gl: FakeGitLab) -> None:
    clock = Clock()
    gl.fail_next("GET", "/user", 502, body="Bad Gateway", times=2)
    assert client_for(gl, clock).current_user().id == 901
    assert clock.sleeps == [1.0, 2.0]

    gl.fail_next("POST", ".*/notes", 503, body={"message": "503 Service Unavailable"})
    with pytest.raises(GitLabError) as info:
        client_for(gl, clock).create_note("42", 7, "hello")
    assert info.value.status == 503
    assert len(gl.calls("POST")) == 1


def test_errors_carry_gitlabs_message_and_never_the_token(gl: FakeGitLab) -> None:
    with pytest.raises(GitLabError) as info:
        client_for(gl, Clock()).merge_request("42", 99)
    assert str(info.value) == "GET /projects/42/merge_requests/99: HTTP 404: 404 Not found"
    assert info.value.status == 404

    gl.fail_next("GET", "/user", 401, body={"message": f"401 Unauthorized {gl.token}"})
    with pytest.raises(GitLabError) as info:
        client_for(gl, Clock()).current_user()
    assert gl.token not in str(info.value) and "***" in str(info.value)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"message": "404 Project Not Found"}, "404 Project Not Found"),
        (
            {"message": {"note": ["can't be blank", "is too long"]}},
            "note can't be blank, is too long",
        ),
        (
            {"error": "insufficient_scope", "error_description": "needs more"},
            "insufficient_scope: needs more",
        ),
        ("Retry later\n", "Retry later"),
        (None, ""),
    ],
)
def test_message_of_reads_gitlabs_error_shapes(data: Any, text: str) -> None:
    assert message_of(data) == text


def test_the_fake_computes_gitlabs_line_codes() -> None:
    rows = diff_rows("a.py", "@@ -0,0 +1,2 @@\n+x\n+y")
    assert [r.line_code for r in rows] == [gitlab_line_code("a.py", 0, n) for n in (1, 2)]


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https_gl(certificates: dict[str, Path]) -> Iterator[FakeGitLab]:
    with FakeGitLab(tls=(str(certificates["cert"]), str(certificates["key"]))) as fake:
        yield fake


def test_an_untrusted_certificate_is_named_with_the_fix(https_gl: FakeGitLab) -> None:
    assert https_gl.api_url.startswith("https://")
    with pytest.raises(GitLabError) as info:
        client_for(https_gl, Clock(), ssl_context=ssl_context(None)).current_user()
    text = str(info.value)
    assert f"the TLS certificate of {https_gl.server_url[8:]} is not trusted" in text
    assert "--gitlab-ca-file" in text and "REQUESTS_CA_BUNDLE" in text


def test_the_instances_ca_is_trusted_with_the_ca_file(
    https_gl: FakeGitLab, certificates: dict[str, Path]
) -> None:
    context = ssl_context(str(certificates["ca"]))
    assert client_for(https_gl, Clock(), ssl_context=context).current_user().id == 901


def test_a_missing_or_broken_ca_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GitLab CA file not found"):
        ssl_context(str(tmp_path / "nope.pem"))
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a PEM certificate"):
        ssl_context(str(bad))
