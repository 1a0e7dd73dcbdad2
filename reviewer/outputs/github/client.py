"""The only module that talks HTTP to GitHub (stdlib ``urllib``: no dependency, quick import).

Behaviour GitHub's REST docs ask of integrators, in one place:

* **Rate limits.** A 403/429 with ``retry-after`` waits that many seconds; with
  ``x-ratelimit-remaining: 0`` waits until ``x-ratelimit-reset`` (+1 s for clock skew); a
  secondary limit without headers waits a minute, doubling. Waits longer than ``max_wait``
  are not slept through: the call fails instead (a CI job should not idle for an hour).
* **Writes one at a time**, at least ``write_interval`` seconds apart (GitHub's advice against
  secondary limits), under a lock so threads cannot interleave them.
* **Retries are bounded** (``max_retries``). A POST is retried only after a rate-limit answer,
  which guarantees it was not processed; after a 5xx or a dropped connection it may have been,
  and posting a review twice is worse than failing. GET/PATCH/DELETE are idempotent and retried.
* **Pagination** follows ``Link: <...>; rel="next"``, only to the configured API origin, so the
  token is never sent elsewhere.
* **The token** goes in the ``Authorization`` header and nowhere else; error messages are built
  from the method, path, status and GitHub's ``message``, and scrubbed of the token anyway.

``sleep``, ``monotonic`` and ``now`` are injectable so tests never wait.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from reviewer import __version__
from reviewer.core.errors import GitHubError
from reviewer.outputs.github.event import PullRequestContext
from reviewer.outputs.github.wire import IssueComment, ReviewComment, ReviewThread
from reviewer.outputs.httpjson import Response, build_opener, exchange
from reviewer.outputs.httpjson import decode_body as _decode

SECONDARY_LIMIT_WAIT = 60.0
_RETRYABLE_5XX = frozenset({500, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "PATCH", "DELETE", "PUT"})
_WRITES = frozenset({"POST", "PATCH", "DELETE", "PUT"})
# Threads and whether they are resolved exist only in GraphQL; the first comment's REST id
# ties a thread to our comment. 100 is the largest page GraphQL serves.
_THREADS_QUERY = """
query($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { isResolved comments(first: 1) { totalCount nodes { databaseId } } }
      }
    }
  }
}
"""


class GitHubClient:
    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_wait: float = 300.0,
        write_interval: float = 1.0,
        per_page: int = 100,
        max_pages: int = 100,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
        graphql_url: str | None = None,
    ) -> None:
        self._base = api_url.rstrip("/")
        self._graphql = graphql_url
        self._token = token
        self._timeout = timeout
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._write_interval = write_interval
        self._per_page = per_page
        self._max_pages = max_pages
        self._sleep = sleep
        self._monotonic = monotonic
        self._now = now
        self._write_lock = threading.Lock()
        self._last_write: float | None = None
        self._opener = build_opener()  # follows no redirect: the token stays here

    @classmethod
    def for_context(cls, ctx: PullRequestContext, **kwargs: Any) -> GitHubClient:
        """A client for the run's API URL and token; ``kwargs`` as for the constructor."""
        kwargs.setdefault("graphql_url", ctx.graphql_endpoint)
        return cls(ctx.api_url, ctx.token.get_secret_value(), **kwargs)

    def __repr__(self) -> str:
        return f"GitHubClient({self._base!r})"

    # ------------------------------------------------------------------ endpoints

    def list_review_comments(self, repo: str, number: int) -> list[ReviewComment]:
        items = self.paginate(f"/repos/{repo}/pulls/{number}/comments")
        return [ReviewComment.model_validate(item) for item in items]

    def list_issue_comments(self, repo: str, number: int) -> list[IssueComment]:
        items = self.paginate(f"/repos/{repo}/issues/{number}/comments")
        return [IssueComment.model_validate(item) for item in items]

    def create_review(self, repo: str, number: int, payload: Mapping[str, Any]) -> int:
        data = self.request("POST", f"/repos/{repo}/pulls/{number}/reviews", body=payload).data
        return _id_of(data)

    def delete_review_comment(self, repo: str, comment_id: int) -> None:
        self.request("DELETE", f"/repos/{repo}/pulls/comments/{comment_id}")

    def create_issue_comment(self, repo: str, number: int, body: str) -> IssueComment:
        path = f"/repos/{repo}/issues/{number}/comments"
        data = self.request("POST", path, body={"body": body}).data
        return IssueComment.model_validate(data)

    def update_issue_comment(self, repo: str, comment_id: int, body: str) -> IssueComment:
        path = f"/repos/{repo}/issues/comments/{comment_id}"
        data = self.request("PATCH", path, body={"body": body}).data
        return IssueComment.model_validate(data)

    def list_review_threads(self, repo: str, number: int) -> list[ReviewThread]:
        """The PR's review threads (GraphQL): resolved or not, and how many comments."""
        owner, _, name = repo.partition("/")
        threads: list[ReviewThread] = []
        after: str | None = None
        for _ in range(self._max_pages):
            variables = {"owner": owner, "name": name, "number": number, "after": after}
            data = self.graphql(_THREADS_QUERY, variables)
            try:
                connection = data["repository"]["pullRequest"]["reviewThreads"]
                for node in connection["nodes"]:
                    comments = node["comments"]
                    threads.append(
                        ReviewThread(
                            root_id=comments["nodes"][0]["databaseId"],
                            is_resolved=node["isResolved"],
                            comments=comments["totalCount"],
                        )
                    )
                page = connection["pageInfo"]
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                raise GitHubError(f"GraphQL reviewThreads: unexpected answer ({exc})") from None
            if not page.get("hasNextPage"):
                return threads
            after = page.get("endCursor")
        raise GitHubError(f"GraphQL reviewThreads: more than {self._max_pages} pages")

    def graphql(self, query: str, variables: Mapping[str, Any]) -> Any:
        """``data`` of a GraphQL query; its ``errors`` (GitHub answers them with HTTP 200)
        raise ``GitHubError``. A query reads: retried like a GET, not spaced like a write."""
        if not self._graphql:
            raise GitHubError("no GraphQL endpoint is configured")
        body = {"query": query, "variables": dict(variables)}
        response = self._with_retries("POST", self._graphql, "/graphql", body, idempotent=True)
        data = response.data
        errors = data.get("errors") if isinstance(data, dict) else None
        if errors or not isinstance(data, dict) or not isinstance(data.get("data"), dict):
            first = errors[0] if isinstance(errors, list) and errors else {}
            message = first.get("message") if isinstance(first, dict) else str(first)
            raise GitHubError(self._scrub(f"POST /graphql: {message or 'no data'}"))
        return data["data"]

    # ------------------------------------------------------------------ transport

    def paginate(self, path: str, params: Mapping[str, str] | None = None) -> list[Any]:
        query = {"per_page": str(self._per_page), **(params or {})}
        url: str | None = self._url(path, query)
        items: list[Any] = []
        for _ in range(self._max_pages):
            if url is None:
                return items
            response = self.request("GET", url)
            if not isinstance(response.data, list):
                raise GitHubError(f"GET {path}: expected a JSON list")
            items.extend(response.data)
            url = _next_link(response.headers.get("link", ""))
        if url is not None:
            raise GitHubError(f"GET {path}: more than {self._max_pages} pages")
        return items

    def request(
        self, method: str, path_or_url: str, *, body: Mapping[str, Any] | None = None
    ) -> Response:
        url = path_or_url if "://" in path_or_url else self._url(path_or_url)
        if not self._is_api_url(url):
            raise GitHubError(f"{method}: refusing to send the token off the API origin")
        shown = self._shown(url)
        if method in _WRITES:
            with self._write_lock:
                self._space_writes()
                try:
                    return self._with_retries(method, url, shown, body)
                finally:
                    self._last_write = self._monotonic()
        return self._with_retries(method, url, shown, body)

    def _with_retries(
        self,
        method: str,
        url: str,
        shown: str,
        body: Mapping[str, Any] | None,
        *,
        idempotent: bool | None = None,
    ) -> Response:
        secondary_wait = SECONDARY_LIMIT_WAIT
        retryable = method in _IDEMPOTENT if idempotent is None else idempotent
        for attempt in range(self._max_retries + 1):
            last = attempt == self._max_retries
            try:
                status, headers, raw = self._send(method, url, body)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                if last or not retryable:
                    reason = getattr(exc, "reason", exc)
                    raise GitHubError(
                        self._scrub(f"{method} {shown}: {type(exc).__name__}: {reason}")
                    ) from None
                self._sleep(float(2**attempt))
                continue
            data = _decode(raw)
            if status < 300:
                return Response(status, headers, data)
            wait = self._rate_limit_wait(status, headers, data, secondary_wait)
            if wait is not None:
                if wait > self._max_wait or last:
                    raise self._error(method, shown, status, data, f"rate limited ({wait:.0f}s)")
                if "retry-after" not in headers and headers.get("x-ratelimit-remaining") != "0":
                    secondary_wait *= 2
                self._sleep(wait)
                continue
            if status in _RETRYABLE_5XX and retryable and not last:
                self._sleep(float(2**attempt))
                continue
            raise self._error(method, shown, status, data, "")
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(
        self, method: str, url: str, body: Mapping[str, Any] | None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self._token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"reviewer/{__version__}",
        }
        return exchange(self._opener, method, url, headers, body, timeout=self._timeout)

    def _rate_limit_wait(
        self, status: int, headers: Mapping[str, str], data: Any, secondary_wait: float
    ) -> float | None:
        if status not in (403, 429):
            return None
        retry_after = headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                return secondary_wait
        if headers.get("x-ratelimit-remaining") == "0":
            try:
                reset = float(headers.get("x-ratelimit-reset", ""))
            except ValueError:
                return secondary_wait
            return max(0.0, reset - self._now()) + 1.0
        if status == 429 or "rate limit" in _message(data).lower():
            return secondary_wait
        return None  # a plain 403: no permission, not a limit

    def _space_writes(self) -> None:
        if self._last_write is None or self._write_interval <= 0:
            return
        remaining = self._last_write + self._write_interval - self._monotonic()
        if remaining > 0:
            self._sleep(remaining)

    def _error(self, method: str, shown: str, status: int, data: Any, note: str) -> GitHubError:
        errors = _errors(data)
        detail = "; ".join(filter(None, (_message(data), *errors, note)))
        text = f"{method} {shown}: HTTP {status}" + (f": {detail}" if detail else "")
        return GitHubError(self._scrub(text), status=status, errors=errors)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        url = self._base + path
        return f"{url}?{urllib.parse.urlencode(query)}" if query else url

    def _is_api_url(self, url: str) -> bool:
        return url == self._base or url.startswith((self._base + "/", self._base + "?"))

    def _shown(self, url: str) -> str:
        return urllib.parse.urlsplit(url[len(self._base) :]).path or "/"


def _message(data: Any) -> str:
    if isinstance(data, dict):
        return str(data.get("message", ""))
    return data if isinstance(data, str) else ""


def _errors(data: Any) -> tuple[str, ...]:
    # GitHub's ``errors`` is a list of strings or of {"resource", "field", "code", "message"}.
    items = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return ()
    out: list[str] = []
    for item in items:
        if isinstance(item, dict):
            out.append(str(item.get("message") or item.get("code") or item))
        else:
            out.append(str(item))
    return tuple(out)


def _id_of(data: Any) -> int:
    if isinstance(data, dict) and isinstance(data.get("id"), int):
        return int(data["id"])
    raise GitHubError("GitHub answered without an id")


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", ""):
            return target.strip().strip("<>")
    return None
