from util.strings import initials, truncate


def card_title(user) -> str:
    return f"{initials(user.name)} - {truncate(user.bio, 40)}"
