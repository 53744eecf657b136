"""The desks the hub knows: registration, tokens, and each desk's audit-chain anchor.

A desk is registered once and gets a token, shown once and stored only as its hash; the
token is how every request says which desk (facility, region) it comes from.  At every sync a
desk also sends its hash-chained audit log; the hub keeps the last head it saw (the anchor
outside the desk's file) and refuses a chain that does not extend it (:class:`AuditConflict`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from ..domain.clock import now_iso
from .schema import HubError, audit_heads, desks, insert_for, writing

log = logging.getLogger("gongji.hub")


@dataclass(frozen=True)
class Desk:
    """A registered desk, as a request's token identifies it."""

    desk_id: str
    facility_id: str
    region: str
    facility: dict


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register_desk(engine: Engine, desk_id: str, facility_id: str, region: str, facility: dict) -> str:
    """Register a desk; returns its token (shown once, stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    with writing(engine) as conn:
        if conn.execute(select(desks.c.desk_id).where(desks.c.desk_id == desk_id)).first():
            raise HubError(f"收款台 {desk_id} 已登记；如需更换令牌请先注销")
        conn.execute(
            insert(desks).values(
                desk_id=desk_id,
                facility_id=facility_id,
                region=region,
                facility=json.dumps(facility),
                token_hash=_token_hash(token),
                created_at=now_iso(),
            )
        )
    return token


def revoke_desk(engine: Engine, desk_id: str) -> None:
    """A lost or replaced desk: its token stops working at once (its settlements stay)."""
    with writing(engine) as conn:
        if conn.execute(desks.delete().where(desks.c.desk_id == desk_id)).rowcount != 1:
            raise HubError(f"没有登记过收款台 {desk_id}")
        conn.execute(audit_heads.delete().where(audit_heads.c.desk_id == desk_id))  # a replacement starts a chain anew


def desk_for_token(engine: Engine, token: str) -> Desk | None:
    """The desk this token was issued to, or None (unknown, or its desk was revoked)."""
    with engine.connect() as conn:
        row = conn.execute(select(desks).where(desks.c.token_hash == _token_hash(token))).first()
    return Desk(row.desk_id, row.facility_id, row.region, json.loads(row.facility)) if row else None


# --------------------------------------------------------------------------- the desks' audit chains


class AuditConflict(HubError):
    """A desk's audit chain does not extend the head the hub saw last: rewritten, truncated or broken."""


def audit_head(engine: Engine, desk: Desk) -> tuple[int, str] | None:
    """(id, hash) of the desk's audit-chain head as the hub last recorded it, or None before its first sync."""
    with engine.connect() as conn:
        row = conn.execute(
            select(audit_heads.c.id, audit_heads.c.hash).where(audit_heads.c.desk_id == desk.desk_id)
        ).first()
    return (row.id, row.hash) if row else None


def extend_audit(engine: Engine, desk: Desk, links: list) -> int:
    """Take the desk's chain if it links up and extends the head seen last; the new head's id.  Else AuditConflict."""
    for before, after in zip(links, links[1:]):
        if after.id != before.id + 1 or after.prev_hash != before.hash:
            raise AuditConflict(f"收款台 {desk.desk_id} 上传的审计链在第 {before.id}–{after.id} 条处断开")
    row = audit_head(engine, desk)
    if row is not None:
        seen = next((link for link in links if link.id == row[0]), None)
        if seen is None or seen.hash != row[1]:
            raise AuditConflict(
                f"收款台 {desk.desk_id} 的审计链与中心保存的第 {row[0]} 条不符（本机记录可能被删改或重写）："
                "中心拒收，请停止使用该收款台并联系医保中心"
            )
    head = links[-1]
    if row == (head.id, head.hash):
        return head.id
    # The new head is recorded only if the old one is still the one checked (compare and swap), and without
    # waiting long on a busy hub: the check is what protects; the anchor may move at the next sync instead.
    h = audit_heads.c
    try:
        with engine.connect() as conn:
            # A short busy timeout, set on SQLite's own connection: through SQLAlchemy it would begin a transaction.
            if conn.dialect.name == "sqlite":
                driver = conn.connection.driver_connection
                usual = driver.execute("PRAGMA busy_timeout").fetchone()[0]  # the engine's, restored below
                driver.execute("PRAGMA busy_timeout=2000")
            try:
                with conn.begin():
                    if conn.dialect.name == "postgresql":
                        conn.execute(text("SET LOCAL lock_timeout = '2s'"))
                    values = {"id": head.id, "hash": head.hash, "at": now_iso()}
                    if row is None:
                        done = conn.execute(
                            insert_for(conn, audit_heads)
                            .values(desk_id=desk.desk_id, **values)
                            .on_conflict_do_nothing()
                            .returning(h.desk_id)
                        ).first()
                    else:
                        done = conn.execute(
                            update(audit_heads)
                            .where((h.desk_id == desk.desk_id) & (h.id == row[0]) & (h.hash == row[1]))
                            .values(**values)
                            .returning(h.desk_id)
                        ).first()
            finally:
                if conn.dialect.name == "sqlite":
                    driver.execute(f"PRAGMA busy_timeout={int(usual)}")
    except OperationalError as exc:  # busy: the chain was checked; the anchor moves at the next sync instead
        log.warning("audit head of desk %s not moved this time (%s)", desk.desk_id, exc)
        done = None
    if done is None:
        return row[0] if row else 0
    return head.id
