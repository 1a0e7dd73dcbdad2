from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


@dataclass
class ResetToken:
    user_id: int
    value: str
    expires_at: datetime  # timezone-aware, UTC


def new_token(user_id: int, value: str) -> ResetToken:
    expires = datetime.now(timezone.utc) + timedelta(hours=1)
    return ResetToken(user_id, value, expires)


def is_expired(token: ResetToken) -> bool:
    return datetime.utcnow() > token.expires_at
