"""Two desks and the hub, driven by hypothesis: settle, refund, sync, lose answers, crash and restart the hub,
and a malicious desk that pushes crafted records with a valid token.

After every step: the hub's usage and balances equal its opening figures plus its journal, every
entry a desk has had acknowledged is at the hub exactly once, and each desk's own `verify` holds.
After every run: every hub counter equals the sum of the hub's own computations over its journal.
A fresh hub that settles the applied records again from their facts alone (every claimed figure
zeroed), in the order they were applied, reaches the same figures, row by row, and the same usage
and balances: what the desks claimed moved nothing.
"""

from __future__ import annotations

import json
import shutil
import uuid as uuidlib
from decimal import Decimal

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from desktop_app.domain.errors import GongjiError
from desktop_app.domain.money import to_fen
from desktop_app.domain.vocabulary import AMOUNTS, COUNTERS
from desktop_app.hub import checks, importer, schema
from desktop_app.hub import desks as hub_desks
from desktop_app.hub import push as hub_push
from desktop_app.services import checkout
from desktop_app.services.verify import verify
from desktop_app.store.db import connect
from desktop_app.sync.client import sync
from desktop_app.sync.hub_client import HubClient, SyncError
from desktop_app.sync.outbox import unsent
from tests.hub_fixtures import seeded_hub
from tests.store_fixtures import AT, DX, TODAY

FACILITY = {"kind": "community_health_centre", "level": 1, "id": "H45010300001"}
DESKS = ("A", "B")


@pytest.mark.slow
def test_desks_and_hub_stay_consistent(templates, tmp_path_factory):
    root = tmp_path_factory.mktemp("stateful")
    url = f"sqlite:///{root / 'hub.db'}"
    hub = seeded_hub(url, templates["guangxi"], root / "hub.log")
    engine = schema.engine_for(url)
    desks, tokens = {}, {}
    for name in DESKS:
        shutil.copy(templates["guangxi"], root / f"{name}.db")
        desks[name] = connect(root / f"{name}.db")
        tokens[name] = hub_desks.register_desk(engine, f"desk-{name}", FACILITY["id"], "guangxi", FACILITY)
    people = [
        r[0]
        for r in desks["A"].conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' ORDER BY psn_no LIMIT 6")
    ]
    codes = [
        r[0]
        for r in desks["A"].conn.execute(
            "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY price DESC LIMIT 3"
        )
    ]
    replays = iter(range(1_000_000))

    def crafted(desk: str, who: int, code: str, quantity: str, payer, tamper: str, delta: int, original) -> dict:
        """A record as a malicious desk would send it: honest facts and figures, then one thing changed."""
        facts = {
            "member": {"psn_no": people[who]},
            "date": TODAY.isoformat(),
            "diagnoses": DX,
            "items": [{"code": code, "quantity": 1}],
            "payment": {"family_payer": payer} if payer else None,
        }
        try:
            q = checkout.quote_dict(
                checkout.build_quote(desks[desk].conn, {k: v for k, v in facts.items() if v}, TODAY)
            )
            claim = {k: to_fen(Decimal(q[k])) for k in AMOUNTS}
            counters = {
                "deductible": to_fen(Decimal(q["act_pay_dedc"])),
                "pool": to_fen(Decimal(q["ordinary_pool_pay"])),
                **{f"programme_{n}": to_fen(Decimal(v)) for n, v in q["programme_pay"].items()},
            }
        except GongjiError:  # a payer the region does not allow: the claim is made up
            claim, counters = {k: 0 for k in AMOUNTS}, {}
        record = {
            "uuid": str(uuidlib.uuid4()),
            "kind": "settlement",
            "psn_no": people[who],
            "year": TODAY.year,
            "visit_date": TODAY.isoformat(),
            "region": "guangxi",
            "facility_id": FACILITY["id"],
            "device": "evil",
            "operator": "evil",
            "desk_created_at": AT,
            **claim,
            **{c: counters.get(c, 0) for c in COUNTERS},
            "family_payer": payer,
            "items": [{"code": code, "quantity": quantity}],
            "diseinfo": [{"diag_srt_no": 1, "diag_code": DX[0], "diag_name": "急性上呼吸道感染"}],
        }
        if tamper in AMOUNTS or tamper in COUNTERS:
            record[tamper] += delta
        elif tamper == "shift_to_account":
            record["acct_pay"] += record["psn_cash_pay"]
            record["psn_cash_pay"] = 0
        elif tamper == "refund" and original is not None:
            record.update(
                kind="refund", original_uuid=original, **{k: -delta % 10**7 * -1 for k in (*AMOUNTS, *COUNTERS)}
            )
            record["medfee_sumamt"] = sum(record[k] for k in AMOUNTS[1:])
        elif tamper == "no_items":
            record["items"] = []
        elif tamper == "future":
            record.update(visit_date="2099-06-01", year=2099)
        return record

    def replayed_equal() -> None:
        """Settle every applied record's facts again on a fresh hub, in applied order: the same figures, row by row."""
        fresh = schema.engine_for(f"sqlite:///{root / f'replay-{next(replays)}.db'}")
        try:
            importer.import_desk_database(fresh, str(templates["guangxi"]))
            with engine.connect() as conn:
                rows = conn.execute(select(schema.settlements).order_by(schema.settlements.c.server_seq)).all()
            for row in rows:
                desk = hub_desks.Desk(row.desk_id, FACILITY["id"], "guangxi", FACILITY)
                facts = {**json.loads(row.record), **dict.fromkeys((*AMOUNTS, *COUNTERS), 0)}  # no claims at all
                [result] = hub_push.push(fresh, desk, [facts], row.received_at, row.clock_skew_seconds)
                assert result.status == "applied", result
            fields = [schema.settlements.c[f] for f in ("uuid", *AMOUNTS, *COUNTERS, "family_payer")]
            with engine.connect() as live, fresh.connect() as again:
                for query in (
                    select(*fields).order_by(schema.settlements.c.uuid),
                    select(schema.usage).order_by(schema.usage.c.psn_no, schema.usage.c.year, schema.usage.c.counter),
                    select(schema.members.c.psn_no, schema.members.c.account_balance).order_by(schema.members.c.psn_no),
                ):
                    assert live.execute(query).all() == again.execute(query).all()
        finally:
            fresh.dispose()

    class Counter(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.settled = {name: [] for name in DESKS}
            if hub.proc.poll() is not None:
                hub.start()
            self.hub_up = True

        @rule(
            desk=st.sampled_from(DESKS),
            who=st.integers(0, len(people) - 1),
            code=st.sampled_from(codes),
            quantity=st.integers(1, 30),
        )
        def settle(self, desk, who, code, quantity) -> None:
            out = checkout.confirm(
                desks[desk],
                {
                    "member": {"psn_no": people[who]},
                    "date": TODAY.isoformat(),
                    "diagnoses": DX,
                    "items": [{"code": code, "quantity": quantity}],
                },
                "shouyin",
                today=TODAY,
                at=AT,
            )
            self.settled[desk].append(out["uuid"])

        @precondition(lambda self: any(self.settled.values()))
        @rule(desk=st.sampled_from(DESKS), pick=st.integers(0, 10_000))
        def refund(self, desk, pick) -> None:
            if not self.settled[desk]:
                return
            uuid = self.settled[desk].pop(pick % len(self.settled[desk]))
            checkout.refund(desks[desk], uuid, "admin", "admin123")

        @rule(desk=st.sampled_from(DESKS))
        def sync(self, desk) -> None:
            try:
                sync(desks[desk], hub.url, tokens[desk], batch=7)
            except SyncError:
                assert not self.hub_up, "sync may fail only while the hub is down"

        @precondition(lambda self: self.hub_up)
        @rule(desk=st.sampled_from(DESKS))
        def answers_lost(self, desk) -> None:
            """The hub applies a push but the desk never records the answer (crash, cut line): it must retry."""
            records = unsent(desks[desk].conn, 5)
            if records:
                client = HubClient(hub.url, tokens[desk])
                try:
                    client.push(records)
                finally:
                    client.close()

        @precondition(lambda self: self.hub_up)
        @rule(
            desk=st.sampled_from(DESKS),
            who=st.integers(0, len(people) - 1),
            code=st.sampled_from([*codes, "NO-SUCH"]),
            quantity=st.sampled_from(["1", "3", "0.5", "NaN", "-2", "1e9"]),
            payer=st.one_of(st.none(), st.sampled_from([*people, "99999999"])),
            tamper=st.sampled_from([*AMOUNTS, *COUNTERS, "shift_to_account", "refund", "no_items", "future", "none"]),
            delta=st.integers(-(2**63), 2**63),
            pick=st.integers(0, 10_000),
        )
        def malicious_desk(self, desk, who, code, quantity, payer, tamper, delta, pick) -> None:
            """A valid token, crafted records: the hub may apply only its own figures, or set the record aside."""
            with engine.connect() as conn:
                originals = list(
                    conn.execute(
                        select(schema.settlements.c.uuid)
                        .where(schema.settlements.c.kind == "settlement")
                        .order_by(schema.settlements.c.uuid)
                    ).scalars()
                )
            original = originals[pick % len(originals)] if originals else None
            record = crafted(desk, who, code, quantity, payer, tamper, delta, original)
            response = httpx.post(
                f"{hub.url}/v1/push",
                json={"protocol": 1, "desk_clock": AT, "records": [record]},
                headers={"Authorization": f"Bearer {tokens[desk]}"},
                timeout=60,
            )
            assert response.status_code == 200, response.text
            [result] = response.json()["results"]
            assert result["status"] == "set_aside" and result["reason"] or result["status"] == "applied"

        @precondition(lambda self: self.hub_up)
        @rule()
        def hub_crashes(self) -> None:
            hub.kill()
            self.hub_up = False

        @precondition(lambda self: not self.hub_up)
        @rule()
        def hub_restarts(self) -> None:
            hub.start()
            self.hub_up = True

        @invariant()
        def consistent(self) -> None:
            assert checks.check(engine) == []
            with engine.connect() as conn:
                counted = dict(
                    conn.execute(
                        select(schema.settlements.c.uuid, func.count()).group_by(schema.settlements.c.uuid)
                    ).all()
                )
            for db in desks.values():
                assert verify(db.conn) == []
                acked = [u for (u,) in db.conn.execute("SELECT uuid FROM outbox WHERE status = 'applied'")]
                assert all(counted.get(u) == 1 for u in acked)

        def teardown(self) -> None:
            replayed_equal()

    Counter.TestCase.settings = settings(
        max_examples=6, stateful_step_count=14, deadline=None, suppress_health_check=list(HealthCheck)
    )
    try:
        Counter.TestCase().runTest()
    finally:
        hub.stop()
        engine.dispose()
        for db in desks.values():
            db.conn.close()
