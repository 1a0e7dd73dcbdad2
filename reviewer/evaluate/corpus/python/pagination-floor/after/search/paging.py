from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    items: list
    number: int
    total_pages: int


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


def paginate(items: list, page: int, per_page: int = 20) -> Page:
    """The ``page``-th page (1-based) of ``items``."""
    total_pages = max(1, len(items) // per_page)
    page = clamp(page, 1, total_pages)
    start = (page - 1) * per_page
    return Page(items[start : start + per_page], page, total_pages)
