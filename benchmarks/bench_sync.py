"""Sync throughput over loopback: push 100,000 queued settlements, pull 1,000,000 members.

Run: .venv/bin/python benchmarks/bench_sync.py [--push N] [--members N] [--page N]  (0 skips that half)
Starts a real hub process (SQLite) on 127.0.0.1.  Baselines measured in the same run:
the hub's own store applying the same records in-process (no HTTP); for the pull, the same
rows selected raw from the hub's database and inserted raw into a new desk's (see bench_pull).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid as uuidlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.domain.clock import now_iso  # noqa: E402
from desktop_app.hub import desks, importer, schema  # noqa: E402
from desktop_app.hub import push as hub_push  # noqa: E402
from desktop_app.services import checkout  # noqa: E402
from desktop_app.services.demo import generate  # noqa: E402
from desktop_app.store import config  # noqa: E402
from desktop_app.store.db import connect, transaction  # noqa: E402
from desktop_app.sync.client import (  # noqa: E402
    PULL_PAGE,
    PULL_TRANSACTION_SECONDS,
    HubClient,
    SyncReport,
    _page,
    bulk_writing,
    pull,
    push,
    unsent,
)
from tests.hub_fixtures import Hub  # noqa: E402

FACILITY = {"kind": "community_health_centre", "level": 1, "id": "H45010300001"}


def queue(db, n: int) -> None:
    """Clone one real settlement n times with fresh UUIDs, straight into the journal and the outbox."""
    psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' ORDER BY psn_no LIMIT 1").fetchone()[0]
    code = db.conn.execute("SELECT code FROM catalogue WHERE item_kind = 'drug' LIMIT 1").fetchone()[0]
    out = checkout.confirm(
        db,
        {"member": {"psn_no": psn}, "items": [{"code": code, "quantity": 1}], "payment": {"use_account": False}},
        "shouyin",
    )
    row = db.conn.execute("SELECT * FROM settlements WHERE uuid = ?", (out["uuid"],)).fetchone()
    names = [d[0] for d in db.conn.execute("SELECT * FROM settlements LIMIT 0").description]
    rows = []
    for _ in range(n):
        clone = dict(zip(names, row))
        clone.update(
            uuid=str(uuidlib.uuid4()),
            hifp_pay=0,
            deductible=0,
            pool=0,
            programme_hypertension=0,
            programme_diabetes=0,
            psn_cash_pay=clone["medfee_sumamt"],
            acct_pay=0,
        )
        rows.append(clone)
    with db.conn:
        db.conn.executemany(
            f"INSERT INTO settlements ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [[r[k] for k in names] for r in rows],
        )
        db.conn.executemany(
            "INSERT INTO outbox (uuid, kind, created_at) VALUES (?, 'settlement', ?)",
            [(r["uuid"], r["created_at"]) for r in rows],
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--push", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--page", type=int, default=PULL_PAGE, help="changes per pull page (the desk's default)")
    args = parser.parse_args()
    if args.push:
        bench_push(args)
    if args.members:
        bench_pull(args)


def bench_push(args) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        t = time.perf_counter()
        source = connect(root / "source.db")
        generate(source, args.members, seed=5, visits=0)
        source.conn.close()
        print(f"demo database of {args.members:,} members: {time.perf_counter() - t:.1f} s")
        url = f"sqlite:///{root / 'hub.db'}"
        engine = schema.engine_for(url)
        t = time.perf_counter()
        importer.import_desk_database(engine, str(root / "source.db"))
        print(f"hub import: {time.perf_counter() - t:.1f} s")
        token = desks.register_desk(engine, "bench", FACILITY["id"], "guangxi", FACILITY)
        desk_token = desks.desk_for_token(engine, token)
        hub = Hub(url, root / "hub.log").start()
        try:
            # ---------------------------------------------------------- push
            shutil.copy(root / "source.db", root / "desk.db")
            desk = connect(root / "desk.db")
            queue(desk, args.push)
            baseline_records = unsent(desk.conn, 2000)
            t = time.perf_counter()
            hub_push.push(engine, desk_token, baseline_records, now_iso(), 0.0)
            direct = len(baseline_records) / (time.perf_counter() - t)
            desk.conn.execute(
                f"UPDATE outbox SET sent_at = 'x' WHERE uuid IN ({','.join('?' * len(baseline_records))})",
                [r.uuid for r in baseline_records],
            )
            client = HubClient(hub.url, token, timeout=300)
            report = SyncReport()
            t = time.perf_counter()
            push(desk, client, report, batch=1000)
            seconds = time.perf_counter() - t
            rate = report.pushed / seconds
            print(
                f"push over loopback: {report.pushed:,} settlements in {seconds:.1f} s = {rate:,.0f}/s "
                f"(in-process store baseline {direct:,.0f}/s; ratio {direct / rate:.2f}x)"
            )
            client.close()
        finally:
            hub.stop()
            engine.dispose()


# --------------------------------------------------------------------------- pull


def bench_pull(args) -> None:
    """A new desk pulls a county of ``args.members`` demo members (their families too) from a hub over loopback.

    Prints the transfer (pages fetched and checked, not applied) and the pull applied, each beside its
    floor: the same rows selected raw from the hub's database, and inserted raw into a new desk's
    (members, their ledger's opening entries, family links), committed as often as the pull commits.
    """
    print(f"pull: machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        t = time.perf_counter()
        source = connect(root / "source.db")
        generate(source, args.members, seed=5, visits=0)
        source.conn.close()
        url = f"sqlite:///{root / 'hub.db'}"
        engine = schema.engine_for(url)
        importer.import_desk_database(engine, str(root / "source.db"))
        token = desks.register_desk(engine, "bench", FACILITY["id"], "guangxi", FACILITY)
        engine.dispose()
        print(f"  demo of {args.members:,} members imported into the hub: {time.perf_counter() - t:.1f} s")
        select_floor, changes = _select_raw(root / "hub.db", args.page)
        insert_floor = _insert_raw(root / "source.db", _new_desk(root / "floor.db"), args.page)
        hub = Hub(url, root / "hub.log").start()
        try:
            client = HubClient(hub.url, token, timeout=300)
            transfer = _transfer(client, args.page)
            desk = _new_desk(root / "desk.db")
            report = SyncReport()
            cpu = time.process_time(), _cpu_seconds(hub.proc.pid)
            t = time.perf_counter()
            pull(desk, client, report, page=args.page)
            applied = time.perf_counter() - t
            cpu = time.process_time() - cpu[0], _cpu_seconds(hub.proc.pid) - cpu[1]
            client.close()
        finally:
            hub.stop()
        held = desk.conn.execute("SELECT count(*) FROM members").fetchone()[0]
        assert report.pulled == changes and held == args.members, (report.pulled, changes, held)
    floor = select_floor + insert_floor
    per_million = applied * 1_000_000 / args.members
    print(
        f"  {changes:,} changes in pages of {args.page:,}\n"
        f"  transfer over loopback: {transfer:.1f} s (floor, the rows selected raw: {select_floor:.1f} s)\n"
        f"  pull applied to a new desk: {applied:.1f} s = {args.members / applied:,.0f} members/s "
        f"(floor, selected and inserted raw: {floor:.1f} s; {applied / floor:.2f}x)\n"
        f"  CPU while applying: desk {cpu[0]:.1f} s, hub {cpu[1]:.1f} s (load stretches wall time)\n"
        f"  goal: a million members applied in <= {PULL_GOAL_SECONDS} s: {per_million:.0f} s "
        f"{'' if args.members == 1_000_000 else 'at this rate (low: a member costs more as the desk grows) '}"
        f"({'met' if per_million <= PULL_GOAL_SECONDS else 'missed'})"
    )


PULL_GOAL_SECONDS = 60


def _new_desk(path: Path):
    db = connect(path)
    with transaction(db) as conn:
        config.put(conn, "region", "guangxi")
    return db


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used so far (Linux's /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _select_raw(hub_db: Path, page: int) -> tuple[float, int]:
    """Seconds to read the whole feed from the hub's database in pages, with sqlite3 and nothing else; its length."""
    conn = sqlite3.connect(f"file:{hub_db}?mode=ro", uri=True)
    t = time.perf_counter()
    cursor, count = 0, 0
    while rows := conn.execute(
        "SELECT seq, kind, key, data FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (cursor, page)
    ).fetchall():
        cursor, count = rows[-1][0], count + len(rows)
    seconds = time.perf_counter() - t
    conn.close()
    return seconds, count


def _insert_raw(source_db: Path, desk, page: int) -> float:
    """Seconds to insert what the pull writes (members, opening ledger entries, family links) with executemany.

    In pages, committed as the pull commits (once pages have taken ``PULL_TRANSACTION_SECONDS``), with the
    pull's connection settings (``bulk_writing``).
    """
    source = sqlite3.connect(f"file:{source_db}?mode=ro", uri=True)
    columns = "psn_no, certno, name, name_initials, sex, birth_date, insutype, status, status_since, scheme, region, "
    columns += "civil_servant, programmes, designated_facility, account_balance, updated_at"
    people = source.execute(f"SELECT {columns} FROM members ORDER BY psn_no").fetchall()
    links = source.execute("SELECT owner_psn_no, relative_psn_no, relation FROM family_links").fetchall()
    source.close()
    at, ledger = now_iso(), "INSERT INTO account_entries (psn_no, delta, reason, at) VALUES (?, ?, 'sync', ?)"
    work = []  # (statement, rows): a page of members and their opening entries, then the links by pages
    for i in range(0, len(people), page):
        batch = people[i : i + page]
        work.append((f"INSERT INTO members ({columns}) VALUES ({', '.join('?' * 16)})", batch))
        work.append((ledger, [(p[0], p[14], at) for p in batch if p[14]]))
    work += [("INSERT INTO family_links VALUES (?, ?, ?)", links[i : i + page]) for i in range(0, len(links), page)]
    t = time.perf_counter()
    with bulk_writing(desk.conn):
        while work:
            with transaction(desk) as conn:
                started = time.monotonic()
                while work and time.monotonic() - started < PULL_TRANSACTION_SECONDS:
                    sql, rows = work.pop(0)
                    conn.executemany(sql, rows)
    seconds = time.perf_counter() - t
    desk.conn.close()
    return seconds


def _transfer(client: HubClient, page: int) -> float:
    """Seconds to fetch and check every page of the feed, one after another, applying none."""
    t = time.perf_counter()
    cursor, more = 0, True
    while more:
        body = _page(client, cursor, page)
        cursor, more = body["next_cursor"], body["more"]
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
