"""Diagnosis search (issue 18): 30,000 diagnoses, as the platform's 1307 download holds, in a real SQLite file.

Each query is what a cashier types into the diagnosis box: a code's first characters (``I1``, ``E11``), pinyin
initials (``gxy``), a piece of a name (``高血压``), a whole code.  The floor, timed in the same rounds, alternated
query by query, is the raw indexed SELECT that finds the same rows (a name's piece: the same LIKE).
Goal: p90 under 20 ms.  Run: ``.venv/bin/python benchmarks/bench_diagnosis.py [--rows N]``.
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

from desktop_app.domain.diagnosis import Diagnosis  # noqa: E402
from desktop_app.store import diagnoses  # noqa: E402
from desktop_app.store.db import connect  # noqa: E402

GOAL_MS = 20.0
WORDS = (  # the characters diagnosis names are made of
    "高血压糖尿病急性慢性上呼吸道感染支气管炎胃肠肝胆肾脏心脑血管病变"
    "综合征损伤骨折关节颈腰椎间盘突出皮肤过敏性鼻炎结膜中耳"
)


def make(path: Path, count: int) -> list[Diagnosis]:
    rng = random.Random(18)
    rows, seen = [], set()
    while len(rows) < count:
        code = f"{rng.choice('ABCDEFGHIJKLMNOPQRSTUVWXYZ')}{rng.randint(0, 99):02d}.{rng.randint(0, 999):03d}"
        if code in seen:
            continue
        seen.add(code)
        rows.append(Diagnosis(code, "".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))))
    db = connect(path)
    with db.conn:
        diagnoses.replace_all(db.conn, rows)
    db.conn.close()
    return rows


def queries(rows: list[Diagnosis], conn, n: int) -> list[tuple[str, str]]:
    """(kind, text) as typed: a code prefix, initials, a piece of a name, a whole code."""
    rng = random.Random(5)
    picked = rng.sample(rows, n)
    initials = dict(conn.execute("SELECT code, initials FROM diagnoses"))
    made = []
    for i, d in enumerate(picked):
        kind = ("code prefix", "initials", "name piece", "whole code")[i % 4]
        text = {
            "code prefix": d.code[: rng.choice((2, 3))],
            "initials": initials[d.code][: rng.choice((2, 3))],
            "name piece": d.name[rng.randint(0, len(d.name) - 2) :][:2],
            "whole code": d.code,
        }[kind]
        made.append((kind, text))
    return made


def floor(conn, kind: str, text: str) -> list:
    """The raw SELECT that finds the same rows, on the same indexes."""
    if kind == "whole code":
        return conn.execute("SELECT * FROM diagnoses WHERE code = ?", (text,)).fetchall()
    if kind == "code prefix":
        sql, key = "SELECT * FROM diagnoses WHERE code >= ? AND code < ? ORDER BY code LIMIT 20", text
    elif kind == "initials":
        sql, key = "SELECT * FROM diagnoses WHERE initials >= ? AND initials < ? ORDER BY initials LIMIT 20", text
    else:
        return conn.execute("SELECT * FROM diagnoses WHERE name LIKE ? LIMIT 20", (f"%{text}%",)).fetchall()
    return conn.execute(sql, (key, key + "\U0010ffff")).fetchall()


def spread(samples: list[float]) -> tuple[float, float, float]:
    """(median, IQR, p90) in ms."""
    q = statistics.quantiles(samples, n=10)
    quartiles = statistics.quantiles(samples, n=4)
    return statistics.median(samples), quartiles[2] - quartiles[0], q[8]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "diagnoses.db"
    start = time.perf_counter()
    rows = make(path, args.rows)
    print(f"{args.rows:,} diagnoses written in {time.perf_counter() - start:.1f} s")
    conn = connect(path).conn
    asked = queries(rows, conn, args.queries)
    ours: dict[str, list[float]] = {}
    raw: dict[str, list[float]] = {}
    for _ in range(3):  # rounds: each query's floor and search alternate, so both see the same cache
        for kind, text in asked:
            t0 = time.perf_counter()
            floor(conn, kind, text)
            t1 = time.perf_counter()
            found = diagnoses.search(conn, text)
            t2 = time.perf_counter()
            assert found or kind == "name piece", (kind, text)
            raw.setdefault(kind, []).append((t1 - t0) * 1000)
            ours.setdefault(kind, []).append((t2 - t1) * 1000)
    print(f"{'query':<14}{'median':>9}{'IQR':>8}{'p90':>8}{'floor':>9}{'ratio':>8}   goal p90 < {GOAL_MS:.0f} ms")
    everything = [t for samples in ours.values() for t in samples]
    for kind in ours:
        median, iqr, p90 = spread(ours[kind])
        base = statistics.median(raw[kind])
        met = "met" if p90 < GOAL_MS else "NOT met"
        print(f"{kind:<14}{median:>8.2f}{iqr:>8.2f}{p90:>8.2f}{base:>9.3f}{median / base:>7.1f}x   {met}")
    median, iqr, p90 = spread(everything)
    print(f"{'all':<14}{median:>8.2f}{iqr:>8.2f}{p90:>8.2f}{'':>9}{'':>8}   {'met' if p90 < GOAL_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
