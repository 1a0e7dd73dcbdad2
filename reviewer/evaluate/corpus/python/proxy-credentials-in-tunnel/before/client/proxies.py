"""Proxy selection for the API client."""

import base64
from urllib.parse import unquote, urlsplit


def proxy_for(url: str, proxies: dict[str, str]) -> str | None:
    """The proxy for ``url``'s scheme, if any."""
    return proxies.get(urlsplit(url).scheme)
