"""Named schema migrations, each in its own transaction, with a backup before any runs.

Money columns are integer fen.  The journal, the audit log and the account
ledger are append-only: triggers refuse UPDATE and DELETE on them.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from .schema_0001 import APPEND_ONLY_0001, SCHEMA_0001

Migration = tuple[str, Callable[[sqlite3.Connection], None]]


def _append_only(conn: sqlite3.Connection, table: str) -> None:
    for op in ("UPDATE", "DELETE"):
        conn.execute(f"""CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}
                         BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""")


def _script(conn: sqlite3.Connection, script: str) -> None:
    """Run statements one at a time: ``executescript`` would COMMIT the migration's transaction."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            conn.execute(pending)
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in migration: {pending[:60]!r}")


def m0001_initial(conn: sqlite3.Connection) -> None:
    """The first schema: members, catalogue, operators, the journal with its usage and ledger, outbox, audit log."""
    _script(conn, SCHEMA_0001)
    for table in APPEND_ONLY_0001:
        _append_only(conn, table)


def m0002_sync(conn: sqlite3.Connection) -> None:
    """What the desk keeps of the central server: acknowledgements, usage corrections, notices, and the pull cursor."""
    _script(
        conn,
        """
    -- The hub's answer for each pushed entry: the change number that carries it (the desk's usage baseline).
    ALTER TABLE outbox ADD COLUMN server_seq INTEGER;
    ALTER TABLE outbox ADD COLUMN status TEXT CHECK (status IN ('applied', 'set_aside'));

    -- The hub's usage replaces the desk's: each replacement is a recorded correction, so usage stays
    -- equal to the journal plus these corrections (verify checks it).
    CREATE TABLE usage_adjustments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        psn_no TEXT NOT NULL,
        year INTEGER NOT NULL,
        counter TEXT NOT NULL,
        delta INTEGER NOT NULL,
        server_seq INTEGER NOT NULL,
        at TEXT NOT NULL
    );

    -- What the hub said about an entry that the cashier or supervisor must see: set aside, clawback, difference.
    CREATE TABLE sync_notices (
        uuid TEXT PRIMARY KEY REFERENCES settlements(uuid),
        kind TEXT NOT NULL CHECK (kind IN ('set_aside', 'clawback', 'difference')),
        amount INTEGER NOT NULL DEFAULT 0,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );

    -- The ledger learns one more reason, 'sync': the hub's balance replacing the desk's (SQLite changes a
    -- CHECK only by rebuilding the table; the rows are copied unchanged).
    CREATE TABLE account_entries_v2 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        psn_no TEXT NOT NULL REFERENCES members(psn_no),
        settlement_uuid TEXT REFERENCES settlements(uuid),
        delta INTEGER NOT NULL,
        reason TEXT NOT NULL CHECK (reason IN ('opening', 'credit', 'payment', 'refund', 'sync')),
        at TEXT NOT NULL
    );
    INSERT INTO account_entries_v2 SELECT id, psn_no, settlement_uuid, delta, reason, at FROM account_entries;
    DROP TABLE account_entries;
    ALTER TABLE account_entries_v2 RENAME TO account_entries;
    CREATE INDEX account_entries_member ON account_entries(psn_no);
    """,
    )
    _append_only(conn, "usage_adjustments")
    _append_only(conn, "account_entries")


def m0003_requests(conn: sqlite3.Connection) -> None:
    """A caller's request id per settlement: a retried checkout returns the first settlement, never a second."""
    _script(
        conn,
        """
    CREATE TABLE checkout_requests (
        request_id TEXT PRIMARY KEY,
        uuid TEXT NOT NULL UNIQUE REFERENCES settlements(uuid)
    );
    """,
    )
    _append_only(conn, "checkout_requests")


def m0004_guarded_state(conn: sqlite3.Connection) -> None:
    """The guarded tables' state goes into the audit chain (a baseline now, then at every change)."""
    from . import audit

    conn.execute("CREATE INDEX audit_log_subject ON audit_log(subject)")
    audit.record_state(conn, _now(), "system", "baseline", "0004_guarded_state", {})


def m0005_catalogue_lookup(conn: sqlite3.Connection) -> None:
    """Items get their 规格 and 厂家 (both optional) and their pinyin initials (助记码), indexed for the item box.

    The catalogue is a guarded table and its digest covers every column, so the new columns change it.
    """
    from .catalogue import name_initials

    def change() -> None:
        _script(
            conn,
            """
    ALTER TABLE catalogue ADD COLUMN spec TEXT NOT NULL DEFAULT '';           -- 规格
    ALTER TABLE catalogue ADD COLUMN manufacturer TEXT NOT NULL DEFAULT '';   -- 生产厂家
    ALTER TABLE catalogue ADD COLUMN name_initials TEXT NOT NULL DEFAULT '';  -- 助记码, lower case: amxljn
    CREATE INDEX catalogue_initials ON catalogue(name_initials);
    """,
        )
        conn.executemany(
            "UPDATE catalogue SET name_initials = ? WHERE code = ?",
            [(name_initials(n), code) for code, n in conn.execute("SELECT code, name FROM catalogue").fetchall()],
        )

    _guarded_change(conn, "0005_catalogue_lookup", change)


def _guarded_change(conn: sqlite3.Connection, name: str, change: Callable[[], None]) -> None:
    """Run ``change`` (new columns of a guarded table) and record the tables' new digests in the audit chain.

    A table's new digest is recorded only if the table was as its last audited change left it; every other
    table keeps its recorded digest, so a hand edit made before the upgrade still shows in verify.
    """
    from . import audit

    before, recorded = audit.state_digests(conn), audit.last_state(conn) or {}
    change()
    after = audit.state_digests(conn)
    state = {table: after[table] if before[table] == recorded.get(table) else recorded.get(table) for table in after}
    audit.append(conn, _now(), "system", "migration", name, {"state": state})


def m0006_operator_disabled(conn: sqlite3.Connection) -> None:
    """A supervisor can disable an operator, who then can neither sign in nor settle (the row stays for the journal)."""
    conn.execute("ALTER TABLE operators ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))")


def m0007_trace_codes(conn: sqlite3.Connection) -> None:
    """药品追溯码 (issue 18): which items are traced, each package's code with its sale, waivers, the hub's findings.

    A code is unique among the desk's unrefunded sales (a partial unique index); a refund releases its codes by
    naming itself in ``released_by``, the one change a code's row ever takes.
    """

    def change() -> None:
        _script(
            conn,
            """
    ALTER TABLE catalogue ADD COLUMN trac_required INTEGER NOT NULL DEFAULT 0 CHECK (trac_required IN (0, 1));
    ALTER TABLE catalogue ADD COLUMN packs_per_unit INTEGER NOT NULL DEFAULT 1 CHECK (packs_per_unit >= 1);
    """,
        )

    _guarded_change(conn, "0007_trace_codes", change)
    _script(conn, TRACE_SCHEMA)
    _append_only(conn, "trace_waivers")
    _append_only(conn, "trace_products")
    conn.execute("""CREATE TRIGGER trace_codes_no_delete BEFORE DELETE ON trace_codes
                    BEGIN SELECT RAISE(ABORT, 'trace_codes: a code is released by its refund, never deleted'); END""")
    conn.execute("""CREATE TRIGGER trace_codes_release_only BEFORE UPDATE ON trace_codes
                    WHEN OLD.released_by IS NOT NULL OR NEW.released_by IS NULL
                      OR NEW.code IS NOT OLD.code OR NEW.settlement_uuid IS NOT OLD.settlement_uuid
                      OR NEW.line_no IS NOT OLD.line_no OR NEW.item_code IS NOT OLD.item_code
                      OR NEW.product IS NOT OLD.product OR NEW.expiry IS NOT OLD.expiry OR NEW.lot IS NOT OLD.lot
                    BEGIN SELECT RAISE(ABORT, 'trace_codes: only a refund releases a code, once'); END""")


TRACE_SCHEMA = """
    -- Each package's code, with the settlement line that sold it (line_no counts the settlement's items from 0).
    CREATE TABLE trace_codes (
        code TEXT NOT NULL,                  -- drug_trac_codg: 20 digits, or 01 GTIN 21 serial
        settlement_uuid TEXT NOT NULL REFERENCES settlements(uuid),
        line_no INTEGER NOT NULL,
        item_code TEXT NOT NULL,
        product TEXT NOT NULL,               -- 药品标识码 or GTIN
        expiry TEXT,                         -- AI 17, when the code carries one
        lot TEXT,                            -- AI 10
        released_by TEXT REFERENCES settlements(uuid),   -- the refund that gave the package back
        PRIMARY KEY (settlement_uuid, code)
    );
    CREATE UNIQUE INDEX trace_codes_unrefunded ON trace_codes(code) WHERE released_by IS NULL;

    -- A product's code part, tied to the catalogue item it was first sold as: a later mismatch is refused.
    CREATE TABLE trace_products (
        product TEXT PRIMARY KEY,
        item_code TEXT NOT NULL,
        first_uuid TEXT NOT NULL REFERENCES settlements(uuid)
    );

    -- A traced line settled without its codes: the supervisor who allowed it, and the reason from the list.
    CREATE TABLE trace_waivers (
        settlement_uuid TEXT NOT NULL REFERENCES settlements(uuid),
        line_no INTEGER NOT NULL,
        item_code TEXT NOT NULL,
        codes INTEGER NOT NULL,              -- codes scanned on the line
        packages TEXT NOT NULL,              -- packages the quantity holds
        reason TEXT NOT NULL,
        supervisor TEXT NOT NULL,
        PRIMARY KEY (settlement_uuid, line_no)
    );

    -- What the hub found after sync: a code this desk sold while another sale of it stands (回流药 suspected).
    CREATE TABLE trace_notices (
        uuid TEXT NOT NULL REFERENCES settlements(uuid),
        code TEXT NOT NULL,
        first_uuid TEXT NOT NULL,
        first_desk TEXT NOT NULL,
        first_sold_at TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (uuid, code)
    );
    """


def m0008_diagnoses(conn: sqlite3.Connection) -> None:
    """Diagnoses (issue 18): the platform's disease catalogue (code, name, pinyin initials), and each visit's."""
    _script(
        conn,
        """
    CREATE TABLE diagnoses (
        code TEXT PRIMARY KEY,               -- 医保版 ICD-10: I10.x00
        name TEXT NOT NULL,
        initials TEXT NOT NULL               -- pinyin initials, lower case: yfxgxy
    );
    CREATE INDEX diagnoses_initials ON diagnoses(initials);
    CREATE INDEX diagnoses_name ON diagnoses(name);

    -- A settlement's diagnoses, in order (the first is the main one); code '' for a prescription's diagnosis
    -- that names none of the catalogue's.
    CREATE TABLE visit_diagnoses (
        settlement_uuid TEXT NOT NULL REFERENCES settlements(uuid),
        seq INTEGER NOT NULL,
        code TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (settlement_uuid, seq)
    );
    """,
    )
    _append_only(conn, "visit_diagnoses")


def m0009_member_search_order(conn: sqlite3.Connection) -> None:
    """Name and pinyin search read their first 20 members in the index's order instead of sorting every match:
    "ly" matched 40,000 of a million members and took 30 ms to sort; in the index's order, 0.13 ms."""
    _script(
        conn,
        """
    DROP INDEX IF EXISTS members_name;
    DROP INDEX IF EXISTS members_initials;
    CREATE INDEX members_name ON members(name, psn_no);
    CREATE INDEX members_initials ON members(name_initials, name, psn_no);
    """,
    )


def m0010_keyed_per_visit_rows(conn: sqlite3.Connection) -> None:
    """The usage counters and a visit's diagnoses are kept in their key's order alone (WITHOUT ROWID): a table
    with a rowid kept its rows in one b-tree and its key in another, and every confirm wrote a page of each
    (issue 16: 22 pages a confirm became 21, each page about 7 µs of the durable commit).  Rows, columns,
    constraints and the diagnoses' append-only triggers are as before."""
    conn.execute("DROP TRIGGER visit_diagnoses_no_update")
    conn.execute("DROP TRIGGER visit_diagnoses_no_delete")
    _script(
        conn,
        """
    CREATE TABLE usage_v2 (
        psn_no TEXT NOT NULL REFERENCES members(psn_no),
        year INTEGER NOT NULL,
        counter TEXT NOT NULL CHECK (counter IN ('deductible', 'pool', 'programme_hypertension', 'programme_diabetes')),
        amount INTEGER NOT NULL,
        PRIMARY KEY (psn_no, year, counter)
    ) WITHOUT ROWID;
    INSERT INTO usage_v2 SELECT psn_no, year, counter, amount FROM usage;
    DROP TABLE usage;
    ALTER TABLE usage_v2 RENAME TO usage;

    CREATE TABLE visit_diagnoses_v2 (
        settlement_uuid TEXT NOT NULL REFERENCES settlements(uuid),
        seq INTEGER NOT NULL,
        code TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (settlement_uuid, seq)
    ) WITHOUT ROWID;
    INSERT INTO visit_diagnoses_v2 SELECT settlement_uuid, seq, code, name FROM visit_diagnoses;
    DROP TABLE visit_diagnoses;
    ALTER TABLE visit_diagnoses_v2 RENAME TO visit_diagnoses;
    """,
    )
    _append_only(conn, "visit_diagnoses")


MIGRATIONS: list[Migration] = [
    ("0001_initial", m0001_initial),
    ("0002_sync", m0002_sync),
    ("0003_requests", m0003_requests),
    ("0004_guarded_state", m0004_guarded_state),
    ("0005_catalogue_lookup", m0005_catalogue_lookup),
    ("0006_operator_disabled", m0006_operator_disabled),
    ("0007_trace_codes", m0007_trace_codes),
    ("0008_diagnoses", m0008_diagnoses),
    ("0009_member_search_order", m0009_member_search_order),
    ("0010_keyed_per_visit_rows", m0010_keyed_per_visit_rows),
]


def pending(conn: sqlite3.Connection) -> list[Migration]:
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    return [m for m in MIGRATIONS if m[0] not in done]


def migrate(db: sqlite_utils.Database, path: Path) -> list[str]:
    """Apply pending migrations, backing the file up first if it already holds data."""
    conn = db.conn
    todo = pending(conn)
    if not todo:
        return []
    has_data = conn.execute("SELECT count(*) FROM _migrations").fetchone()[0] > 0
    if has_data:
        backup(conn, path.with_name(f"{path.name}.before-{todo[0][0]}.bak"))
    for name, apply in todo:
        conn.execute("BEGIN IMMEDIATE")
        try:
            apply(conn)
            conn.execute("INSERT INTO _migrations VALUES (?, ?)", (name, _now()))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return [name for name, _ in todo]


def backup(conn: sqlite3.Connection, target: Path) -> Path:
    """A consistent copy through SQLite's backup API."""
    dest = sqlite3.connect(target)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    return target


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
