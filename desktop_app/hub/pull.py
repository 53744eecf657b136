"""What a desk reads from the hub: the change feed after its cursor, and one day's sums to reconcile with.

The feed (``schema.changes``) carries members, family links, catalogue items, published figures,
usage and rule digests, each for one region or for all (``"*"``); a desk sees its own region's
entries and the region-free ones, in commit order.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring as _text  # a str as JSON: what json.dumps(s, ensure_ascii=False) gives

from sqlalchemy import select
from sqlalchemy.engine import Engine, Row

from ..sync.protocol import PROTOCOL_VERSION, Change, DaySums
from .desks import Desk
from .schema import changes, settlements

MAX_SEQ = 2**63 - 1  # the largest change number either database can hold


def _rows(engine: Engine, desk: Desk, cursor: int, limit: int) -> tuple[list[Row], int, bool]:
    """The feed's rows after ``cursor`` that this desk may see (its region, and region-free data), in commit order.

    A cursor past the feed gets an empty page (it is compared within the database's integers).
    """
    c = changes.c
    # Walk the feed by its number from the cursor.  `|| ''` keeps SQLite off the region index: from there
    # it sorted every later change of the region, for each page (a pull of n changes cost n²).
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.seq, c.kind, c.key, c.data)
            .where((c.seq > min(cursor, MAX_SEQ)) & (c.region + "").in_([desk.region, "*"]))
            .order_by(c.seq)
            .limit(limit + 1)
        ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].seq if rows else cursor), more


def changes_since(engine: Engine, desk: Desk, cursor: int, limit: int) -> tuple[list[Change], int, bool]:
    """Changes after ``cursor`` that this desk may see, as protocol objects (for readers in-process)."""
    rows, next_cursor, more = _rows(engine, desk, cursor, limit)
    return [Change(seq=r.seq, kind=r.kind, key=r.key, data=json.loads(r.data)) for r in rows], next_cursor, more


def page_json(engine: Engine, desk: Desk, cursor: int, limit: int, server_time: str) -> bytes:
    """One page of the feed as the JSON of a ``PullResponse``, the stored payloads spliced in as they are.

    Each payload is JSON the hub wrote itself (``schema.publish``, the importer).  Parsing it, building a
    ``Change`` per row and serialising the page again gave the same text back, and was most of a pull's cost.
    """
    rows, next_cursor, more = _rows(engine, desk, cursor, limit)
    envelope = json.dumps(
        {"protocol": PROTOCOL_VERSION, "server_time": server_time, "next_cursor": next_cursor, "more": more}
    )
    body = ",".join(f'{{"seq":{s},"kind":{_text(k)},"key":{_text(key)},"data":{data}}}' for s, k, key, data in rows)
    return f'{envelope[:-1]},"changes":[{body}]}}'.encode()


def day_sums(engine: Engine, desk: Desk, day: str) -> DaySums:
    """对账: the count, the sums and the UUIDs of what this desk settled on ``day`` (the date on the desk's clock)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                settlements.c.uuid,
                settlements.c.medfee_sumamt,
                settlements.c.hifp_pay,
                settlements.c.acct_pay,
                settlements.c.acct_mulaid_pay,
                settlements.c.psn_cash_pay,
            )
            .where((settlements.c.desk_id == desk.desk_id) & (settlements.c.day == day))
            .order_by(settlements.c.uuid)
        ).all()
    return DaySums(
        day=day,
        count=len(rows),
        medfee_sumamt=sum(r.medfee_sumamt for r in rows),
        hifp_pay=sum(r.hifp_pay for r in rows),
        acct_pay=sum(r.acct_pay for r in rows),
        acct_mulaid_pay=sum(r.acct_mulaid_pay for r in rows),
        psn_cash_pay=sum(r.psn_cash_pay for r in rows),
        uuids=[r.uuid for r in rows],
    )
