"""Two desks and the hub, driven by hypothesis: settle, refund, sync, lose answers, crash and restart the hub.

After every step: the hub's usage equals its opening figures plus its journal, every entry a desk
has had acknowledged is at the hub exactly once, and each desk's own `verify` holds.
"""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from desktop_app.hub import store
from desktop_app.services import checkout
from desktop_app.services.sync import HubClient, SyncError, sync, unsent
from desktop_app.services.verify import verify
from desktop_app.store.db import connect
from tests.hub_fixtures import seeded_hub
from tests.store_fixtures import AT, TODAY

FACILITY = {"kind": "community_health_centre", "level": 1, "id": "H45010300001"}
DESKS = ("A", "B")


@pytest.mark.slow
def test_desks_and_hub_stay_consistent(templates, tmp_path_factory):
    root = tmp_path_factory.mktemp("stateful")
    url = f"sqlite:///{root / 'hub.db'}"
    hub = seeded_hub(url, templates["guangxi"], root / "hub.log")
    engine = store.engine_for(url)
    desks, tokens = {}, {}
    for name in DESKS:
        shutil.copy(templates["guangxi"], root / f"{name}.db")
        desks[name] = connect(root / f"{name}.db")
        tokens[name] = store.register_desk(engine, f"desk-{name}", FACILITY["id"], "guangxi", FACILITY)
    people = [r[0] for r in desks["A"].conn.execute(
        "SELECT psn_no FROM members WHERE scheme = 'combined' ORDER BY psn_no LIMIT 6")]
    codes = [r[0] for r in desks["A"].conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' ORDER BY price DESC LIMIT 3")]

    class Counter(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.settled = {name: [] for name in DESKS}
            if hub.proc.poll() is not None:
                hub.start()
            self.hub_up = True

        @rule(desk=st.sampled_from(DESKS), who=st.integers(0, len(people) - 1), code=st.sampled_from(codes),
              quantity=st.integers(1, 30))
        def settle(self, desk, who, code, quantity) -> None:
            out = checkout.confirm(desks[desk], {"member": {"psn_no": people[who]}, "date": TODAY.isoformat(),
                                                 "items": [{"code": code, "quantity": quantity}]}, "shouyin", today=TODAY, at=AT)
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
            assert store.check(engine) == []
            with engine.connect() as conn:
                counted = dict(conn.execute(select(store.settlements.c.uuid, func.count())
                                            .group_by(store.settlements.c.uuid)).all())
            for name, db in desks.items():
                assert verify(db.conn) == []
                acked = [u for (u,) in db.conn.execute("SELECT uuid FROM outbox WHERE status = 'applied'")]
                assert all(counted.get(u) == 1 for u in acked)

    Counter.TestCase.settings = settings(max_examples=6, stateful_step_count=14, deadline=None,
                                         suppress_health_check=list(HealthCheck))
    try:
        Counter.TestCase().runTest()
    finally:
        hub.stop()
        engine.dispose()
        for db in desks.values():
            db.conn.close()
