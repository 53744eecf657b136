"""Real SQLite files for the tests: a demo database made once as a template, copied per test."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from desktop_app.services.demo import generate
from desktop_app.store.db import connect

TODAY = dt.date(2024, 6, 15)
# A clinic visit's diagnosis (one of the demo catalogue's): the tests whose subject is not the diagnosis give it.
DX = ["J06.900"]
# When the test desks settle their visits of TODAY (the hub checks they agree).
AT = f"{TODAY.isoformat()}T10:00:00+08:00"


def make_template(path: Path, region: str, members: int = 400) -> Path:
    db = connect(path)
    generate(db, members, seed=7, region=region, today=TODAY, visits=300)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return path


@pytest.fixture(scope="session")
def templates(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("templates")
    return {r: make_template(root / f"{r}.db", r) for r in ("guangxi", "sichuan-provincial", "henan-city-draft")}


def copy_db(templates: dict[str, Path], region: str, target: Path):
    shutil.copy(templates[region], target)
    return connect(target)
