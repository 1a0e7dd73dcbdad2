from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    items: list
    number: int
    total_pages: int


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))
