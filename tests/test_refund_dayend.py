"""Refunds with a reason, booked to the cashier of record; the day-end's drawers; 实收/找零; a preview is not a reprint.

Issue 17, points 6 and 8, driven with the keyboard through pytest-qt on real SQLite files.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from desktop_app.domain.errors import InputError
from desktop_app.services import checkout, daybook, receipts, settings
from desktop_app.services.checkout import Approval
from desktop_app.services.verify import verify
from desktop_app.sync.outbox import unsent
from desktop_app.ui import printing
from desktop_app.ui.dialogs import DayEndDialog, HistoryDialog
from desktop_app.ui.dialogs.history import REFUND_REASONS
from tests.store_fixtures import DX
from tests.test_receipts import text_of
from tests.test_window import TODAY, confirm_step, diagnose, key, member_and_item, type_chinese


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(path) -> str:
    return flat("".join(page.extract_text() for page in pypdf.PdfReader(path).pages))


def settle(db, cashier: str, at: str, quantity: int = 2) -> dict:
    """A visit settled by ``cashier``, paid in cash (own account off), today."""
    psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' LIMIT 1").fetchone()[0]
    code = db.conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY price DESC LIMIT 1"
    ).fetchone()
    case = {
        "member": {"psn_no": psn},
        "date": TODAY.isoformat(),
        "diagnoses": DX,
        "items": [{"code": code[0], "quantity": quantity}],
        "payment": {"use_account": False},
    }
    return checkout.confirm(db, case, cashier, today=TODAY, at=f"{TODAY.isoformat()}T{at}+08:00")


def open_history_at(qtbot, window, uuid: str) -> HistoryDialog:
    """F6, the settlement's number typed into the search, Enter: its row is current in the table."""
    key(qtbot, window, Qt.Key_F6)
    dialog = window.dialog
    assert isinstance(dialog, HistoryDialog)
    qtbot.keyClicks(dialog.search, uuid[:8])
    qtbot.waitUntil(lambda: [r.uuid for r in dialog.rows] == [uuid])
    qtbot.keyClick(dialog.search, Qt.Key_Return)
    assert QApplication.focusWidget() is dialog.table and dialog.current().uuid == uuid
    return dialog


def test_a_refund_with_a_reason_is_booked_to_the_cashier_of_record(desk, qtbot):
    window, db = desk  # the window's operator is shouyin; lisi settled the visit; admin authorises
    settings.add_operator(db, "admin", "admin123", "lisi", "cashier", "secret1")
    theirs = settle(db, "lisi", "09:30:00")
    mine = settle(db, "shouyin", "10:15:00", quantity=1)
    dialog = open_history_at(qtbot, window, theirs["uuid"])
    key(qtbot, window, Qt.Key_F8)
    qtbot.waitUntil(lambda: getattr(dialog, "auth", None) is not None and dialog.auth.isVisible())
    auth = dialog.auth
    shown = {label.objectName(): label.text() for label in auth.findChildren(QLabel)}
    certno = db.conn.execute("SELECT certno FROM members WHERE psn_no = ?", (theirs["psn_no"],)).fetchone()[0]
    who = shown["supervisor_detail_参保人"]
    assert theirs["psn_name"] in who and certno[:6] + "********" + certno[-4:] in who and certno not in who
    assert theirs["items"][0]["name"] in shown["supervisor_detail_项目"]
    assert shown["supervisor_detail_退回统筹基金"] == theirs["hifp_pay"]
    assert (
        theirs["psn_cash_pay"] in shown["supervisor_detail_退还现金"] and "lisi" in shown["supervisor_detail_退还现金"]
    )
    # The reason comes first, from the list, with the arrow keys; then the supervisor signs in.
    assert QApplication.focusWidget() in (auth.reason, auth.reason.lineEdit())
    key(qtbot, auth, Qt.Key_Down)
    assert auth.reason_text() == REFUND_REASONS[1]
    key(qtbot, auth, Qt.Key_Return)
    assert QApplication.focusWidget() is auth.name
    for field, text in ((auth.name, "admin"), (auth.password, "admin123")):
        qtbot.keyClicks(field, text)
        qtbot.keyClick(field, Qt.Key_Return)
    qtbot.waitUntil(lambda: "已退费" in dialog.message.text())
    assert "lisi" in dialog.message.text()
    uuid, operator, output = db.conn.execute(
        "SELECT uuid, operator, output_json FROM settlements WHERE original_uuid = ?", (theirs["uuid"],)
    ).fetchone()
    record = json.loads(output)
    assert operator == "admin"  # the journal's operator (audited, and sent to the hub) is who authorised it
    assert (record["cashier"], record["supervisor"], record["reason"]) == ("lisi", "admin", REFUND_REASONS[1])
    by, detail = db.conn.execute(
        "SELECT operator, detail FROM audit_log WHERE action = 'refund' AND subject = ?", (uuid,)
    ).fetchone()
    assert (
        by == "admin" and json.loads(detail)["reason"] == REFUND_REASONS[1] and json.loads(detail)["cashier"] == "lisi"
    )
    assert "reason" not in next(r for r in unsent(db.conn, 100) if r.uuid == uuid).model_dump()  # not in the protocol
    assert verify(db.conn) == []  # every entry still matches its audit entry
    slip = pdf_text(window.receipt_folder / f"{uuid}.pdf")
    assert flat(REFUND_REASONS[1]) in slip and "主管admin授权" in slip and "收款员lisi" in slip
    qtbot.keyClick(dialog, Qt.Key_Escape)
    qtbot.waitUntil(lambda: window.dialog is None and QApplication.focusWidget() is window.member.lookup)

    key(qtbot, window, Qt.Key_F7)
    day_end = window.dialog
    assert isinstance(day_end, DayEndDialog)
    qtbot.waitUntil(lambda: hasattr(day_end, "report"))
    report = day_end.report
    assert set(report.by_cashier) == {"lisi", "shouyin"}  # nothing booked to the supervisor
    lisi, shouyin = report.by_cashier["lisi"], report.by_cashier["shouyin"]
    assert (lisi.settlements, lisi.refunds, lisi.cash_due) == (1, 1, Decimal("0.00"))
    assert lisi.cash_taken == lisi.cash_returned == Decimal(theirs["psn_cash_pay"]) > 0
    assert (shouyin.settlements, shouyin.refunds, shouyin.cash_due) == (1, 0, Decimal(mine["psn_cash_pay"]))
    assert report.cash_due == report.cash == shouyin.cash_due
    table = day_end.cashiers
    rows = {table.item(r, 0).text(): [table.item(r, c).text() for c in range(table.columnCount())] for r in range(2)}
    assert rows["lisi"][-1] == "0.00" and rows["lisi"][2] == "1 笔"
    assert rows["shouyin"][-1] == mine["psn_cash_pay"]
    assert day_end.labels["cash_due"].text() == mine["psn_cash_pay"]

    qtbot.keyClick(day_end, Qt.Key_F5)
    qtbot.waitUntil(lambda: "已导出" in day_end.message.text())
    text = pdf_text(window.export_folder / f"日结-{TODAY.isoformat()}.pdf")
    assert "应交现金" in text and f"收款员shouyin应交现金{mine['psn_cash_pay']}元" in text
    assert "收款员lisi应交现金0.00元" in text
    assert text.count("收款员签字") == 2 and text.count("主管签字") == 2 and "日期" in text
    csv = (window.export_folder / f"日结-{TODAY.isoformat()}.csv").read_text(encoding="utf-8-sig")
    assert f"shouyin,1,{mine['medfee_sumamt']},0,{mine['psn_cash_pay']},0.00,{mine['psn_cash_pay']}" in csv


def test_a_refund_needs_a_real_reason(desk, qtbot):
    window, db = desk
    out = settle(db, "shouyin", "11:00:00")
    dialog = open_history_at(qtbot, window, out["uuid"])
    key(qtbot, window, Qt.Key_F8)
    qtbot.waitUntil(lambda: getattr(dialog, "auth", None) is not None and dialog.auth.isVisible())
    auth = dialog.auth
    for _ in REFUND_REASONS:
        key(qtbot, auth, Qt.Key_Down)
    assert auth.reason_text().startswith("其他")  # the placeholder at the end of the list
    key(qtbot, auth, Qt.Key_Return)
    for field, text in ((auth.name, "admin"), (auth.password, "admin123")):
        qtbot.keyClicks(field, text)
        qtbot.keyClick(field, Qt.Key_Return)
    assert auth.isVisible() and "原因" in auth.message.text()  # refused where it is typed
    assert auth.reason.lineEdit().hasFocus() and auth.reason.lineEdit().selectedText() == auth.reason_text()
    type_chinese(auth.reason.lineEdit(), "患者转院")  # typed over the placeholder: a reason of one's own
    assert auth.reason_text() == "患者转院"
    for field in (auth.reason.lineEdit(), auth.name, auth.password):  # Enter on to the end, which submits
        qtbot.keyClick(field, Qt.Key_Return)
    qtbot.waitUntil(lambda: "已退费" in dialog.message.text())
    record = json.loads(
        db.conn.execute("SELECT output_json FROM settlements WHERE original_uuid = ?", (out["uuid"],)).fetchone()[0]
    )
    assert record["reason"] == "患者转院"
    with pytest.raises(InputError, match="退费原因"):
        checkout.refund(db, settle(db, "shouyin", "11:05:00")["uuid"], "admin", "admin123", reason="  ")


def test_the_receipt_shows_tendered_and_change(desk, qtbot):
    window, db = desk
    psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' LIMIT 1").fetchone()[0]
    code = db.conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY price DESC LIMIT 1"
    ).fetchone()
    member_and_item(qtbot, window, psn, code[0])
    if window.payment.use_account.isChecked():
        key(qtbot, window, Qt.Key_F3)  # own account off: the member pays cash
    qtbot.waitUntil(lambda: window.payment.quote is not None and window.payment.quote["acct_pay"] == "0.00")
    cash = Decimal(window.payment.quote["psn_cash_pay"])
    assert cash > 0
    tendered = (cash // 100 + 1) * 100
    diagnose(qtbot, window)
    key(qtbot, window, Qt.Key_F11)
    qtbot.keyClicks(window.payment.tendered, str(tendered))
    with qtbot.waitSignal(window.settled, timeout=10000) as settled:
        key(qtbot, window, Qt.Key_F12)
        confirm_step(qtbot, window)  # the confirm step (issue 17 point 1): Enter settles
    out = settled.args[0]
    change = tendered - cash
    assert (out["tendered"], out["change"]) == (f"{tendered:.2f}", f"{change:.2f}")
    printed = pdf_text(window.receipt_folder / f"{out['uuid']}.pdf")
    assert f"实收现金{tendered:.2f}" in printed and f"找零{change:.2f}" in printed
    a5 = flat(text_of(receipts.render(db.conn, out["uuid"], "a5")))
    assert f"实收现金{tendered:.2f}" in a5 and f"找零{change:.2f}" in a5
    assert "tendered" not in next(r for r in unsent(db.conn, 500) if r.uuid == out["uuid"]).model_dump()
    exact = settle(db, "shouyin", "12:00:00")  # no amount typed: exact money, no 实收/找零 lines
    assert "实收" not in flat(text_of(receipts.render(db.conn, exact["uuid"], "roll")))


def test_tendered_below_the_cash_writes_nothing(desk):
    _, db = desk
    psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' LIMIT 1").fetchone()[0]
    code = db.conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY price DESC LIMIT 1"
    ).fetchone()
    case = {
        "member": {"psn_no": psn},
        "diagnoses": DX,
        "items": [{"code": code[0], "quantity": 1}],
        "payment": {"use_account": False},
    }
    before = db.conn.execute("SELECT count(*) FROM settlements").fetchone()[0]
    with pytest.raises(InputError, match="实收现金"):
        checkout.confirm(db, case, "shouyin", today=TODAY, tendered="0.01")
    assert db.conn.execute("SELECT count(*) FROM settlements").fetchone()[0] == before


@pytest.mark.parametrize("layout", ["roll", "a5"])
def test_a_price_override_is_printed_with_its_supervisor_and_reason(desk, layout):
    _, db = desk
    psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' LIMIT 1").fetchone()[0]
    code, fen = db.conn.execute(
        "SELECT code, price FROM catalogue WHERE item_kind = 'service' AND price < 8000 AND price_cap IS NULL LIMIT 1"
    ).fetchone()
    case = {"member": {"psn_no": psn}, "diagnoses": DX, "items": [{"code": code, "quantity": 1, "unit_price": "88.80"}]}
    out = checkout.confirm(db, case, "shouyin", today=TODAY, approval=Approval("admin", "admin123", "规格或包装不同"))
    text = flat(text_of(receipts.render(db.conn, out["uuid"], layout)))
    assert "主管admin授权" in text and "规格或包装不同" in text and f"{fen / 100:.2f}" in text


def test_a_preview_is_not_a_reprint(desk, qtbot):
    window, db = desk
    out = settle(db, "shouyin", "10:15:00")
    dialog = open_history_at(qtbot, window, out["uuid"])
    qtbot.keyClick(dialog.table, Qt.Key_Return)  # Enter: the preview
    qtbot.waitUntil(lambda: bool(dialog.findChildren(printing.PreviewDialog)))
    preview = dialog.findChildren(printing.PreviewDialog)[0]
    qtbot.waitUntil(preview.isVisible)
    assert preview.document.pageCount() == 1 and "补打" not in preview.windowTitle()
    assert not list(window.receipt_folder.glob("*补打*"))  # nothing written marked 补打
    previewed = Path(preview.findChildren(QLabel)[0].text())  # the dialog names the file it shows
    assert window.receipt_folder not in previewed.parents and "补打" not in pdf_text(previewed)
    assert out["uuid"] in pdf_text(previewed)
    copy = window.receipt_folder / f"{out['uuid']}-补打.pdf"
    key(qtbot, preview, Qt.Key_F5)  # printed from the preview: that is a reprint, marked 补打
    qtbot.waitUntil(copy.exists)
    assert "补打" in pdf_text(copy)
    copy.unlink()
    qtbot.keyClick(preview, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not shiboken6.isValid(preview))  # closed and deleted
    assert window.dialog is dialog  # back in the day's list, where the cashier was
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.table)
    key(qtbot, window, Qt.Key_F5)  # F5 in the list: the reprint, marked 补打
    qtbot.waitUntil(copy.exists)
    assert "补打" in pdf_text(copy) and "已补打" in dialog.message.text()


def test_the_day_end_with_no_settlements_still_has_signature_lines(desk, tmp_path):
    _, db = desk
    day = TODAY + dt.timedelta(days=1)  # nothing settled yet
    pdf, _ = daybook.export_day(db.conn, day, tmp_path, "2026-01-01 18:00:00")
    text = pdf_text(pdf)
    assert "交款签字" in text and "收款员签字" in text and "主管签字" in text and "日期" in text
