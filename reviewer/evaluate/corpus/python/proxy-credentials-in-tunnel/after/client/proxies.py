"""Proxy selection for the API client."""

import base64
from urllib.parse import unquote, urlsplit


def proxy_for(url: str, proxies: dict[str, str]) -> str | None:
    """The proxy for ``url``'s scheme, if any."""
    return proxies.get(urlsplit(url).scheme)


def proxy_headers(url: str, proxy: str) -> dict[str, str]:
    """Headers that authenticate a request to ``url`` with ``proxy``'s credentials."""
    headers: dict[str, str] = {}
    parsed = urlsplit(proxy)
    if parsed.username and parsed.password:
        raw = f"{unquote(parsed.username)}:{unquote(parsed.password)}".encode()
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(raw).decode()
    return headers


def request_headers(url: str, headers: dict[str, str], proxies: dict[str, str]) -> dict[str, str]:
    """``headers`` plus what the proxy for ``url`` needs; sent with the request itself."""
    proxy = proxy_for(url, proxies)
    return {**headers, **proxy_headers(url, proxy)} if proxy else dict(headers)
