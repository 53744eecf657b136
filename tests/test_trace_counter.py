"""药品追溯码 at the counter (issue 18, points 2, 3 and 7): a pharmacy sale scanned by keyboard input.

A scanner types into the focused field and ends with Enter, so the codes are typed into the item box with
qtbot.  The three traced items: two whose products this desk has sold before (the scan adds the item),
and one seen for the first time (entered by its code, then scanned: the product is tied to it at the sale).
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from desktop_app.services.demo import demo_product
from desktop_app.services.tracing import WAIVER_REASONS
from desktop_app.store import tracing
from desktop_app.ui.dialogs import DayEndDialog
from tests.test_trace_checkout import items
from tests.test_window import confirm_step, key, pharmacy, type_chinese  # noqa: F401 - the pharmacy fixture

WAIVED_REASON = "扫码设备故障"


def scan(qtbot, window, text: str) -> None:
    """A scanner's keystrokes into the item box, then Enter."""
    window.visit.entry.setFocus()
    qtbot.keyClicks(window.visit.entry, text)
    key(qtbot, window, Qt.Key_Return)


def codes_of(window, code: str) -> int:
    line = next((line for line in window.cart.lines if line.code == code), None)
    return len(line.codes) if line else 0


def test_a_pharmacy_sale_scanned_with_a_duplicate_a_short_line_and_a_supervisor_waiver(pharmacy, qtbot):  # noqa: F811
    window, db = pharmacy
    first, second = items(db, tied=True, count=2)
    (unseen,) = items(db, tied=False, count=1)
    psn = db.conn.execute("SELECT psn_no FROM members ORDER BY psn_no LIMIT 1").fetchone()[0]
    codes_before = db.conn.execute("SELECT count(*) FROM trace_codes").fetchone()[0]
    qtbot.keyClicks(window.member.lookup, psn)
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.cart.psn_no == psn)

    a1, a2 = (f"{demo_product(first)}77{n:011d}" for n in (1, 2))
    b1 = f"{demo_product(second)}77{3:011d}"
    scan(qtbot, window, a1)  # a product sold here before: the scan adds its item
    qtbot.waitUntil(lambda: codes_of(window, first) == 1)
    scan(qtbot, window, a2)  # a second box: the quantity follows the boxes scanned
    qtbot.waitUntil(lambda: codes_of(window, first) == 2)
    assert window.cart.lines[0].quantity == 2

    scan(qtbot, window, a1)  # the same box again: refused, said plainly, the cart unchanged
    qtbot.waitUntil(lambda: "已经扫过" in window.visit.message.text())
    assert codes_of(window, first) == 2 and window.cart.lines[0].quantity == 2

    scan(qtbot, window, b1)
    qtbot.waitUntil(lambda: codes_of(window, second) == 1)

    # An item this desk never sold: entered by its code, then its box scanned, which ties the product to it.
    scan(qtbot, window, unseen)
    qtbot.waitUntil(lambda: any(line.code == unseen for line in window.cart.lines))
    new_product = f"9{unseen[2:]}1"
    scan(qtbot, window, f"{new_product}{4:013d}")
    qtbot.waitUntil(lambda: codes_of(window, unseen) == 1)

    # The second item's quantity typed over to 3 with one box scanned: the count does not match.
    row = next(i for i, line in enumerate(window.cart.lines) if line.code == second)
    window.visit.table.item(row, 3).setText("3")
    assert window.cart.lines[row].trace_shown == "1/3"
    key(qtbot, window, Qt.Key_F9)
    for field, text in (
        ("institution", "四川省人民医院"),
        ("doctor", "李医生"),
        ("number", "RX-TRACE-1"),
        ("diagnosis", "急性上呼吸道感染"),
    ):
        type_chinese(window.prescription.edits[field], text)
    window.prescription.changed.emit()
    key(qtbot, window, Qt.Key_F12)
    qtbot.waitUntil(lambda: "追溯码与数量不符" in window.payment.message.text())
    assert "应扫 3 个，已扫 1 个" in window.payment.message.text()
    assert window.confirming is None
    assert db.conn.execute("SELECT count(*) FROM trace_codes").fetchone()[0] == codes_before

    # Ctrl+T: the supervisor picks why, and signs.
    qtbot.keyClick(window, Qt.Key_T, Qt.ControlModifier)
    qtbot.waitUntil(lambda: getattr(window, "waiver_dialog", None) is not None and window.waiver_dialog.isVisible())
    dialog = window.waiver_dialog
    shown = dialog.findChild(QLabel, "supervisor_detail_缺追溯码").text()
    assert window.cart.lines[row].name in shown and "1/3" in shown
    dialog.reason.setCurrentIndex(WAIVER_REASONS.index(WAIVED_REASON))
    dialog.name.setText("admin")
    dialog.password.setText("admin123")
    dialog.submit()
    qtbot.waitUntil(lambda: window.cart.lines[row].waiver == WAIVED_REASON)
    assert window.cart.lines[row].trace_shown == f"放行：{WAIVED_REASON}"

    with qtbot.waitSignal(window.settled, timeout=10000) as settled:
        key(qtbot, window, Qt.Key_F12)
        confirm_step(qtbot, window)
    out = settled.args[0]
    uuid = out["uuid"]
    stored = db.conn.execute(
        "SELECT code, line_no, item_code FROM trace_codes WHERE settlement_uuid = ? ORDER BY code", (uuid,)
    ).fetchall()
    assert sorted(code for code, _, _ in stored) == sorted([a1, a2, b1, f"{new_product}{4:013d}"])
    assert tracing.tied_item(db.conn, new_product) == unseen
    assert db.conn.execute("SELECT reason, supervisor, codes, packages FROM trace_waivers").fetchall() == [
        (WAIVED_REASON, "admin", 1, "3")
    ]
    audit = db.conn.execute("SELECT operator, detail FROM audit_log WHERE action = 'trace_waiver'").fetchall()
    assert len(audit) == 1 and audit[0][0] == "admin" and json.loads(audit[0][1])["reason"] == WAIVED_REASON
    counts = {item["code"]: item.get("trac_cnt") for item in out["items"]}
    assert counts == {first: "2/2", second: "1/3", unseen: "1/1"}

    # The day-end says how many codes were sold, and which lines went without, and why.
    key(qtbot, window, Qt.Key_F7)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), DayEndDialog))
    day_end = QApplication.activeModalWidget()
    qtbot.waitUntil(lambda: "追溯码：售出" in day_end.trace.text())
    assert f"无码放行 1 行（{WAIVED_REASON} 1 行）" in day_end.trace.text()
    day_end.reject()
