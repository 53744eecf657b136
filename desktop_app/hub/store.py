"""The central server's storage: SQLite (a small county) or PostgreSQL (a region), the same code on both.

SQLAlchemy Core only.  Every write that adds to the change feed holds the feed's
write lock until it commits (``BEGIN IMMEDIATE`` on SQLite, a transaction-level
advisory lock on PostgreSQL), so change numbers become visible in commit order:
a desk's cursor can never step over a change that commits late.

A settlement UUID is applied at most once by the primary key (``hub/push.py``).
The hub's counters (usage, balances) move only by figures the hub computed itself
(``hub/recompute.py``); :func:`check` proves it from the journal and the opening figures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import (BigInteger, Column, Integer, MetaData, String, Table, Text, create_engine, event, func, insert,
                        select, text, update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from ..domain.clock import now_iso
from ..domain.errors import GongjiError
from ..domain.vocabulary import CATALOGUE_COLUMNS, COUNTERS, MEMBER_COLUMNS
from ..sync.protocol import Change, DaySums
log = logging.getLogger("gongji.hub")
FEED_LOCK = 72_41_2024  # the advisory-lock key that orders the change feed on PostgreSQL

metadata = MetaData()
desks = Table("desks", metadata,
              Column("desk_id", String(64), primary_key=True), Column("facility_id", String(64), nullable=False),
              Column("region", String(64), nullable=False), Column("facility", Text, nullable=False),
              Column("token_hash", String(64), nullable=False, unique=True), Column("created_at", String(40), nullable=False))
members = Table("members", metadata,
                Column("psn_no", String(40), primary_key=True), Column("region", String(64), nullable=False, index=True),
                Column("data", Text, nullable=False), Column("account_balance", BigInteger, nullable=False))
family_links = Table("family_links", metadata,
                     Column("owner_psn_no", String(40), primary_key=True),
                     Column("relative_psn_no", String(40), primary_key=True), Column("relation", String(20), nullable=False))
catalogue = Table("catalogue", metadata, Column("code", String(64), primary_key=True), Column("data", Text, nullable=False))
published = Table("published_figures", metadata,
                  Column("region", String(64), primary_key=True), Column("name", String(64), primary_key=True),
                  Column("year", String(4), primary_key=True), Column("value", String(40), nullable=False))
inpatient_episodes = Table("inpatient_episodes", metadata,  # no ordinary pooling while in hospital, where a document says so
                           Column("psn_no", String(40), primary_key=True), Column("admitted", String(10), primary_key=True),
                           Column("discharged", String(10)))
opening_usage = Table("opening_usage", metadata,
                      Column("psn_no", String(40), primary_key=True), Column("year", Integer, primary_key=True),
                      Column("counter", String(40), primary_key=True), Column("amount", BigInteger, nullable=False))
usage = Table("usage", metadata,
              Column("psn_no", String(40), primary_key=True), Column("year", Integer, primary_key=True),
              Column("counter", String(40), primary_key=True), Column("amount", BigInteger, nullable=False))
settlements = Table(
    "settlements", metadata,
    Column("uuid", String(36), primary_key=True),  # the once-only key
    Column("desk_id", String(64), nullable=False), Column("facility_id", String(64), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("original_uuid", String(36), unique=True), Column("psn_no", String(40), nullable=False, index=True),
    Column("year", Integer, nullable=False), Column("visit_date", String(10), nullable=False),
    Column("day", String(10), nullable=False), Column("desk_created_at", String(40), nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("clock_skew_seconds", Integer, nullable=False, default=0),  # the desk's clock minus ours, when pushed
    *(Column(name, BigInteger, nullable=False) for name in ("medfee_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay",
                                                            "psn_cash_pay", *COUNTERS)),
    Column("family_payer", String(40)), Column("record", Text, nullable=False), Column("server_seq", Integer),
    Column("review", String(12)), Column("review_amount", BigInteger, nullable=False, default=0),
    Column("review_reason", Text))
opening_balances = Table("opening_balances", metadata,  # balance = opening − what the hub's settlements spent
                         Column("psn_no", String(40), primary_key=True), Column("amount", BigInteger, nullable=False))
rejected = Table("rejected", metadata,  # records too malformed to be keyed by a UUID: kept for review, applied nowhere
                 Column("id", Integer, primary_key=True, autoincrement=True), Column("desk_id", String(64), nullable=False),
                 Column("reason", Text, nullable=False), Column("record", Text, nullable=False),
                 Column("received_at", String(40), nullable=False))
set_aside = Table("set_aside", metadata,
                  Column("uuid", String(36), primary_key=True), Column("desk_id", String(64), nullable=False),
                  Column("reason", Text, nullable=False), Column("record", Text, nullable=False),
                  Column("received_at", String(40), nullable=False))
audit_heads = Table("audit_heads", metadata,  # each desk's audit chain head, as last seen: the anchor outside its file
                    Column("desk_id", String(64), primary_key=True), Column("id", BigInteger, nullable=False),
                    Column("hash", String(64), nullable=False), Column("at", String(40), nullable=False))
changes = Table("changes", metadata,
                Column("seq", Integer, primary_key=True, autoincrement=True), Column("kind", String(20), nullable=False),
                Column("key", String(120), nullable=False), Column("region", String(64), nullable=False, index=True),
                Column("data", Text, nullable=False), Column("at", String(40), nullable=False))


class HubError(GongjiError):
    """The hub refused a request; the message says why."""


@dataclass(frozen=True)
class Desk:
    desk_id: str
    facility_id: str
    region: str
    facility: dict


# --------------------------------------------------------------------------- engine


def engine_for(url: str) -> Engine:
    """``sqlite:///path`` (or a bare path) or ``postgresql://user@host:port/db`` (psycopg 3)."""
    if "://" not in url:
        url = f"sqlite:///{url}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connect(dbapi, _record) -> None:
            dbapi.isolation_level = None  # we issue BEGIN ourselves
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=60000"):
                dbapi.execute(f"PRAGMA {pragma}")

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            # A writer takes the lock up front (the feed is numbered in commit order); readers never wait on it.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("writer") else "BEGIN")
    else:
        engine = create_engine(url, pool_size=10, max_overflow=10)
    metadata.create_all(engine)
    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction that holds the feed's lock until it commits (on SQLite and on PostgreSQL)."""
    with engine.connect() as conn:
        conn.info["writer"] = True
        try:
            with conn.begin():
                _lock_feed(conn)
                yield conn
        finally:
            conn.info.pop("writer", None)


def _lock_feed(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_LOCK})


def insert_for(conn: Connection, table: Table):
    """The dialect's INSERT (for ON CONFLICT clauses on SQLite and PostgreSQL alike)."""
    return (postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table))


def upsert(conn: Connection, table: Table, row: dict) -> None:
    keys = [c.name for c in table.primary_key.columns]
    stmt = insert_for(conn, table).values(**row)
    others = {k: stmt.excluded[k] for k in row if k not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=others) if others else stmt.on_conflict_do_nothing())


def publish(conn: Connection, kind: str, key: str, region: str, data: dict) -> int:
    """Add an entry to the change feed (in the caller's feed-locked transaction); returns its number."""
    result = conn.execute(insert(changes).values(kind=kind, key=key, region=region, data=json.dumps(data, ensure_ascii=False),
                                                 at=now_iso()))
    return result.inserted_primary_key[0]


# --------------------------------------------------------------------------- desks


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register_desk(engine: Engine, desk_id: str, facility_id: str, region: str, facility: dict) -> str:
    """Register a desk; returns its token (shown once, stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    with writing(engine) as conn:
        if conn.execute(select(desks.c.desk_id).where(desks.c.desk_id == desk_id)).first():
            raise HubError(f"收款台 {desk_id} 已登记；如需更换令牌请先注销")
        conn.execute(insert(desks).values(desk_id=desk_id, facility_id=facility_id, region=region,
                                          facility=json.dumps(facility), token_hash=_hash(token), created_at=now_iso()))
    return token


def revoke_desk(engine: Engine, desk_id: str) -> None:
    """A lost or replaced desk: its token stops working at once (its settlements stay)."""
    with writing(engine) as conn:
        if conn.execute(desks.delete().where(desks.c.desk_id == desk_id)).rowcount != 1:
            raise HubError(f"没有登记过收款台 {desk_id}")
        conn.execute(audit_heads.delete().where(audit_heads.c.desk_id == desk_id))  # a replacement starts a chain anew


def desk_for_token(engine: Engine, token: str) -> Desk | None:
    with engine.connect() as conn:
        row = conn.execute(select(desks).where(desks.c.token_hash == _hash(token))).first()
    return Desk(row.desk_id, row.facility_id, row.region, json.loads(row.facility)) if row else None


# --------------------------------------------------------------------------- the desks' audit chains


class AuditConflict(HubError):
    """A desk's audit chain does not extend the head the hub saw last: rewritten, truncated or broken."""


def audit_head(engine: Engine, desk: Desk) -> tuple[int, str] | None:
    with engine.connect() as conn:
        row = conn.execute(select(audit_heads.c.id, audit_heads.c.hash).where(audit_heads.c.desk_id == desk.desk_id)).first()
    return (row.id, row.hash) if row else None


def extend_audit(engine: Engine, desk: Desk, links: list) -> int:
    """Take the desk's chain if it links up and extends the head seen last; the new head's id.  Else AuditConflict."""
    for before, after in zip(links, links[1:]):
        if after.id != before.id + 1 or after.prev_hash != before.hash:
            raise AuditConflict(f"收款台 {desk.desk_id} 上传的审计链在第 {before.id}–{after.id} 条处断开")
    row = audit_head(engine, desk)
    if row is not None:
        seen = next((link for link in links if link.id == row[0]), None)
        if seen is None or seen.hash != row[1]:
            raise AuditConflict(f"收款台 {desk.desk_id} 的审计链与中心保存的第 {row[0]} 条不符（本机记录可能被删改或重写）："
                                "中心拒收，请停止使用该收款台并联系医保中心")
    head = links[-1]
    if row == (head.id, head.hash):
        return head.id
    # The new head is recorded only if the old one is still the one checked (compare and swap), and without
    # waiting long on a busy hub: the check is what protects; the anchor may move at the next sync instead.
    h = audit_heads.c
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":  # on the driver's connection: through SQLAlchemy it would begin a transaction
                conn.connection.driver_connection.execute("PRAGMA busy_timeout=2000")
            try:
                with conn.begin():
                    if conn.dialect.name == "postgresql":
                        conn.execute(text("SET LOCAL lock_timeout = '2s'"))
                    values = {"id": head.id, "hash": head.hash, "at": now_iso()}
                    if row is None:
                        done = conn.execute(insert_for(conn, audit_heads).values(desk_id=desk.desk_id, **values)
                                            .on_conflict_do_nothing().returning(h.desk_id)).first()
                    else:
                        done = conn.execute(update(audit_heads).where((h.desk_id == desk.desk_id) & (h.id == row[0]) &
                                                                      (h.hash == row[1])).values(**values)
                                            .returning(h.desk_id)).first()
            finally:
                if conn.dialect.name == "sqlite":
                    conn.connection.driver_connection.execute("PRAGMA busy_timeout=60000")
    except OperationalError as exc:  # busy: the chain was checked; the anchor moves at the next sync instead
        log.warning("audit head of desk %s not moved this time (%s)", desk.desk_id, exc)
        done = None
    if done is None:
        return row[0] if row else 0
    return head.id


# --------------------------------------------------------------------------- reference data


def put_member(conn: Connection, data: dict, balance: int) -> int:
    """A member's data and account balance from the agency (a top-up or correction moves the opening figure)."""
    spent = _spent(conn, data["psn_no"])
    upsert(conn, members, {"psn_no": data["psn_no"], "region": data["region"], "data": json.dumps(data, ensure_ascii=False),
                            "account_balance": balance})
    upsert(conn, opening_balances, {"psn_no": data["psn_no"], "amount": balance + spent})
    return publish(conn, "member", data["psn_no"], data["region"], {**data, "account_balance": balance})


def _spent(conn: Connection, psn_no: str) -> int:
    """What the hub's own settlements took from this account (refunds give back)."""
    own = conn.execute(select(func.coalesce(func.sum(settlements.c.acct_pay), 0))
                       .where(settlements.c.psn_no == psn_no)).scalar_one()
    family = conn.execute(select(func.coalesce(func.sum(settlements.c.acct_mulaid_pay), 0))
                          .where(settlements.c.family_payer == psn_no)).scalar_one()
    return int(own) + int(family)


def spend(conn: Connection, psn_no: str, amount: int) -> None:
    """Take ``amount`` fen (a refund gives back: negative) from an account, and publish the new balance."""
    conn.execute(update(members).where(members.c.psn_no == psn_no)
                 .values(account_balance=members.c.account_balance - amount))
    row = conn.execute(select(members.c.data, members.c.account_balance, members.c.region)
                       .where(members.c.psn_no == psn_no)).first()
    publish(conn, "member", psn_no, row.region, {**json.loads(row.data), "account_balance": row.account_balance})


def import_desk_database(engine: Engine, path: str, batch: int = 5000) -> dict:
    """Load members, families, catalogue, published figures and usage (as opening figures) from a desk-format file.

    This is how a county seeds its hub from the platform's export (here: a demo database).
    """
    import sqlite3

    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    counts = dict.fromkeys(("members", "family_links", "catalogue", "published", "usage"), 0)
    fields = [c for c in MEMBER_COLUMNS if c != "account_balance"]
    cursor = source.execute(f"SELECT {', '.join(fields)}, account_balance FROM members ORDER BY psn_no")
    while rows := cursor.fetchmany(batch):
        people, feed, at = [], [], now_iso()
        for *values, balance in rows:
            data = dict(zip(fields, values))
            data["programmes"] = json.loads(data["programmes"])
            data["civil_servant"] = bool(data["civil_servant"])
            text_ = json.dumps(data, ensure_ascii=False)
            people.append({"psn_no": data["psn_no"], "region": data["region"], "data": text_, "account_balance": balance})
            feed.append({"kind": "member", "key": data["psn_no"], "region": data["region"], "at": at,
                         "data": json.dumps({**data, "account_balance": balance}, ensure_ascii=False)})
        with writing(engine) as conn:  # in bulk: a county's export is hundreds of thousands of members
            stmt = insert_for(conn, members)
            conn.execute(stmt.on_conflict_do_update(index_elements=["psn_no"], set_={
                c: stmt.excluded[c] for c in ("region", "data", "account_balance")}), people)
            opening = insert_for(conn, opening_balances)
            conn.execute(opening.on_conflict_do_update(index_elements=["psn_no"], set_={"amount": opening.excluded.amount}),
                         [{"psn_no": p["psn_no"], "amount": p["account_balance"]} for p in people])
            conn.execute(insert(changes), feed)
        counts["members"] += len(rows)
    region_of = dict(source.execute("SELECT psn_no, region FROM members"))
    at = now_iso()
    links = source.execute("SELECT owner_psn_no, relative_psn_no, relation FROM family_links").fetchall()
    items = [dict(zip(CATALOGUE_COLUMNS, row)) for row in source.execute(f"SELECT {', '.join(CATALOGUE_COLUMNS)} FROM catalogue")]
    figures = source.execute("SELECT region, name, year, value FROM published_figures").fetchall()
    opening = source.execute("SELECT psn_no, year, counter, amount FROM usage").fetchall()
    stays = source.execute("SELECT psn_no, admitted, discharged FROM inpatient_episodes").fetchall()
    totals: dict[tuple[str, int], dict[str, int]] = {}
    for psn_no, year, counter, amount in opening:
        totals.setdefault((psn_no, year), {})[counter] = amount

    def feed(kind: str, key: str, region: str, data: dict) -> dict:
        return {"kind": kind, "key": key, "region": region, "at": at, "data": json.dumps(data, ensure_ascii=False)}

    with writing(engine) as conn:  # in bulk, one transaction
        def bulk(table: Table, rows: list[dict]) -> None:
            if rows:
                keys = [c.name for c in table.primary_key.columns]
                stmt = insert_for(conn, table)
                others = {k: stmt.excluded[k] for k in rows[0] if k not in keys}
                conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=others), rows)

        bulk(family_links, [{"owner_psn_no": o, "relative_psn_no": r, "relation": rel} for o, r, rel in links])
        bulk(inpatient_episodes, [{"psn_no": p, "admitted": a, "discharged": d} for p, a, d in stays])
        bulk(catalogue, [{"code": d["code"], "data": json.dumps(d, ensure_ascii=False)} for d in items])
        bulk(published, [{"region": r, "name": n, "year": y, "value": v} for r, n, y, v in figures])
        usage_rows = [{"psn_no": p, "year": y, "counter": c, "amount": a} for p, y, c, a in opening]
        bulk(opening_usage, usage_rows)
        bulk(usage, usage_rows)
        rows = [feed("family_link", f"{o}/{r}", region_of.get(r, "*"),
                     {"owner_psn_no": o, "relative_psn_no": r, "relation": rel}) for o, r, rel in links]
        rows += [feed("catalogue_item", d["code"], "*", d) for d in items]
        rows += [feed("published_figure", f"{r}/{n}/{y}", r, {"region": r, "name": n, "year": y, "value": v})
                 for r, n, y, v in figures]
        rows += [feed("usage", f"{p}/{y}", region_of.get(p, "*"), {"psn_no": p, "year": y, "counters": c})
                 for (p, y), c in totals.items()]
        for start in range(0, len(rows), batch):
            conn.execute(insert(changes), rows[start:start + batch])
    counts.update(family_links=len(links), catalogue=len(items), published=len(figures), usage=len(opening))
    source.close()
    return counts


def put_rules_digest(engine: Engine, region: str, digest: str, label: str) -> None:
    with writing(engine) as conn:
        publish(conn, "rules", region, region, {"region": region, "digest": digest, "label": label})


# --------------------------------------------------------------------------- counters


def add_usage(conn: Connection, psn_no: str, year: int, counter: str, amount: int) -> None:
    stmt = insert_for(conn, usage).values(psn_no=psn_no, year=year, counter=counter, amount=amount)
    conn.execute(stmt.on_conflict_do_update(index_elements=["psn_no", "year", "counter"],
                                            set_={"amount": usage.c.amount + stmt.excluded.amount}))


def inpatient_on(conn: Connection, psn_no: str, day: str) -> bool:
    e = inpatient_episodes.c
    return conn.execute(select(e.psn_no).where((e.psn_no == psn_no) & (e.admitted <= day) &
                                               (e.discharged.is_(None) | (e.discharged >= day))).limit(1)).first() is not None


def usage_before(conn: Connection, psn_no: str, year: int) -> dict[str, int]:
    return {r.counter: r.amount for r in conn.execute(
        select(usage.c.counter, usage.c.amount).where((usage.c.psn_no == psn_no) & (usage.c.year == year)))}


# --------------------------------------------------------------------------- pull, reconcile, check


def changes_since(engine: Engine, desk: Desk, cursor: int, limit: int) -> tuple[list[Change], int, bool]:
    """Changes after ``cursor`` that this desk may see (its region, and region-free data), in commit order."""
    with engine.connect() as conn:
        rows = conn.execute(select(changes).where((changes.c.seq > cursor) & changes.c.region.in_([desk.region, "*"]))
                            .order_by(changes.c.seq).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    found = [Change(seq=r.seq, kind=r.kind, key=r.key, data=json.loads(r.data)) for r in rows]
    return found, (rows[-1].seq if rows else cursor), more


def day_sums(engine: Engine, desk: Desk, day: str) -> DaySums:
    with engine.connect() as conn:
        rows = conn.execute(select(settlements.c.uuid, settlements.c.medfee_sumamt, settlements.c.hifp_pay,
                                   settlements.c.acct_pay, settlements.c.acct_mulaid_pay, settlements.c.psn_cash_pay)
                            .where((settlements.c.desk_id == desk.desk_id) & (settlements.c.day == day))
                            .order_by(settlements.c.uuid)).all()
    return DaySums(day=day, count=len(rows), medfee_sumamt=sum(r.medfee_sumamt for r in rows),
                   hifp_pay=sum(r.hifp_pay for r in rows), acct_pay=sum(r.acct_pay for r in rows),
                   acct_mulaid_pay=sum(r.acct_mulaid_pay for r in rows), psn_cash_pay=sum(r.psn_cash_pay for r in rows),
                   uuids=[r.uuid for r in rows])


def check(engine: Engine) -> list[str]:
    """The hub's invariants, each figure proved from its sources:

    * usage = opening usage + the journal, per member, year and counter;
    * account balance = opening balance − what the journal's settlements took;
    * every journal entry adds up, and no counter or balance is negative;
    * every refund negates its original exactly.
    """
    problems = []
    with engine.connect() as conn:
        expected: dict[tuple, int] = {}
        for r in conn.execute(select(opening_usage)):
            expected[(r.psn_no, r.year, r.counter)] = r.amount
        sums = [func.sum(settlements.c[c]) for c in COUNTERS]
        for psn_no, year, *amounts in conn.execute(select(settlements.c.psn_no, settlements.c.year, *sums)
                                                   .group_by(settlements.c.psn_no, settlements.c.year)):
            for counter, amount in zip(COUNTERS, amounts):
                if amount:
                    key = (psn_no, year, counter)
                    expected[key] = expected.get(key, 0) + int(amount)
        actual = {(r.psn_no, r.year, r.counter): r.amount for r in conn.execute(select(usage))}
        for key in sorted(set(expected) | set(actual)):
            if expected.get(key, 0) != actual.get(key, 0):
                problems.append(f"usage {key}: {actual.get(key, 0)} ≠ opening + journal {expected.get(key, 0)}")
            if actual.get(key, 0) < 0:
                problems.append(f"usage {key}: negative ({actual[key]})")
        spent: dict[str, int] = {}
        for psn_no, amount in conn.execute(select(settlements.c.psn_no, func.sum(settlements.c.acct_pay))
                                           .group_by(settlements.c.psn_no)):
            spent[psn_no] = spent.get(psn_no, 0) + int(amount or 0)
        for psn_no, amount in conn.execute(select(settlements.c.family_payer, func.sum(settlements.c.acct_mulaid_pay))
                                           .where(settlements.c.family_payer.is_not(None))
                                           .group_by(settlements.c.family_payer)):
            spent[psn_no] = spent.get(psn_no, 0) + int(amount or 0)
        opening = dict(conn.execute(select(opening_balances.c.psn_no, opening_balances.c.amount)).all())
        for psn_no, balance in conn.execute(select(members.c.psn_no, members.c.account_balance)):
            want = opening.get(psn_no, 0) - spent.get(psn_no, 0)
            if balance != want:
                problems.append(f"balance {psn_no}: {balance} ≠ opening − journal {want}")
            if balance < 0:
                problems.append(f"balance {psn_no}: negative ({balance})")
        amounts = [settlements.c[c] for c in ("medfee_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")]
        for row in conn.execute(select(settlements.c.uuid, *amounts).where(
                amounts[1] + amounts[2] + amounts[3] + amounts[4] != amounts[0])):
            problems.append(f"settlement {row.uuid}: the payment split does not add up")
        original = settlements.alias("original")
        fields = ("medfee_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", *COUNTERS)
        for row in conn.execute(select(settlements.c.uuid, *(settlements.c[f] + original.c[f] for f in fields))
                                .join(original, original.c.uuid == settlements.c.original_uuid)):
            if any(row[1:]):
                problems.append(f"refund {row.uuid}: does not negate its original exactly")
    return problems


def for_review(engine: Engine) -> dict[str, list[dict]]:
    """What a fund auditor goes through: clawbacks, differences, set-aside and rejected records, each with its reason."""
    with engine.connect() as conn:
        def rows(query) -> list[dict]:
            return [dict(r._mapping) for r in conn.execute(query)]

        review = [settlements.c.uuid, settlements.c.desk_id, settlements.c.psn_no, settlements.c.review_amount,
                  settlements.c.review_reason]
        return {
            "clawbacks": rows(select(*review).where(settlements.c.review == "clawback").order_by(settlements.c.uuid)),
            "differences": rows(select(*review).where(settlements.c.review == "difference").order_by(settlements.c.uuid)),
            "set_aside": rows(select(set_aside.c.uuid, set_aside.c.desk_id, set_aside.c.reason, set_aside.c.received_at)
                              .order_by(set_aside.c.received_at, set_aside.c.uuid)),
            "rejected": rows(select(rejected.c.id, rejected.c.desk_id, rejected.c.reason, rejected.c.received_at)
                             .order_by(rejected.c.id)),
        }


def clawbacks(engine: Engine) -> list[dict]:
    return for_review(engine)["clawbacks"]
