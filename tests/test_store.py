"""The SQLite store: durable settings, append-only journal, tamper-evident audit, safe migrations."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from desktop_app.services import checkout
from desktop_app.services.verify import verify
from desktop_app.store import migrations
from desktop_app.store.db import connect
from tests.store_fixtures import TODAY, copy_db


@pytest.fixture
def db(templates, tmp_path):
    return copy_db(templates, "guangxi", tmp_path / "desk.db")


def test_wal_and_full_sync(db):
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_demo_database_verifies(db):
    assert verify(db.conn) == []
    assert db.conn.execute("SELECT count(*) FROM settlements").fetchone()[0] > 250


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE settlements SET hifp_pay = 0",
        "DELETE FROM settlements",
        "UPDATE audit_log SET operator = 'x'",
        "DELETE FROM account_entries",
    ],
)
def test_journal_audit_and_ledger_are_append_only(db, sql):
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.conn.execute(sql)


def test_verify_detects_a_changed_audit_row(db):
    db.conn.execute("DROP TRIGGER audit_log_no_update")  # what someone with a SQLite shell could do
    db.conn.execute("UPDATE audit_log SET detail = '{}' WHERE id = 5")
    assert any("第 5 条内容与其哈希不符" in p for p in verify(db.conn))


def test_verify_detects_a_deleted_audit_row(db):
    db.conn.execute("DROP TRIGGER audit_log_no_delete")
    db.conn.execute("DELETE FROM audit_log WHERE id = 7")
    assert any("缺失" in p for p in verify(db.conn))


def test_verify_detects_usage_that_differs_from_the_journal(db):
    db.conn.execute(  # a hand edit of one counter (usage is keyed by member, year and counter: no rowid)
        "UPDATE usage SET amount = amount + 1 WHERE (psn_no, year, counter) = (SELECT psn_no, year, counter FROM usage)"
    )
    problems = verify(db.conn)
    assert any(p.startswith("usage:") for p in problems)


def test_verify_command_exit_code(db, tmp_path):
    path = tmp_path / "desk.db"
    ok = subprocess.run(
        [sys.executable, "-m", "desktop_app", "verify", "--db", str(path)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    db.conn.execute("UPDATE members SET account_balance = account_balance + 1 WHERE rowid = 1")
    bad = subprocess.run(
        [sys.executable, "-m", "desktop_app", "verify", "--db", str(path)], capture_output=True, text=True
    )
    assert bad.returncode == 1 and "account:" in bad.stderr


def test_a_new_migration_backs_up_first_and_runs_in_its_own_transaction(db, tmp_path, monkeypatch):
    path = tmp_path / "desk.db"
    checkout.confirm(
        db,
        {
            "member": {"psn_no": db.conn.execute("SELECT psn_no FROM members LIMIT 1").fetchone()[0]},
            "date": TODAY.isoformat(),
            "diagnoses": ["J06.900"],
            "items": [{"code": "FW000"}],
        },
        "shouyin",
        today=TODAY,
    )
    db.conn.close()

    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("power cut in the middle of a migration")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, ("0002_test", broken)])
    with pytest.raises(RuntimeError):
        connect(path)
    backup = path.with_name("desk.db.before-0002_test.bak")
    assert backup.is_file()
    copy = sqlite3.connect(backup)
    assert copy.execute("SELECT count(*) FROM settlements").fetchone()[0] > 0
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM _migrations WHERE name = '0002_test'").fetchone()[0] == 0


def test_backup_while_open_is_a_verified_copy(templates, tmp_path):
    from desktop_app.cli import main

    db = copy_db(templates, "guangxi", tmp_path / "desk.db")  # held open, as the window does
    assert main(["backup", "--db", str(tmp_path / "desk.db"), "--out", str(tmp_path / "copy.db")]) == 0
    assert (
        main(["backup", "--db", str(tmp_path / "desk.db"), "--out", str(tmp_path / "copy.db")]) == 2
    )  # never overwrites
    copy = connect(tmp_path / "copy.db")
    assert verify(copy.conn) == []
    assert (
        copy.conn.execute("SELECT count(*) FROM settlements").fetchone()
        == db.conn.execute("SELECT count(*) FROM settlements").fetchone()
    )


def test_0010_keeps_the_usage_and_the_diagnoses_and_their_guards(tmp_path, monkeypatch):
    """Migration 0010 rebuilds usage and visit_diagnoses keyed by their primary key alone (fewer pages a confirm,
    issue 16): a desk made before it keeps every row, still verifies, and its diagnoses stay append-only."""
    from desktop_app.services.demo import generate

    path = tmp_path / "old.db"
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:9])
    db = connect(path)
    generate(db, 60, seed=7, visits=40, today=TODAY)
    rows = {t: sorted(db.conn.execute(f"SELECT * FROM {t}").fetchall()) for t in ("usage", "visit_diagnoses")}
    db.conn.close()
    monkeypatch.undo()

    db = connect(path)
    assert rows["usage"] and rows["visit_diagnoses"]
    for table, before in rows.items():
        assert sorted(db.conn.execute(f"SELECT * FROM {table}").fetchall()) == before
        sql = db.conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        assert sql.rstrip().endswith("WITHOUT ROWID")
    assert verify(db.conn) == []
    for statement in ("UPDATE visit_diagnoses SET name = 'x'", "DELETE FROM visit_diagnoses"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.conn.execute(statement)
    assert path.with_name("old.db.before-0010_keyed_per_visit_rows.bak").is_file()
