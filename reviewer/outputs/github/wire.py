"""The few GitHub REST objects we read, validated (extra fields ignored: GitHub adds fields)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class User(Wire):
    login: str = ""
    # "Bot" for GITHUB_TOKEN ("github-actions[bot]") and GitHub Apps, "User" for a PAT.
    type: str = "User"


class ReviewComment(Wire):
    """GET /repos/{owner}/{repo}/pulls/{n}/comments item."""

    id: int
    body: str = ""
    path: str = ""
    line: int | None = None  # None when the comment is outdated
    start_line: int | None = None
    in_reply_to_id: int | None = None
    user: User | None = None  # None for a deleted ("ghost") account
    html_url: str = ""


class IssueComment(Wire):
    """GET /repos/{owner}/{repo}/issues/{n}/comments item."""

    id: int
    body: str = ""
    user: User | None = None
    html_url: str = ""
