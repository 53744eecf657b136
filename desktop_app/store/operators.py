"""Operators and their roles; passwords kept as salted scrypt hashes (standard library)."""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3

from ..domain.errors import GongjiError, InputError

ROLES = ("cashier", "supervisor")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class AuthError(GongjiError):
    """Wrong operator or password, or a role that may not do this."""


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)


def add(conn: sqlite3.Connection, name: str, role: str, password: str, now: str) -> None:
    if role not in ROLES:
        raise InputError("role", role, "须为 cashier（收款员）或 supervisor（主管）")
    if len(password) < 6:
        raise InputError("password", "******", "密码至少 6 位")
    salt = os.urandom(16)
    conn.execute(
        "INSERT INTO operators (name, role, salt, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        (name, role, salt, _hash(password, salt), now),
    )


DISABLED = "操作员 {name!r} 已被主管停用，不能登录或结算；如需恢复，请主管在后台（Ctrl+B）重新启用"


def _refuse_disabled(name: str, disabled: int) -> None:
    """A supervisor's flag (migration 0005), read with the operator's own row."""
    if disabled:
        raise AuthError(DISABLED.format(name=name))


def authenticate(conn: sqlite3.Connection, name: str, password: str) -> str:
    """The operator's role if the password is right and the operator is not disabled; :class:`AuthError` otherwise."""
    row = conn.execute("SELECT role, salt, password_hash, disabled FROM operators WHERE name = ?", (name,)).fetchone()
    if row is None or not hmac.compare_digest(_hash(password, row[1]), row[2]):
        raise AuthError(f"操作员 {name!r} 或密码不正确")
    _refuse_disabled(name, row[3])
    return row[0]


def require_supervisor(conn: sqlite3.Connection, name: str, password: str, action: str) -> None:
    if authenticate(conn, name, password) != "supervisor":
        raise AuthError(f"{action}需要主管授权；操作员 {name!r} 不是主管")


def role_of(conn: sqlite3.Connection, name: str) -> str | None:
    """The operator's role, None for an unknown name; :class:`AuthError` for a disabled operator."""
    row = conn.execute("SELECT role, disabled FROM operators WHERE name = ?", (name,)).fetchone()  # one read a sale
    if row is None:
        return None
    _refuse_disabled(name, row[1])
    return row[0]


def exists(conn: sqlite3.Connection, name: str) -> bool:
    """Whether ``name`` is taken, by an enabled or a disabled operator."""
    return conn.execute("SELECT 1 FROM operators WHERE name = ?", (name,)).fetchone() is not None


def listing(conn: sqlite3.Connection) -> list[tuple[str, str, bool, str]]:
    """Every operator as (name, role, disabled, created_at), supervisors first."""
    return [
        (name, role, bool(disabled), created)
        for name, role, disabled, created in conn.execute(
            "SELECT name, role, disabled, created_at FROM operators ORDER BY role DESC, name"
        )
    ]


def set_disabled(conn: sqlite3.Connection, name: str, disabled: bool) -> None:
    conn.execute("UPDATE operators SET disabled = ? WHERE name = ?", (int(disabled), name))


def set_password(conn: sqlite3.Connection, name: str, password: str) -> None:
    """A new password (a supervisor's reset): salted and hashed as :func:`add` does."""
    if len(password) < 6:
        raise InputError("password", "******", "密码至少 6 位")
    salt = os.urandom(16)
    conn.execute("UPDATE operators SET salt = ?, password_hash = ? WHERE name = ?", (salt, _hash(password, salt), name))


def active_supervisors(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM operators WHERE role = 'supervisor' AND NOT disabled").fetchone()[0]
