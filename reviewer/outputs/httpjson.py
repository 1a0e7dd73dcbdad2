"""What the REST clients (GitHub, GitLab) share: one JSON exchange over stdlib ``urllib``.

Policy stays in each client (auth header, retries, rate limits, pagination); this module only
sends one request, never follows a redirect (urllib would resend the auth header to wherever it
points) and decodes the answer.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-cased names
    data: Any


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def build_opener(ssl_context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [NoRedirect()]
    if ssl_context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
    return urllib.request.build_opener(*handlers)


def exchange(
    opener: urllib.request.OpenerDirector,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any] | None,
    *,
    timeout: float,
) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, raw body) of one request; an HTTP error status is an
    answer, not an exception. Connection failures raise (``URLError``, ``OSError``...)."""
    all_headers = dict(headers)
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        all_headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=all_headers, method=method)  # noqa: S310
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, lower_headers(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, lower_headers(err.headers.items()), err.read()


def lower_headers(items: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}


def decode_body(raw: bytes) -> Any:
    """JSON, or the first 200 characters of a text answer (an HTML error page, "Retry later")."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:200]
