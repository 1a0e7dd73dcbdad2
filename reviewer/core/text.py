"""Small text helpers shared by several stages."""

from __future__ import annotations


def human_size(size: int) -> str:
    """Bytes in decimal units, as users read them: ``1.2 MB``."""
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            break
    return f"{value:.1f} {unit}"
