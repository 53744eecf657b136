"""Sync against the real hub process, on SQLite and PostgreSQL: at most once per UUID, nothing lost, nothing skipped."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from desktop_app.hub import accounts, checks, desks, schema
from desktop_app.hub.recompute import CAP_REASON
from desktop_app.services import checkout
from desktop_app.services.verify import verify
from desktop_app.store import journal
from desktop_app.store.db import connect
from desktop_app.sync.client import sync
from desktop_app.sync.hub_client import HubClient, SyncError, SyncReport
from desktop_app.sync.outbox import unsent
from tests.hub_fixtures import free_port, seeded_hub
from tests.store_fixtures import AT, DX, TODAY

FACILITY = {"kind": "community_health_centre", "level": 1, "id": "H45010300001"}


class World:
    def __init__(self, templates, tmp_path: Path, url: str) -> None:
        self.tmp, self.url = tmp_path, url
        self.hub = seeded_hub(url, templates["guangxi"], tmp_path / "hub.log")
        self.engine = schema.engine_for(url)
        self.desks, self.tokens = {}, {}
        for name in ("A", "B"):
            shutil.copy(templates["guangxi"], tmp_path / f"{name}.db")
            self.desks[name] = connect(tmp_path / f"{name}.db")
            self.tokens[name] = desks.register_desk(self.engine, f"desk-{name}", FACILITY["id"], "guangxi", FACILITY)

    def sync(self, name: str, **kwargs) -> SyncReport:
        return sync(self.desks[name], self.hub.url, self.tokens[name], **kwargs)

    def rows(self, uuids) -> dict[str, int]:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(schema.settlements.c.uuid, func.count())
                .where(schema.settlements.c.uuid.in_(list(uuids)))
                .group_by(schema.settlements.c.uuid)
            ).all()
        return dict(found)

    def close(self) -> None:
        self.hub.stop()
        self.engine.dispose()
        for db in self.desks.values():
            db.conn.close()


@pytest.fixture
def world(templates, tmp_path, hub_url):
    w = World(templates, tmp_path, hub_url)
    yield w
    w.close()


def member(db, where: str = "1") -> str:
    return db.conn.execute(
        f"SELECT psn_no FROM members WHERE scheme = 'combined' AND {where} ORDER BY psn_no LIMIT 1"
    ).fetchone()[0]


def expensive(db, n: int = 1) -> list[str]:
    return [
        r[0]
        for r in db.conn.execute(
            "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 AND category = 'A' "
            "ORDER BY price DESC LIMIT ?",
            (n,),
        )
    ]


def settle(db, psn: str, quantity: int = 2, code: str | None = None) -> dict:
    code = code or expensive(db)[0]
    return checkout.confirm(
        db,
        {
            "member": {"psn_no": psn},
            "diagnoses": DX,
            "date": TODAY.isoformat(),
            "items": [{"code": code, "quantity": quantity}],
        },
        "shouyin",
        today=TODAY,
        at=AT,
    )


def all_well(world: World) -> None:
    assert checks.check(world.engine) == []
    for db in world.desks.values():
        assert verify(db.conn) == []


def test_replaying_the_outbox_three_times_leaves_one_row_per_uuid(world):
    db = world.desks["A"]
    uuids = [settle(db, member(db), q)["uuid"] for q in (1, 2, 3)]
    first = world.sync("A")
    assert (first.pushed, first.applied, first.duplicates) == (3, 3, 0)
    for _ in range(2):
        db.conn.execute(
            "UPDATE outbox SET sent_at = NULL WHERE uuid IN (?, ?, ?)", uuids
        )  # as if every answer was lost
        again = world.sync("A")
        assert (again.pushed, again.duplicates) == (3, 3)
    assert world.rows(uuids) == dict.fromkeys(uuids, 1)
    all_well(world)


def test_concurrent_duplicate_pushes_apply_once(world):
    db = world.desks["A"]
    psn = member(db)
    for q in (1, 2, 3, 4):
        settle(db, psn, q)
    records = unsent(db.conn, 100)
    answers, errors = [], []

    def push() -> None:
        client = HubClient(world.hub.url, world.tokens["A"])
        try:
            answers.append(client.push(records).results)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=push) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(answers) == 8
    for results in answers:
        assert [r.status for r in results] == ["applied"] * 4
    seqs = {tuple(r.server_seq for r in results) for results in answers}
    assert len(seqs) == 1  # every retry got the original result
    assert sum(not r.duplicate for results in answers for r in results) == 4
    assert world.rows([r.uuid for r in records]) == {r.uuid: 1 for r in records}
    assert checks.check(world.engine) == []


class CuttingProxy:
    """Forwards to the hub but drops its answer to a push: the hub has committed, the desk never hears it.

    Everything before the push on the connection (the audit chain's anchor) is relayed both ways."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream, self.port = upstream_port, free_port()
        self.server = socket.create_server(("127.0.0.1", self.port))
        self.cut = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream))

        pushing = threading.Event()

        def forward() -> None:
            try:
                while data := client.recv(65536):
                    if b"POST /v1/push" in data:
                        pushing.set()
                    upstream.sendall(data)
            except OSError:
                pass

        threading.Thread(target=forward, daemon=True).start()
        try:
            while data := upstream.recv(65536):
                if pushing.is_set():  # the hub started answering the push, so it has committed
                    self.cut += 1
                    break
                client.sendall(data)
        except OSError:
            pass
        for s in (client, upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.server.close()


def test_a_response_cut_after_commit_is_retried_without_a_duplicate(world):
    db = world.desks["A"]
    uuids = [settle(db, member(db), q)["uuid"] for q in (1, 2)]
    proxy = CuttingProxy(world.hub.port)
    try:
        with pytest.raises(SyncError, match="无法连接"):
            sync(db, f"http://127.0.0.1:{proxy.port}", world.tokens["A"])
    finally:
        proxy.close()
    assert proxy.cut >= 1
    assert world.rows(uuids) == dict.fromkeys(uuids, 1)  # committed at the hub …
    assert len(unsent(db.conn, 10)) == 2  # … but the desk does not know yet
    report = world.sync("A")
    assert (report.pushed, report.duplicates) == (2, 2)
    assert world.rows(uuids) == dict.fromkeys(uuids, 1)
    all_well(world)


@pytest.mark.slow
def test_killing_the_hub_mid_push_loses_nothing(world):
    db = world.desks["A"]
    codes = expensive(db, 5)
    people = [r[0] for r in db.conn.execute("SELECT psn_no FROM members ORDER BY psn_no LIMIT 60")]
    uuids = [settle(db, people[i % 60], 1, codes[i % 5])["uuid"] for i in range(400)]
    failure = []

    def run() -> None:
        try:
            world.sync("A", batch=10)
        except SyncError as exc:
            failure.append(exc)

    pusher = threading.Thread(target=run)
    pusher.start()
    deadline = time.monotonic() + 60
    while db.conn.execute("SELECT count(*) FROM outbox WHERE server_seq IS NOT NULL").fetchone()[0] < 50:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    world.hub.kill()  # SIGKILL mid-push
    pusher.join()
    assert failure, "the push should have been cut off"
    world.hub.start()
    world.sync("A", batch=50)
    assert world.rows(uuids) == dict.fromkeys(uuids, 1)
    assert unsent(db.conn, 10) == []
    all_well(world)


def test_two_desks_offline_past_the_cap_produce_a_recorded_clawback(world):
    a, b = world.desks["A"], world.desks["B"]
    psn = member(a, "status = 'employed'")
    first = settle(a, psn, 60)  # each alone uses what is left of the cap …
    second = settle(b, psn, 60)  # … and the other desk does not know
    assert first["cap_left"] == second["cap_left"] == "0.00"
    world.sync("A")
    report = world.sync("B")
    [review] = report.reviews
    assert {k: review[k] for k in ("uuid", "review", "amount")} == {
        "uuid": second["uuid"],
        "review": "clawback",
        "amount": second["hifp_pay"],
    }
    assert (
        review["reason"].startswith(CAP_REASON)
        and f"统筹基金 收款台 {second['hifp_pay']} / 中心 0.00" in review["reason"]
    )
    assert [c["uuid"] for c in checks.clawbacks(world.engine)] == [second["uuid"]]
    notice = b.conn.execute("SELECT kind, amount FROM sync_notices WHERE uuid = ?", (second["uuid"],)).fetchone()
    assert notice == ("clawback", journal.get(b.conn, second["uuid"]).hifp_pay)
    # Desk B now knows the truth: its cached usage is the hub's, both settlements counted.
    with world.engine.connect() as conn:
        hub_pool = accounts.usage_before(conn, psn, TODAY.year)["pool"]
    assert journal.usage(b.conn, psn, TODAY.year).pool_paid * 100 == hub_pool
    world.sync("A")
    assert journal.usage(a.conn, psn, TODAY.year).pool_paid * 100 == hub_pool
    all_well(world)


def test_a_change_that_commits_late_is_still_pulled(world):
    db = world.desks["A"]
    world.sync("A")
    psn_one, psn_two = [r[0] for r in db.conn.execute("SELECT psn_no FROM members ORDER BY psn_no LIMIT 2")]
    with world.engine.connect() as conn:
        rows = {
            r.psn_no: (json.loads(r.data), r.account_balance)
            for r in conn.execute(select(schema.members).where(schema.members.c.psn_no.in_([psn_one, psn_two])))
        }
    slow = schema.writing(world.engine)
    conn = slow.__enter__()
    accounts.put_member(conn, {**rows[psn_one][0], "name": "迟到甲"}, rows[psn_one][1])  # numbered, not yet committed
    later = threading.Thread(
        target=lambda: _put(world.engine, {**rows[psn_two][0], "name": "随后乙"}, rows[psn_two][1])
    )
    later.start()
    time.sleep(0.3)
    world.sync("A")  # pulls while the first change is still open
    assert db.conn.execute("SELECT name FROM members WHERE psn_no = ?", (psn_two,)).fetchone()[0] != "随后乙"
    slow.__exit__(None, None, None)  # commit
    later.join()
    world.sync("A")
    names = dict(db.conn.execute("SELECT psn_no, name FROM members WHERE psn_no IN (?, ?)", (psn_one, psn_two)))
    assert names == {psn_one: "迟到甲", psn_two: "随后乙"}


def _put(engine, data, balance) -> None:
    with schema.writing(engine) as conn:
        accounts.put_member(conn, data, balance)


def test_a_bad_or_foreign_token_is_refused(world):
    db = world.desks["A"]
    uuid = settle(db, member(db))["uuid"]
    with pytest.raises(SyncError, match="令牌"):
        sync(db, world.hub.url, "not-a-token")
    assert len(unsent(db.conn, 10)) == 1
    other = desks.register_desk(world.engine, "desk-X", "H45019900009", "guangxi", {**FACILITY, "id": "H45019900009"})
    client = HubClient(world.hub.url, other)
    try:
        result = client.push(unsent(db.conn, 10)).results[0]
    finally:
        client.close()
    assert result.status == "set_aside" and "H45019900009" in result.reason
    assert world.rows([uuid]) == {}
    world.sync("A")  # the foreign attempt did not claim the UUID
    assert world.rows([uuid]) == {uuid: 1}
    elsewhere = desks.register_desk(world.engine, "desk-S", "S51000000001", "sichuan-provincial", {"kind": "hospital"})
    seen = httpx.get(
        f"{world.hub.url}/v1/changes",
        params={"cursor": 0, "limit": 5000},
        headers={"Authorization": f"Bearer {elsewhere}"},
    ).json()["changes"]
    assert seen and not [c for c in seen if c["kind"] in ("member", "usage")]
    assert httpx.get(f"{world.hub.url}/v1/changes", headers={"Authorization": "Bearer nope"}).status_code == 401
    desks.revoke_desk(world.engine, "desk-A")  # a stolen desk
    settle(db, member(db))
    with pytest.raises(SyncError, match="令牌"):
        world.sync("A")


def test_the_hub_describes_itself(world):
    schema = httpx.get(f"{world.hub.url}/openapi.json").json()
    assert {"/v1/push", "/v1/changes", "/v1/reconcile"} <= set(schema["paths"])


def test_reconciliation_finds_the_settlements_behind_a_difference(world):
    from desktop_app.sync.reconcile import reconcile

    db = world.desks["A"]
    uuids = [settle(db, member(db), q)["uuid"] for q in (1, 2)]
    world.sync("A")
    day = journal.get(db.conn, uuids[0]).created_at[:10]
    ok = reconcile(db, world.hub.url, world.tokens["A"], day)
    assert ok["ok"] and ok["differences"] == {}
    with schema.writing(world.engine) as conn:
        conn.execute(schema.settlements.delete().where(schema.settlements.c.uuid == uuids[1]))  # lost at the hub
    bad = reconcile(db, world.hub.url, world.tokens["A"], day)
    assert not bad["ok"] and bad["only_at_desk"] == [uuids[1]] and bad["differences"]["count"] == {"desk": 2, "hub": 1}


def test_an_offline_limited_settlement_is_recorded_for_reimbursement(world):
    import datetime as dt

    from desktop_app.store import config

    db = world.desks["A"]
    world.sync("A")
    with db.conn:
        stale = dt.datetime.now().astimezone() - dt.timedelta(hours=3)
        config.put(db.conn, "sync.last_ok", stale.isoformat(timespec="seconds"))
    psn = db.conn.execute(
        "SELECT m.psn_no FROM members m WHERE m.scheme = 'combined' AND NOT EXISTS (SELECT 1 FROM usage u "
        "WHERE u.psn_no = m.psn_no AND u.year = ? AND u.counter = 'pool') ORDER BY psn_no LIMIT 1",
        (TODAY.year,),
    ).fetchone()[0]
    out = settle(db, psn, 12)
    assert out["hifp_pay"] == "200.00"
    report = world.sync("A")
    [review] = report.reviews
    assert review["uuid"] == out["uuid"] and review["review"] == "difference"
    assert review["amount"].startswith("-") and "补付" in review["reason"]
    all_well(world)


def test_an_account_spent_twice_offline_is_flagged_and_the_desk_never_shows_a_negative_balance(world):
    a, b = world.desks["A"], world.desks["B"]
    psn = a.conn.execute(
        "SELECT psn_no FROM members WHERE scheme = 'combined' AND account_balance BETWEEN 5000 AND 20000 "
        "ORDER BY psn_no LIMIT 1"
    ).fetchone()[0]
    code = a.conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY price DESC LIMIT 1"
    ).fetchone()[0]
    first, second = settle(a, psn, 3, code), settle(b, psn, 3, code)
    assert first["balc"] == second["balc"] == "0.00"  # each desk spent the whole account
    world.sync("A")
    report = world.sync("B")
    assert any(r["uuid"] == second["uuid"] and "透支" in r["reason"] for r in report.reviews), report.reviews
    world.sync("A")
    for db in (a, b):
        assert db.conn.execute("SELECT account_balance FROM members WHERE psn_no = ?", (psn,)).fetchone()[0] == 0
    all_well(world)


def test_a_skewed_desk_clock_is_reported_and_the_hub_decides_the_year(world):
    import datetime as dt

    from desktop_app.sync.protocol import PushRequest

    db = world.desks["A"]
    settle(db, member(db))
    [record] = unsent(db.conn, 10)
    ahead = dt.datetime.now().astimezone() + dt.timedelta(days=400)
    wrong_year = record.model_copy(
        update={
            "desk_created_at": ahead.isoformat(timespec="seconds"),
            "year": ahead.year,
            "visit_date": ahead.date().isoformat(),  # the desk's (wrong) today
            "uuid": "00000000-0000-4000-8000-000000000001",
        }
    )
    request = PushRequest(desk_clock=ahead.isoformat(timespec="seconds"), records=[wrong_year])
    answer = httpx.post(
        f"{world.hub.url}/v1/push",
        content=request.model_dump_json(),
        headers={"Authorization": f"Bearer {world.tokens['A']}", "Content-Type": "application/json"},
    ).json()
    assert answer["clock_skew_seconds"] > 399 * 86400
    [result] = answer["results"]
    assert result["status"] == "set_aside" and "时钟偏差" in result["reason"]
    report = world.sync("A")  # the desk's own, correctly dated entry goes through; its clock is fine
    assert report.applied == 1 and abs(report.clock_skew_seconds) < 60 and report.warnings == []
    with world.engine.connect() as conn:  # the hub keeps each entry's clock reading
        assert (
            abs(conn.execute(select(schema.settlements.c.clock_skew_seconds)).scalar_one() - report.clock_skew_seconds)
            <= 1
        )


def test_a_local_entry_outside_the_protocol_is_set_aside_at_the_desk_and_the_rest_go_on(world):
    """An entry the protocol refuses (here: an amount above its ceiling) never blocks the desk's sync."""
    import uuid as uuidlib

    from desktop_app.sync.protocol import MAX_FEN

    db = world.desks["A"]
    model = settle(db, member(db))
    big = {"uuid": str(uuidlib.uuid4())}  # as an older version could have written it: the desk bounds amounts now
    columns = [r[1] for r in db.conn.execute("PRAGMA table_info(settlements)")]
    source = {"uuid": "?", "medfee_sumamt": "medfee_sumamt + ?", "psn_cash_pay": "psn_cash_pay + ?"}
    with db.conn:
        db.conn.execute(
            f"INSERT INTO settlements ({', '.join(columns)}) SELECT {', '.join(source.get(c, c) for c in columns)} "
            "FROM settlements WHERE uuid = ?",
            (big["uuid"], MAX_FEN, MAX_FEN, model["uuid"]),
        )
        db.conn.execute("INSERT INTO outbox (uuid, kind, created_at) VALUES (?, 'settlement', ?)", (big["uuid"], AT))
    fine = settle(db, member(db, "psn_no > (SELECT min(psn_no) FROM members)"))
    report = world.sync("A")
    [aside] = report.set_aside
    assert aside["uuid"] == big["uuid"] and "medfee_sumamt" in aside["reason"] and "未上传" in aside["reason"]
    assert report.applied == 2 and world.rows([fine["uuid"], big["uuid"], model["uuid"]]) == {
        fine["uuid"]: 1,
        model["uuid"]: 1,
    }
    notice = db.conn.execute("SELECT kind FROM sync_notices WHERE uuid = ?", (big["uuid"],)).fetchone()
    assert notice == ("set_aside",) and unsent(db.conn, 10) == []


def test_a_rewritten_audit_chain_is_refused_by_the_hub_and_caught_by_verify(world):
    """Someone edits an old audit row and re-hashes the chain after it: locally consistent, but not the hub's."""
    import sqlite3

    from desktop_app.store import audit

    db = world.desks["A"]
    settle(db, member(db))
    world.sync("A")  # the hub now holds this desk's chain head
    settle(db, member(db, "psn_no > (SELECT min(psn_no) FROM members)"))
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    db.conn.close()
    with sqlite3.connect(path) as conn:  # rewrite: change an early entry, then recompute every hash after it
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute(
            "UPDATE audit_log SET operator = 'ghost' WHERE id = (SELECT min(id) FROM audit_log WHERE action = 'settle')"
        )
        prev = audit.GENESIS
        for id_, at, operator, action, subject, detail in conn.execute(
            "SELECT id, at, operator, action, subject, detail FROM audit_log ORDER BY id"
        ).fetchall():
            digest = audit._digest(prev, at, operator, action, subject, detail)
            conn.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?", (prev, digest, id_))
            prev = digest
    conn.close()
    world.desks["A"] = db = connect(path)
    assert audit.verify_chain(db.conn) == []  # the chain itself looks whole
    before = world.rows([r.uuid for r in unsent(db.conn, 10)])
    with pytest.raises(SyncError, match="审计链"):
        world.sync("A")
    assert world.rows([r.uuid for r in unsent(db.conn, 10)]) == before == {}  # nothing more was taken
    from desktop_app.sync.reconcile import audit_matches_hub

    [problem] = audit_matches_hub(db, world.hub.url, world.tokens["A"])
    assert "改写" in problem
