"""Sync throughput over loopback: push 100,000 realistic settlements, pull 1,000,000 members.

Run: .venv/bin/python benchmarks/bench_sync.py [--push N] [--push-members N] [--push-batch B]
     [--push-db sqlite|postgresql] [--members N] [--skip-push | --skip-pull]

Push (:func:`bench_push`): a demo desk whose visits went through the counter's own checkout
(``demo_world.make_world``) pushes them with its own sync client to a real hub process on
127.0.0.1, seeded from the same demo before those visits.  Printed beside the rate: its floor,
the same journal and feed rows inserted raw (the driver's executemany, one transaction per
batch) into a database of the same kind, schema and settings; the goal, ≥ 3,000/s; and
``hub check``.  Pull (:func:`bench_pull`): a hub seeded with ``--members`` members, its feed
read over loopback and straight from its database.  Each makes its own demo data and hub.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_world import Cluster, hub_check, make_world  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from desktop_app.domain.clock import now_iso  # noqa: E402
from desktop_app.hub import desks, importer, schema  # noqa: E402
from desktop_app.services.demo import generate  # noqa: E402
from desktop_app.store import config  # noqa: E402
from desktop_app.store.db import connect, transaction  # noqa: E402
from desktop_app.sync.feed import PULL_PAGE, PULL_TRANSACTION_SECONDS, _page, bulk_writing, pull  # noqa: E402
from desktop_app.sync.hub_client import HubClient, SyncReport  # noqa: E402
from desktop_app.sync.outbox import PUSH_PAGE, push  # noqa: E402
from tests.hub_fixtures import Hub  # noqa: E402

FACILITY = {"kind": "community_health_centre", "level": 1, "id": "H45010300001"}
PUSH_GOAL = 3000  # settlements a second


# --------------------------------------------------------------------------- push


def add_push_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--push", type=int, default=100_000, help="visits the demo desk settles, then pushes")
    parser.add_argument("--push-members", type=int, default=100_000, help="members of the push demo")
    parser.add_argument("--push-batch", type=int, default=PUSH_PAGE, help="records per request (the desk's default)")
    parser.add_argument("--push-db", choices=("sqlite", "postgresql"), default="sqlite", help="the hub's database")


def bench_push(args: argparse.Namespace) -> dict:
    """Push ``--push`` realistic settlements from one desk; prints and returns the rate, its floor and the goal."""
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        root = Path(folder)
        t = time.perf_counter()
        source, desk_path = make_world(root, args.push_members, args.push)
        desk = connect(desk_path)
        queued = desk.conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        print(
            f"push demo: {args.push_members:,} members, {queued:,} settlements and refunds through the counter's "
            f"checkout: {time.perf_counter() - t:.0f} s"
        )
        if args.push_db == "postgresql":
            cluster = stack.enter_context(Cluster())
            url, floor_url = cluster.new_database(), cluster.new_database()
        else:
            url, floor_url = f"sqlite:///{root / 'hub.db'}", f"sqlite:///{root / 'floor.db'}"
        engine = schema.engine_for(url)
        stack.callback(engine.dispose)
        importer.import_desk_database(engine, str(source))
        own = config.facility(desk.conn)
        facility = {k: v for k, v in vars(own).items() if v is not None}
        token = desks.register_desk(engine, "bench", own.id, config.get(desk.conn, "region"), facility)
        with engine.connect() as conn:
            head = conn.execute(select(func.max(schema.changes.c.seq))).scalar_one()
        stack.enter_context(_logs_in(root))
        hub = Hub(url, root / "hub.out").start()
        stack.callback(hub.stop)
        client = HubClient(hub.url, token, timeout=600)
        stack.callback(client.close)
        report = SyncReport()
        hub_cpu, desk_cpu, t = cpu_seconds(hub.proc.pid), time.process_time(), time.perf_counter()
        push(desk, client, report, batch=args.push_batch)
        seconds = time.perf_counter() - t
        hub_cpu, desk_cpu = cpu_seconds(hub.proc.pid) - hub_cpu, time.process_time() - desk_cpu
        rate = report.pushed / seconds
        floor = push_floor(engine, floor_url, head, args.push_batch)
        print(
            f"push over loopback ({args.push_db} hub, {args.push_batch} a request): {report.pushed:,} in "
            f"{seconds:.1f} s = {rate:,.0f}/s ({report.applied:,} applied, {len(report.set_aside)} set aside, "
            f"{len(report.reviews)} reviewed); floor, the same rows inserted raw: {floor:,.0f}/s; "
            f"goal ≥ {PUSH_GOAL:,}/s: {'met' if rate >= PUSH_GOAL else 'NOT met'}"
        )
        print(
            f"  CPU a settlement: the hub process {hub_cpu / report.pushed * 1000:.2f} ms, the desk "
            f"{desk_cpu / report.pushed * 1000:.2f} ms (2 cores; load average {os.getloadavg()[0]:.1f})"
        )
        print(f"  {hub_check(url)}")
        desk.conn.close()
        return {"pushed": report.pushed, "seconds": seconds, "rate": rate, "floor": floor}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _logs_in(root: Path) -> Iterator[None]:
    """The hub process writes its hub.log (a line per push) under ``root``, not in the user's log folder."""
    before = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(root / "state")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("XDG_STATE_HOME")
        else:
            os.environ["XDG_STATE_HOME"] = before


def push_floor(engine, floor_url: str, head: int, batch: int) -> float:
    """Journal entries a second when the push's own rows (its journal entries and their feed) go in raw."""
    with engine.connect() as conn:
        entries = [tuple(r) for r in conn.execute(select(schema.settlements).order_by(schema.settlements.c.server_seq))]
        feed = [tuple(r) for r in conn.execute(select(schema.changes).where(schema.changes.c.seq > head))]
    schema.engine_for(floor_url).dispose()  # the same tables, indexes and settings as the hub's
    raw = _Raw(floor_url)
    add_entries = f"INSERT INTO settlements VALUES ({raw.marks(len(schema.settlements.c))})"
    add_feed = f"INSERT INTO changes VALUES ({raw.marks(len(schema.changes.c))})"
    batches = max(1, -(-len(entries) // batch))
    per_batch = -(-len(feed) // batches)
    t = time.perf_counter()
    for i in range(batches):
        raw.transaction(
            [(add_entries, entries[i * batch : (i + 1) * batch]), (add_feed, feed[i * per_batch : (i + 1) * per_batch])]
        )
    seconds = time.perf_counter() - t
    raw.conn.close()
    return len(entries) / seconds


class _Raw:
    """The database driver's own connection, set as the hub sets its own (WAL and synchronous=FULL on SQLite)."""

    def __init__(self, url: str) -> None:
        self.postgres = url.startswith("postgres")
        if self.postgres:
            import psycopg

            self.conn = psycopg.connect(url)
        else:
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")

    def marks(self, n: int) -> str:
        return ", ".join(["%s" if self.postgres else "?"] * n)

    def transaction(self, statements: list[tuple[str, list[tuple]]]) -> None:
        """One transaction: each statement executed for all its rows (executemany)."""
        if self.postgres:
            with self.conn.transaction(), self.conn.cursor() as cursor:
                for sql, rows in statements:
                    cursor.executemany(sql, rows)
            return
        self.conn.execute("BEGIN IMMEDIATE")
        for sql, rows in statements:
            self.conn.executemany(sql, rows)
        self.conn.execute("COMMIT")


# --------------------------------------------------------------------------- pull


def bench_pull(args: argparse.Namespace) -> None:
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
            cpu = time.process_time(), cpu_seconds(hub.proc.pid)
            t = time.perf_counter()
            pull(desk, client, report, page=args.page)
            applied = time.perf_counter() - t
            cpu = time.process_time() - cpu[0], cpu_seconds(hub.proc.pid) - cpu[1]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    add_push_arguments(parser)
    parser.add_argument("--members", type=int, default=1_000_000, help="members the pull carries")
    parser.add_argument("--page", type=int, default=PULL_PAGE, help="changes per pull page (the desk's default)")
    parser.add_argument("--skip-push", action="store_true")
    parser.add_argument("--skip-pull", action="store_true")
    args = parser.parse_args()
    if not args.skip_push:
        bench_push(args)
    if not args.skip_pull:
        bench_pull(args)


if __name__ == "__main__":
    main()
