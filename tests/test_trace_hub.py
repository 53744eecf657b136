"""药品追溯码 across desks (issue 18, point 5): the hub keeps every code sold in the region.

Two real desks (SQLite files) sync with the real hub process, on SQLite and PostgreSQL.  A code sold by
the second desk while the first desk's sale stands is recorded for review with both settlements and
reported to the second desk after sync.  A refund releases a code: it may then be sold again, with no review.
"""

from __future__ import annotations

import shutil

from sqlalchemy import select, text

from desktop_app.domain.errors import InputError
from desktop_app.hub import checks, desks, schema
from desktop_app.hub import push as hub_push
from desktop_app.services import checkout
from desktop_app.services.demo import demo_product
from desktop_app.services.verify import verify
from desktop_app.store.db import connect
from desktop_app.sync.client import sync
from desktop_app.sync.protocol import SettlementRecord
from tests.hub_fixtures import seeded_hub
from tests.store_fixtures import DX
from tests.test_window import TODAY

FACILITY = {"kind": "community_health_centre", "level": 1, "id": "H45010300001"}


def traced_item(db) -> str:
    return db.conn.execute(
        "SELECT code FROM catalogue WHERE trac_required = 1 AND packs_per_unit = 1 ORDER BY code LIMIT 1"
    ).fetchone()[0]


def member(db, offset: int) -> str:
    return db.conn.execute("SELECT psn_no FROM members ORDER BY psn_no LIMIT 1 OFFSET ?", (offset,)).fetchone()[0]


def sell(db, psn: str, item: str, codes: list[str]) -> dict:
    case = {
        "member": {"psn_no": psn},
        "date": TODAY.isoformat(),
        "diagnoses": DX,
        "items": [{"code": item, "quantity": len(codes), "trace_codes": codes}],
    }
    return checkout.confirm(db, case, "shouyin", today=TODAY)


def test_a_code_sold_by_two_desks_is_reviewed_and_a_refund_releases_it(templates, tmp_path, hub_url):
    hub = seeded_hub(hub_url, templates["guangxi"], tmp_path / "hub.log")
    engine = schema.engine_for(hub_url)
    try:
        shutil.copy(templates["guangxi"], tmp_path / "a.db")
        shutil.copy(templates["guangxi"], tmp_path / "b.db")
        a, b = connect(tmp_path / "a.db"), connect(tmp_path / "b.db")
        token_a = desks.register_desk(engine, "desk-A", FACILITY["id"], "guangxi", FACILITY)
        token_b = desks.register_desk(engine, "desk-B", FACILITY["id"], "guangxi", FACILITY)
        item = traced_item(a)
        resold, other = f"{demo_product(item)}9000000000001", f"{demo_product(item)}9000000000002"

        first = sell(a, member(a, 1), item, [resold])
        assert sync(a, hub.url, token_a).trace_duplicates == []

        # Desk B cannot know: it sells the same package (and another) offline; the hub catches it at sync.
        second = sell(b, member(b, 2), item, [other, resold])
        report = sync(b, hub.url, token_b)
        assert report.applied == 1 and report.set_aside == []
        assert [
            (d["uuid"], d["drug_trac_codg"], d["first_uuid"], d["first_desk"]) for d in report.trace_duplicates
        ] == [(second["uuid"], resold, first["uuid"], "desk-A")]
        notices = b.conn.execute("SELECT uuid, code, first_uuid, first_desk FROM trace_notices").fetchall()
        assert notices == [(second["uuid"], resold, first["uuid"], "desk-A")]
        with engine.connect() as conn:
            reviews = conn.execute(
                select(schema.trace_reviews.c.code, schema.trace_reviews.c.uuid, schema.trace_reviews.c.first_uuid)
            ).all()
        assert [tuple(r) for r in reviews] == [(resold, second["uuid"], first["uuid"])]
        listed = checks.for_review(engine)["trace_codes_resold"]  # what `hub check` shows the fund's auditor
        assert [(r["code"], r["desk_id"], r["first_desk_id"]) for r in listed] == [(resold, "desk-B", "desk-A")]

        # On its own desk a code sold and not refunded is refused at once.
        try:
            sell(a, member(a, 3), item, [resold])
            raise AssertionError("a code sold on this desk was sold again")
        except InputError as exc:
            assert exc.field == "items[0].trace_codes" and "未退费" in str(exc)

        # Both sales are refunded: the package is back, and selling it again raises no review anywhere.
        checkout.refund(a, first["uuid"], "admin", "admin123", reason="患者退药")
        checkout.refund(b, second["uuid"], "admin", "admin123", reason="患者退药")
        assert sync(a, hub.url, token_a).applied == 1
        assert sync(b, hub.url, token_b).applied == 1
        again = sell(a, member(a, 3), item, [resold])
        report = sync(a, hub.url, token_a)
        assert report.applied == 1 and report.trace_duplicates == []
        with engine.connect() as conn:
            standing = conn.execute(
                select(schema.trace_sales.c.uuid).where(
                    schema.trace_sales.c.code == resold, schema.trace_sales.c.released_by.is_(None)
                )
            ).all()
        assert [r[0] for r in standing] == [again["uuid"]]
        assert checks.check(engine) == []
        assert verify(a.conn) == [] and verify(b.conn) == []
        a.conn.close()
        b.conn.close()
    finally:
        hub.stop()
        engine.dispose()


def test_a_push_takes_a_bounded_number_of_locks_on_postgresql(postgres):
    # PostgreSQL's lock table is shared and bounded (64 a connection by default): 50 desks each locking every code
    # of 200 settlements ran out of it ("out of shared memory", answered 503).  A batch takes its desk's lock and at
    # most CODE_LOCK_BUCKETS more, however many codes it sells.
    engine = schema.engine_for(postgres.new_database())
    desk = desks.Desk("desk-A", "H1", "guangxi", {})
    items = [
        {"code": f"X{i}", "quantity": "5", "drugtracinfo": [{"drug_trac_codg": f"8{i:04d}{n:015d}"} for n in range(5)]}
        for i in range(300)
    ]
    record = SettlementRecord.model_validate(
        {
            **dict.fromkeys(("medfee_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"), 0),
            **dict.fromkeys(("deductible", "pool", "programme_hypertension", "programme_diabetes"), 0),
            "uuid": "00000000-0000-4000-8000-000000000001",
            "kind": "settlement",
            "psn_no": "P1",
            "year": 2026,
            "visit_date": "2026-03-02",
            "region": "guangxi",
            "device": "d",
            "operator": "o",
            "desk_created_at": "2026-03-02T09:00:00+08:00",
            "items": items,
        }
    )
    assert len(record.trace_codes) == 1500
    try:
        with schema.writing(engine) as conn:
            hub_push._lock(conn, desk, [(None, record, None)])
            held = conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
            ).scalar_one()
        assert 1 < held <= 1 + hub_push.CODE_LOCK_BUCKETS
    finally:
        engine.dispose()
