"""The local SQLite database: one file, WAL, ``synchronous=FULL``, explicit transactions.

Every write happens inside :func:`transaction`, which issues ``BEGIN IMMEDIATE``
(so a writer waits for the lock up front instead of failing half-way) and
commits or rolls back as a whole.  A power cut after COMMIT returns loses nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from ..domain.errors import GongjiError


class StoreError(GongjiError):
    """The database refused an operation; the message says which and why."""


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path`` and bring its schema up to date."""
    from .migrations import migrate

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    db = sqlite_utils.Database(conn)
    migrate(db, path)
    return db


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception rolls everything back."""
    conn = db.conn
    if conn.in_transaction:
        raise StoreError("nested transaction: every settlement is one transaction of its own")
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
