"""A push costs about what the database's work costs: a retried batch is answered, nothing is settled again.

The hub process (started for real, on SQLite and on PostgreSQL) logs one line per push in its
``hub.log``: how many records came, how many were applied, set aside or answered as retries, and
how many the hub settled.  That last number is counted where the hub settles a record
(``recompute.settle`` adds one to the batch's ``Facts``), so the log line reports the hub's own
computation, not an inference from the answers.  Speed itself is measured in ``benchmarks/``.
"""

from __future__ import annotations

import re
import shutil

from sqlalchemy import func, select

from desktop_app.hub import checks, desks, schema
from desktop_app.services import checkout
from desktop_app.store.db import connect
from desktop_app.sync.client import sync
from tests.hub_fixtures import seeded_hub
from tests.store_fixtures import AT, TODAY

FACILITY = {"kind": "community_health_centre", "level": 1, "id": "H45010300001"}
PUSH_LINE = re.compile(
    r"push from desk desk-A: (\d+) records, (\d+) applied, (\d+) set aside, (\d+) retries answered; "
    r"settled by the hub: (\d+)"
)


def settle_visits(db, n: int) -> list[str]:
    """``n`` visits through the counter's own checkout, each a different member, with one to three items."""
    people = [
        r[0]
        for r in db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' ORDER BY psn_no LIMIT ?", (n,))
    ]
    codes = [
        r[0] for r in db.conn.execute("SELECT code FROM catalogue WHERE item_kind = 'drug' ORDER BY code LIMIT 20")
    ]
    uuids = []
    for i, psn in enumerate(people):
        items = [{"code": codes[(i + k) % len(codes)], "quantity": 1 + k} for k in range(1 + i % 3)]
        case = {"member": {"psn_no": psn}, "date": TODAY.isoformat(), "items": items}
        uuids.append(checkout.confirm(db, case, "shouyin", today=TODAY, at=AT)["uuid"])
    return uuids


def push_lines(log) -> list[tuple[int, ...]]:
    return [tuple(map(int, m.groups())) for m in PUSH_LINE.finditer(log.read_text(encoding="utf-8"))]


def outbox(db, uuids: list[str]) -> dict[str, tuple]:
    rows = db.conn.execute("SELECT uuid, status, server_seq FROM outbox WHERE sent_at IS NOT NULL").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows if r[0] in set(uuids)}


def hub_state(engine) -> tuple:
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(schema.settlements)).scalar_one(),
            conn.execute(select(func.max(schema.changes.c.seq))).scalar_one(),
            conn.execute(select(func.sum(schema.usage.c.amount))).scalar_one(),
            conn.execute(select(func.sum(schema.members.c.account_balance))).scalar_one(),
        )


def test_a_retried_batch_of_200_is_answered_without_recomputation(templates, tmp_path, hub_url, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the hub process writes its hub.log there
    hub = seeded_hub(hub_url, templates["guangxi"], tmp_path / "hub.out")
    engine = schema.engine_for(hub_url)
    shutil.copy(templates["guangxi"], tmp_path / "A.db")
    db = connect(tmp_path / "A.db")
    try:
        token = desks.register_desk(engine, "desk-A", FACILITY["id"], "guangxi", FACILITY)
        uuids = settle_visits(db, 200)
        first = sync(db, hub.url, token, batch=200)
        assert (first.pushed, first.applied, first.duplicates) == (200, 200, 0)
        answers = outbox(db, uuids)
        before = hub_state(engine)

        with db.conn:  # as if every answer had been lost
            db.conn.executemany(
                "UPDATE outbox SET sent_at = NULL, server_seq = NULL WHERE uuid = ?", [(u,) for u in uuids]
            )
        again = sync(db, hub.url, token, batch=200)

        assert (again.pushed, again.duplicates, again.set_aside) == (200, 200, [])
        assert outbox(db, uuids) == answers  # the first answers, each with its server_seq
        assert hub_state(engine) == before  # nothing written: no entry, no feed entry, no counter moved
        log = tmp_path / "state" / "gongji-front-desk" / "log" / "hub.log"
        pushes = push_lines(log)
        assert pushes[0] == (200, 200, 0, 0, 200)  # the first time, the hub settled every record itself
        assert pushes[-1] == (200, 0, 0, 200, 0)  # the retry: 200 answered, none settled again
        assert len(pushes) == 2 and len(answers) == 200 and all(seq for _, seq in answers.values())
        assert checks.check(engine) == []
    finally:
        hub.stop()
        engine.dispose()
        db.conn.close()
