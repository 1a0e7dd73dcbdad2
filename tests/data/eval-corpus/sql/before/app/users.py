import sqlite3


def connect(path):
    return sqlite3.connect(path)


def count_users(db):
    return db.execute("SELECT COUNT(*) FROM users").fetchone()[0]
