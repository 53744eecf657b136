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

SQLITE_HEADER = b"SQLite format 3\x00"
RESTORE = (
    "未写入任何数据。请用 --db 指定正确的数据库文件，"
    "或从备份恢复（desktop-app backup 做的副本，改名为 front-desk.db 放回原处）"
)


class StoreError(GongjiError):
    """The database refused an operation; the message says which and why."""


class DatabaseRefused(StoreError):
    """A file that is not ours, is damaged, or was written by a newer version: opened for nothing, written never."""

    def __init__(self, path: Path, problem: str, todo: str = RESTORE) -> None:
        super().__init__(f"数据库 {path}：{problem}。{todo}")
        self.path = path


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open the database at ``path`` and bring its schema up to date; a path that does not exist is created.

    An existing file is opened only if it is ours and whole: a folder, an empty file, a file that is not
    SQLite, a damaged one (``PRAGMA quick_check``), one that is SQLite but not this app's, and one written by
    a newer version (a migration this version does not know) are refused with :class:`DatabaseRefused`,
    and nothing is written to them.
    """
    from .migrations import migrate

    path = Path(path)
    existed = path.exists()
    sidecars = [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm")]
    new_sidecars = [p for p in sidecars if not p.exists()]
    if existed:
        _check_file(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    except sqlite3.Error as exc:
        raise DatabaseRefused(path, f"无法打开（{exc}）") from None
    try:
        if existed:
            _check_contents(conn, path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        db = sqlite_utils.Database(conn)
    except DatabaseRefused:
        _give_back(conn, existed, new_sidecars)
        raise
    except sqlite3.DatabaseError as exc:
        _give_back(conn, existed, new_sidecars)
        raise DatabaseRefused(path, f"无法读取，文件可能已损坏（{exc}）") from None
    try:
        migrate(db, path)
    except sqlite3.DatabaseError as exc:  # each migration rolled back whole; the file is as it was before it
        _give_back(conn, existed, new_sidecars)
        raise DatabaseRefused(
            path,
            f"无法读取或升级（{exc}），文件可能已损坏",
            "未写入任何数据；若刚升级了程序，升级前的副本在同一文件夹（.before-迁移名.bak）。"
            "请从备份恢复，或联系技术支持",
        ) from None
    except BaseException:
        _give_back(conn, existed, new_sidecars)
        raise
    from .bulk import restore

    restore(conn)  # indexes a first pull deferred and did not live to build (a crash, a power cut)
    return db


def _give_back(conn: sqlite3.Connection, existed: bool, new_sidecars: list[Path]) -> None:
    """Close a refused file and remove the WAL files opening it made (a refusal leaves the folder as it was)."""
    conn.close()
    if existed:
        for sidecar in new_sidecars:
            sidecar.unlink(missing_ok=True)


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise DatabaseRefused(path, "是一个文件夹，不是数据库文件")
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseRefused(
            path, f"无法读取（{exc.strerror or exc}）", "请检查文件权限，或用 --db 指定正确的数据库文件"
        ) from None
    if not head:
        raise DatabaseRefused(
            path,
            "是空文件（0 字节），不是共济前台的数据库",
            "未写入任何数据。若是误建的文件，请删除后重新运行；否则请从备份恢复",
        )
    if head != SQLITE_HEADER:
        raise DatabaseRefused(path, "不是 SQLite 数据库（可能是文本文件，或文件头已损坏）")


def _check_contents(conn: sqlite3.Connection, path: Path) -> None:
    from .migrations import MIGRATIONS

    found = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
    if found != ["ok"]:
        lines = [line.strip() for text in found for line in text.splitlines() if line.strip() and "***" not in line]
        raise DatabaseRefused(path, f"已损坏（{'；'.join(lines)[:200]}），请立即停止在此文件上结算")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "_migrations" not in tables:
        what = "是空的 SQLite 数据库" if not tables else "是 SQLite 数据库，但不是共济前台的（没有 _migrations 表）"
        raise DatabaseRefused(path, what)
    known = {name for name, _ in MIGRATIONS}
    newer = sorted({row[0] for row in conn.execute("SELECT name FROM _migrations")} - known)
    if newer:
        raise DatabaseRefused(
            path,
            f"由更新版本的共济前台写入（迁移 {', '.join(newer)}），本版本不能打开",
            "未写入任何数据。请安装不低于写入它的版本后再打开",
        )


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
