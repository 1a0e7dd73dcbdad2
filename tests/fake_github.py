"""A real HTTP server on 127.0.0.1 speaking the slice of GitHub's REST API that publishing uses,
enforcing GitHub's rules rather than accepting anything:

    with FakeGitHub(diff={"src/app.py": {10, 11, 12}}) as gh:
        client = GitHubClient(gh.api_url, gh.token, sleep=sleeps.append)
        ...
        assert gh.count("POST", "/repos/octo/app/pulls/7/reviews") == 1

* ``diff``: path -> the RIGHT-side lines GitHub's diff of the PR can take comments on; each
  run of consecutive lines is one hunk. A review with any comment outside them is refused
  whole with GitHub's 422 shape; a multi-line comment must stay within one hunk.
* Tokens: ``token`` can write; ``read_only_tokens`` read but get 403 "Resource not accessible
  by integration" on writes (a fork PR's ``GITHUB_TOKEN``); anything else is 401. Writes are
  authored by ``github-actions[bot]`` (type Bot).
* Lists are paginated like GitHub: ``per_page`` (default 30, max 100), ``page``, and a ``Link``
  header with ``next``/``last``/``prev``/``first``.
* ``fail_next(...)`` queues canned answers (secondary rate limit, 5xx...) for matching requests.
* Reactions on review comments as GitHub serves them: a ``reactions`` rollup in every comment
  (``+1``, ``-1``, ..., ``total_count``), ``POST``/``GET .../pulls/comments/{id}/reactions``;
  ``react(...)`` seeds one.
* Review threads through GraphQL (``POST /graphql``): the ``reviewThreads`` connection of the
  pull request, each thread a root comment with its replies, ``isResolved`` as set by
  ``resolve_thread(...)`` (or the ``resolveReviewThread`` mutation), paginated by cursor.
* Every request is recorded in ``requests`` (method, path, query, headers, JSON body).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from reviewer.core.values import (
    ChangeSet,
    DiffLine,
    FileDiff,
    Finding,
    Hunk,
    ReviewResult,
    Stats,
)

BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
_REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
HUMAN = {"login": "octocat", "id": 583231, "type": "User"}
DOCS = "https://docs.github.com/rest"


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: Any


@dataclass
class Canned:
    method: str
    path: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    times: int


@dataclass
class FakeGitHub:
    repo: str = "octo/app"
    number: int = 7
    head_sha: str = "a" * 40
    diff: Mapping[str, Iterable[int]] = field(default_factory=dict)
    token: str = "ghs_writer_token_0123456789"
    read_only_tokens: frozenset[str] = frozenset({"ghs_read_only_token_42"})
    server_host: str = "https://github.com"

    def __post_init__(self) -> None:
        self.lines: dict[str, set[int]] = {p: set(ls) for p, ls in self.diff.items()}
        self.requests: list[Received] = []
        self.reviews: list[dict[str, Any]] = []
        self.review_comments: list[dict[str, Any]] = []
        self.issue_comments: list[dict[str, Any]] = []
        self.reactions: dict[int, list[dict[str, Any]]] = {}  # comment id -> reactions
        self.resolved: set[int] = set()  # root comment ids of resolved threads
        self._canned: list[Canned] = []
        self._ids = iter(range(1000, 10**9))
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> FakeGitHub:
        fake = self

        class Handler(_Handler):
            gh = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server = self._server
        # a short poll interval: shutdown() waits for one poll
        threading.Thread(target=lambda: server.serve_forever(0.01), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def api_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ------------------------------------------------------------------ seeding and queries

    def next_id(self) -> int:
        return next(self._ids)

    def add_review_comment(
        self,
        path: str,
        line: int | None,
        body: str,
        *,
        user: Mapping[str, Any] = HUMAN,
        in_reply_to_id: int | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            return self._new_review_comment(
                {"path": path, "line": line, "body": body, "side": "RIGHT"},
                user=dict(user),
                review_id=None,
                in_reply_to_id=in_reply_to_id,
            )

    def react(
        self, comment_id: int, content: str = "-1", *, user: Mapping[str, Any] = HUMAN
    ) -> dict[str, Any]:
        with self._lock:
            return self._add_reaction(comment_id, content, dict(user))

    def resolve_thread(self, comment_id: int, resolved: bool = True) -> None:
        """Resolve (or unresolve) the thread whose root comment is ``comment_id``."""
        with self._lock:
            (self.resolved.add if resolved else self.resolved.discard)(comment_id)

    def add_issue_comment(self, body: str, *, user: Mapping[str, Any] = HUMAN) -> dict[str, Any]:
        with self._lock:
            return self._new_issue_comment(body, dict(user))

    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and the ``path`` regex."""
        self._canned.append(
            Canned(method, re.compile(path), status, body, dict(headers or {}), times)
        )

    def calls(self, method: str, path: str | None = None) -> list[Received]:
        return [r for r in self.requests if r.method == method and (path is None or r.path == path)]

    def count(self, method: str, path: str | None = None) -> int:
        return len(self.calls(method, path))

    @property
    def pr_path(self) -> str:
        return f"/repos/{self.repo}/pulls/{self.number}"

    @property
    def issue_path(self) -> str:
        return f"/repos/{self.repo}/issues/{self.number}"

    # ------------------------------------------------------------------ handling

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        split = urllib.parse.urlsplit(raw_path)
        query = dict(urllib.parse.parse_qsl(split.query))
        path = split.path
        with self._lock:
            self.requests.append(Received(method, path, query, headers, body))
            for canned in self._canned:
                if canned.times > 0 and canned.method == method and canned.path.fullmatch(path):
                    canned.times -= 1
                    return canned.status, canned.body, canned.headers
            token = _token(headers.get("authorization", ""))
            if token != self.token and token not in self.read_only_tokens:
                return 401, {"message": "Bad credentials", "documentation_url": DOCS}, {}
            reading = method == "GET" or (
                path == "/graphql" and "mutation" not in str((body or {}).get("query", ""))
            )
            if not reading and token in self.read_only_tokens:
                return (
                    403,
                    {
                        "message": "Resource not accessible by integration",
                        "documentation_url": DOCS,
                        "status": "403",
                    },
                    {},
                )
            return self._route(method, path, query, body)

    def _route(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        repo = f"/repos/{self.repo}"
        if method == "POST" and path == "/graphql":
            return self._graphql(body)
        match = re.fullmatch(rf"{re.escape(repo)}/pulls/comments/(\d+)/reactions", path)
        if match:
            comment_id = int(match.group(1))
            if _by_id(self.review_comments, comment_id) is None:
                return 404, {"message": "Not Found"}, {}
            if method == "GET":
                return self._page(path, query, self.reactions.get(comment_id, []))
            if method == "POST":
                content = body.get("content") if isinstance(body, dict) else None
                if content not in _REACTIONS:
                    return _unprocessable(f"content {content!r} is not a valid reaction")
                return 201, self._add_reaction(comment_id, content, dict(BOT)), {}
        if method == "GET" and path == f"{self.pr_path}/comments":
            return self._page(path, query, self.review_comments)
        if method == "GET" and path == f"{self.issue_path}/comments":
            return self._page(path, query, self.issue_comments)
        if method == "POST" and path == f"{self.pr_path}/reviews":
            return self._create_review(body)
        if method == "POST" and path == f"{self.pr_path}/comments":
            return self._create_single_comment(body)
        if method == "POST" and path == f"{self.issue_path}/comments":
            if not isinstance(body, dict) or not body.get("body"):
                return _unprocessable("Body cannot be blank")
            return 201, self._new_issue_comment(body["body"], dict(BOT)), {}
        match = re.fullmatch(rf"{re.escape(repo)}/pulls/comments/(\d+)", path)
        if method == "DELETE" and match:
            found = _by_id(self.review_comments, int(match.group(1)))
            if found is None:
                return 404, {"message": "Not Found"}, {}
            self.review_comments.remove(found)
            return 204, None, {}
        match = re.fullmatch(rf"{re.escape(repo)}/issues/comments/(\d+)", path)
        if method == "PATCH" and match:
            found = _by_id(self.issue_comments, int(match.group(1)))
            if found is None:
                return 404, {"message": "Not Found"}, {}
            found["body"] = body["body"]
            return 200, found, {}
        return 404, {"message": "Not Found", "documentation_url": DOCS}, {}

    def _page(
        self, path: str, query: dict[str, str], items: list[dict[str, Any]]
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", 30)), 100)
        page = int(query.get("page", 1))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        rels = {"first": 1, "last": last}
        if page < last:
            rels["next"] = page + 1
        if page > 1:
            rels["prev"] = page - 1
        base = f"{self.api_url}{path}"
        link = ", ".join(
            f'<{base}?per_page={per_page}&page={n}>; rel="{rel}"' for rel, n in rels.items()
        )
        return 200, chunk, {"Link": link} if last > 1 else {}

    def _create_review(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict):
            return 400, {"message": "Problems parsing JSON"}, {}
        if body.get("commit_id", self.head_sha) != self.head_sha:
            return _unprocessable("commit_id is not part of the pull request")
        event = body.get("event")
        if event not in ("COMMENT", "APPROVE", "REQUEST_CHANGES", None):
            return _unprocessable(f"Invalid event {event}")
        comments = body.get("comments") or []
        if event in ("COMMENT", "REQUEST_CHANGES") and not comments and not body.get("body"):
            return _unprocessable("Review body is required")
        for comment in comments:
            error = self._comment_error(comment)
            if error:
                return _unprocessable(error)
        review_id = self.next_id()
        review = {
            "id": review_id,
            "user": dict(BOT),
            "body": body.get("body", ""),
            "state": "COMMENTED" if event == "COMMENT" else (event or "PENDING"),
            "commit_id": self.head_sha,
            "html_url": f"{self.server_host}/{self.repo}/pull/{self.number}#pullrequestreview-{review_id}",
        }
        self.reviews.append(review)
        for comment in comments:
            self._new_review_comment(comment, user=dict(BOT), review_id=review_id)
        return 200, review, {}

    def _create_single_comment(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict):
            return 400, {"message": "Problems parsing JSON"}, {}
        reply_to = body.get("in_reply_to")
        if reply_to is not None:
            parent = _by_id(self.review_comments, int(reply_to))
            if parent is None:
                return 404, {"message": "Not Found"}, {}
            comment = self._new_review_comment(
                {"path": parent["path"], "line": parent["line"], "body": body.get("body", "")},
                user=dict(BOT),
                review_id=None,
                in_reply_to_id=parent["id"],
            )
            return 201, comment, {}
        if body.get("commit_id") != self.head_sha:
            return _unprocessable("commit_id is not part of the pull request")
        error = self._comment_error(body)
        if error:
            return _unprocessable(error)
        return 201, self._new_review_comment(body, user=dict(BOT), review_id=self.next_id()), {}

    def _comment_error(self, comment: Any) -> str | None:
        if not isinstance(comment, dict) or not comment.get("body"):
            return "Body cannot be blank"
        path = comment.get("path")
        if path not in self.lines:
            return "Path could not be resolved"
        if "position" in comment:
            return "position is deprecated in this fake: use line"
        line = comment.get("line")
        if comment.get("side", "RIGHT") != "RIGHT" or line not in self.lines[path]:
            return "Line could not be resolved"
        start = comment.get("start_line")
        if start is not None:
            if comment.get("start_side", "RIGHT") != "RIGHT":
                return "Line could not be resolved"
            if start >= line:
                return "start_line must precede line"
            if any(n not in self.lines[path] for n in range(start, line + 1)):
                return "pull_request_review_thread.start_line must be part of the same hunk as the line."
        return None

    def _new_review_comment(
        self,
        comment: Mapping[str, Any],
        *,
        user: dict[str, Any],
        review_id: int | None,
        in_reply_to_id: int | None = None,
    ) -> dict[str, Any]:
        comment_id = self.next_id()
        stored = {
            "id": comment_id,
            "pull_request_review_id": review_id,
            "path": comment["path"],
            "line": comment.get("line"),
            "start_line": comment.get("start_line"),
            "side": comment.get("side", "RIGHT"),
            "start_side": comment.get("start_side"),
            "original_line": comment.get("line"),
            "commit_id": self.head_sha,
            "body": comment["body"],
            "user": user,
            "in_reply_to_id": in_reply_to_id,
            "html_url": f"{self.server_host}/{self.repo}/pull/{self.number}#discussion_r{comment_id}",
            "reactions": {
                "url": f"{self.server_host}/repos/{self.repo}/pulls/comments/{comment_id}/reactions",
                "total_count": 0,
                **dict.fromkeys(_REACTIONS, 0),
            },
        }
        self.review_comments.append(stored)
        return stored

    def _add_reaction(self, comment_id: int, content: str, user: dict[str, Any]) -> dict[str, Any]:
        comment = _by_id(self.review_comments, comment_id)
        assert comment is not None, f"no review comment {comment_id}"
        reaction = {"id": self.next_id(), "user": user, "content": content}
        self.reactions.setdefault(comment_id, []).append(reaction)
        rollup = comment["reactions"]
        rollup[content] += 1
        rollup["total_count"] += 1
        return reaction

    def _graphql(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        """The slice of GitHub's GraphQL API reviewer uses: a pull request's review threads,
        and the mutation that resolves one."""
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return 400, {"message": "Problems parsing JSON"}, {}
        query, variables = body["query"], body.get("variables") or {}
        if "resolveReviewThread" in query:
            thread_id = str(variables.get("threadId", ""))
            root = int(thread_id.removeprefix("PRRT_")) if thread_id.startswith("PRRT_") else 0
            self.resolved.add(root)
            thread = {"id": thread_id, "isResolved": True}
            return 200, {"data": {"resolveReviewThread": {"thread": thread}}}, {}
        if "reviewThreads" not in query:
            return 200, {"errors": [{"message": "this query is not served by the fake"}]}, {}
        if (
            f"{variables.get('owner')}/{variables.get('name')}" != self.repo
            or variables.get("number") != self.number
        ):
            error = {"type": "NOT_FOUND", "message": "Could not resolve to a PullRequest."}
            return 200, {"data": {"repository": None}, "errors": [error]}, {}
        first = re.search(r"reviewThreads\(first:\s*(\d+)", query)
        size = min(int(first.group(1)) if first else 100, 100)
        after = variables.get("after")
        start = int(str(after).removeprefix("cursor:")) if after else 0
        threads = self._threads()
        page = threads[start : start + size]
        end = start + len(page)
        connection = {
            "pageInfo": {"hasNextPage": end < len(threads), "endCursor": f"cursor:{end}"},
            "nodes": page,
        }
        pull = {"reviewThreads": connection}
        return 200, {"data": {"repository": {"pullRequest": pull}}}, {}

    def _threads(self) -> list[dict[str, Any]]:
        threads = []
        for root in self.review_comments:
            if root["in_reply_to_id"] is not None:
                continue
            replies = [c for c in self.review_comments if c["in_reply_to_id"] == root["id"]]
            threads.append(
                {
                    "id": f"PRRT_{root['id']}",
                    "isResolved": root["id"] in self.resolved,
                    "comments": {
                        "totalCount": 1 + len(replies),
                        "nodes": [{"databaseId": root["id"], "body": root["body"]}],
                    },
                }
            )
        return threads

    def _new_issue_comment(self, body: str, user: dict[str, Any]) -> dict[str, Any]:
        comment_id = self.next_id()
        stored = {
            "id": comment_id,
            "body": body,
            "user": user,
            "html_url": f"{self.server_host}/{self.repo}/pull/{self.number}#issuecomment-{comment_id}",
        }
        self.issue_comments.append(stored)
        return stored


class _Handler(BaseHTTPRequestHandler):
    gh: FakeGitHub

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload, extra = self.gh.handle(self.command, self.path, headers, body)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean


def _token(authorization: str) -> str:
    scheme, _, value = authorization.partition(" ")
    return value if scheme.lower() in ("bearer", "token") else ""


def _by_id(items: list[dict[str, Any]], item_id: int) -> dict[str, Any] | None:
    return next((item for item in items if item["id"] == item_id), None)


def _unprocessable(error: str) -> tuple[int, Any, dict[str, str]]:
    return (
        422,
        {
            "message": "Unprocessable Entity",
            "errors": [error],
            "documentation_url": f"{DOCS}/pulls/reviews#create-a-review-for-a-pull-request",
            "status": "422",
        },
        {},
    )


# --------------------------------------------------------------------------- PR builders
# The reviewed side of the same PR, so a test states a diff once for both the fake and us.


def make_hunk(new_start: int, rows: str, old_start: int | None = None) -> Hunk:
    """A hunk from row kinds: ``c`` context, ``a`` added, ``d`` deleted (``"ccaadcc"``)."""
    old_no = old_start if old_start is not None else new_start
    new_no = new_start
    lines: list[DiffLine] = []
    for i, kind in enumerate(rows):
        if kind == "c":
            lines.append(DiffLine(kind="ctx", text=f"ctx {i}", old_no=old_no, new_no=new_no))
            old_no, new_no = old_no + 1, new_no + 1
        elif kind == "a":
            lines.append(DiffLine(kind="add", text=f"add {i}", new_no=new_no))
            new_no += 1
        else:
            lines.append(DiffLine(kind="del", text=f"del {i}", old_no=old_no))
            old_no += 1
    return Hunk(
        old_start=old_start if old_start is not None else new_start,
        old_len=sum(1 for k in rows if k != "a"),
        new_start=new_start,
        new_len=sum(1 for k in rows if k != "d"),
        lines=tuple(lines),
    )


def new_lines(hunks: Iterable[Hunk]) -> set[int]:
    """Every new-side line of the hunks: what GitHub accepts when they have 3 lines of context."""
    return {ln.new_no for h in hunks for ln in h.lines if ln.new_no is not None}


def make_changes(files: Mapping[str, list[Hunk]], **kw: Any) -> ChangeSet:
    return ChangeSet(
        description="main...HEAD",
        files=tuple(FileDiff(path=p, hunks=tuple(hs)) for p, hs in files.items()),
        **kw,
    )


def make_finding(path: str, start: int, end: int | None = None, **kw: Any) -> Finding:
    fields: dict[str, Any] = {
        "path": path,
        "start_line": start,
        "end_line": end if end is not None else start,
        "severity": "high",
        "category": "bug",
        "confidence": 0.9,
        "title": f"Problem at {path}:{start}",
        "message": "This is wrong because of reasons.",
        "rule_id": "reviewer/bug",
        "fingerprint": hashlib.sha256(f"{path}:{start}:{end}".encode()).hexdigest()[:16],
        "score": 6.3,
    }
    fields.update(kw)
    return Finding(**fields)


def make_result(findings: Iterable[Finding] = (), **kw: Any) -> ReviewResult:
    found = tuple(findings)
    fields: dict[str, Any] = {
        "tool_version": "0.1.0",
        "source": "main...HEAD",
        "base_sha": "b" * 40,
        "head_sha": "a" * 40,
        "model": "gpt-4o-mini",
        "provider": "openai",
        "score": 10 if not found else 6,
        "summary": "Adds a parser.",
        "findings": found,
        "stats": Stats(tokens_in=1234, tokens_out=56, cost_usd=0.0012, chunks=1, files_reviewed=1),
    }
    fields.update(kw)
    return ReviewResult(**fields)
