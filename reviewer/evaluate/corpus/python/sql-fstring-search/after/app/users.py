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


def search_by_email(prefix: str, limit: int = 20) -> list[sqlite3.Row]:
    """Users whose e-mail starts with ``prefix``, newest first."""
    conn = get_connection()
    query = f"SELECT * FROM users WHERE email LIKE '{prefix}%' ORDER BY created_at DESC"
    return conn.execute(query + " LIMIT ?", (limit,)).fetchall()
