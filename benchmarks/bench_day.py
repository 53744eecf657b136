"""Memory after a day's work: the counter's window, in a process of its own, after 500 visits by keyboard.

Path: ``day_at_the_counter.py`` (the window on the app's default demo database, 2,000 members, as ``make run``
makes it) works ``--visits`` visits, with a refund every 50th and day-end every 100th; its resident memory
(VmRSS) after the last visit is the figure.  Floor: a fresh process showing a bare PySide6 window, its VmRSS
(what Qt and Python cost before any of ours).  Goal (issue 16): ≤ 250 MB after a day's work; no ratio goal
(the floor shows what is Qt's).  The process is fresh: no pytest, no test fixtures in its memory.
Run: ``make bench`` or ``.venv/bin/python benchmarks/bench_day.py [--visits N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure import BARE_WINDOW, Figure, p90, report  # noqa: E402

from desktop_app.services.demo import DEFAULT_DEMO_MEMBERS, generate  # noqa: E402
from desktop_app.store.db import connect  # noqa: E402

GOAL_MB = 250
BARE = (
    BARE_WINDOW
    + """
from pathlib import Path
print([line.split()[1] for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmRSS:")][0])
"""
)


def spread(seconds: list[float]) -> str:
    """Median and p90 of ``seconds``, in ms, with how many."""
    return f"median {statistics.median(seconds) * 1e3:.2f} ms, p90 {p90(seconds) * 1e3:.2f} ms ({len(seconds)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visits", type=int, default=500)
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "desk.db"
        db = connect(path)
        generate(db, DEFAULT_DEMO_MEMBERS, seed=3)
        db.conn.close()
        bare = subprocess.run([sys.executable, "-c", BARE], env=env, capture_output=True, text=True, check=True)
        day = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "day_at_the_counter.py"), str(path), str(args.visits)],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
        )
    if day.returncode != 0:
        raise SystemExit(f"day_at_the_counter.py exited {day.returncode}:\n{day.stderr[-3000:]}")
    result = json.loads(day.stdout.strip().splitlines()[-1])
    rss = {int(k): v for k, v in result["rss"].items()}
    bare_mb = int(bare.stdout.strip()) / 1024
    last = max(rss)
    figures = [
        Figure(
            f"resident memory after {last} visits",
            [rss[last]],  # in MB, as the unit says (a Figure scales only µs and ms)
            [bare_mb],
            "a fresh process showing a bare PySide6 window",
            GOAL_MB,
            None,
            unit="MB",
        )
    ]
    report(
        f"a day at the counter: {last} visits by keyboard in the window's own process (offscreen)",
        figures,
        [
            "resident memory (MB) by visit: " + ", ".join(f"{n}: {mb:.0f}" for n, mb in sorted(rss.items())),
            f"largest resident memory {result['hwm']:.0f} MB; the visits took {result['seconds']:.0f} s "
            f"({result['seconds'] / last * 1000:.0f} ms a visit, with its receipt)",
            "in the window, a visit's confirm (checkout.confirm in the worker, between the visit's other work): "
            + spread(result["confirm"]),
            "in the window, Enter on the confirm step to 结算成功 (the commit, the receipt written): "
            + spread(result["enter_to_settled"]),
        ],
    )


if __name__ == "__main__":
    main()
