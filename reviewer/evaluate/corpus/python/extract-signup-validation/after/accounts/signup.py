import re

from accounts.models import User

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)


def validate_signup(email: str, password: str) -> str:
    """The normalised e-mail address; ValueError says what is wrong."""
    email = email.strip().lower()
    if not EMAIL.fullmatch(email):
        raise ValueError("invalid e-mail address")
    if len(password) < 12:
        raise ValueError("password must have at least 12 characters")
    return email


def signup(email: str, password: str) -> User:
    email = validate_signup(email, password)
    if User.exists(email=email):
        raise ValueError("e-mail address already registered")
    return User.create(email=email, password=password)
