def parse_amount(text: str) -> int:
    """'12.50' -> 1250 (cents)."""
    whole, _, frac = text.strip().partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])
