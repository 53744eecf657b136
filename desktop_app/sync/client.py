"""The desk's side of sync: one round (audit anchor, push, pull), run by the window's worker and the CLI.

- :mod:`.hub_client`: HTTP to the hub with the desk's token; a busy hub (429, 503) is asked again after
  a jittered back-off, a bounded number of times; the desk's time-out exceeds the hub's worst wait.
- :mod:`.outbox`: push, the unsent journal entries oldest first.
- :mod:`.feed`: pull, the hub's changes applied page by page (by :mod:`.apply`).
- 对账 and the audit check against the hub are in :mod:`.reconcile`.

This is the desk's side, at the level of the desk's services: it reads and writes the desk's
store.  It lives beside :mod:`.protocol`, which both sides share; the hub imports only the protocol.
"""

from __future__ import annotations

import httpx
import sqlite_utils

from ..domain.clock import now_iso
from ..store import audit, config
from ..store.db import transaction
from .feed import PULL_PAGE, pull
from .hub_client import HubClient, SyncReport
from .outbox import PUSH_PAGE, push
from .protocol import MAX_AUDIT_LINKS, AuditLink

# --------------------------------------------------------------------------- the audit chain's anchor


def anchor_audit(db: sqlite_utils.Database, client: HubClient) -> int | None:
    """Send the audit chain from the head the hub holds; the hub refuses one that does not extend it.

    In pages of at most ``MAX_AUDIT_LINKS``, each starting at the head the hub acknowledged for the one before.
    A hub that holds a head beyond this chain (or none) is sent the chain from the last head it acknowledged.
    """
    last = db.conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
    if last is None:
        return None
    held = client.audit_head().id
    start = held if held and held <= last else max(int(config.get(db.conn, "sync.audit_acked") or 0), 1)
    while True:
        links = [
            AuditLink(id=i, prev_hash=p, hash=h)
            for i, p, h in db.conn.execute(
                "SELECT id, prev_hash, hash FROM audit_log WHERE id >= ? ORDER BY id LIMIT ?", (start, MAX_AUDIT_LINKS)
            )
        ]
        head = client.audit(links).id
        if head:
            with transaction(db) as conn:
                config.put(conn, "sync.audit_acked", str(head))
        if len(links) < MAX_AUDIT_LINKS or not head or head <= start:  # the whole chain, or the hub kept its anchor
            return head
        start = head


# --------------------------------------------------------------------------- the whole round


def sync(
    db: sqlite_utils.Database,
    hub: str,
    token: str,
    transport: httpx.BaseTransport | None = None,
    batch: int = PUSH_PAGE,
    page: int = PULL_PAGE,
) -> SyncReport:
    """Push, then pull; remembers the hub and the time of the last full success."""
    report = SyncReport()
    client = HubClient(hub, token, transport=transport)
    try:
        anchor_audit(db, client)  # first: a desk whose chain the hub refuses sends nothing more
        push(db, client, report, batch)
        pull(db, client, report, page)
    finally:
        client.close()
    with transaction(db) as conn:
        if config.get(conn, "sync.hub") != hub:  # a setting: changed only with an audit entry
            config.put(conn, "sync.hub", hub)
            audit.record_state(conn, now_iso(), "sync", "settings", "sync.hub", {"sync.hub": hub})
        config.put(conn, "sync.last_ok", now_iso())
    return report
