"""Sync throughput over loopback: push 100,000 queued settlements, pull 1,000,000 members.

Run: .venv/bin/python benchmarks/bench_sync.py [--push N] [--members N]
Starts a real hub process (SQLite) on 127.0.0.1.  Baselines measured in the same run:
the hub's own store applying the same records in-process (no HTTP), and reading the
change feed straight from its database; the ratios show what HTTP and JSON cost.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid as uuidlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.domain.clock import now_iso  # noqa: E402
from desktop_app.hub import desks, importer, pull, schema  # noqa: E402
from desktop_app.hub import push as hub_push  # noqa: E402
from desktop_app.services import checkout  # noqa: E402
from desktop_app.services.demo import generate  # noqa: E402
from desktop_app.store.db import connect  # noqa: E402
from desktop_app.sync.client import HubClient, SyncReport, push, unsent  # noqa: E402
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
    args = parser.parse_args()
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
            # ---------------------------------------------------------- pull
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


if __name__ == "__main__":
    main()
