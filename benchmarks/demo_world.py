"""What the push benchmarks start from: a demo desk whose visits went through the counter, a hub seeded before them.

:func:`make_world` writes two demo databases from the same seed (so the same members, families,
catalogue and opening balances): ``hub-source.db`` with no visits, the export a hub is seeded from,
and ``desk.db``, whose year of visits the demo generator settled through the counter's own checkout
(many members, one to four real items each, fund and account amounts, about 1% refunded).  The
generator marks that year as already sent; here it is waiting in the desk's outbox instead, so a
push carries realistic settlements whose figures the hub recomputes from the same data.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop_app.services.demo import generate  # noqa: E402
from desktop_app.store.db import connect  # noqa: E402
from tests.hub_fixtures import Postgres  # noqa: E402


def make_world(root: Path, members: int, visits: int, seed: int = 5) -> tuple[Path, Path]:
    """(the hub's seed export, the desk with ``visits`` settled visits unsent); both in ``root``."""
    source, desk = root / "hub-source.db", root / "desk.db"
    for path, count in ((source, 0), (desk, visits)):
        db = connect(path)
        generate(db, members, seed=seed, visits=count)
        db.conn.close()
    db = connect(desk)
    with db.conn:
        db.conn.execute("UPDATE outbox SET sent_at = NULL")
    db.conn.close()
    return source, desk


class Cluster:
    """A throwaway PostgreSQL 15 cluster on 127.0.0.1 (as the tests start one), with fresh databases."""

    def __enter__(self) -> Cluster:
        self.folder = Path(tempfile.mkdtemp(prefix="gongji-bench-pg-", dir="/tmp"))  # a short socket path
        self.pg = Postgres(self.folder).start()
        return self

    def new_database(self) -> str:
        return self.pg.new_database()

    def __exit__(self, *exc) -> None:
        self.pg.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def hub_check(url: str) -> str:
    """``desktop-app hub check``, run as the agency runs it; one line: ok or the problems, and what it lists."""
    done = subprocess.run(
        [sys.executable, "-m", "desktop_app", "hub", "check", "--db", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return f"hub check failed (exit {done.returncode}): {done.stderr.strip()[-300:]}"
    listed = ", ".join(f"{len(report[k])} {k.replace('_', ' ')}" for k in ("clawbacks", "differences", "set_aside"))
    problems = report["problems"]
    head = "ok" if report["ok"] else f"{len(problems)} PROBLEMS, e.g. {problems[:3]}"
    return (
        f"hub check: {head} (exit {done.returncode}); listed for review: {listed}, {len(report['rejected'])} rejected"
    )
