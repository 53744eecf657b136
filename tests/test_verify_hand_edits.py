"""`verify` catches what someone with the file and the sqlite3 shell might do in a clinic's back room.

Each edit is made as an attacker would: raw SQL on the closed file, dropping the append-only
triggers first where they stand in the way, keeping sums that add up.  Then the real
`desktop-app verify` must exit 1 and name the problem.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.services import checkout, settings
from tests.store_fixtures import DX, TODAY, copy_db

ROOT = Path(__file__).resolve().parents[1]


def without_triggers(conn: sqlite3.Connection) -> None:
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")


def last_settlement(conn) -> str:
    return conn.execute(
        "SELECT uuid FROM settlements WHERE kind = 'settlement' ORDER BY rowid DESC LIMIT 1"
    ).fetchone()[0]


EDITS = {
    "the last audit rows deleted": (
        lambda c: c.execute("DELETE FROM audit_log WHERE id > (SELECT max(id) - 2 FROM audit_log)"),
        "审计记录",
    ),
    "the whole audit table deleted": (lambda c: c.execute("DELETE FROM audit_log"), "审计记录"),
    "a cashier promoted to supervisor": (
        lambda c: c.execute("UPDATE operators SET role = 'supervisor' WHERE name = 'shouyin'"),
        "操作员",
    ),
    "a setting edited": (lambda c: c.execute("UPDATE settings SET value = '3' WHERE key = 'facility.level'"), "设置"),
    "a hub address slipped in": (
        lambda c: c.execute("INSERT OR REPLACE INTO settings VALUES ('sync.hub', 'http://evil.example')"),
        "设置",
    ),
    "a catalogue price edited": (
        lambda c: c.execute("UPDATE catalogue SET price = price * 10 WHERE code = (SELECT min(code) FROM catalogue)"),
        "医保目录",
    ),
    "a published figure edited": (
        lambda c: c.execute("INSERT OR REPLACE INTO published_figures VALUES ('yunfu', 'avg_wage', '2024', '999999')"),
        "公布数",
    ),
    "a settlement's operator changed": (
        lambda c: c.execute("UPDATE settlements SET operator = 'admin' WHERE uuid = ?", (last_settlement(c),)),
        "操作员",
    ),
    "1.00 moved from cash to the fund, the sum kept": (
        lambda c: c.execute(
            "UPDATE settlements SET psn_cash_pay = psn_cash_pay - 100, hifp_pay = hifp_pay + 100 WHERE uuid = ?",
            (last_settlement(c),),
        ),
        "hifp_pay",
    ),
}


@pytest.fixture
def desk(templates, tmp_path) -> Path:
    db = copy_db(templates, "guangxi", tmp_path / "desk.db")
    psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' ORDER BY psn_no LIMIT 1").fetchone()[0]
    code = db.conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY code LIMIT 1"
    ).fetchone()[0]
    checkout.confirm(
        db,
        {
            "member": {"psn_no": psn},
            "diagnoses": DX,
            "items": [{"code": code, "quantity": 30}],
            "payment": {"use_account": False},
        },
        "shouyin",
        today=TODAY,
    )
    settings.change(db, "admin", "admin123", {"printer.layout": "a5"})  # an audited change of settings
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return tmp_path / "desk.db"


def verify(db: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", "verify", "--db", str(db)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_an_untouched_desk_verifies(desk):
    result = verify(desk)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "problems": []}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_each_hand_edit_is_caught(desk, edit):
    change, word = EDITS[edit]
    with sqlite3.connect(desk) as conn:
        without_triggers(conn)
        change(conn)
    conn.close()
    result = verify(desk)
    assert result.returncode == 1, (result.returncode, result.stderr)
    problems = json.loads(result.stdout)["problems"]
    assert any(word in p for p in problems), problems
