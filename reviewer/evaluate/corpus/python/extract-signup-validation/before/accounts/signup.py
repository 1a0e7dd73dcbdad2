import re

from accounts.models import User

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)


def signup(email: str, password: str) -> User:
    email = email.strip().lower()
    if not EMAIL.fullmatch(email):
        raise ValueError("invalid e-mail address")
    if len(password) < 12:
        raise ValueError("password must have at least 12 characters")
    if User.exists(email=email):
        raise ValueError("e-mail address already registered")
    return User.create(email=email, password=password)
