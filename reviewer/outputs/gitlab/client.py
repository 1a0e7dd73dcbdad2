"""The only module that talks HTTP to GitLab (stdlib ``urllib``: no dependency, quick import).

``python-gitlab`` would bring ``requests`` and its own retry and CA handling for the eight
calls below, and hide the statuses the error messages name; the urllib exchange the GitHub
client already uses (``reviewer.outputs.httpjson``) serves both.

What GitLab's REST docs ask of integrators, in one place:

* **The token** goes in the ``PRIVATE-TOKEN`` header and nowhere else (redirects are not
  followed, pagination stays on the API origin); error messages are built from the method,
  path, status and GitLab's ``message``/``error``, and scrubbed of the token anyway.
* **Rate limits.** A 429 waits ``Retry-After`` seconds, else until ``RateLimit-Reset``, else a
  minute; waits longer than ``max_wait`` fail instead (a CI job should not idle for an hour).
  Any method is retried after a 429: GitLab did not process the request.
* **Retries are bounded** (``max_retries``). 5xx answers and dropped connections are retried
  for GET/PUT/DELETE only: a POST may have been processed, and a thread posted twice is worse
  than a failed job. A certificate GitLab's TLS does not verify is never retried.
* **Pagination** follows ``X-Next-Page`` (offset pagination, ``per_page`` up to 100), at most
  ``max_pages`` pages.

``sleep`` and ``now`` are injectable so tests never wait.
"""

from __future__ import annotations

import http.client
import ssl
import time
import urllib.error
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from reviewer import __version__
from reviewer.core.errors import GitLabError
from reviewer.outputs.gitlab.wire import (
    Discussion,
    MergeRequest,
    Note,
    User,
    Version,
    VersionDetail,
)
from reviewer.outputs.httpjson import Response, build_opener, decode_body, exchange

DEFAULT_RATE_LIMIT_WAIT = 60.0
_RETRYABLE_5XX = frozenset({500, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})


class GitLabClient:
    def __init__(
        self,
        api_url: str,
        token: str | None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_wait: float = 300.0,
        per_page: int = 100,
        max_pages: int = 100,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._base = api_url.rstrip("/")
        self._token = token or ""
        self._timeout = timeout
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._per_page = per_page
        self._max_pages = max_pages
        self._sleep = sleep
        self._now = now
        self._opener = build_opener(ssl_context)

    def __repr__(self) -> str:
        return f"GitLabClient({self._base!r})"

    # ------------------------------------------------------------------ endpoints

    def current_user(self) -> User:
        return User.model_validate(self.request("GET", "/user").data)

    def token_scopes(self) -> tuple[str, ...] | None:
        """The token's scopes (GitLab 16.0+); None when the instance cannot say."""
        try:
            data = self.request("GET", "/personal_access_tokens/self").data
        except GitLabError as exc:
            if exc.status in (403, 404):
                return None  # an older instance, or a token type without this endpoint
            raise
        scopes = data.get("scopes") if isinstance(data, dict) else None
        return tuple(str(s) for s in scopes) if isinstance(scopes, list) else None

    def merge_request(self, project: str, iid: int) -> MergeRequest:
        data = self.request("GET", f"/projects/{project}/merge_requests/{iid}").data
        return MergeRequest.model_validate(data)

    def versions(self, project: str, iid: int) -> list[Version]:
        items = self.paginate(f"/projects/{project}/merge_requests/{iid}/versions")
        return [Version.model_validate(item) for item in items]

    def version(self, project: str, iid: int, version_id: int) -> VersionDetail:
        path = f"/projects/{project}/merge_requests/{iid}/versions/{version_id}"
        return VersionDetail.model_validate(self.request("GET", path).data)

    def discussions(self, project: str, iid: int) -> list[Discussion]:
        items = self.paginate(f"/projects/{project}/merge_requests/{iid}/discussions")
        return [Discussion.model_validate(item) for item in items]

    def create_discussion(
        self, project: str, iid: int, body: str, position: Mapping[str, Any]
    ) -> Discussion:
        path = f"/projects/{project}/merge_requests/{iid}/discussions"
        data = self.request("POST", path, body={"body": body, "position": position}).data
        return Discussion.model_validate(data)

    def resolve_discussion(
        self, project: str, iid: int, discussion_id: str, *, resolved: bool = True
    ) -> None:
        path = f"/projects/{project}/merge_requests/{iid}/discussions/{discussion_id}"
        self.request("PUT", path, body={"resolved": resolved})

    def notes(self, project: str, iid: int) -> list[Note]:
        path = f"/projects/{project}/merge_requests/{iid}/notes"
        items = self.paginate(path, {"sort": "asc", "order_by": "created_at"})
        return [Note.model_validate(item) for item in items]

    def create_note(self, project: str, iid: int, body: str) -> Note:
        path = f"/projects/{project}/merge_requests/{iid}/notes"
        return Note.model_validate(self.request("POST", path, body={"body": body}).data)

    def update_note(self, project: str, iid: int, note_id: int, body: str) -> Note:
        path = f"/projects/{project}/merge_requests/{iid}/notes/{note_id}"
        return Note.model_validate(self.request("PUT", path, body={"body": body}).data)

    # ------------------------------------------------------------------ transport

    def paginate(self, path: str, params: Mapping[str, str] | None = None) -> list[Any]:
        query = {"per_page": str(self._per_page), **(params or {})}
        items: list[Any] = []
        page: str | None = "1"
        for _ in range(self._max_pages):
            if not page:
                return items
            response = self.request("GET", path, query={**query, "page": page})
            if not isinstance(response.data, list):
                raise GitLabError(f"GET {path}: expected a JSON list")
            items.extend(response.data)
            page = response.headers.get("x-next-page", "").strip()
            if page and not page.isdigit():
                raise GitLabError(f"GET {path}: X-Next-Page is not a page number: {page!r}")
        if page:
            raise GitLabError(f"GET {path}: more than {self._max_pages} pages")
        return items

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Response:
        url = self._base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        for attempt in range(self._max_retries + 1):
            last = attempt == self._max_retries
            try:
                status, headers, raw = exchange(
                    self._opener, method, url, self._headers(), body, timeout=self._timeout
                )
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, ssl.SSLCertVerificationError):
                    raise self._tls_error(method, path, reason) from None
                if last or method not in _IDEMPOTENT:
                    raise GitLabError(
                        self._scrub(f"{method} {path}: {type(exc).__name__}: {reason}")
                    ) from None
                self._sleep(float(2**attempt))
                continue
            data = decode_body(raw)
            if status < 300:
                return Response(status, headers, data)
            if status == 429:
                wait = self._rate_limit_wait(headers)
                if wait > self._max_wait or last:
                    raise self._error(method, path, status, data, f"rate limited ({wait:.0f}s)")
                self._sleep(wait)
                continue
            if status in _RETRYABLE_5XX and method in _IDEMPOTENT and not last:
                self._sleep(float(2**attempt))
                continue
            raise self._error(method, path, status, data, "")
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": f"reviewer/{__version__}"}
        if self._token:
            headers["PRIVATE-TOKEN"] = self._token
        return headers

    def _rate_limit_wait(self, headers: Mapping[str, str]) -> float:
        for name, relative in (("retry-after", True), ("ratelimit-reset", False)):
            raw = headers.get(name)
            if raw is None:
                continue
            try:
                value = float(raw)
            except ValueError:
                continue
            return max(0.0, value if relative else value - self._now() + 1.0)
        return DEFAULT_RATE_LIMIT_WAIT

    def _tls_error(self, method: str, path: str, reason: Exception) -> GitLabError:
        host = urllib.parse.urlsplit(self._base).netloc
        detail = getattr(reason, "verify_message", "") or str(reason)
        return GitLabError(
            f"{method} {path}: the TLS certificate of {host} is not trusted ({detail}); for a "
            "self-managed instance with its own CA pass --gitlab-ca-file PEM (or set "
            "REQUESTS_CA_BUNDLE / SSL_CERT_FILE)"
        )

    def _error(self, method: str, path: str, status: int, data: Any, note: str) -> GitLabError:
        detail = "; ".join(filter(None, (message_of(data), note)))
        text = f"{method} {path}: HTTP {status}" + (f": {detail}" if detail else "")
        return GitLabError(self._scrub(text), status=status)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def message_of(data: Any) -> str:
    """GitLab's explanation: ``message`` (a string, or field -> errors for validation),
    or OAuth's ``error``/``error_description`` (``insufficient_scope``), or a text body."""
    if isinstance(data, str):
        return " ".join(data.split())
    if not isinstance(data, dict):
        return ""
    message = data.get("message")
    if isinstance(message, dict):
        return "; ".join(f"{k} {_joined(v)}" for k, v in message.items())
    if message:
        return str(message)
    error = data.get("error")
    description = data.get("error_description")
    return ": ".join(str(x) for x in (error, description) if x)


def _joined(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
