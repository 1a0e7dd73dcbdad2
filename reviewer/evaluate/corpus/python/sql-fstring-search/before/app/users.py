"""User queries for the admin console."""

import sqlite3

from app.db import get_connection


def get_user(user_id: int) -> sqlite3.Row | None:
    conn = get_connection()
    return conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()


def list_active(limit: int = 50) -> list[sqlite3.Row]:
    conn = get_connection()
    rows = conn.execute(
        "SELECT * FROM users WHERE active = 1 ORDER BY created_at DESC LIMIT ?", (limit,)
    )
    return rows.fetchall()
