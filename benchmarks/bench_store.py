"""The counter's database paths on a 1,000,000-member desk, each against a floor on the same file.

- confirm: ``checkout.confirm`` of a two-item visit, to its durable commit, against a bare WAL FULL
  transaction on the same database (one journal-sized row inserted, one balance updated).  At the demo's
  journal, then with the journal grown to ``--journal`` rows (1,000,000 by default).  A last line gives the
  COMMIT alone, of a confirm and of the floor (the floor is nearly all fsync, so a quick disk raises the ratio),
  and the quote the confirm works out again inside its lock.
- lookups: by ID number, and by name and pinyin initials (the first 20, as the member box lists them),
  against the raw indexed SELECT of the same rows.
Goals (issue 16): confirm ≤ 1 ms and ≤ 4x; ID lookup ≤ 60 µs; name and pinyin p90 ≤ 20 ms; each ≤ 4x.
Run: ``.venv/bin/python benchmarks/bench_store.py [--members N] [--journal N] [--db PATH]`` (``--db``
keeps the demo database for the next run: making a million members takes minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Figure, alternate_each, report, timed  # noqa: E402

from desktop_app.domain.vocabulary import MEMBER_COLUMNS  # noqa: E402
from desktop_app.services import checkout  # noqa: E402
from desktop_app.services.demo import generate  # noqa: E402
from desktop_app.store import members  # noqa: E402
from desktop_app.store.db import connect  # noqa: E402

TODAY = dt.date.today()
_FLOOR_TABLES = """
CREATE TABLE IF NOT EXISTS bench_journal (uuid TEXT PRIMARY KEY, psn_no TEXT, total INTEGER, fund INTEGER,
    account INTEGER, cash INTEGER, input_json TEXT, output_json TEXT);
CREATE TABLE IF NOT EXISTS bench_balance (psn_no TEXT PRIMARY KEY, balance INTEGER);
"""


def demo(path: Path, count: int):
    db = connect(path)
    if not db.conn.execute("SELECT count(*) FROM members").fetchone()[0]:
        start = time.perf_counter()
        counts = generate(db, count, seed=3, visits=2000, today=TODAY)
        print(
            f"demo-data: {counts['members']:,} members, {counts['settlements']:,} settlements "
            f"in {time.perf_counter() - start:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)"
        )
    return db


def grow_journal(db, rows: int) -> None:
    """Copy the journal's own rows under new UUIDs until it holds ``rows`` (the usage tables are left as they are:
    only the journal's size and its indexes matter to a commit)."""
    conn = db.conn
    have = conn.execute("SELECT count(*) FROM settlements").fetchone()[0]
    if have >= rows:
        return
    start = time.perf_counter()
    columns = [r[1] for r in conn.execute("PRAGMA table_info(settlements)") if r[1] != "uuid"]
    template = ", ".join(columns)
    conn.execute("BEGIN IMMEDIATE")
    while have < rows:
        batch = min(200_000, rows - have)
        conn.execute(
            f"INSERT INTO settlements (uuid, {template}) SELECT lower(hex(randomblob(18))), {template} "
            f"FROM settlements WHERE kind = 'settlement' AND rowid IN "
            f"(SELECT rowid FROM settlements WHERE kind = 'settlement' LIMIT ?)",
            (batch,),
        )
        have = conn.execute("SELECT count(*) FROM settlements").fetchone()[0]
    conn.execute("COMMIT")
    print(f"journal grown to {have:,} rows in {time.perf_counter() - start:.0f} s")


def _confirm(db, psn: str, codes: list[str]) -> None:
    """The path: a two-item visit settled and committed, as the counter's F12 does."""
    checkout.confirm(
        db,
        {"member": {"psn_no": psn}, "diagnoses": ["J06.900"], "items": [{"code": c, "quantity": 1} for c in codes]},
        "shouyin",
        today=TODAY,
    )


def _floor(conn, sample: tuple[str, str], uuid: str, psn: str) -> None:
    """The floor: one journal-sized row inserted and one balance updated, in a WAL FULL transaction."""
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO bench_journal VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (uuid, psn, 3500, 1000, 2000, 500, sample[0], sample[1]),
    )
    conn.execute(
        "INSERT INTO bench_balance VALUES (?, 100) ON CONFLICT(psn_no) DO UPDATE SET balance = balance - 1", (psn,)
    )
    conn.execute("COMMIT")


def _sample(conn) -> tuple[str, str]:
    """The newest journal row's request and record: the floor writes rows of their size."""
    return conn.execute("SELECT input_json, output_json FROM settlements ORDER BY rowid DESC LIMIT 1").fetchone()


def confirm_figure(db, label: str, people: list[str], codes: list[str]) -> Figure:
    conn = db.conn
    conn.executescript(_FLOOR_TABLES)
    sample = _sample(conn)
    counter = iter(range(10**9))
    path, base = alternate_each(
        lambda psn: _confirm(db, psn, codes),
        lambda psn: _floor(conn, sample, f"floor-{label}-{next(counter)}", psn),
        people,
    )
    return Figure(
        f"confirm, journal {label}", path, base, "a bare WAL FULL transaction: 1 insert, 1 update", 1e-3, unit="ms"
    )


def commit_share(db, people: list[str], codes: list[str]) -> str:
    """A line for the report: the COMMIT alone, of a confirm and of the floor, and the confirm's quote (medians
    over ``people``).

    The floor is almost all its commit (an fsync), a confirm much less; when the disk is quick, the ratio grows
    while our own work stays the same.  In this separate pass (the figures above were measured without it) the
    connection's trace callback marks the moment SQLite starts each COMMIT; the time from there to the call's
    return is the commit's.  The quote is ``checkout.build_quote`` as the confirm calls it, inside its lock, timed
    around the real function.
    """
    conn = db.conn
    sample = _sample(conn)
    started: list[float] = []
    ours: list[float] = []
    floors: list[float] = []
    quotes: list[float] = []
    build_quote = checkout.build_quote
    checkout.build_quote = timed(build_quote, quotes)
    conn.set_trace_callback(lambda sql: started.append(time.perf_counter()) if sql == "COMMIT" else None)
    try:
        for n, psn in enumerate(people):
            _confirm(db, psn, codes)
            ours.append(time.perf_counter() - started[-1])
            _floor(conn, sample, f"commit-{n}-{time.time_ns()}", psn)
            floors.append(time.perf_counter() - started[-1])
    finally:
        conn.set_trace_callback(None)
        checkout.build_quote = build_quote
    return (
        f"the COMMIT alone (a separate pass of {len(people)}): a confirm's {statistics.median(ours) * 1e3:.2f} ms, "
        f"the floor's {statistics.median(floors) * 1e3:.2f} ms; the quote worked out again inside the confirm's "
        f"lock: {statistics.median(quotes) * 1e3:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--journal", type=int, default=1_000_000, help="journal rows for the second confirm figure")
    parser.add_argument("--db", type=Path, help="the demo database to use (made there if missing)")
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp()) / "bench.db"
    db = demo(path, args.members)
    conn = db.conn
    rng = random.Random(5)
    picks = conn.execute(
        "SELECT psn_no, certno, name, name_initials FROM members WHERE rowid IN "
        f"({','.join(str(rng.randint(1, args.members)) for _ in range(400))})"
    ).fetchall()
    select = f"SELECT {', '.join(MEMBER_COLUMNS)} FROM members"
    figures = [
        Figure(
            "ID lookup (certno)",
            *alternate_each(
                lambda r: checkout.lookup(conn, r[1]),
                lambda r: conn.execute(f"{select} WHERE certno = ?", (r[1],)).fetchall(),
                picks,
            ),
            "the raw SELECT by certno (its unique index)",
            60e-6,
        )
    ]
    for label, column, key in (
        ("name, 2 characters", "name", lambda r: r[2][:2]),
        ("pinyin, 2 letters", "name_initials", lambda r: r[3][:2]),
    ):
        order = "name, psn_no" if column == "name" else "name_initials, name, psn_no"
        figures.append(
            Figure(
                f"{label}, first 20",
                *alternate_each(
                    lambda r, key=key: members.search_name(conn, key(r)),
                    lambda r, key=key, column=column, order=order: conn.execute(
                        f"{select} WHERE {column} >= ? AND {column} < ? ORDER BY {order} LIMIT 20",
                        (key(r), key(r) + "\U0010ffff"),
                    ).fetchall(),
                    picks,
                ),
                "the raw indexed SELECT of the same 20 rows",
                20e-3,
                on="p90",
                unit="ms",
            )
        )
    codes = [
        r[0] for r in conn.execute("SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 LIMIT 2")
    ]
    people = [r[0] for r in picks[:300]]
    journal = conn.execute("SELECT count(*) FROM settlements").fetchone()[0]
    figures.append(confirm_figure(db, f"{journal:,}", people, codes))
    grow_journal(db, args.journal)
    journal = conn.execute("SELECT count(*) FROM settlements").fetchone()[0]
    figures.append(confirm_figure(db, f"{journal:,}", people[::-1], codes))
    notes = [commit_share(db, people[:200], codes)]
    report(f"the desk's database, {args.members:,} members, one call each", figures, notes)


if __name__ == "__main__":
    main()
