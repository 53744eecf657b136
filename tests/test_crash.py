"""Power cuts: a process committing settlements is killed with SIGKILL at random moments, 200 times."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop_app.services.verify import verify
from desktop_app.store.db import connect
from tests.store_fixtures import copy_db

WORKER = Path(__file__).with_name("crash_worker.py")
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_sigkill_200_times_loses_and_doubles_nothing(templates, tmp_path):
    path = tmp_path / "desk.db"
    copy_db(templates, "guangxi", path).conn.close()
    rng = random.Random(20241122)
    reported: list[str] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_ in range(200):
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(path), str(round_ * 1000)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.06))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        reported += [line for line in out.splitlines() if line and not line.startswith("ready")]
    db = connect(path)
    assert verify(db.conn) == []
    assert len(reported) > 200, "the worker should have committed something most rounds"
    placeholders = ",".join("?" * len(reported))
    rows = dict(
        db.conn.execute(
            f"SELECT uuid, count(*) FROM settlements WHERE uuid IN ({placeholders}) GROUP BY uuid", reported
        ).fetchall()
    )
    missing = [u for u in reported if u not in rows]
    assert not missing, f"{len(missing)} confirmed settlements lost"
    assert all(n == 1 for n in rows.values())
    assert len(set(reported)) == len(reported)
