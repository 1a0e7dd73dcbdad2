"""Redirect handling of the API client."""

from urllib.parse import urljoin, urlsplit


class RedirectPolicy:
    """Follows redirects for the API client, at most ``limit`` hops."""

    def __init__(self, limit: int = 10) -> None:
        self.limit = limit

    def next_url(self, current: str, location: str) -> str:
        return urljoin(current, location)

    def headers_for(self, current: str, target: str, headers: dict[str, str]) -> dict[str, str]:
        """The headers to send to ``target`` after a redirect from ``current``."""
        kept = dict(headers)
        old, new = urlsplit(current), urlsplit(target)
        if old.hostname != new.hostname:
            kept.pop("Authorization", None)
        return kept
