"""The few GitHub REST objects we read, validated (extra fields ignored: GitHub adds fields)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class User(Wire):
    login: str = ""
    # "Bot" for GITHUB_TOKEN ("github-actions[bot]") and GitHub Apps, "User" for a PAT.
    type: str = "User"


class Reactions(Wire):
    """The reaction counts GitHub rolls up in each comment."""

    total_count: int = 0
    minus_one: int = Field(default=0, alias="-1")


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
    reactions: Reactions | None = None


class ReviewThread(Wire):
    """One node of GraphQL's ``pullRequest.reviewThreads``, flattened."""

    root_id: int  # the REST id (``databaseId``) of the thread's first comment
    is_resolved: bool
    comments: int  # the root and its replies


class IssueComment(Wire):
    """GET /repos/{owner}/{repo}/issues/{n}/comments item."""

    id: int
    body: str = ""
    user: User | None = None
    html_url: str = ""
