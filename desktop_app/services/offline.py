"""Offline limits, as card terminals have them: while a desk has not reached the hub, the fund pays less.

Only for a desk that has a hub (``sync.hub`` set); an offline-only desk has no
limits.  Once the last successful sync is older than ``offline.grace_minutes``:

* each visit's fund payment is at most ``offline.per_visit_fund``;
* a member's fund payments not yet sent may not exceed ``offline.per_member_fund``;
* after ``offline.max_hours`` without a sync, the fund pays nothing.

The allowance is worked out here (settings, the unsent journal); ``policy/offline.py``
applies it.  What the fund does not pay now the member pays, and the hub's recomputation
records the difference so the agency reimburses it later.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal

from ..domain.money import ZERO, fmt, from_fen
from ..policy.offline import Allowance
from ..store import config
from ..store import settings as registry


def setting(conn: sqlite3.Connection, key: str) -> Decimal:
    """An offline limit as set, or its default (the settings registry has both)."""
    return Decimal(registry.value(conn, key))


def duration(conn: sqlite3.Connection, key: str, seconds_per_unit: int) -> dt.timedelta:
    """A duration setting (minutes or hours, possibly fractional) to the second, without floats."""
    return dt.timedelta(seconds=int(setting(conn, key) * seconds_per_unit))


def offline_age(
    conn: sqlite3.Connection, now: dt.datetime | None = None, site: config.Site | None = None
) -> dt.timedelta | None:
    """Time since the last successful sync (``timedelta.max`` if never); None when this desk has no hub.

    ``site``: the desk's settings where the caller has read them already (a checkout)."""
    hub = site.hub if site is not None else config.get(conn, "sync.hub")
    if not hub:
        return None
    last = site.last_sync if site is not None else config.get(conn, "sync.last_ok")
    if not last:
        return dt.timedelta.max
    return (now or dt.datetime.now().astimezone()) - dt.datetime.fromisoformat(last)


def allowance(
    conn: sqlite3.Connection, psn_no: str, now: dt.datetime | None = None, site: config.Site | None = None
) -> Allowance | None:
    """What the fund may pay this member on this visit while offline; None when online or offline-only."""
    age = offline_age(conn, now, site)
    if age is None or age <= duration(conn, "offline.grace_minutes", 60):
        return None
    if age > duration(conn, "offline.max_hours", 3600):
        since = "从未连接" if age == dt.timedelta.max else f"已 {age // dt.timedelta(hours=1)} 小时未连接"
        return Allowance(ZERO, f"{since}医保中心（超过 {setting(conn, 'offline.max_hours')} 小时）")
    unsent = from_fen(
        conn.execute(
            "SELECT coalesce(sum(s.hifp_pay), 0) FROM settlements s JOIN outbox o ON o.uuid = s.uuid "
            "WHERE s.psn_no = ? AND o.sent_at IS NULL",
            (psn_no,),
        ).fetchone()[0]
    )
    per_visit, per_member = setting(conn, "offline.per_visit_fund"), setting(conn, "offline.per_member_fund")
    return Allowance(
        max(ZERO, min(per_visit, per_member - unsent)),
        f"离线结算：每次统筹支付不超过 {fmt(per_visit)}，"
        f"每人离线累计不超过 {fmt(per_member)}（已离线支付 {fmt(unsent)}）",
    )
