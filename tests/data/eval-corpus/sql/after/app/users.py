import sqlite3


def connect(path):
    return sqlite3.connect(path)


def find_user(db, name):
    rows = db.execute(f"SELECT id, name FROM users WHERE name = '{name}'")
    return rows.fetchone()


def count_users(db):
    return db.execute("SELECT COUNT(*) FROM users").fetchone()[0]
