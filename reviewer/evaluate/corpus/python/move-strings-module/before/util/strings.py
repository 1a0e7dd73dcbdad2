def truncate(text: str, width: int, suffix: str = "...") -> str:
    """``text`` cut to ``width`` characters, ``suffix`` included."""
    if len(text) <= width:
        return text
    return text[: max(0, width - len(suffix))] + suffix


def initials(name: str) -> str:
    return "".join(part[0].upper() for part in name.split() if part)
