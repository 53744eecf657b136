"""The front desk window, driven with the keyboard through pytest-qt on real SQLite files.

Chinese is typed as an input method's commit string (``qtbot.keyClicks`` aborts on it),
as a Chinese IME delivers it.  Every database call goes through the worker thread, so
the tests wait for results with ``qtbot.waitUntil`` rather than assuming them.
"""

from __future__ import annotations

import datetime as dt
import threading

import pypdf
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QApplication

from desktop_app.services.checkout import confirm
from desktop_app.store import config
from desktop_app.ui import printing
from desktop_app.ui.backend import Backend
from desktop_app.ui.common import setup_app
from desktop_app.ui.dialogs import DayEndDialog, HistoryDialog
from desktop_app.ui.main_window import MainWindow
from tests.store_fixtures import DX, copy_db

TODAY = dt.date.today()  # the window works on the real day: refunds and reprints are stamped now


def open_window(qtbot, path, today=TODAY) -> MainWindow:
    setup_app(QApplication.instance())
    backend = Backend(path)
    window = MainWindow(backend, "shouyin", today=today)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: bool(window.state))
    return window


def key(qtbot, window, k) -> None:
    """A key pressed wherever the focus is (as a cashier or a scanner does)."""
    qtbot.keyClick(QApplication.focusWidget() or window, k)


def confirm_step(qtbot, window) -> None:
    """F12 has opened the confirm step (the split, 应收, 实收, 找零): Enter there settles."""
    qtbot.waitUntil(lambda: window.confirming is not None and QApplication.focusWidget() is window.confirming.tendered)
    key(qtbot, window, Qt.Key_Return)


def type_chinese(widget, text: str) -> None:
    widget.setFocus()
    event = QInputMethodEvent("", [])
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)


def member_and_item(qtbot, window, psn: str, code: str) -> None:
    """Scan a member's number, then one item's code, each ended by Enter."""
    qtbot.keyClicks(window.member.lookup, psn)
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.cart.psn_no == psn)
    qtbot.keyClicks(window.visit.entry, code)
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: len(window.cart.lines) == 1)


def diagnose(qtbot, window, code: str = "J06.900") -> None:
    """Ctrl+D, the diagnosis's code, Enter: the visit has its diagnosis (a clinic settles none without)."""
    qtbot.keyClick(window, Qt.Key_D, Qt.ControlModifier)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.diagnosis.entry)
    count = len(window.cart.diagnoses)
    qtbot.keyClicks(window.diagnosis.entry, code)
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: len(window.cart.diagnoses) == count + 1)


def family_case(conn):
    return conn.execute(
        "SELECT m.certno, f.owner_psn_no, o.name FROM family_links f JOIN members o ON o.psn_no = f.owner_psn_no "
        "JOIN members m ON m.psn_no = f.relative_psn_no WHERE f.relation = 'spouse' AND o.account_balance > 100000 "
        "AND m.scheme = 'combined' AND m.account_balance < 5000 LIMIT 1"
    ).fetchone()


def test_a_whole_checkout_with_the_keyboard_alone(desk, qtbot):
    window, db = desk
    certno, payer, payer_name = family_case(db.conn)
    drug_code, drug_name = db.conn.execute(
        "SELECT code, name FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY price DESC LIMIT 1"
    ).fetchone()
    other = db.conn.execute(
        "SELECT name FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 AND name NOT LIKE ? "
        "ORDER BY name LIMIT 1",
        (drug_name[:2] + "%",),
    ).fetchone()[0]
    assert QApplication.focusWidget() is window.member.lookup
    qtbot.keyClicks(window.member.lookup, certno)  # a scanner types the ID number …
    key(qtbot, window, Qt.Key_Return)  # … and ends with Enter
    qtbot.waitUntil(lambda: window.cart.psn_no is not None)
    assert window.member.fields["certno"].text() == certno[:6] + "********" + certno[-4:]
    assert QApplication.focusWidget() is window.visit.entry  # Enter moved on to the items
    qtbot.keyClicks(window.visit.entry, f"3*{drug_code}")
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: len(window.cart.lines) == 1)
    type_chinese(window.visit.entry, other[:3])  # a name, typed through the input method
    qtbot.waitUntil(lambda: window.visit.suggestions.isVisible())
    key(qtbot, window, Qt.Key_Down)
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: len(window.cart.lines) == 2)
    assert window.cart.lines[0].quantity == 3
    key(qtbot, window, Qt.Key_F4)  # family payer: F4, then the arrow keys
    assert QApplication.focusWidget() is window.payment.family
    key(qtbot, window, Qt.Key_Down)
    assert window.payment.family_payer == payer
    qtbot.waitUntil(lambda: window.payment.quote is not None and window.payment.quote.get("family_payer") == payer)
    quote = window.payment.quote
    assert window.payment.values["acct_mulaid_pay"].text() == quote["acct_mulaid_pay"] != "0.00"
    diagnose(qtbot, window)
    key(qtbot, window, Qt.Key_F11)
    qtbot.keyClicks(window.payment.tendered, "1000")
    with qtbot.waitSignal(window.settled, timeout=10000) as settled:
        key(qtbot, window, Qt.Key_F12)
        confirm_step(qtbot, window)
    out = settled.args[0]
    assert out["acct_mulaid_pay"] == quote["acct_mulaid_pay"] and out["family_payer"] == payer
    row = db.conn.execute(
        "SELECT medfee_sumamt, acct_mulaid_pay FROM settlements WHERE uuid = ?", (out["uuid"],)
    ).fetchone()
    assert row[1] > 0
    receipt = window.receipt_folder / f"{out['uuid']}.pdf"
    assert window.last_receipt == receipt
    text = "".join(page.extract_text() for page in pypdf.PdfReader(receipt).pages)
    assert out["uuid"] in text and out["psn_cash_pay"] in text and payer_name in text
    assert "结算成功" in window.message.text() and "找零" in window.message.text()
    assert window.cart.psn_no is None and QApplication.focusWidget() is window.member.lookup  # ready for the next


def test_refused_input_is_shown_and_nothing_is_written(desk, qtbot):
    window, db = desk
    before = db.conn.execute("SELECT count(*) FROM settlements").fetchone()[0]
    qtbot.keyClicks(window.member.lookup, "110101199003070012")  # the check digit should be 1
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.member.message.isVisible())
    shown = window.member.message.text()  # says what is wrong, with the number masked as on a receipt
    assert "校验位" in shown and "110101********0012" in shown and "110101199003070012" not in shown
    psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' LIMIT 1").fetchone()[0]
    window.member.lookup.clear()
    qtbot.keyClicks(window.member.lookup, psn)
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.cart.psn_no == psn)
    qtbot.keyClicks(window.visit.entry, "NO-SUCH-ITEM")
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.visit.message.isVisible())
    assert "NO-SUCH-ITEM" in window.visit.message.text()
    key(qtbot, window, Qt.Key_F12)
    qtbot.waitUntil(lambda: window.payment.message.isVisible())
    assert "项目" in window.payment.message.text()
    assert db.conn.execute("SELECT count(*) FROM settlements").fetchone()[0] == before


@pytest.fixture
def pharmacy(templates, tmp_path, qtbot):
    db = copy_db(templates, "sichuan-provincial", tmp_path / "pharmacy.db")
    with db.conn:
        for k, v in (("facility.kind", "pharmacy"), ("facility.level", ""), ("facility.id", "P51010500001")):
            config.put(db.conn, k, v)
    window = open_window(qtbot, tmp_path / "pharmacy.db")
    yield window, db
    window.shutdown()
    db.conn.close()


def test_a_pharmacy_sale_needs_a_prescription(pharmacy, qtbot):
    window, db = pharmacy
    assert window.prescription.isVisible()
    psn = db.conn.execute("SELECT psn_no FROM members ORDER BY psn_no LIMIT 1").fetchone()[0]
    code = db.conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 AND category = 'A' LIMIT 1"
    ).fetchone()[0]
    member_and_item(qtbot, window, psn, code)
    key(qtbot, window, Qt.Key_F12)  # no prescription yet: refused, and says why
    qtbot.waitUntil(lambda: "外配处方" in window.payment.message.text())
    assert db.conn.execute("SELECT count(*) FROM prescriptions").fetchone()[0] == 0
    key(qtbot, window, Qt.Key_F9)
    for field, text in (
        ("institution", "四川省人民医院"),
        ("doctor", "李医生"),
        ("number", "RX20240615001"),
        ("diagnosis", "原发性高血压"),
    ):
        assert QApplication.focusWidget() is window.prescription.edits[field]
        type_chinese(window.prescription.edits[field], text)
        key(qtbot, window, Qt.Key_Return)
    with qtbot.waitSignal(window.settled, timeout=10000) as settled:
        key(qtbot, window, Qt.Key_F12)
        confirm_step(qtbot, window)
    uuid = settled.args[0]["uuid"]
    assert db.conn.execute(
        "SELECT institution, number FROM prescriptions WHERE settlement_uuid = ?", (uuid,)
    ).fetchone() == ("四川省人民医院", "RX20240615001")


def settle_one(db, psn=None):
    psn = psn or db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' LIMIT 1").fetchone()[0]
    code = db.conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 LIMIT 1"
    ).fetchone()[0]
    return confirm(
        db,
        {
            "member": {"psn_no": psn},
            "diagnoses": DX,
            "date": TODAY.isoformat(),
            "items": [{"code": code, "quantity": 2}],
        },
        "shouyin",
        today=TODAY,
        at=f"{TODAY.isoformat()}T10:15:00+08:00",
    )


def test_a_refund_with_the_supervisor_password_prints_a_refund_slip(desk, qtbot):
    window, db = desk
    out = settle_one(db)
    key(qtbot, window, Qt.Key_F6)
    dialog = window.dialog
    assert isinstance(dialog, HistoryDialog)
    qtbot.waitUntil(lambda: any(r.uuid == out["uuid"] for r in dialog.rows))
    dialog.table.selectRow(next(i for i, r in enumerate(dialog.rows) if r.uuid == out["uuid"]))
    qtbot.keyClick(dialog.table, Qt.Key_F8)
    qtbot.waitUntil(lambda: getattr(dialog, "auth", None) is not None and dialog.auth.isVisible())
    qtbot.keyClicks(dialog.auth.name, "shouyin")  # a cashier may not refund
    qtbot.keyClick(dialog.auth.name, Qt.Key_Return)
    qtbot.keyClicks(dialog.auth.password, "123456")
    qtbot.keyClick(dialog.auth.password, Qt.Key_Return)
    qtbot.waitUntil(lambda: dialog.message.isVisible())
    assert "主管" in dialog.message.text()
    assert (
        db.conn.execute("SELECT count(*) FROM settlements WHERE original_uuid = ?", (out["uuid"],)).fetchone()[0] == 0
    )
    qtbot.keyClick(dialog.table, Qt.Key_F8)
    qtbot.waitUntil(lambda: dialog.auth.isVisible())
    qtbot.keyClicks(dialog.auth.name, "admin")
    qtbot.keyClick(dialog.auth.name, Qt.Key_Return)
    qtbot.keyClicks(dialog.auth.password, "admin123")
    qtbot.keyClick(dialog.auth.password, Qt.Key_Return)
    qtbot.waitUntil(lambda: "已退费" in dialog.message.text())
    refund = db.conn.execute("SELECT uuid FROM settlements WHERE original_uuid = ?", (out["uuid"],)).fetchone()[0]
    slip = window.receipt_folder / f"{refund}.pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(slip).pages)
    assert "退费" in text and out["uuid"] in text
    qtbot.waitUntil(lambda: any(r.uuid == refund for r in dialog.rows))
    dialog.table.selectRow(next(i for i, r in enumerate(dialog.rows) if r.uuid == out["uuid"]))
    qtbot.keyClick(dialog.table, Qt.Key_F8)  # a second refund is refused at once
    assert "已退费" in dialog.message.text() and not dialog.auth.isVisible()


def test_reprint_goes_through_qt_printing_and_the_preview_shows_the_same_pdf(desk, qtbot, tmp_path):
    window, db = desk
    out = settle_one(db)
    window.receipt_for(out["uuid"], "补打", window.preview)
    qtbot.waitUntil(lambda: window.dialog is not None and window.dialog.isVisible())
    preview = window.dialog
    assert preview.document.pageCount() == 1
    path = window.receipt_folder / f"{out['uuid']}-补打.pdf"
    assert "补打" in pypdf.PdfReader(path).pages[0].extract_text()
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    assert printing.print_pdf(path, printer) == 1
    printed = pypdf.PdfReader(tmp_path / "printed.pdf")
    source = pypdf.PdfReader(path)
    assert len(printed.pages) == 1
    assert abs(float(printed.pages[0].mediabox.width) - float(source.pages[0].mediabox.width)) < 2  # 80 mm roll


def test_the_day_end_report(desk, qtbot):
    window, db = desk
    first = settle_one(db)
    settle_one(db)
    from desktop_app.services.checkout import refund

    refund(db, first["uuid"], "admin", "admin123", at=f"{TODAY.isoformat()}T16:40:00+08:00")
    key(qtbot, window, Qt.Key_F7)
    dialog = window.dialog
    assert isinstance(dialog, DayEndDialog)
    qtbot.waitUntil(lambda: hasattr(dialog, "report"))
    report = dialog.report
    assert (report.settlements, report.refunds) == (count(db, "settlement"), count(db, "refund"))
    assert report.refunds >= 1
    assert report.adds_up() and report.by_hour[10][0] >= 2
    assert dialog.labels["refunds"].text() == f"{report.refunds} 笔"
    assert dialog.labels["total"].text() == str(report.total)
    qtbot.keyClick(dialog, Qt.Key_F5)
    qtbot.waitUntil(lambda: "已导出" in dialog.message.text())
    pdf = window.export_folder / f"日结-{TODAY.isoformat()}.pdf"
    csv = window.export_folder / f"日结-{TODAY.isoformat()}.csv"
    assert str(report.total) in pypdf.PdfReader(pdf).pages[0].extract_text()
    assert f"退费笔数,{report.refunds}" in csv.read_text(encoding="utf-8-sig")


def count(db, kind: str) -> int:
    day, next_day = TODAY.isoformat(), (TODAY + dt.timedelta(days=1)).isoformat()
    return db.conn.execute(
        "SELECT count(*) FROM settlements WHERE kind = ? AND created_at >= ? AND created_at < ?", (kind, day, next_day)
    ).fetchone()[0]


def test_the_window_never_waits_on_the_database(desk, qtbot):
    """Work queued on the backend runs in its own thread; the UI thread stays free."""
    window, _ = desk
    seen = []
    window.backend.submit(lambda db: seen.append(threading.current_thread() is threading.main_thread()))
    window.backend.wait()
    assert seen == [False]


def test_the_window_syncs_with_the_hub_in_the_background(templates, tmp_path, qtbot):
    from desktop_app.hub import desks, schema
    from tests.hub_fixtures import seeded_hub

    hub = seeded_hub(f"sqlite:///{tmp_path / 'hub.db'}", templates["guangxi"], tmp_path / "hub.log")
    try:
        engine = schema.engine_for(f"sqlite:///{tmp_path / 'hub.db'}")
        token = desks.register_desk(
            engine,
            "desk-W",
            "H45010300001",
            "guangxi",
            {"kind": "community_health_centre", "level": 1, "id": "H45010300001"},
        )
        engine.dispose()
        db = copy_db(templates, "guangxi", tmp_path / "desk.db")
        with db.conn:
            config.put(db.conn, "sync.hub", hub.url)
            config.put(db.conn, "sync.token", token)
        settle_one(db)
        window = open_window(qtbot, tmp_path / "desk.db")
        assert "未上传 1 笔" in window.sync_label.text()
        key(qtbot, window, Qt.Key_F5)
        qtbot.waitUntil(
            lambda: "上次同步" in window.sync_label.text() and "未上传 0 笔" in window.sync_label.text(), timeout=20000
        )
        key(qtbot, window, Qt.Key_F7)
        dialog = window.dialog
        qtbot.keyClick(dialog, Qt.Key_F6)  # 对账
        qtbot.waitUntil(lambda: "对账一致" in dialog.message.text(), timeout=20000)
        window.shutdown()
        db.conn.close()
    finally:
        hub.stop()


def test_the_first_run_wizard_sets_up_a_new_desk(tmp_path, qtbot):
    from PySide6.QtWidgets import QWizard

    from desktop_app.services.setup import needs_setup
    from desktop_app.store import operators
    from desktop_app.store.db import connect
    from desktop_app.ui.wizard import SetupWizard

    setup_app(QApplication.instance())
    path = tmp_path / "new.db"
    connect(path).conn.close()
    backend = Backend(path)
    wizard = SetupWizard(backend, first=True)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.region.setCurrentIndex(wizard.region.findData("sichuan-provincial"))
    wizard.kind.setCurrentIndex(wizard.kind.findData("pharmacy"))
    qtbot.keyClicks(wizard.facility_id, "P51010500001")
    type_chinese(wizard.facility_name, "成都市某某大药房")
    wizard.next()
    assert wizard.offline_only.isChecked()
    wizard.next()
    qtbot.keyClicks(wizard.supervisor, "zhang")
    qtbot.keyClicks(wizard.password, "secret1")
    qtbot.keyClicks(wizard.password_again, "secret2")
    wizard.button(QWizard.FinishButton).click()
    qtbot.waitUntil(lambda: wizard.message.isVisible())
    assert "确认密码" in wizard.message.text() and wizard.isVisible()  # refused, and says which field
    wizard.password_again.clear()
    qtbot.keyClicks(wizard.password_again, "secret1")
    with qtbot.waitSignal(wizard.accepted, timeout=10000):
        wizard.button(QWizard.FinishButton).click()
    backend.close()
    db = connect(path)
    assert not needs_setup(db.conn)
    assert config.get(db.conn, "facility.kind") == "pharmacy" and config.get(db.conn, "region") == "sichuan-provincial"
    assert operators.authenticate(db.conn, "zhang", "secret1") == "supervisor"
    from desktop_app.services.setup import Answers, apply
    from desktop_app.store.operators import AuthError

    again = Answers(region="guangxi", facility={"kind": "clinic", "id": "X1", "name": "某诊所"})
    with pytest.raises(AuthError):
        apply(db, again, "nobody", "wrong")
    apply(db, again, "zhang", "secret1")
    assert config.get(db.conn, "region") == "guangxi"
    db.conn.close()


def supervisor_answers(qtbot, window, name: str, password: str) -> None:
    dialog = window.price_dialog
    qtbot.waitUntil(dialog.isVisible)
    for field, text in ((dialog.name, name), (dialog.password, password)):
        qtbot.keyClicks(field, text)
        qtbot.keyClick(field, Qt.Key_Return)
    qtbot.keyClick(dialog.reason.lineEdit(), Qt.Key_Return)  # the first reason of the list


def test_a_price_above_the_catalogue_needs_a_supervisor_at_that_moment(desk, qtbot):
    window, db = desk
    psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' LIMIT 1").fetchone()[0]
    code, fen = db.conn.execute(
        "SELECT code, price FROM catalogue WHERE item_kind = 'service' AND price < 8000 AND price_cap IS NULL LIMIT 1"
    ).fetchone()
    member_and_item(qtbot, window, psn, code)
    line = window.cart.lines[0]
    window.visit.table.item(0, 4).setText("12.5x")  # a typo: refused, the price stays
    assert "单价" in window.visit.message.text() and line.unit_price == line.catalogue_price
    lower = f"{(fen - 100) / 100:.2f}"
    window.visit.table.item(0, 4).setText(lower)  # below the catalogue: the cashier's own call
    assert str(line.unit_price) == lower and window.cart.approval is None
    window.visit.table.item(0, 4).setText("88.80")  # above: a supervisor, now
    supervisor_answers(qtbot, window, "shouyin", "123456")  # a cashier cannot approve it
    qtbot.waitUntil(lambda: "未改价" in window.visit.message.text())
    assert "主管" in window.visit.message.text() and str(line.unit_price) == lower
    window.visit.table.item(0, 4).setText("88.80")
    supervisor_answers(qtbot, window, "admin", "admin123")
    qtbot.waitUntil(lambda: str(line.unit_price) == "88.80")
    qtbot.waitUntil(lambda: window.payment.quote is not None and window.payment.quote["medfee_sumamt"] == "88.80")
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)  # the closed dialog hands the keyboard back
    diagnose(qtbot, window)
    with qtbot.waitSignal(window.settled, timeout=10000) as settled:
        key(qtbot, window, Qt.Key_F12)
        confirm_step(qtbot, window)
    out = settled.args[0]
    assert out["items"][0]["pric"] == "88.80" and out["items"][0]["catalogue_pric"] == f"{fen / 100:.2f}"
    operator, detail = db.conn.execute(
        "SELECT operator, detail FROM audit_log WHERE action = 'price_override' AND subject = ?", (out["uuid"],)
    ).fetchone()
    assert operator == "admin" and '"cashier": "shouyin"' in detail and window.PRICE_REASONS[0] in detail
    text = "".join(p.extract_text() for p in pypdf.PdfReader(window.receipt_folder / f"{out['uuid']}.pdf").pages)
    assert "主管 admin 授权" in text and window.PRICE_REASONS[0] in text
