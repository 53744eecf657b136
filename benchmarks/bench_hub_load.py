"""Many desks at once, as at 08:00: 50 desks push 200 settlements each to a hub on PostgreSQL, then all pull;
then 20 desks do the same to a hub on SQLite.

Run: .venv/bin/python benchmarks/bench_hub_load.py [--desks 50] [--sqlite-desks 20] [--each 200] [--batch 500]
     [--members 20000] [--timeout 30] [--deadline 600] [--skip-postgresql] [--skip-sqlite] [--no-pull]

The settlements are real: the demo generator settles a year of visits through the counter's own
checkout (``demo_world.make_world``), and the hub is seeded from the same demo before them.  Each
member's visits (and refunds) go to one desk, as people go to their own clinic; every desk is
registered for the demo's facility (its members' designated one), so the hub's figures match the
claims.  All desks start at once (a barrier), each sending its records in requests of ``--batch``
(the desk's default, 500: one request of 200) with the desk's time-out.  Bounded: a fixed number of
requests, and none started after ``--deadline`` seconds.  A request that failed is sent again
afterwards, one at a time, as the desk would at its next sync, so ``hub check`` sees every record.

Printed per run: settlements applied per second (from the start to the last answer), request latency
p50 and p99, time-outs and 5xx (both must be 0), the hub's own time per batch and how many batches
it had to settle again (another push for the same member came first), then the pull (every desk reads
the feed its pushes made, in pages), then ``hub check``.  Goal: ≥ 500 settlements/s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_world import Cluster, hub_check, make_world  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from desktop_app.domain.clock import now_iso  # noqa: E402
from desktop_app.hub import desks, importer, schema  # noqa: E402
from desktop_app.store import config  # noqa: E402
from desktop_app.store.db import connect  # noqa: E402
from desktop_app.sync.outbox import unsent  # noqa: E402
from desktop_app.sync.protocol import PushRequest  # noqa: E402
from tests.hub_fixtures import Hub  # noqa: E402

GOAL = 500  # settlements a second, 50 desks on PostgreSQL
HUB_LINE = re.compile(r"push from desk .*?: (\d+) records, (\d+) applied.*?round (\d+), (\d+) ms")


class Outcome:
    """Every request's answer, gathered from the desks' threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.codes: dict[str, int] = {}
        self.applied = 0
        self.failed: list[tuple[int, bytes]] = []  # (desk, body) to send again
        self.began = self.last = 0.0

    def add(self, desk: int, body: bytes, started: float, code: str, applied: int = 0) -> None:
        with self.lock:
            self.last = max(self.last, time.perf_counter())
            self.latencies.append(time.perf_counter() - started)
            self.codes[code] = self.codes.get(code, 0) + 1
            self.applied += applied
            if code != "200":
                self.failed.append((desk, body))


def send(client: httpx.Client, desk: int, body: bytes, outcome: Outcome) -> None:
    started = time.perf_counter()
    try:
        response = client.post("/v1/push", content=body, headers={"Content-Type": "application/json"})
    except httpx.TimeoutException:
        return outcome.add(desk, body, started, "timeout")
    except httpx.HTTPError as exc:
        return outcome.add(desk, body, started, type(exc).__name__)
    applied = 0
    if response.status_code == 200:
        applied = sum(r["status"] == "applied" and not r["duplicate"] for r in response.json()["results"])
    return outcome.add(desk, body, started, str(response.status_code), applied)


def run_desks(url: str, tokens: list[str], bodies: list[list[bytes]], args: argparse.Namespace) -> Outcome:
    """All desks at once: each sends its bodies in turn; none is started after the deadline."""
    outcome = Outcome()
    start = threading.Barrier(len(tokens) + 1)
    deadline = time.monotonic() + args.deadline

    def desk(i: int) -> None:
        with httpx.Client(base_url=url, timeout=args.timeout, headers={"Authorization": f"Bearer {tokens[i]}"}) as c:
            start.wait()
            for body in bodies[i]:
                if time.monotonic() > deadline:
                    break
                send(c, i, body, outcome)

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    start.wait()
    outcome.began = time.perf_counter()
    for t in threads:
        t.join()
    return outcome


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def desk_bodies(records: list, desks_count: int, each: int, batch: int) -> list[list[bytes]]:
    """Each member's records to one desk (by a hash of the member), the first ``each`` a desk, as request bodies."""
    mine: list[list] = [[] for _ in range(desks_count)]
    for record in records:
        group = mine[zlib.crc32(record.psn_no.encode()) % desks_count]
        if len(group) < each:
            group.append(record)
    return [
        [
            PushRequest(desk_clock=now_iso(), records=group[i : i + batch]).model_dump_json().encode()
            for i in range(0, len(group), batch)
        ]
        for group in mine
    ]


def pull_all(url: str, tokens: list[str], cursor: int, timeout: float) -> str:
    """Every desk reads the feed from ``cursor`` to its end, in pages of 1,000, all at once."""
    counts, errors, start = [0] * len(tokens), [], threading.Barrier(len(tokens) + 1)

    def desk(i: int) -> None:
        at = cursor
        with httpx.Client(base_url=url, timeout=timeout, headers={"Authorization": f"Bearer {tokens[i]}"}) as c:
            start.wait()
            while True:
                try:
                    page = c.get("/v1/changes", params={"cursor": at, "limit": 1000})
                except httpx.HTTPError as exc:
                    return errors.append(type(exc).__name__)
                if page.status_code != 200:
                    return errors.append(str(page.status_code))
                data = page.json()
                counts[i] += len(data["changes"])
                at = data["next_cursor"]
                if not data["more"]:
                    return None

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    return (
        f"pull: {len(tokens)} desks read {sum(counts):,} changes ({counts[0]:,} each) in {seconds:.1f} s = "
        f"{sum(counts) / seconds:,.0f} changes/s; errors {len(errors)} {sorted(set(errors))}"
    )


def one_run(name: str, url: str, world: tuple[Path, Path], desks_count: int, args, root: Path) -> None:
    source, desk_path = world
    engine = schema.engine_for(url)
    importer.import_desk_database(engine, str(source))
    desk_db = connect(desk_path)
    own, region = config.facility(desk_db.conn), config.get(desk_db.conn, "region")
    facility = {k: v for k, v in vars(own).items() if v is not None}
    tokens = [desks.register_desk(engine, f"desk-{i:03d}", own.id, region, facility) for i in range(desks_count)]
    bodies = desk_bodies(unsent(desk_db.conn, 10**7), desks_count, args.each, args.batch)
    desk_db.conn.close()
    with engine.connect() as conn:
        head = conn.execute(select(func.max(schema.changes.c.seq))).scalar_one()
    os.environ["XDG_STATE_HOME"] = str(root / f"state-{name}")  # the hub's log, with a line per push
    hub = Hub(url, root / f"hub-{name}.out").start()
    try:
        outcome = run_desks(hub.url, tokens, bodies, args)
        seconds = outcome.last - outcome.began
        fivexx = sum(n for code, n in outcome.codes.items() if code.startswith("5"))
        print(
            f"{name}: {desks_count} desks × {args.each} settlements, requests of up to {args.batch}: "
            f"{outcome.applied:,} applied in {seconds:.1f} s = {outcome.applied / seconds:,.0f}/s; latency p50 "
            f"{statistics.median(outcome.latencies):.2f} s, p99 {percentile(outcome.latencies, 0.99):.2f} s; "
            f"time-outs {outcome.codes.get('timeout', 0)}, 5xx {fivexx}; answers {outcome.codes}"
        )
        for desk, body in outcome.failed:  # as each desk would at its next sync
            with httpx.Client(base_url=hub.url, timeout=600, headers={"Authorization": f"Bearer {tokens[desk]}"}) as c:
                send(c, desk, body, Outcome())
        print(f"  {hub_lines(root / f'state-{name}' / 'gongji-front-desk' / 'log' / 'hub.log')}")
        if not args.no_pull:
            print(f"  {pull_all(hub.url, tokens, head, args.timeout)}")
    finally:
        hub.stop()
        engine.dispose()
    print(f"  {hub_check(url)}")


def hub_lines(log: Path) -> str:
    """What the hub says about its own batches: time per batch, and how many it settled more than once."""
    lines = [tuple(map(int, m.groups())) for m in HUB_LINE.finditer(log.read_text(encoding="utf-8"))]
    if not lines:
        return "the hub logged no push"
    ms = [line[3] for line in lines]
    again = sum(line[2] > 1 for line in lines)
    return (
        f"the hub: {len(lines)} batches, {statistics.median(ms):.0f} ms each (p99 {percentile(ms, 0.99):.0f} ms), "
        f"{again} settled again after another push for the same member came first"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--desks", type=int, default=50, help="desks on the PostgreSQL hub")
    parser.add_argument("--sqlite-desks", type=int, default=20, help="desks on the SQLite hub")
    parser.add_argument("--each", type=int, default=200, help="settlements each desk pushes")
    parser.add_argument("--batch", type=int, default=500, help="records per request (the desk's default)")
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--timeout", type=float, default=30.0, help="each request's time-out (the desk's)")
    parser.add_argument("--deadline", type=float, default=600.0, help="no request starts after this many seconds")
    parser.add_argument("--skip-postgresql", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--no-pull", action="store_true")
    args = parser.parse_args()
    runs = [] if args.skip_postgresql else [("postgresql", args.desks)]
    runs += [] if args.skip_sqlite else [("sqlite", args.sqlite_desks)]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        t = time.perf_counter()
        visits = int(max(n for _, n in runs) * args.each * 1.4)  # enough for every desk to have its share
        world = make_world(root, args.members, visits)
        print(
            f"demo: {args.members:,} members, {visits:,} visits through the counter's checkout: "
            f"{time.perf_counter() - t:.0f} s"
        )
        for name, count in runs:
            if name == "postgresql":
                with Cluster() as cluster:
                    one_run(name, cluster.new_database(), world, count, args, root)
            else:
                one_run(name, f"sqlite:///{root / 'hub.db'}", world, count, args, root)


if __name__ == "__main__":
    main()
