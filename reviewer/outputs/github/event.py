"""The GitHub Actions environment of a pull-request run -> ``PullRequestContext``.

``from_env`` returns None when there is nothing to publish to: not running in Actions (no
``GITHUB_EVENT_PATH``) or an event that is not ``pull_request``/``pull_request_target``.
Inside such a run every missing or malformed piece is a ``ConfigError`` with one line naming it.

The head SHA is the PR's head commit from the event, not ``GITHUB_SHA``: for ``pull_request``
that is a merge commit GitHub made, which review comments cannot be anchored on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from reviewer.core.errors import ConfigError
from reviewer.core.values import Frozen

PR_EVENTS = frozenset({"pull_request", "pull_request_target"})
DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"


class PullRequestContext(Frozen):
    event_name: str
    repository: str  # "owner/name" of the base repository (where the PR lives)
    number: int
    base_sha: str
    base_ref: str
    head_sha: str
    head_ref: str
    head_repository: str | None  # None: the fork was deleted
    is_fork: bool
    token: SecretStr  # SecretStr: repr/str/model_dump never show it
    api_url: str = DEFAULT_API_URL
    server_url: str = DEFAULT_SERVER_URL
    graphql_url: str = ""  # "": derived from api_url (see ``graphql_endpoint``)
    step_summary: str | None = None  # $GITHUB_STEP_SUMMARY, appended to on fallback
    # Our comments are recognised by their marker and a Bot author; a run with a personal
    # token posts as a "User", so name that login here (REVIEWER_GITHUB_LOGIN).
    own_login: str | None = None

    @property
    def graphql_endpoint(self) -> str:
        """$GITHUB_GRAPHQL_URL, else the API's: ``<api>/graphql`` on github.com, and
        ``https://HOST/api/graphql`` for a GitHub Enterprise Server's ``https://HOST/api/v3``."""
        if self.graphql_url:
            return self.graphql_url
        if self.api_url.endswith("/api/v3"):
            return self.api_url.removesuffix("/v3") + "/graphql"
        return self.api_url + "/graphql"

    @property
    def pr_url(self) -> str:
        return f"{self.server_url}/{self.repository}/pull/{self.number}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> PullRequestContext | None:
        event_path = environ.get("GITHUB_EVENT_PATH", "")
        if not event_path:
            return None
        event_name = environ.get("GITHUB_EVENT_NAME", "")
        if event_name and event_name not in PR_EVENTS:
            return None
        payload = _read_event(event_path)
        pr = payload.get("pull_request")
        if pr is None:
            if event_name:
                raise ConfigError(f"GITHUB_EVENT_PATH: a {event_name} event without pull_request")
            return None  # GITHUB_EVENT_NAME unset: some other event
        if not isinstance(pr, dict):
            raise ConfigError("GITHUB_EVENT_PATH: pull_request is not an object")
        repository = environ.get("GITHUB_REPOSITORY") or _str(pr, "base", "repo", "full_name")
        if not repository or repository.count("/") != 1 or repository.startswith("/"):
            raise ConfigError("GITHUB_REPOSITORY must be 'owner/name'")
        token = environ.get("GITHUB_TOKEN", "")
        if not token.strip():
            raise ConfigError(
                "GITHUB_TOKEN is not set: add `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`"
            )
        head_repo = pr.get("head", {}).get("repo") if isinstance(pr.get("head"), dict) else None
        head_repository = head_repo.get("full_name") if isinstance(head_repo, dict) else None
        base_repository = _str(pr, "base", "repo", "full_name") or repository
        return cls(
            event_name=event_name or "pull_request",
            repository=repository,
            number=_number(pr, payload),
            base_sha=_required_sha(pr, "base"),
            base_ref=_str(pr, "base", "ref"),
            head_sha=_required_sha(pr, "head"),
            head_ref=_str(pr, "head", "ref"),
            head_repository=head_repository if isinstance(head_repository, str) else None,
            is_fork=head_repository != base_repository,
            token=SecretStr(token.strip()),
            api_url=_url(environ, "GITHUB_API_URL", DEFAULT_API_URL),
            server_url=_url(environ, "GITHUB_SERVER_URL", DEFAULT_SERVER_URL),
            graphql_url=_url(environ, "GITHUB_GRAPHQL_URL", "")
            if environ.get("GITHUB_GRAPHQL_URL")
            else "",
            step_summary=environ.get("GITHUB_STEP_SUMMARY") or None,
            own_login=environ.get("REVIEWER_GITHUB_LOGIN") or None,
        )


def _read_event(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"GITHUB_EVENT_PATH {path}: {exc.strerror or exc}") from None
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"GITHUB_EVENT_PATH {path}: not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise ConfigError(f"GITHUB_EVENT_PATH {path}: not a JSON object")
    return payload


def _str(obj: Any, *keys: str) -> str:
    for key in keys:
        if not isinstance(obj, dict):
            return ""
        obj = obj.get(key)
    return obj if isinstance(obj, str) else ""


def _required_sha(pr: dict[str, Any], side: str) -> str:
    sha = _str(pr, side, "sha")
    if len(sha) < 7 or any(c not in "0123456789abcdef" for c in sha.lower()):
        raise ConfigError(f"GITHUB_EVENT_PATH: pull_request.{side}.sha is missing or not a SHA")
    return sha


def _number(pr: dict[str, Any], payload: dict[str, Any]) -> int:
    number = pr.get("number", payload.get("number"))
    # bool is an int subclass; JSON true is not a PR number
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise ConfigError("GITHUB_EVENT_PATH: pull_request.number is missing or not a number")
    return number


def _url(environ: Mapping[str, str], name: str, default: str) -> str:
    url = (environ.get(name) or default).rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ConfigError(f"{name} must be an http(s) URL, got {url!r}")
    return url
