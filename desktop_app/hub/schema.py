"""The hub's database: its tables, how to open it, and the one way to write to it.

SQLite (a small county) or PostgreSQL (a region), the same code on both, SQLAlchemy Core only.
Every write goes through :func:`writing`.  Whatever adds to the change feed (:func:`number`,
:func:`publish`) holds the feed's lock from the moment it numbers an entry until it commits
(``BEGIN IMMEDIATE`` on SQLite, a transaction-level advisory lock on PostgreSQL), so change
numbers become visible in commit order: a desk's cursor can never step over a change that
commits late.  On PostgreSQL the lock is taken only then, as the transaction's last step: its
row locks come first (a push locks only its own members' rows), so writers for different
members run side by side and none waits for the feed while holding what another needs.

A settlement UUID is applied at most once by the primary key (``push.py``).  The hub's
counters (usage, balances) move only by figures the hub computed itself (``recompute.py``);
``checks.check`` proves it from the journal and the opening figures.

These tables are the newest revision of the schema; ``migrations/`` holds how a database gets
there (``hub upgrade``), and a change to them is a new revision in ``migrations/versions``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from operator import itemgetter

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from ..domain.clock import now_iso
from ..domain.errors import GongjiError
from ..domain.vocabulary import COUNTERS
from ..sync.protocol import HUB_WAIT_SECONDS

FEED_LOCK = 72_41_2024  # the advisory-lock key that orders the change feed on PostgreSQL
WORKERS = 32  # requests the hub serves at once (``limits.Gate``): its worker threads, a pooled connection for each

metadata = MetaData()
desks = Table(
    "desks",
    metadata,  # each registered desk; its token is stored only as a hash
    Column("desk_id", String(64), primary_key=True),
    Column("facility_id", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("facility", Text, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", String(40), nullable=False),
)
members = Table(
    "members",
    metadata,
    Column("psn_no", String(40), primary_key=True),
    Column("region", String(64), nullable=False, index=True),
    Column("data", Text, nullable=False),
    Column("account_balance", BigInteger, nullable=False),
)
family_links = Table(
    "family_links",
    metadata,
    Column("owner_psn_no", String(40), primary_key=True),
    Column("relative_psn_no", String(40), primary_key=True),
    Column("relation", String(20), nullable=False),
)
catalogue = Table(
    "catalogue", metadata, Column("code", String(64), primary_key=True), Column("data", Text, nullable=False)
)
published = Table(
    "published_figures",
    metadata,
    Column("region", String(64), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("year", String(4), primary_key=True),
    Column("value", String(40), nullable=False),
)
inpatient_episodes = Table(
    "inpatient_episodes",
    metadata,  # no ordinary pooling in hospital, where a document says so
    Column("psn_no", String(40), primary_key=True),
    Column("admitted", String(10), primary_key=True),
    Column("discharged", String(10)),
)


def _usage_table(name: str) -> Table:
    """A member's yearly usage counters in fen, one row per counter (``domain.vocabulary.COUNTERS``)."""
    return Table(
        name,
        metadata,
        Column("psn_no", String(40), primary_key=True),
        Column("year", Integer, primary_key=True),
        Column("counter", String(40), primary_key=True),
        Column("amount", BigInteger, nullable=False),
    )


opening_usage = _usage_table("opening_usage")  # as imported: what the member had used before the hub's journal
usage = _usage_table("usage")  # opening usage plus every settlement the hub applied (checks.check proves it)
settlements = Table(  # the journal: every entry applied, with the hub's own figures
    "settlements",
    metadata,
    Column("uuid", String(36), primary_key=True),  # the once-only key
    Column("desk_id", String(64), nullable=False),
    Column("facility_id", String(64), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("original_uuid", String(36), unique=True),
    Column("psn_no", String(40), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("visit_date", String(10), nullable=False),
    Column("day", String(10), nullable=False),
    Column("desk_created_at", String(40), nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("clock_skew_seconds", Integer, nullable=False, default=0),  # the desk's clock minus ours, when pushed
    *(
        Column(name, BigInteger, nullable=False)
        for name in ("medfee_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", *COUNTERS)
    ),
    Column("family_payer", String(40)),
    Column("record", Text, nullable=False),
    Column("server_seq", Integer),
    Column("review", String(12)),
    Column("review_amount", BigInteger, nullable=False, default=0),
    Column("review_reason", Text),
)
opening_balances = Table(
    "opening_balances",
    metadata,  # balance = opening − what the hub's settlements spent
    Column("psn_no", String(40), primary_key=True),
    Column("amount", BigInteger, nullable=False),
)
rejected = Table(
    "rejected",
    metadata,  # records too malformed to be keyed by a UUID: kept for review, applied nowhere
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("desk_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("record", Text, nullable=False),
    Column("received_at", String(40), nullable=False),
)
set_aside = Table(
    "set_aside",
    metadata,  # records with a UUID that cannot be applied: kept for review with the reason
    Column("uuid", String(36), primary_key=True),
    Column("desk_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("record", Text, nullable=False),
    Column("received_at", String(40), nullable=False),
)
audit_heads = Table(
    "audit_heads",
    metadata,  # each desk's audit chain head, as last seen: the anchor outside its file
    Column("desk_id", String(64), primary_key=True),
    Column("id", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("at", String(40), nullable=False),
)
changes = Table(
    "changes",
    metadata,  # the change feed desks pull, numbered in commit order
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("key", String(120), nullable=False),
    Column("region", String(64), nullable=False, index=True),
    Column("data", Text, nullable=False),
    Column("at", String(40), nullable=False),
)
trace_sales = Table(
    "trace_sales",
    metadata,  # every package's traceability code sold in the region, with the sale; a refund releases it
    Column("code", String(40), primary_key=True),
    Column("uuid", String(36), primary_key=True),  # the settlement that sold it
    Column("desk_id", String(64), nullable=False),
    Column("sold_at", String(40), nullable=False),  # the desk's time of the sale
    Column("released_by", String(36)),  # the refund that gave the package back
    Index("ix_trace_sales_uuid", "uuid"),
)
trace_reviews = Table(
    "trace_reviews",
    metadata,  # a code sold again while an earlier sale of it stands (suspected 回流药): for review
    Column("code", String(40), primary_key=True),
    Column("uuid", String(36), primary_key=True),  # the later sale
    Column("desk_id", String(64), nullable=False),
    Column("first_uuid", String(36), nullable=False),
    Column("first_desk_id", String(64), nullable=False),
    Column("first_sold_at", String(40), nullable=False),
    Column("found_at", String(40), nullable=False),
    Index("ix_trace_reviews_uuid", "uuid"),
)


class HubError(GongjiError):
    """The hub refused a request; the message says why."""


# --------------------------------------------------------------------------- engine and writes


# Each connection's page cache (SQLite's default is 2 MB): a push inserts all over the journal's and the members'
# indexes, which at a region's scale are far larger.  A one-desk push of 100,000 settlements spent about 4% less CPU
# with 64 MB; a connection only fills it as it reads, and the pool reuses the warm ones first.
CACHE_KIB = 32 * 1024


def engine_for(
    url: str, wait: float = HUB_WAIT_SECONDS, *, as_is: bool = False, background_checkpoints: bool = False
) -> Engine:
    """``sqlite:///path`` (or a bare path) or ``postgresql://user@host:port/db`` (psycopg 3).

    A pooled connection for each of the hub's workers; a lock waited for at most ``wait`` seconds (SQLite's
    busy timeout, PostgreSQL's ``lock_timeout``), after which the request is answered 503 (``limits``).
    The database must be at this program's schema revision (an empty one is created at it, by the
    migrations); any other is refused, saying what to run (``migrations.require_head``).  ``as_is``
    opens it whatever its revision: for ``hub upgrade``.  ``background_checkpoints``: on SQLite, no commit
    checkpoints the log (the serving hub runs a :class:`~.checkpoints.Checkpointer` instead).
    """
    given = url
    if "://" not in url:
        url = f"sqlite:///{url}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    # the connection used last is taken first: its page cache is the warm one
    pool = {"pool_size": WORKERS, "max_overflow": 0, "pool_timeout": wait, "pool_use_lifo": True}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": wait, "check_same_thread": False}, **pool)

        @event.listens_for(engine, "connect")
        def _connect(dbapi, _record) -> None:
            dbapi.isolation_level = None  # we issue BEGIN ourselves
            for pragma in ("synchronous=FULL", f"busy_timeout={int(wait * 1000)}", f"cache_size=-{CACHE_KIB}"):
                dbapi.execute(f"PRAGMA {pragma}")
            if background_checkpoints:
                dbapi.execute("PRAGMA wal_autocheckpoint=0")
            _into_wal(dbapi, wait)

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            # A writer takes the lock up front (the feed is numbered in commit order); readers never wait on it.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("writer") else "BEGIN")
    else:
        engine = create_engine(url, connect_args={"options": f"-c lock_timeout={int(wait * 1000)}"}, **pool)
    if not as_is:
        _require_head(engine, given)
    return engine


def _into_wal(dbapi, wait: float) -> None:
    """Put the file in WAL mode, waiting up to ``wait`` seconds for connections opening it at the same moment.

    Switching a new file into WAL answers "database is locked" at once, without SQLite's busy handler,
    while another connection is switching it too; so we wait here, as the busy timeout would.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            if dbapi.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() in ("wal", "memory"):
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError(f"database is locked: not switched to WAL within {wait:g} s")
        time.sleep(0.01)


def _require_head(engine: Engine, url: str) -> None:
    from .migrations import require_head  # not at the top: the migrations' env.py imports this module

    try:
        require_head(engine, url)
    except BaseException:
        engine.dispose()
        raise


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction: ``BEGIN IMMEDIATE`` on SQLite; on PostgreSQL the feed's lock waits for :func:`number`."""
    with engine.connect() as conn, writing_on(conn):
        yield conn


@contextmanager
def writing_on(conn: Connection) -> Iterator[Connection]:
    """:func:`writing` on a connection already held (one that has just read what it will write from)."""
    conn.info["writer"] = True
    try:
        with conn.begin():
            yield conn
    finally:
        conn.info.pop("writer", None)
        conn.info.pop("feed_locked", None)


_DATA_VERSION = text("PRAGMA data_version")


def data_version(conn: Connection) -> int:
    """SQLite's count of the commits other connections made, as this connection's transaction sees it: the same
    number at two moments means no other connection wrote in between."""
    return conn.execute(_DATA_VERSION).scalar_one()


_FEED_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def lock_feed(conn: Connection) -> None:
    """Hold the feed's lock until this transaction ends (taken once; SQLite's write transaction holds it already)."""
    if conn.dialect.name == "postgresql" and conn.info.get("feed_locked") is not conn.get_transaction():
        conn.execute(_FEED_LOCK, {"key": FEED_LOCK})
        conn.info["feed_locked"] = conn.get_transaction()


_DRIVER_SQL: dict[tuple, tuple[str, tuple[str, ...]] | None] = {}  # (statement, keys) → (SQL, parameters' order)


def execute_many(conn: Connection, stmt, rows: list[dict]) -> None:
    """``stmt`` for each of ``rows`` (dicts with the same keys), in one executemany.

    On SQLite the statement is compiled once and the rows go to the driver as tuples: every column the hub
    writes this way is text or an integer, which the driver binds as they are, and SQLAlchemy's work per row
    (about as much as SQLite's own) is skipped.  On PostgreSQL, SQLAlchemy's batched INSERT is used as it is.
    """
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(stmt, rows)
        return
    key = (stmt, tuple(rows[0]))
    if key not in _DRIVER_SQL:
        compiled = stmt.compile(dialect=conn.dialect, column_keys=list(key[1]))
        order = tuple(compiled.positiontup)
        # a parameter the rows do not carry (a column's default) stays with SQLAlchemy
        _DRIVER_SQL[key] = (compiled.string, order) if set(order) <= set(key[1]) else None
    if _DRIVER_SQL[key] is None:
        conn.execute(stmt, rows)
        return
    sql, order = _DRIVER_SQL[key]
    values = itemgetter(*order)
    conn.exec_driver_sql(sql, [values(row) for row in rows] if len(order) > 1 else [(values(row),) for row in rows])


def insert_for(conn: Connection, table: Table):
    """The dialect's INSERT (for ON CONFLICT clauses on SQLite and PostgreSQL alike)."""
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def upsert(conn: Connection, table: Table, row: dict) -> None:
    """Insert ``row``, or where its key is already there, replace the other columns it names."""
    keys = [c.name for c in table.primary_key.columns]
    stmt = insert_for(conn, table).values(**row)
    others = {k: stmt.excluded[k] for k in row if k not in keys}
    conn.execute(
        stmt.on_conflict_do_update(index_elements=keys, set_=others) if others else stmt.on_conflict_do_nothing()
    )


def feed_entry(kind: str, key: str, region: str, data: dict) -> dict:
    """One row of the change feed, for :func:`number` (which stamps its time and number)."""
    return {"kind": kind, "key": key, "region": region, "data": json.dumps(data, ensure_ascii=False)}


def member_entry(psn_no: str, region: str, stored: str, balance: int) -> dict:
    """The feed's row for a member whose account moved: the member's stored JSON object with ``account_balance``.

    Written into the stored text rather than parsed and dumped again (a push moves a member's balance with
    nearly every record); a text that names ``account_balance`` already, or is no plain object, goes the long way.
    """
    text = stored.rstrip()
    if '"account_balance"' in stored or not text.startswith("{") or not text.endswith("}") or text[1:-1].strip() == "":
        return feed_entry("member", psn_no, region, {**json.loads(stored), "account_balance": balance})
    return {
        "kind": "member",
        "key": psn_no,
        "region": region,
        "data": f'{text[:-1]}, "account_balance": {int(balance)}}}',
    }


_NEXT = text("SELECT nextval(pg_get_serial_sequence('changes', 'seq')) FROM generate_series(1, :n)")
_LAST = text("SELECT coalesce(max(seq), 0) FROM changes")
_ADD = insert(changes)


def number(conn: Connection, entries: list[dict]) -> list[int]:
    """Add entries to the change feed, in order, under the feed's lock; their numbers.

    Call it after every row lock the transaction needs: the feed's lock is held until the commit.  The numbers
    are drawn first (no other transaction draws while the lock is held), then the rows go in one statement.
    """
    if not entries:
        return []
    lock_feed(conn)
    if conn.dialect.name == "postgresql":
        seqs = sorted(conn.execute(_NEXT, {"n": len(entries)}).scalars())
    else:
        last = conn.execute(_LAST).scalar_one()
        seqs = list(range(last + 1, last + 1 + len(entries)))
    at = now_iso()
    execute_many(conn, _ADD, [{**entry, "seq": seq, "at": at} for entry, seq in zip(entries, seqs)])
    return seqs


def publish(conn: Connection, kind: str, key: str, region: str, data: dict) -> int:
    """Add one entry to the change feed (see :func:`number`); returns its number."""
    return number(conn, [feed_entry(kind, key, region, data)])[0]
