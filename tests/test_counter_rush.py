"""The counter at rush hour (issue 17): the confirm step, Esc and Ctrl+Z, plain messages, a quantity
refused where it is typed, and a window that holds at 1024×768 — keyboard alone, real SQLite files."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop_app.domain.errors import InputError, MissingPublishedFigure
from desktop_app.ui.common import BASE_POINT_SIZE, apply_font_scale, message_of, yuan
from desktop_app.ui.dialogs import HistoryDialog, SettingsDialog
from desktop_app.ui.screen_fit import available, show_for_screen
from tests.store_fixtures import copy_db
from tests.test_window import diagnose, family_case, key, open_window, type_chinese


def scan(qtbot, window, widget, text: str) -> None:
    """A scanner types into the focused field and ends with Enter."""
    assert QApplication.focusWidget() is widget, QApplication.focusWidget()
    qtbot.keyClicks(widget, text)
    key(qtbot, window, Qt.Key_Return)


def member_with_cash_to_pay(qtbot, window, db) -> tuple[str, str]:
    """A member (own account not used, so there is cash to pay) and one dear drug in the cart; the quote shown."""
    psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' ORDER BY psn_no LIMIT 1").fetchone()[0]
    code = db.conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY price DESC LIMIT 1"
    ).fetchone()[0]
    key(qtbot, window, Qt.Key_F1)
    scan(qtbot, window, window.member.lookup, psn)
    qtbot.waitUntil(lambda: window.cart.psn_no == psn)
    scan(qtbot, window, window.visit.entry, f"2*{code}")
    qtbot.waitUntil(lambda: len(window.cart.lines) == 1)
    diagnose(qtbot, window)
    key(qtbot, window, Qt.Key_F3)  # no own account: the member pays cash
    qtbot.waitUntil(lambda: window.payment.quote is not None and window.payment.quote["acct_pay"] == "0.00")
    assert window.payment.shown.cash > 0
    return psn, code


def settlements(db) -> int:
    return db.conn.execute("SELECT count(*) FROM settlements").fetchone()[0]


def step_open(qtbot, window):
    qtbot.waitUntil(lambda: window.confirming is not None and QApplication.focusWidget() is window.confirming.tendered)
    return window.confirming


# ------------------------------------------------------------------ 1. 应收 large, the confirm step, the change


def test_f12_opens_a_confirm_step_and_the_change_stays_until_the_next_member(desk, qtbot):
    window, db = desk
    before = settlements(db)
    member_with_cash_to_pay(qtbot, window, db)
    shown = window.payment.shown
    due = window.payment.due_box.due
    assert due.text() == yuan(shown.cash) and due.font().pointSizeF() >= 2 * QApplication.font().pointSizeF()
    assert "#c62828" in due.styleSheet()  # red, and more than twice the text's size
    key(qtbot, window, Qt.Key_F11)
    qtbot.keyClicks(window.payment.tendered, "1")  # short of 应收
    key(qtbot, window, Qt.Key_F12)
    step = step_open(qtbot, window)
    figures = [label.text() for label in step.findChildren(type(due))]
    for amount in (shown.fund, shown.own_account, shown.family_account, shown.cash):
        assert yuan(amount) in figures  # the split: 统筹 / 个人账户 / 共济账户 / 现金
    key(qtbot, window, Qt.Key_Return)  # 1 元 is short: refused in the step, which stays
    assert step.isVisible() and "少于应收现金" in step.message.text() and settlements(db) == before
    key(qtbot, window, Qt.Key_Escape)  # back to the visit, nothing written
    qtbot.waitUntil(lambda: window.confirming is None and QApplication.focusWidget() is window.payment.tendered)
    assert settlements(db) == before and len(window.cart.lines) == 1
    window.payment.tendered.selectAll()
    qtbot.keyClicks(window.payment.tendered, "5000")
    key(qtbot, window, Qt.Key_Return)  # Enter in 实收 is F12: the step again
    step = step_open(qtbot, window)
    change = Decimal("5000") - shown.cash
    assert step.change.text() == yuan(change)
    with qtbot.waitSignal(window.settled, timeout=10000):
        key(qtbot, window, Qt.Key_F12)  # F12 in the step settles too
    assert settlements(db) == before + 1 and window.cart.psn_no is None
    qtbot.wait(400)  # the quote timer fires on the emptied cart: the change must not go
    assert window.payment.change.text() == yuan(change) and window.payment.due_box.due.text() == yuan(shown.cash)
    assert "已结算" in window.payment.due_box.caption.text() and "结算成功" in window.message.text()
    psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' ORDER BY psn_no LIMIT 1 OFFSET 1")
    scan(qtbot, window, window.member.lookup, psn.fetchone()[0])  # the next member starts
    qtbot.waitUntil(lambda: window.cart.psn_no is not None)
    assert window.payment.change.text() == "—" and not window.payment.due_box.caption.isVisible()
    assert not window.message.isVisible()  # the previous patient's success line is gone


# ------------------------------------------------------------------ 2. Esc steps back, Ctrl+Z restores


def test_esc_steps_back_one_level_and_ctrl_z_brings_the_cart_back(desk, qtbot):
    window, db = desk
    certno, payer, _ = family_case(db.conn)
    codes = [
        r[0]
        for r in db.conn.execute(
            "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY code LIMIT 2"
        )
    ]
    scan(qtbot, window, window.member.lookup, certno)
    qtbot.waitUntil(lambda: window.cart.psn_no is not None)
    psn = window.cart.psn_no
    for n, code in enumerate(codes, 1):
        scan(qtbot, window, window.visit.entry, f"{n + 1}*{code}")
        qtbot.waitUntil(lambda n=n: len(window.cart.lines) == n)
    key(qtbot, window, Qt.Key_F4)
    key(qtbot, window, Qt.Key_Down)
    assert window.payment.family_payer == payer
    key(qtbot, window, Qt.Key_F11)
    qtbot.keyClicks(window.payment.tendered, "200")
    key(qtbot, window, Qt.Key_F2)
    qtbot.keyClicks(window.visit.entry, "abc")
    key(qtbot, window, Qt.Key_Escape)  # 1: the field is cleared
    assert window.visit.entry.text() == "" and QApplication.focusWidget() is window.visit.entry
    key(qtbot, window, Qt.Key_Escape)  # 2: the field is left, for the member box
    assert QApplication.focusWidget() is window.member.lookup and len(window.cart.lines) == 2
    key(qtbot, window, Qt.Key_Escape)  # 3: the member box's text is cleared (the member stays)
    assert window.member.lookup.text() == "" and window.cart.psn_no == psn
    key(qtbot, window, Qt.Key_Escape)  # 4: the visit is cleared, and kept
    assert window.cart.psn_no is None and window.cart.lines == []
    assert "Ctrl+Z" in window.message.text()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: window.cart.psn_no == psn and window.payment.quote is not None)
    assert [(line.code, line.quantity) for line in window.cart.lines] == [(codes[0], 2), (codes[1], 3)]
    assert window.payment.family_payer == payer and window.payment.tendered.text() == "200"
    assert window.member.fields["name"].text() and window.visit.table.rowCount() == 2
    qtbot.waitUntil(lambda: window.payment.quote.get("family_payer") == payer)
    key(qtbot, window, Qt.Key_F1)
    key(qtbot, window, Qt.Key_Escape)  # the member box is empty: the visit is cleared, kept again
    assert window.cart.lines == [] and "Ctrl+Z" in window.message.text()
    other = db.conn.execute("SELECT psn_no FROM members WHERE psn_no != ? LIMIT 1", (psn,)).fetchone()[0]
    scan(qtbot, window, window.member.lookup, other)  # the next member starts: the kept visit is let go
    qtbot.waitUntil(lambda: window.cart.psn_no == other)
    qtbot.keyClick(window.member.lookup, Qt.Key_Z, Qt.ControlModifier)
    assert window.cart.psn_no == other and window.cart.lines == []


# ------------------------------------------------------------------ 5. plain messages, the path in the log


@pytest.mark.parametrize(
    "error, words, advice",
    [
        (
            InputError("items[0].quantity", "2.5", "数量 × 单价 不是整分金额"),
            "第 1 项（阿莫西林胶囊）的数量 2.5",
            "整数",
        ),
        (InputError("certno", "110101********0012", "校验位应为 1"), "身份证号 110101********0012", "请核对"),
        (InputError("payment.family_payer", "4501000099", "本地缓存中没有该人员编号"), "共济支付人", "F4"),
        (InputError("settings.facility.id", None, "本机尚未设置"), "设置“机构编码”", "主管"),
        (InputError("facility.id", None, "需要本机构编码以核对定点"), "本机构编码", "主管"),
        (InputError("prescription.doctor", None, "处方信息不完整：缺少开具医师"), "外配处方", "F9"),
        (InputError("items", "合计 2000000.00", "一次就诊的医疗费总额不能超过 1000000.00 元"), "项目", "请核对"),
        (MissingPublishedFigure("published.avg_wage", "上年度在岗职工平均工资", "第五条"), "平均工资", "主管"),
    ],
)
def test_a_cashier_reads_plain_words_and_the_log_keeps_the_path(error, words, advice, caplog):
    caplog.set_level(logging.INFO, logger="gongji.ui")
    text = message_of(error, ["阿莫西林胶囊"])
    assert words in text and advice in text
    assert "输入错误" not in text and "=" not in text and "published." not in text
    assert not any(path in text for path in ("items[", "certno", "payment.", "settings.", "facility.", "prescription."))
    assert error.field in caplog.text  # the field's path, for whoever reads the log


def test_the_window_speaks_plainly_and_logs_the_field(desk, qtbot, caplog):
    window, _ = desk
    caplog.set_level(logging.INFO, logger="gongji.ui")
    scan(qtbot, window, window.member.lookup, "110101199003070012")  # the check digit should be 1
    qtbot.waitUntil(lambda: window.member.message.isVisible())
    shown = window.member.message.text()
    assert shown.startswith("身份证号") and "校验位" in shown and "请核对" in shown
    assert "certno" not in shown and "输入错误" not in shown and "certno" in caplog.text


# ------------------------------------------------------------------ 5. a quantity refused where it is typed


def test_a_bad_quantity_is_refused_in_the_cart_not_at_the_quote(desk, qtbot):
    window, db = desk
    psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' LIMIT 1").fetchone()[0]
    code, name = db.conn.execute(
        "SELECT code, name FROM catalogue WHERE price % 2 = 1 AND price_cap IS NULL AND trac_required = 0 "
        "ORDER BY code LIMIT 1"
    ).fetchone()  # an odd number of fen: 2.5 of it is not a whole fen
    scan(qtbot, window, window.member.lookup, psn)
    qtbot.waitUntil(lambda: window.cart.psn_no == psn)
    for typed, words in ((f"2.5*{code}", "整分"), (f"0*{code}", "数量"), (f"abc*{code}", "数量")):
        window.visit.entry.clear()
        scan(qtbot, window, window.visit.entry, typed)
        qtbot.waitUntil(lambda: window.visit.message.isVisible())
        assert words in window.visit.message.text() and window.cart.lines == []
        assert "quantity" not in window.visit.message.text() and "输入错误" not in window.visit.message.text()
        window.visit.message.clear()
    window.visit.entry.clear()
    scan(qtbot, window, window.visit.entry, code)
    qtbot.waitUntil(lambda: len(window.cart.lines) == 1)
    assert name in window.visit.table.item(0, 1).text()
    table = window.visit.table
    for typed, kept in (("2.5", "整分"), ("0", "大于 0"), ("abc", "数字")):
        table.setFocus()
        table.setCurrentCell(0, 3)
        window.visit.message.clear()
        for ch in typed:  # the first key opens the cell's editor, the rest go to it
            key(qtbot, window, ch)
        key(qtbot, window, Qt.Key_Return)  # the editor's text is committed on the next turn of the event loop
        qtbot.waitUntil(lambda: window.visit.message.isVisible())
        assert kept in window.visit.message.text() and "已恢复为 1" in window.visit.message.text()
        assert window.cart.lines[0].quantity == 1 and table.item(0, 3).text() == "1"
    table.setCurrentCell(0, 3)
    key(qtbot, window, "3")
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.cart.lines[0].quantity == 3)
    assert not window.visit.message.isVisible()


# ------------------------------------------------------------------ 4. a layout that holds at 1024×768


def inside(window, widget) -> bool:
    top_left = widget.mapTo(window, widget.rect().topLeft())
    bottom_right = widget.mapTo(window, widget.rect().bottomRight())
    return widget.isVisible() and window.rect().contains(top_left) and window.rect().contains(bottom_right)


def test_at_1024_by_768_the_payment_panel_and_f12_are_on_the_screen(desk, qtbot):
    window, db = desk
    member_with_cash_to_pay(qtbot, window, db)
    window.resize(1024, 768 - 72)  # the client area under a title bar and a taskbar
    qtbot.waitUntil(lambda: window.width() == 1024)
    QApplication.processEvents()
    assert window.minimumSizeHint().width() <= 1024 and window.minimumSizeHint().height() <= 768 - 72
    payment = window.payment
    for widget in (
        payment.due_box.due,
        payment.tendered,
        payment.change,
        payment.confirm,
        window.key_bar.buttons["F12"],
    ):
        assert inside(window, widget), widget.objectName() or widget.text()
    assert payment.due_box.due.width() >= payment.due_box.due.sizeHint().width()  # 应收 not clipped
    key(qtbot, window, Qt.Key_F6)
    dialog = window.dialog
    assert isinstance(dialog, HistoryDialog)
    assert dialog.width() <= available(dialog).width() and dialog.height() <= available(dialog).height()


def test_maximised_on_a_small_screen(templates, tmp_path, qtbot):
    copy_db(templates, "guangxi", tmp_path / "desk.db").conn.close()
    window = open_window(qtbot, tmp_path / "desk.db")
    try:
        window.hide()
        show_for_screen(window)  # the test screen is 800 wide: small
        qtbot.waitUntil(window.isMaximized)
    finally:
        window.shutdown()


def test_the_font_scale_is_a_setting_and_the_big_figures_follow_it(desk, qtbot):
    window, db = desk
    app = QApplication.instance()
    due = window.payment.due_box.due
    ratio = due.font().pointSizeF() / app.font().pointSizeF()
    current = []
    window.backend.submit(lambda d: d.settings(), current.append)
    qtbot.waitUntil(lambda: bool(current))
    dialog = SettingsDialog(window, current[0], [])
    qtbot.addWidget(dialog)
    scale = dialog.fields["ui.font_scale"]  # the registry's entry, shown in the settings dialog
    assert scale.currentData() == "100" and scale.findData("130") >= 0
    try:
        apply_font_scale(app, "130")
        assert app.font().pointSizeF() == pytest.approx(BASE_POINT_SIZE * 1.3)
        assert due.font().pointSizeF() / app.font().pointSizeF() == pytest.approx(ratio)
    finally:
        apply_font_scale(app, "100")
    from desktop_app.services import settings

    settings.change(db, "admin", "admin123", {"ui.font_scale": "115"})
    with pytest.raises(InputError):
        settings.change(db, "admin", "admin123", {"ui.font_scale": "1000"})
    got = []
    window.backend.submit(lambda d: d.font_scale(), got.append)
    qtbot.waitUntil(lambda: got == ["115"])


def test_typing_chinese_into_the_confirm_step_is_refused_there(desk, qtbot):
    window, db = desk
    member_with_cash_to_pay(qtbot, window, db)
    key(qtbot, window, Qt.Key_F12)
    step = step_open(qtbot, window)
    type_chinese(step.tendered, "一百")
    key(qtbot, window, Qt.Key_Return)
    assert "实收现金" in step.message.text() and "输入错误" not in step.message.text() and step.isVisible()
    key(qtbot, window, Qt.Key_Escape)
    qtbot.waitUntil(lambda: window.confirming is None)
