"""The hub under load and at its limits, against the real hub.

Twenty desks come online together on one SQLite hub process with the default time-outs: none
fails, all converge.  A request past a limit (too large a body, too many records, a cursor past
the feed) gets a clear answer that names the limit and echoes nothing, while an honest desk
beside it goes on.  A busy database is answered 503 with Retry-After, never 500, and the desk
backs off and comes back.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
import threading
import time
import uuid as uuidlib
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import OperationalError

from desktop_app.domain.clock import now_iso
from desktop_app.hub import checks, desks, importer, limits, schema
from desktop_app.hub.app import create_app
from desktop_app.services.verify import verify
from desktop_app.store import config
from desktop_app.store.db import connect
from desktop_app.sync import client as client_module
from desktop_app.sync.client import sync
from desktop_app.sync.hub_client import ATTEMPTS, HubClient, SyncError, SyncReport
from desktop_app.sync.outbox import _pages, push, unsent
from desktop_app.sync.protocol import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    MAX_CURSOR,
    MAX_ITEMS,
    MAX_PAGE,
    RETRY_AFTER_SECONDS,
    PushItem,
    PushRequest,
)
from tests.hub_fixtures import free_port, seeded_hub
from tests.test_sync import FACILITY, expensive, settle

DESKS = 20
EACH = 3  # settlements per desk


class Region:
    """One real hub process on a SQLite file, and ``n`` desks, each its own database and token."""

    def __init__(self, templates, folder: Path, n: int) -> None:
        url = f"sqlite:///{folder / 'hub.db'}"
        self.hub = seeded_hub(url, templates["guangxi"], folder / "hub.log")
        self.engine = schema.engine_for(url)
        self.desks, self.tokens = [], []
        for i in range(n):
            shutil.copy(templates["guangxi"], folder / f"desk{i}.db")
            self.desks.append(connect(folder / f"desk{i}.db"))
            self.tokens.append(desks.register_desk(self.engine, f"desk-{i}", FACILITY["id"], "guangxi", FACILITY))

    def sync(self, i: int, **kwargs) -> SyncReport:
        return sync(self.desks[i], self.hub.url, self.tokens[i], **kwargs)

    def close(self) -> None:
        self.hub.stop()
        self.engine.dispose()
        for db in self.desks:
            db.conn.close()


@pytest.fixture
def region(templates, tmp_path):
    r = Region(templates, tmp_path, DESKS)
    yield r
    r.close()


@pytest.fixture
def pair(templates, tmp_path):
    r = Region(templates, tmp_path, 2)
    yield r
    r.close()


def people(db, n: int, offset: int) -> list[str]:
    rows = [r[0] for r in db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' ORDER BY psn_no")]
    return [rows[(offset + k) % len(rows)] for k in range(n)]


def test_twenty_desks_online_together_all_push_and_converge(region):
    uuids = []
    for i, db in enumerate(region.desks):
        code = expensive(db)[0]
        # Two desks share each member, so the hub settles some members from two desks at once.
        for psn in people(db, EACH, (i // 2) * EACH):
            uuids.append(settle(db, psn, 1, code)["uuid"])
    start, failures, reports = threading.Barrier(DESKS), [], {}

    def desk(i: int) -> None:
        start.wait()  # 08:00: every desk comes online at once
        try:
            reports[i] = region.sync(i)
        except Exception as exc:  # noqa: BLE001 - every failure is reported below
            failures.append((i, repr(exc)))

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(DESKS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sum(r.pushed for r in reports.values()) == len(uuids) == DESKS * EACH
    with region.engine.connect() as conn:
        stored = dict(
            conn.execute(
                select(schema.settlements.c.uuid, func.count())
                .where(schema.settlements.c.uuid.in_(uuids))
                .group_by(schema.settlements.c.uuid)
            ).all()
        )
        head = conn.execute(select(func.max(schema.changes.c.seq))).scalar_one()
    assert stored == dict.fromkeys(uuids, 1)  # each applied, once
    for i, db in enumerate(region.desks):  # one more round: every desk has the hub's last word
        assert region.sync(i).cursor == head
        assert unsent(db.conn, 10) == []
        assert verify(db.conn) == []
    assert checks.check(region.engine) == []


# --------------------------------------------------------------------------- limits


def small(response: httpx.Response) -> str:
    """The answer's text, asserted short: a refusal never echoes what it refused."""
    assert len(response.content) < 4000, response.content[:200]
    return response.text


def test_an_oversized_body_and_an_oversized_batch_get_413_while_an_honest_desk_goes_on(pair):
    db = pair.desks[0]
    code = expensive(db)[0]
    uuids = [settle(db, psn, 1, code)["uuid"] for psn in people(db, 6, 0)]
    url, headers = f"{pair.hub.url}/v1/push", {"Authorization": f"Bearer {pair.tokens[1]}"}
    junk = b'{"protocol": 1, "desk_clock": "' + b"x" * (MAX_BODY_BYTES + 10) + b'", "records": []}'
    many = [{"uuid": str(uuidlib.uuid4())} for _ in range(MAX_BATCH + 1)]
    answers, failures = {}, []
    start = threading.Barrier(6)

    def send(name: str, **kwargs) -> None:
        start.wait()
        answers[name] = httpx.post(url, headers={**headers, "Content-Type": "application/json"}, timeout=60, **kwargs)

    def honest() -> None:
        start.wait()
        try:
            answers["honest"] = pair.sync(0)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))

    def chunks():
        for i in range(0, len(junk), 2**20):
            yield junk[i : i + 2**20]

    threads = [
        threading.Thread(target=honest),
        threading.Thread(target=send, args=("declared",), kwargs={"content": junk}),
        threading.Thread(target=send, args=("streamed",), kwargs={"content": chunks()}),  # no Content-Length
        threading.Thread(
            target=send, args=("batch",), kwargs={"json": {"protocol": 1, "desk_clock": "x", "records": many}}
        ),
        threading.Thread(
            target=send, args=("field",), kwargs={"json": {"protocol": 1, "desk_clock": "y" * 10**6, "records": []}}
        ),
        threading.Thread(
            target=send,
            args=("key",),
            kwargs={"json": {"protocol": 1, "desk_clock": "x", "records": [], "k" * 10**6: 1}},
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    for name in ("declared", "streamed"):
        assert answers[name].status_code == 413 and str(MAX_BODY_BYTES) in small(answers[name])
    assert answers["batch"].status_code == 413 and str(MAX_BATCH) in small(answers["batch"])
    assert answers["field"].status_code == 422 and "desk_clock" in small(answers["field"])  # named, not echoed
    assert answers["key"].status_code == 422 and "kkkk" in small(answers["key"])  # a key named, cut short
    assert (answers["honest"].pushed, answers["honest"].applied) == (6, 6)
    with pair.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.settlements)).scalar_one() == len(uuids)
        assert conn.execute(select(func.count()).select_from(schema.rejected)).scalar_one() == 0
    assert checks.check(pair.engine) == []


def test_every_query_parameter_is_bounded_and_a_cursor_past_the_feed_gets_an_empty_page(pair):
    headers = {"Authorization": f"Bearer {pair.tokens[0]}"}

    def changes(**params) -> httpx.Response:
        return httpx.get(f"{pair.hub.url}/v1/changes", params=params, headers=headers, timeout=60)

    past = changes(cursor=2**70, limit=MAX_PAGE)
    assert past.status_code == 200
    assert (past.json()["changes"], past.json()["more"], past.json()["next_cursor"]) == ([], False, 2**70)
    assert changes(cursor=MAX_CURSOR).json()["changes"] == []
    first = changes(cursor=0, limit=1000).json()
    assert len(first["changes"]) == 1000 and first["more"]
    rest = changes(cursor=first["next_cursor"], limit=MAX_PAGE).json()
    assert rest["changes"] and not rest["more"] and rest["changes"][0]["seq"] > first["next_cursor"]
    for params in (
        {"cursor": MAX_CURSOR + 1},
        {"cursor": "9" * 4000},
        {"cursor": -1},
        {"limit": 0},
        {"limit": MAX_PAGE + 1},
        {"limit": "many"},
    ):
        refused = changes(**params)
        assert refused.status_code == 422 and "9999" not in small(refused), params
    day = httpx.get(f"{pair.hub.url}/v1/reconcile", params={"day": "2024-06-15" * 1000}, headers=headers)
    assert day.status_code == 422 and "2024-06-152024" not in small(day)


def test_the_desk_pages_its_pushes_within_both_limits(templates, tmp_path):
    shutil.copy(templates["guangxi"], tmp_path / "desk.db")
    db = connect(tmp_path / "desk.db")
    settle(db, people(db, 1, 0)[0])
    [one] = unsent(db.conn, 1)
    records = [one.model_copy(update={"uuid": str(uuidlib.uuid4())}) for _ in range(2 * MAX_BATCH + 1)]
    pages = list(_pages(records))
    assert [len(p) for p in pages] == [MAX_BATCH, MAX_BATCH, 1] and sum(pages, []) == records
    item = {"code": "药" * 64, "quantity": "99999.99", "unit_price": "99999999.99"}  # the largest a record can be
    big = one.model_copy(update={"items": [PushItem(**item)] * MAX_ITEMS})
    bigs = [big.model_copy(update={"uuid": str(uuidlib.uuid4())}) for _ in range(200)]
    pages = list(_pages(bigs))
    assert len(pages) > 1 and sum(pages, []) == bigs
    for page in pages:
        body = PushRequest(desk_clock="2024-06-15T10:00:00+08:00", records=page).model_dump_json().encode()
        assert len(body) <= MAX_BODY_BYTES
    db.conn.close()


def test_the_audit_chain_goes_up_in_pages_from_the_head_the_hub_holds(pair, monkeypatch):
    monkeypatch.setattr(client_module, "MAX_AUDIT_LINKS", 40)
    db = pair.desks[0]

    def hub_head() -> int:
        with pair.engine.connect() as conn:
            return conn.execute(
                select(schema.audit_heads.c.id).where(schema.audit_heads.c.desk_id == "desk-0")
            ).scalar_one()

    settle(db, people(db, 1, 0)[0])
    last, count = db.conn.execute("SELECT max(id), count(*) FROM audit_log").fetchone()
    assert count > 3 * 40  # several pages
    pair.sync(0)
    assert hub_head() == last
    settle(db, people(db, 1, 1)[0])
    with db.conn:  # the desk forgot what the hub acknowledged: it starts from the head the hub holds
        config.put(db.conn, "sync.audit_acked", "1")
    pair.sync(0)
    assert hub_head() == db.conn.execute("SELECT max(id) FROM audit_log").fetchone()[0] > last


# --------------------------------------------------------------------------- a busy database


class ServedHub:
    """The hub's app under uvicorn in a thread, with a short wait for the lock (the process waits 30 s)."""

    def __init__(self, url: str, wait: float, workers: int = schema.WORKERS) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(url, wait=wait, workers=workers)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def hold_the_lock(url: str, engine):
    """A write transaction of another program, on the tables a push writes, until it is closed."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
        return conn
    conn = engine.raw_connection()
    conn.cursor().execute("LOCK TABLE settlements IN ACCESS EXCLUSIVE MODE")
    return conn


def test_a_busy_database_is_answered_503_and_the_desk_backs_off_then_goes_on(templates, tmp_path, hub_url):
    engine = schema.engine_for(hub_url)
    importer.import_desk_database(engine, str(templates["guangxi"]))
    token = desks.register_desk(engine, "desk-0", FACILITY["id"], "guangxi", FACILITY)
    shutil.copy(templates["guangxi"], tmp_path / "desk.db")
    db = connect(tmp_path / "desk.db")
    uuids = [settle(db, psn)["uuid"] for psn in people(db, 2, 0)]
    hub = ServedHub(hub_url, wait=0.5)
    try:
        records = unsent(db.conn, 10)
        held = hold_the_lock(hub_url, engine)
        busy = httpx.post(
            f"{hub.url}/v1/push",
            content=PushRequest(desk_clock=now_iso(), records=records).model_dump_json(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert busy.status_code == 503 and busy.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert "繁忙" in small(busy) and "INSERT" not in busy.text and "SELECT" not in busy.text
        pauses: list[float] = []
        desk = HubClient(hub.url, token, sleep=pauses.append)
        with pytest.raises(SyncError, match="繁忙"):  # still busy after every try: the round stops, nothing lost
            push(db, desk, SyncReport())
        assert len(pauses) == ATTEMPTS - 1 and all(p >= RETRY_AFTER_SECONDS for p in pauses)
        assert len(set(pauses)) == len(pauses)  # jittered
        assert len(unsent(db.conn, 10)) == 2
        release = threading.Timer(1.0, held.close)  # the other program commits while the desk waits
        release.start()
        desk.sleep = time.sleep
        report = SyncReport()
        push(db, desk, report)
        release.join()
        desk.close()
        assert (report.pushed, report.applied) == (2, 2) and unsent(db.conn, 10) == []
    finally:
        hub.stop()
    with engine.connect() as conn:
        rows = conn.execute(select(schema.settlements.c.uuid).where(schema.settlements.c.uuid.in_(uuids))).all()
    assert sorted(r.uuid for r in rows) == sorted(uuids)
    assert checks.check(engine) == []
    engine.dispose()
    db.conn.close()


def test_a_request_that_waits_too_long_for_a_worker_is_answered_503(templates, tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = schema.engine_for(url)
    importer.import_desk_database(engine, str(templates["guangxi"]))
    token = desks.register_desk(engine, "desk-0", FACILITY["id"], "guangxi", FACILITY)
    shutil.copy(templates["guangxi"], tmp_path / "desk.db")
    db = connect(tmp_path / "desk.db")
    settle(db, people(db, 1, 0)[0])
    # A push with a record to write (an empty one touches no table since the batched push): it needs the lock.
    body = PushRequest(desk_clock=now_iso(), records=unsent(db.conn, 1)).model_dump_json()
    db.conn.close()
    hub = ServedHub(url, wait=1.0, workers=1)
    held = hold_the_lock(url, engine)
    answers = []

    def post() -> None:
        answers.append(
            httpx.post(
                f"{hub.url}/v1/push",
                content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                timeout=30,
            )
        )

    try:
        threads = [threading.Thread(target=post) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        slow = socket.create_connection(("127.0.0.1", hub.port))  # a body that never finishes arriving
        slow.sendall(b"POST /v1/push HTTP/1.1\r\nHost: hub\r\nContent-Length: 100\r\n\r\n{")
        slow.settimeout(30)
        late = slow.recv(4096)
        slow.close()
        free = httpx.get(f"{hub.url}/health", timeout=5)
    finally:
        held.close()
        hub.stop()
        engine.dispose()
    # One got the only worker and waited for the lock, and when it let go at most one other got it: the rest
    # waited for the worker.  All of them: come back later.
    assert [a.status_code for a in answers] == [503] * 4
    assert {a.headers["Retry-After"] for a in answers} == {str(RETRY_AFTER_SECONDS)}
    assert {"处理线程" in small(a) for a in answers} == {True, False}
    assert late.startswith(b"HTTP/1.1 408") and free.status_code == 200  # the worker it held is free again


def test_only_a_busy_database_is_a_503(tmp_path):
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
    with pytest.raises(OperationalError) as locked:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    with pytest.raises(OperationalError) as missing:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT * FROM no_such_table")
    holder.close()
    engine.dispose()
    assert limits._busy_database(locked.value) and not limits._busy_database(missing.value)
