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


def authenticate(conn: sqlite3.Connection, name: str, password: str) -> str:
    """The operator's role if the password is right; :class:`AuthError` otherwise."""
    row = conn.execute("SELECT role, salt, password_hash FROM operators WHERE name = ?", (name,)).fetchone()
    if row is None or not hmac.compare_digest(_hash(password, row[1]), row[2]):
        raise AuthError(f"操作员 {name!r} 或密码不正确")
    return row[0]


def require_supervisor(conn: sqlite3.Connection, name: str, password: str, action: str) -> None:
    if authenticate(conn, name, password) != "supervisor":
        raise AuthError(f"{action}需要主管授权；操作员 {name!r} 不是主管")


def role_of(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute("SELECT role FROM operators WHERE name = ?", (name,)).fetchone()
    return row[0] if row else None
