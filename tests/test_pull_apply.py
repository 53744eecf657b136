"""A pulled page applied in one call ends as its changes applied one at a time, on real SQLite files.

The feed is the real hub's (in-process, on SQLite): a county imported from the demo template, then
settlements pushed and counted, a top-up, so members and their usage come several times, before
and after the hub counted each of the desk's entries.  The desks hold entries the hub has not
counted: unsent, set aside, counted later.  One copy of each desk applies the whole feed as one
page (``apply_page``, batched), the other change by change (``apply_change``), each in its own
transaction: members, balances and their ledger, usage and its corrections, family links,
catalogue and figures come out the same, ``verify`` holds on both, and the balances are the hub's
less what it had not counted.  The hub's page, spliced from its stored text, is a ``PullResponse``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from desktop_app.domain.clock import now_iso
from desktop_app.hub import accounts, desks, importer, schema
from desktop_app.hub import pull as hub_pull
from desktop_app.hub import push as hub_push
from desktop_app.services import checkout
from desktop_app.services.verify import verify
from desktop_app.store import audit, bulk, config
from desktop_app.store.db import connect, transaction
from desktop_app.sync.apply import apply_change, apply_page
from desktop_app.sync.feed import pull
from desktop_app.sync.hub_client import HubClient, SyncError, SyncReport
from desktop_app.sync.outbox import unsent
from desktop_app.sync.protocol import Change, PullResponse
from tests.hub_fixtures import Hub
from tests.store_fixtures import AT, DX, TODAY

FACILITY = {"kind": "community_health_centre", "level": 1, "id": "H45010300001"}
STATE = {
    "members": "SELECT * FROM members ORDER BY psn_no",  # updated_at dropped below
    "ledger": "SELECT psn_no, settlement_uuid, delta, reason FROM account_entries ORDER BY id",
    "usage": "SELECT * FROM usage ORDER BY psn_no, year, counter",
    "corrections": "SELECT psn_no, year, counter, delta, server_seq FROM usage_adjustments ORDER BY id",
    "family": "SELECT * FROM family_links ORDER BY owner_psn_no, relative_psn_no",
    "catalogue": "SELECT * FROM catalogue ORDER BY code",
    "figures": "SELECT * FROM published_figures ORDER BY region, name, year",
}


def state(db) -> dict[str, list[tuple]]:
    found = {name: db.conn.execute(query).fetchall() for name, query in STATE.items()}
    found["members"] = [row[:-1] for row in found["members"]]  # updated_at: when it was applied
    return found


def settle(db, psn: str, quantity: int, **payment) -> str:
    code = db.conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 AND category = 'A' "
        "ORDER BY price DESC LIMIT 1"
    ).fetchone()[0]
    case = {
        "member": {"psn_no": psn},
        "diagnoses": DX,
        "date": TODAY.isoformat(),
        "items": [{"code": code, "quantity": quantity}],
    }
    if payment:
        case["payment"] = {"use_account": True, **payment}
    return checkout.confirm(db, case, "shouyin", today=TODAY, at=AT)["uuid"]


class County:
    """A hub seeded from the template, and a desk of that county with entries the hub has and has not counted."""

    def __init__(self, templates, folder: Path) -> None:
        self.engine = schema.engine_for(f"sqlite:///{folder / 'hub.db'}")  # the hub's own code, in-process
        importer.import_desk_database(self.engine, str(templates["guangxi"]))
        self.url = f"sqlite:///{folder / 'hub.db'}"
        self.token = desks.register_desk(self.engine, "desk-A", FACILITY["id"], "guangxi", FACILITY)
        self.desk = desks.desk_for_token(self.engine, self.token)
        self.source = folder / "source.db"
        shutil.copy(templates["guangxi"], self.source)
        db = connect(self.source)
        owner, relative = db.conn.execute(
            "SELECT f.owner_psn_no, f.relative_psn_no FROM family_links f JOIN members o ON o.psn_no = f.owner_psn_no "
            "JOIN members r ON r.psn_no = f.relative_psn_no WHERE f.relation = 'spouse' AND o.account_balance > 100000 "
            "AND r.scheme = 'combined' ORDER BY r.account_balance LIMIT 1"
        ).fetchone()
        people = [
            r[0]
            for r in db.conn.execute(
                "SELECT psn_no FROM members WHERE scheme = 'combined' AND account_balance > 100000 "
                "AND psn_no NOT IN (?, ?) ORDER BY psn_no LIMIT 3",
                (owner, relative),
            )
        ]
        self.counted_first = [settle(db, people[0], 2), settle(db, relative, 400, family_payer=owner)]
        self._push(db, self.counted_first)
        with schema.writing(self.engine) as conn:  # the agency tops the first member's account up
            row = conn.execute(schema.members.select().where(schema.members.c.psn_no == people[0])).first()
            accounts.put_member(conn, json.loads(row.data), row.account_balance + 12_345)
        self.counted_later = [settle(db, people[0], 3)]
        self._push(db, self.counted_later)
        self.set_aside = settle(db, people[1], 1)
        db.conn.execute("UPDATE outbox SET sent_at = ?, status = 'set_aside' WHERE uuid = ?", (AT, self.set_aside))
        self.unsent = settle(db, people[2], 1)
        self.people, self.owner, self.relative = people, owner, relative
        db.conn.close()

    def _push(self, db, uuids: list[str]) -> None:
        records = [r for r in unsent(db.conn, 100) if r.uuid in uuids]
        for result in hub_push.push(self.engine, self.desk, records, now_iso(), 0.0):
            assert result.status == "applied", result
            db.conn.execute(
                "UPDATE outbox SET sent_at = ?, server_seq = ?, status = 'applied' WHERE uuid = ?",
                (AT, result.server_seq, result.uuid),
            )

    def feed(self) -> list[dict]:
        """The whole feed as one page, as the hub sends it; then what a page may also hold, by hand."""
        page = json.loads(hub_pull.page_json(self.engine, self.desk, 0, 10**6, now_iso()))
        changes = page["changes"]
        seq = changes[-1]["seq"]
        newcomer = {**changes[0]["data"], "psn_no": "45019999999999999999", "certno": "450102199001019990"}
        newcomer.update(name="欧阳 新来", account_balance=5_000)
        extra = [
            ("member", newcomer),
            ("member", {**newcomer, "account_balance": 7_000}),  # the same member twice in a row
            ("family_link", {"owner_psn_no": self.owner, "relative_psn_no": newcomer["psn_no"], "relation": "child"}),
            ("family_link", {"owner_psn_no": self.owner, "relative_psn_no": "4501NOBODY", "relation": "child"}),
            ("usage", {"psn_no": newcomer["psn_no"], "year": TODAY.year, "counters": {"deductible": 30_000}}),
            ("usage", {"psn_no": newcomer["psn_no"], "year": TODAY.year, "counters": {"deductible": 50_000}}),
            ("usage", {"psn_no": "4501NOBODY", "year": TODAY.year, "counters": {"pool": 1}}),
        ]
        return changes + [
            {"seq": seq + i, "kind": kind, "key": f"extra/{i}", "data": data} for i, (kind, data) in enumerate(extra, 1)
        ]


@pytest.fixture
def county(templates, tmp_path):
    c = County(templates, tmp_path)
    yield c
    c.engine.dispose()


def new_desk(path: Path):
    db = connect(path)
    with transaction(db) as conn:
        config.put(conn, "region", "guangxi")
        audit.record_state(conn, now_iso(), "admin", "setup", "guangxi", {})
    return db


def at_once_and_one_by_one(feed: list[dict], make_desk) -> tuple:
    at_once, one_by_one = make_desk("at-once"), make_desk("one-by-one")
    warnings_once, warnings_each = [], []
    with transaction(at_once) as conn:
        apply_page(conn, feed, warnings_once)
        audit.record_state(conn, now_iso(), "sync", "pull", "catalogue_item,published_figure", {})  # as pull does
    with transaction(one_by_one) as conn:  # as pull applied a page before: change by change, in one transaction
        for change in feed:
            apply_change(conn, Change.model_validate(change), warnings_each)
        audit.record_state(conn, now_iso(), "sync", "pull", "catalogue_item,published_figure", {})
    assert warnings_once == warnings_each
    return at_once, one_by_one


def test_a_page_at_once_ends_as_its_changes_one_at_a_time(county, tmp_path):
    feed = county.feed()
    assert len({c["data"]["psn_no"] for c in feed if c["kind"] == "member"}) < sum(c["kind"] == "member" for c in feed)

    def copy_of_the_desk(name: str):
        shutil.copy(county.source, tmp_path / f"{name}.db")
        return connect(tmp_path / f"{name}.db")

    at_once, one_by_one = at_once_and_one_by_one(feed, copy_of_the_desk)
    assert state(at_once) == state(one_by_one)
    assert verify(at_once.conn) == [] and verify(one_by_one.conn) == []
    # The hub's balances, less what it had not counted (set aside, unsent): the rule itself, not only agreement.
    with county.engine.connect() as conn:
        hub = dict(conn.execute(select(schema.members.c.psn_no, schema.members.c.account_balance)).all())
    desk = dict(at_once.conn.execute("SELECT psn_no, account_balance FROM members").fetchall())
    entry = {
        uuid: at_once.conn.execute("SELECT acct_pay FROM settlements WHERE uuid = ?", (uuid,)).fetchone()[0]
        for uuid in (county.set_aside, county.unsent)
    }
    first, second, third = county.people
    assert desk[first] == hub[first] and desk[county.owner] == hub[county.owner]
    assert desk[second] == hub[second] - entry[county.set_aside] and entry[county.set_aside] > 0
    assert desk[third] == hub[third] - entry[county.unsent] and entry[county.unsent] > 0
    assert desk["45019999999999999999"] == 7_000
    assert at_once.conn.execute(
        "SELECT name_initials FROM members WHERE psn_no = '45019999999999999999'"
    ).fetchone() == ("oyxl",)
    for db in (at_once, one_by_one):
        db.conn.close()


def test_a_new_desk_takes_the_whole_feed_at_once_as_one_by_one(county, tmp_path):
    feed = county.feed()

    at_once, one_by_one = at_once_and_one_by_one(feed, lambda name: new_desk(tmp_path / f"{name}.db"))
    found = state(at_once)
    assert found == state(one_by_one)
    assert len(found["members"]) == 401 and len(found["family"]) > 800 and found["usage"]
    assert verify(at_once.conn) == [] and verify(one_by_one.conn) == []
    for db in (at_once, one_by_one):
        db.conn.close()


def test_the_hubs_page_is_a_pull_response(templates, tmp_path, hub_url):
    engine = schema.engine_for(hub_url)
    try:
        importer.import_desk_database(engine, str(templates["guangxi"]))
        token = desks.register_desk(engine, "desk-A", FACILITY["id"], "guangxi", FACILITY)
        desk = desks.desk_for_token(engine, token)
        for cursor, limit in ((0, 1000), (150, 37), (10**6, 10)):
            page = PullResponse.model_validate_json(hub_pull.page_json(engine, desk, cursor, limit, now_iso()))
            changes, next_cursor, more = hub_pull.changes_since(engine, desk, cursor, limit)
            assert (page.changes, page.next_cursor, page.more) == (changes, next_cursor, more)
        assert page.changes == [] and page.next_cursor == 10**6
    finally:
        engine.dispose()


def indexes(db) -> list[tuple]:
    return db.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name").fetchall()


def test_indexes_a_first_pull_deferred_are_built_when_the_desk_opens_after_a_crash(tmp_path):
    """A pull that dies with the members' indexes dropped: the next open builds them, from the record kept."""
    db = new_desk(tmp_path / "desk.db")
    whole = indexes(db)
    with transaction(db) as conn:
        assert bulk.defer(conn)
    dropped = [name for name, _ in whole if name not in dict(indexes(db))]
    assert sorted(dropped) == sorted(bulk.DEFERRED)
    with transaction(db) as conn:  # a member arrives, then the process dies (the connection just goes)
        conn.execute(
            "INSERT INTO members (psn_no, certno, name, name_initials, sex, birth_date, status, scheme, region, "
            "updated_at) VALUES ('P1', '110105194912310021', '张三', 'zs', '1', '1949-12-31', 'retired', "
            "'combined', 'guangxi', 'now')"
        )
    db.conn.close()
    again = connect(tmp_path / "desk.db")
    assert indexes(again) == whole and not config.get(again.conn, bulk.RECORD) and verify(again.conn) == []
    with transaction(again) as conn:  # a desk with members defers nothing
        assert not bulk.defer(conn)
    again.conn.close()


class Cut(httpx.HTTPTransport):
    """The line to the hub fails after ``after`` requests."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.left = after

    def handle_request(self, request):
        self.left -= 1
        if self.left < 0:
            raise httpx.ConnectError("cut", request=request)
        return super().handle_request(request)


def test_a_pull_in_small_pages_and_cut_halfway_ends_as_one_in_whole_pages(county, tmp_path):
    """Many pages to a transaction, the next one fetched while one is applied; a cut leaves a committed cursor."""
    hub = Hub(county.url, tmp_path / "hub.log").start()
    try:
        whole, small = new_desk(tmp_path / "whole.db"), new_desk(tmp_path / "small.db")
        for db, page, transport in ((whole, 5000, None), (small, 97, Cut(after=7)), (small, 97, None)):
            client = HubClient(hub.url, county.token, transport=transport)
            report = SyncReport()
            try:
                pull(db, client, report, page=page)
            except SyncError:  # the cut: seven pages arrived, and all of them committed, with the cursor after them
                cursor = int(config.get(db.conn, "sync.cursor"))
                assert report.pulled == 7 * 97 and report.cursor == cursor
                assert verify(db.conn) == []
            finally:
                client.close()
        with county.engine.connect() as conn:
            last = conn.execute(select(func.max(schema.changes.c.seq))).scalar_one()
        for db in (whole, small):
            assert int(config.get(db.conn, "sync.cursor")) == last
        assert state(small) == state(whole) and verify(small.conn) == []
        for db in (whole, small):  # the first pull's deferred indexes were built, at its end or at the cut
            assert indexes(db) == indexes(new_desk(tmp_path / "fresh.db")) and not config.get(db.conn, bulk.RECORD)
        settings = [small.conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("cache_size", "wal_autocheckpoint")]
        assert settings == [-2000, 1000]  # the pull's larger cache and rarer checkpoints were its own
    finally:
        hub.stop()
