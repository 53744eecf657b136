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

from desktop_app.hub import desks, importer, pull, schema  # noqa: E402
from desktop_app.services.demo import generate  # noqa: E402
from desktop_app.store import config  # noqa: E402
from desktop_app.store.db import connect  # noqa: E402
from desktop_app.sync.client import HubClient, SyncReport, push  # noqa: E402
from tests.hub_fixtures import Hub  # noqa: E402

FACILITY = {"kind": "community_health_centre", "level": 1, "id": "H45010300001"}
PUSH_GOAL = 3000  # settlements a second


# --------------------------------------------------------------------------- push


def add_push_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--push", type=int, default=100_000, help="visits the demo desk settles, then pushes")
    parser.add_argument("--push-members", type=int, default=100_000, help="members of the push demo")
    parser.add_argument("--push-batch", type=int, default=500, help="records per request (the desk's default)")
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
            client = HubClient(hub.url, token, timeout=300)
            t = time.perf_counter()
            cursor, fetched = 0, 0
            while True:
                page = client.changes(cursor, 5000)
                fetched += sum(c.kind == "member" for c in page.changes)
                cursor = page.next_cursor
                if not page.more:
                    break
            seconds = time.perf_counter() - t
            t = time.perf_counter()
            cursor_db, direct_rows = 0, 0
            while True:
                rows, cursor_db, more = pull.changes_since(engine, desk_token, cursor_db, 5000)
                direct_rows += len(rows)
                if not more:
                    break
            direct_seconds = time.perf_counter() - t
            print(
                f"pull over loopback: {fetched:,} member changes in {seconds:.1f} s = {fetched / seconds:,.0f}/s "
                f"(reading the feed in-process {direct_rows / direct_seconds:,.0f}/s; ratio "
                f"{(direct_rows / direct_seconds) / (fetched / seconds):.2f}x)"
            )
            client.close()
        finally:
            hub.stop()
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    add_push_arguments(parser)
    parser.add_argument("--members", type=int, default=1_000_000, help="members the pull carries")
    parser.add_argument("--skip-push", action="store_true")
    parser.add_argument("--skip-pull", action="store_true")
    args = parser.parse_args()
    if not args.skip_push:
        bench_push(args)
    if not args.skip_pull:
        bench_pull(args)


if __name__ == "__main__":
    main()
