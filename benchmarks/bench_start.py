"""Start: the counter's window, from a fresh process to usable, against a bare PySide6 window.

Path: ``desktop-app window --self-test`` on a demo database (the interpreter, the imports, the database
opened and checked, the window shown with its rules loaded, then it quits).  Floor: a fresh process that
makes a QApplication and shows a bare QMainWindow, then quits.  Both offscreen, alternated.  Also the
largest resident memory of each.  Goal (issue 16): ≤ 1.5 s to a usable window.
Run: ``make bench`` or ``.venv/bin/python benchmarks/bench_start.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure import BARE_WINDOW, Figure, report  # noqa: E402

from desktop_app.services.demo import generate  # noqa: E402
from desktop_app.store.db import connect  # noqa: E402

GOAL = 1.5


def run(argv: list[str]) -> tuple[float, float]:
    """(seconds from start to exit, largest resident memory in MB) of one fresh process."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv} exited {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "desk.db"
        db = connect(path)
        generate(db, 2000, seed=3, visits=200)
        db.conn.close()
        window = [sys.executable, "-m", "desktop_app", "window", "--db", str(path), "--self-test"]
        bare = [sys.executable, "-c", BARE_WINDOW]
        run(window), run(bare)  # warm the disk cache
        ours, base, ours_mb, base_mb = [], [], [], []
        for i in range(9):
            for argv, into, mb in ((window, ours, ours_mb), (bare, base, base_mb))[:: 1 if i % 2 == 0 else -1]:
                seconds, rss = run(argv)
                into.append(seconds)
                mb.append(rss)
    figures = [Figure("start to a usable window", ours, base, "a bare PySide6 window", GOAL, None, unit="s")]
    report(
        "start, a fresh process each (offscreen)",
        figures,
        [f"largest resident memory: the window {max(ours_mb):.0f} MB, the bare window {max(base_mb):.0f} MB"],
    )


if __name__ == "__main__":
    main()
