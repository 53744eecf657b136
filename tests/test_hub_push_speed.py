"""A push is read once, settled in memory and written at once: nothing settled twice, nothing settled otherwise.

The hub process (started for real, on SQLite and on PostgreSQL) logs one line per push in its
``hub.log``: how many records came, how many were applied, set aside or answered as retries, and
how many the hub settled.  That last number is counted where the hub settles a record
(``recompute.settle`` adds one to the batch's ``Facts``), so the log line reports the hub's own
computation, not an inference from the answers.  A batch written at once must leave exactly what its
records pushed one at a time leave.  Speed itself is measured in ``benchmarks/``.
"""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from desktop_app.domain.vocabulary import AMOUNTS, COUNTERS
from desktop_app.hub import checks, desks, importer, schema
from desktop_app.hub import push as hub_push
from desktop_app.services import checkout
from desktop_app.store.db import connect
from desktop_app.sync.client import sync
from desktop_app.sync.outbox import unsent
from tests.hub_fixtures import seeded_hub
from tests.store_fixtures import AT, DX, TODAY

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
        r[0]
        for r in db.conn.execute(
            "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY code LIMIT 20"
        )
    ]
    uuids = []
    for i, psn in enumerate(people):
        items = [{"code": codes[(i + k) % len(codes)], "quantity": 1 + k} for k in range(1 + i % 3)]
        case = {"member": {"psn_no": psn}, "diagnoses": DX, "date": TODAY.isoformat(), "items": items}
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


def visits_that_interact(db) -> None:
    """A member's three visits (each starts from the last one's usage), a visit and its refund (the counters go
    back to nothing), and a family payer's account paying what the relative's own cannot."""
    one, two = [
        r[0]
        for r in db.conn.execute(
            "SELECT psn_no FROM members WHERE scheme = 'combined' AND status = 'employed' ORDER BY psn_no LIMIT 2"
        )
    ]
    code, price = db.conn.execute(
        "SELECT code, price FROM catalogue WHERE category = 'A' AND item_kind = 'drug' AND trac_required = 0 "
        "ORDER BY price DESC LIMIT 1"
    ).fetchone()
    owner, relative, own = db.conn.execute(
        "SELECT f.owner_psn_no, f.relative_psn_no, r.account_balance FROM family_links f "
        "JOIN members o ON o.psn_no = f.owner_psn_no JOIN members r ON r.psn_no = f.relative_psn_no "
        "WHERE f.relation = 'spouse' AND o.account_balance > 100000 AND r.scheme = 'combined' "
        "ORDER BY r.account_balance LIMIT 1"
    ).fetchone()

    def visit(psn: str, quantity: int, payment: dict | None = None) -> str:
        case = {
            "member": {"psn_no": psn},
            "diagnoses": DX,
            "date": TODAY.isoformat(),
            "items": [{"code": code, "quantity": quantity}],
        }
        return checkout.confirm(
            db, {**case, **({"payment": payment} if payment else {})}, "shouyin", today=TODAY, at=AT
        )["uuid"]

    for quantity in (3, 20, 40):
        visit(one, quantity)
    checkout.refund(db, visit(two, 5), "admin", "admin123", at=AT)
    visit(relative, int((Decimal(own) + 200000) // price) + 1, {"use_account": True, "family_payer": owner})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_batch_leaves_what_its_records_pushed_one_by_one_leave(templates, tmp_path, request, kind):
    shutil.copy(templates["guangxi"], tmp_path / "A.db")
    db = connect(tmp_path / "A.db")
    visits_that_interact(db)
    records = unsent(db.conn, 1000)
    db.conn.close()
    assert len(records) == 6 and records[4].kind == "refund" and records[4].original_uuid == records[3].uuid
    desk = desks.Desk("desk-A", FACILITY["id"], "guangxi", FACILITY)
    found = []
    for at_once in (True, False):
        url = (
            f"sqlite:///{tmp_path / f'hub-{at_once}.db'}"
            if kind == "sqlite"
            else request.getfixturevalue("postgres").new_database()
        )
        engine = schema.engine_for(url)
        importer.import_desk_database(engine, str(templates["guangxi"]))
        if at_once:
            results = hub_push.push(engine, desk, records, AT, 0.0)
        else:
            results = [hub_push.push(engine, desk, [record], AT, 0.0)[0] for record in records]
        found.append((results, written(engine, {r.psn_no for r in records} | {r.family_payer for r in records})))
        assert checks.check(engine) == []
        engine.dispose()
    (batch, at_once), (single, one_by_one) = found
    assert [r.status for r in batch] == ["applied"] * 6 and any(r.acct_mulaid_pay for r in records)
    assert [(r.review, r.review_amount) for r in batch] == [(r.review, r.review_amount) for r in single]
    assert at_once == one_by_one


def written(engine, people: set) -> dict:
    """What a push leaves: each entry's figures and the usage its server_seq carries; usage rows; balances."""
    s = schema.settlements
    with engine.connect() as conn:
        feed = {r.seq: json.loads(r.data) for r in conn.execute(select(schema.changes))}
        entries = {
            r.uuid: ({k: r._mapping[k] for k in (*AMOUNTS, *COUNTERS, "family_payer")}, feed[r.server_seq]["counters"])
            for r in conn.execute(select(s))
        }
        usage = conn.execute(select(schema.usage).where(schema.usage.c.psn_no.in_(people))).all()
        balances = conn.execute(
            select(schema.members.c.psn_no, schema.members.c.account_balance).where(schema.members.c.psn_no.in_(people))
        ).all()
        published = {}
        for data in feed.values():  # the last word on each member's balance, as a desk pulls it
            if data.get("psn_no") in people and "account_balance" in data:
                published[data["psn_no"]] = data["account_balance"]
    return {"entries": entries, "usage": sorted(usage), "balances": sorted(balances), "published": published}


def test_a_batch_read_before_another_desks_write_is_settled_again(templates, tmp_path, hub_url, monkeypatch, caplog):
    # Desk B's visit for the same member is written between desk A's read and its write: A's batch must not be
    # written from what it read (SQLite: the write transaction sees another connection wrote; PostgreSQL: the
    # members and usage read again differ), but settled again, from B's usage on.
    engine = schema.engine_for(hub_url)
    importer.import_desk_database(engine, str(templates["guangxi"]))
    try:
        records, desk = {}, {}
        for name in ("A", "B"):
            shutil.copy(templates["guangxi"], tmp_path / f"{name}.db")
            db = connect(tmp_path / f"{name}.db")
            psn = db.conn.execute(
                "SELECT psn_no FROM members WHERE scheme = 'combined' AND status = 'employed' ORDER BY psn_no"
            ).fetchone()[0]
            code = db.conn.execute(
                "SELECT code FROM catalogue WHERE category = 'A' AND item_kind = 'drug' AND trac_required = 0 "
                "ORDER BY price DESC"
            ).fetchone()[0]
            case = {"member": {"psn_no": psn}, "diagnoses": DX, "date": TODAY.isoformat(), "items": []}
            case["items"] = [{"code": code, "quantity": 60}]  # alone, each uses what is left of the year's cap
            checkout.confirm(db, case, "shouyin", today=TODAY, at=AT)
            records[name] = unsent(db.conn, 10)
            db.conn.close()
            token = desks.register_desk(engine, f"desk-{name}", FACILITY["id"], "guangxi", FACILITY)
            desk[name] = desks.desk_for_token(engine, token)

        real, interleaved = hub_push._work_out, []

        def work_out_then_b_writes(conn, d, *args, **kwargs):
            batch = real(conn, d, *args, **kwargs)
            if d.desk_id == "desk-A" and not interleaved:
                interleaved.append(hub_push.push(engine, desk["B"], records["B"], "2026-01-01T00:00:00+08:00", 0))
            return batch

        monkeypatch.setattr(hub_push, "_work_out", work_out_then_b_writes)
        caplog.set_level("INFO", logger="gongji.hub")
        [a] = hub_push.push(engine, desk["A"], records["A"], "2026-01-01T00:00:00+08:00", 0)
        [[b]] = interleaved

        assert b.status == a.status == "applied" and b.review is None
        assert a.review == "clawback"  # settled from B's usage: the cap was used up, A's fund is to be recovered
        assert "settled by the hub: 2 (round 2" in caplog.text  # A's record: read, found changed, settled again
        with engine.connect() as conn:
            fund = dict(conn.execute(select(schema.settlements.c.desk_id, schema.settlements.c.hifp_pay)).all())
        assert fund["desk-A"] == 0 < fund["desk-B"]
        assert checks.check(engine) == []
    finally:
        engine.dispose()


member_data = st.dictionaries(
    st.sampled_from(["psn_no", "name", "region", "programmes", "account_balance", "备注", "status"]),
    st.one_of(st.text(max_size=8), st.integers(), st.lists(st.text(max_size=3), max_size=2), st.none()),
)


@settings(max_examples=300, deadline=None)
@given(member_data, st.integers(min_value=-(10**12), max_value=10**12))
def test_a_members_feed_entry_is_its_stored_data_with_the_balance(data, balance):
    # The push writes the balance into the member's stored JSON instead of dumping it again: the same text.
    stored = json.dumps(data, ensure_ascii=False)
    entry = schema.member_entry("P1", "guangxi", stored, balance)
    assert entry == schema.feed_entry("member", "P1", "guangxi", {**data, "account_balance": balance})
