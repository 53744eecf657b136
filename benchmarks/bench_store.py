"""Member lookup on a 1,000,000-member demo database: by ID number, by psn_no, by name.

Baseline in the same run: a primary-key read of one settings row (the cheapest query).
Run: ``.venv/bin/python benchmarks/bench_store.py [--members N] [--db PATH]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.services import checkout  # noqa: E402
from desktop_app.services.demo import generate  # noqa: E402
from desktop_app.store import members  # noqa: E402
from desktop_app.store.db import connect  # noqa: E402


def median_ms(fn, args: list) -> float:
    samples = []
    for a in args:
        start = time.perf_counter()
        fn(a)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp()) / "bench.db"
    db = connect(path)
    if not db.conn.execute("SELECT count(*) FROM members").fetchone()[0]:
        start = time.perf_counter()
        counts = generate(db, args.members, seed=3, visits=2000)
        print(
            f"demo-data: {counts['members']:,} members, {counts['settlements']:,} settlements "
            f"in {time.perf_counter() - start:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)"
        )
    conn = db.conn
    rng = random.Random(5)
    rows = conn.execute(
        "SELECT psn_no, certno, name FROM members WHERE rowid IN "
        f"({','.join(str(rng.randint(1, args.members)) for _ in range(300))})"
    ).fetchall()
    baseline = median_ms(lambda _: conn.execute("SELECT value FROM settings WHERE key = 'region'").fetchone(), rows)
    figures = {
        "by ID number (certno)": median_ms(lambda r: checkout.lookup(conn, r[1]), rows),
        "by psn_no": median_ms(lambda r: checkout.lookup(conn, r[0]), rows),
        "by name, first two characters": median_ms(lambda r: members.search_name(conn, r[2][:2]), rows),
        "by pinyin initials, two letters": median_ms(
            lambda r: members.search_name(conn, members.name_initials(r[2])[:2]), rows
        ),
        "quote a visit (no write)": median_ms(
            lambda r: checkout.build_quote(
                conn, {"member": {"psn_no": r[0]}, "diagnoses": ["J06.900"], "items": [{"code": "FW000"}]}
            ),
            rows[:100],
        ),
    }
    print(f"{'median of 300 lookups':34} {'ms':>8} {'x baseline':>11}")
    print(f"{'baseline: settings row by key':34} {baseline:8.3f} {1:11.1f}")
    for label, ms in figures.items():
        print(f"{label:34} {ms:8.3f} {ms / baseline:11.1f}")


if __name__ == "__main__":
    main()
