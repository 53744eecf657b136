"""部分退费 (issue 17, point 6): the member returns chosen lines; the whole is reversed and the rest settled again.

Driven with the keyboard through pytest-qt on a real SQLite desk; then the desk syncs with the real hub process.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from desktop_app.domain.errors import InputError
from desktop_app.hub import checks, desks, schema
from desktop_app.services import checkout, daybook, partial_refund, settings
from desktop_app.services.verify import verify
from desktop_app.store import journal
from desktop_app.store.db import connect
from desktop_app.sync.client import sync
from desktop_app.ui.dialogs.history import REFUND_REASONS
from desktop_app.ui.dialogs.return_lines import ReturnLinesDialog
from tests.hub_fixtures import seeded_hub
from tests.store_fixtures import DX
from tests.test_refund_dayend import open_history_at, pdf_text
from tests.test_window import TODAY, key

ROOT = Path(__file__).resolve().parents[1]
FACILITY = {"kind": "community_health_centre", "level": 1, "id": "H45010300001"}
AMOUNTS = ("hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")


def visit(db) -> dict:
    """Three priced lines for a member with an account, the account used: fund, account and cash all move."""
    psn = db.conn.execute(
        "SELECT psn_no FROM members WHERE scheme = 'combined' AND account_balance > 5000 ORDER BY psn_no LIMIT 1"
    ).fetchone()[0]
    codes = [
        r[0]
        for r in db.conn.execute(
            "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 AND category IN ('A', 'B') "
            "ORDER BY price DESC LIMIT 3"
        )
    ]
    return {
        "member": {"psn_no": psn},
        "diagnoses": DX,
        "date": TODAY.isoformat(),
        "items": [{"code": c, "quantity": 2} for c in codes],
    }


def adds_up(entry: journal.Entry) -> bool:
    return entry.hifp_pay + entry.acct_pay + entry.acct_mulaid_pay + entry.psn_cash_pay == entry.medfee_sumamt


def expected_again(tmp_path, db, case: dict, original: dict) -> dict:
    """What the kept lines cost when the original is refunded whole and they are quoted anew, on a copy."""
    with sqlite3.connect(tmp_path / "copy.db") as target:
        db.conn.backup(target)  # the desk's file and its WAL as they stand
    copy = connect(tmp_path / "copy.db")
    checkout.refund(copy, original["uuid"], "admin", "admin123", reason="x")
    kept = {**case, "items": [case["items"][0], case["items"][2]]}
    figures = checkout.quote_dict(checkout.build_quote(copy.conn, kept, TODAY))
    copy.conn.close()
    return figures


def test_a_partial_refund_by_keyboard_recomputes_the_kept_lines(desk, qtbot, tmp_path):
    window, db = desk
    settings.add_operator(db, "admin", "admin123", "lisi", "cashier", "secret1")
    case = visit(db)
    original = checkout.confirm(db, case, "lisi", today=TODAY, at=f"{TODAY.isoformat()}T09:30:00+08:00")
    expected = expected_again(tmp_path, db, case, original)

    dialog = open_history_at(qtbot, window, original["uuid"])
    key(qtbot, window, Qt.Key_F9)
    qtbot.waitUntil(
        lambda: isinstance(getattr(dialog, "picker", None), ReturnLinesDialog) and dialog.picker.isVisible()
    )
    picker = dialog.picker
    assert QApplication.focusWidget() is picker.lines and picker.lines.count() == 3
    key(qtbot, picker, Qt.Key_Return)  # nothing ticked: it says what to do, and stays
    assert "空格" in picker.message.text() and picker.isVisible()
    key(qtbot, picker, Qt.Key_Down)
    key(qtbot, picker, Qt.Key_Space)  # the second line comes back
    assert picker.returned() == [1] and picker.kept() == [0, 2]
    key(qtbot, picker, Qt.Key_Return)
    qtbot.waitUntil(lambda: dialog.auth.isVisible())
    auth = dialog.auth
    qtbot.waitUntil(lambda: QApplication.focusWidget() in (auth.reason, auth.reason.lineEdit()))
    shown = "".join(label.text() for label in auth.findChildren(QLabel))
    assert "退回项目" in shown and "保留项目" in shown and "lisi" in shown
    key(qtbot, auth, Qt.Key_Down)
    assert auth.reason_text() == REFUND_REASONS[1]
    key(qtbot, auth, Qt.Key_Return)
    for field, text in ((auth.name, "admin"), (auth.password, "admin123")):
        qtbot.keyClicks(field, text)
        qtbot.keyClick(field, Qt.Key_Return)
    qtbot.waitUntil(lambda: "已部分退费" in dialog.message.text(), timeout=10_000)

    refund = journal.get(db.conn, journal.refund_of(db.conn, original["uuid"]))
    first = journal.get(db.conn, original["uuid"])
    assert all(getattr(refund, f) == -getattr(first, f) for f in ("medfee_sumamt", *AMOUNTS))  # exact negation
    (again_uuid,) = db.conn.execute(
        "SELECT uuid FROM settlements WHERE json_extract(output_json, '$.replaces') = ?", (first.uuid,)
    ).fetchone()
    again = journal.get(db.conn, again_uuid)
    record = journal.output(again)
    assert record["replaces"] == first.uuid and record["partial_refund"] == refund.uuid
    assert [i["code"] for i in record["items"]] == [case["items"][0]["code"], case["items"][2]["code"]]
    assert again.operator == "lisi" and again.visit_date == first.visit_date  # the cashier of record's, same day
    assert adds_up(first) and adds_up(refund) and adds_up(again)
    assert {k: record[k] for k in ("medfee_sumamt", *AMOUNTS)} == {k: expected[k] for k in ("medfee_sumamt", *AMOUNTS)}
    back = Decimal(original["psn_cash_pay"]) - Decimal(record["psn_cash_pay"])
    assert f"退还现金 {back}" in dialog.message.text() and "lisi" in dialog.message.text()
    assert journal.output(refund)["reason"] == REFUND_REASONS[1] and REFUND_REASONS[1] in "".join(record["warnings"])
    assert "部分退费" in pdf_text(window.receipt_folder / f"{again_uuid}.pdf")
    report = daybook.day_report(db.conn, TODAY)
    lisi = report.by_cashier["lisi"]
    assert (lisi.settlements, lisi.refunds, lisi.cash_due) == (2, 1, Decimal(record["psn_cash_pay"]))
    assert set(report.by_cashier) == {"lisi"}  # nothing booked to the supervisor
    assert verify(db.conn) == []


def test_a_partial_refund_keeps_some_lines_and_not_all(templates, tmp_path):
    from tests.store_fixtures import copy_db

    db = copy_db(templates, "guangxi", tmp_path / "desk.db")
    original = checkout.confirm(db, visit(db), "shouyin", today=TODAY)
    before = db.conn.execute("SELECT count(*) FROM settlements").fetchone()[0]
    for keep, words in (([], "全部退费"), ([0, 1, 2], "全部保留"), ([0, 0], "不重复"), ([3], "1 到 3"), ("1", "行号")):
        with pytest.raises(InputError, match=words):
            partial_refund.partial_refund(db, original["uuid"], keep, "admin", "admin123", "重复收费", today=TODAY)
    with pytest.raises(InputError, match="退费原因"):
        partial_refund.partial_refund(db, original["uuid"], [0], "admin", "admin123", "  ", today=TODAY)
    assert db.conn.execute("SELECT count(*) FROM settlements").fetchone()[0] == before  # nothing written
    db.conn.close()


def test_the_hub_accepts_a_partial_refund_and_recomputes_both(templates, tmp_path, hub_url):
    hub = seeded_hub(hub_url, templates["guangxi"], tmp_path / "hub.log")
    engine = schema.engine_for(hub_url)
    try:
        shutil.copy(templates["guangxi"], tmp_path / "desk.db")
        db = connect(tmp_path / "desk.db")
        token = desks.register_desk(engine, "desk-A", FACILITY["id"], "guangxi", FACILITY)
        original = checkout.confirm(db, visit(db), "shouyin", today=TODAY)
        sync(db, hub.url, token)  # the original reaches the hub first, as on a day with the network up
        done = partial_refund.partial_refund(db, original["uuid"], [0, 2], "admin", "admin123", "重复收费", today=TODAY)
        report = sync(db, hub.url, token)
        assert report.pushed == 2 and report.applied == 2 and report.set_aside == [] and report.reviews == []
        assert checks.check(engine) == []
        assert verify(db.conn) == []
        assert Decimal(done["cash_back"]) >= 0
        db.conn.close()
    finally:
        hub.stop()
        engine.dispose()


def test_the_command_line_refunds_chosen_lines_and_needs_a_reason(templates, tmp_path):
    from tests.store_fixtures import copy_db

    db = copy_db(templates, "guangxi", tmp_path / "desk.db")
    original = checkout.confirm(db, visit(db), "shouyin", today=dt.date.today())
    db.conn.close()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GONGJI_")}, "GONGJI_PASSWORD": "admin123"}

    def refund(*args: str) -> subprocess.CompletedProcess:
        command = [
            sys.executable,
            "-m",
            "desktop_app",
            "refund",
            "--db",
            str(tmp_path / "desk.db"),
            "--operator",
            "admin",
        ]
        return subprocess.run(
            [*command, *args, original["uuid"]],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    missing = refund("--keep", "1,3")
    assert missing.returncode == 2 and "--reason" in missing.stderr and "Traceback" not in missing.stderr
    done = refund("--reason", "重复收费", "--keep", "1,3")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["settlement"]["replaces"] == original["uuid"] and len(out["settlement"]["items"]) == 2
    assert out["refund"]["reason"] == "重复收费" and out["refund"]["medfee_sumamt"] == "-" + original["medfee_sumamt"]
    again = refund("--reason", "重复收费")
    assert again.returncode != 0 and "已于退费单" in again.stderr and "Traceback" not in again.stderr
