"""The supervisor's back office in the window (issue 17, point 7), driven by keyboard on real SQLite files.

Imports of members and the catalogue from CSV and Excel (checked whole, every bad row named, one audited
transaction, progress shown); cashiers added, disabled and reset; the wizard's region validity and its
page-by-page checks; the checklist an empty database shows.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QWizard

from desktop_app.domain.errors import InputError
from desktop_app.domain.identity import check_digit
from desktop_app.services import checkout, settings, setup
from desktop_app.services.verify import verify
from desktop_app.store import audit, migrations, operators
from desktop_app.store.db import connect
from desktop_app.ui.backend import Backend
from desktop_app.ui.common import setup_app
from desktop_app.ui.dialogs import BackOfficeDialog, LoginDialog
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.wizard import SetupWizard
from tests.store_fixtures import DX, copy_db
from tests.test_window import open_window, type_chinese

TODAY = dt.date.today()


def certno(i: int) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=i % 20000)
    first17 = f"450103{born:%Y%m%d}{i // 20000 % 1000:03d}"
    return first17 + check_digit(first17)


def members_csv(path: Path, n: int, bad_at: int | None = None) -> Path:
    """``n`` members under Chinese headings; with ``bad_at``, that data row's ID number has a wrong check digit."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["人员编号", "身份证号", "姓名", "人员类别", "两病", "个人账户余额"])
        for i in range(n):
            cert = certno(i)
            if i == bad_at:
                cert = cert[:17] + ("0" if cert[17] != "0" else "1")
            out.writerow([f"P{i:09d}", cert, f"张{'伟芳娜敏静'[i % 5]}", "退休" if i % 4 == 0 else "在职",
                          "高血压" if i % 9 == 0 else "", f"{i % 500}.50"])  # fmt: skip
    return path


@pytest.fixture
def new_desk(tmp_path):
    """A desk just set up by the wizard's service: guangxi clinic, supervisor zhang, nothing else."""
    path = tmp_path / "new.db"
    db = connect(path)
    answers = setup.Answers(
        region="guangxi",
        facility={"kind": "clinic", "level": "1", "id": "H45010300099", "name": "某某诊所"},
        supervisor="zhang",
        password="secret1",
        password_again="secret1",
    )
    setup.apply(db, answers)
    yield path, db
    db.conn.close()


def window_on(qtbot, path: Path, operator: str = "zhang") -> MainWindow:
    setup_app(QApplication.instance())
    window = MainWindow(Backend(path), operator, today=TODAY)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: bool(window.state))
    return window


def focused():
    return QApplication.focusWidget()


def press(qtbot, k, modifier=Qt.NoModifier) -> None:
    qtbot.keyClick(focused(), k, modifier)


def back_office(qtbot, window) -> BackOfficeDialog:
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)  # the keyboard is back in the window
    press(qtbot, Qt.Key_B, Qt.ControlModifier)
    qtbot.waitUntil(lambda: isinstance(window.dialog, BackOfficeDialog) and window.dialog.isVisible())
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window.dialog)
    return window.dialog


def supervisor_signs(qtbot, page, name: str, password: str) -> None:
    dialog = page.supervisor
    qtbot.waitUntil(dialog.isVisible)
    for field, text in ((dialog.name, name), (dialog.password, password)):
        qtbot.keyClicks(field, text)
        qtbot.keyClick(field, Qt.Key_Return)


def check_file(qtbot, page, path: Path) -> None:
    page.path.clear()
    qtbot.keyClicks(page.path, str(path))
    qtbot.keyClick(page.path, Qt.Key_Return)
    qtbot.waitUntil(lambda: page.preview is not None or page.message.isVisible(), timeout=30000)


def test_the_checklist_shows_what_an_empty_desk_lacks_and_opens_the_back_office(new_desk, qtbot):
    path, db = new_desk
    window = window_on(qtbot, path)
    qtbot.waitUntil(lambda: getattr(window, "checklist", None) is not None and window.checklist.isVisible())
    text = "\n".join(label.text() for label in window.checklist.items)
    assert "✘  参保人：还没有" in text and "✘  医保目录：还没有" in text and "✘  收款员：还没有" in text
    press(qtbot, Qt.Key_Return)  # Enter: the back office, on its members page
    qtbot.waitUntil(lambda: isinstance(window.dialog, BackOfficeDialog))
    office = window.dialog
    qtbot.waitUntil(lambda: focused() is office.members.path)
    press(qtbot, Qt.Key_Escape)
    qtbot.waitUntil(lambda: window.dialog is None)
    assert back_office(qtbot, window).isVisible()  # and Ctrl+B, any time
    window.shutdown()


def test_a_demo_desk_shows_no_checklist(templates, tmp_path, qtbot):
    copy_db(templates, "guangxi", tmp_path / "desk.db").conn.close()
    window = open_window(qtbot, tmp_path / "desk.db")
    window.backend.wait()
    qtbot.wait(50)
    assert getattr(window, "checklist", None) is None and window.dialog is None
    window.shutdown()


def test_ten_thousand_members_import_with_progress_and_one_bad_row_refused(new_desk, tmp_path, qtbot):
    path, db = new_desk
    window = window_on(qtbot, path)
    qtbot.waitUntil(lambda: getattr(window, "checklist", None) is not None)
    press(qtbot, Qt.Key_Escape)
    office = back_office(qtbot, window)
    page = office.members
    seen = []
    page.progressed.connect(lambda *report: seen.append(report))
    check_file(qtbot, page, members_csv(tmp_path / "members.csv", 10000, bad_at=5001))
    assert not page.preview.ok and [b.row for b in page.preview.bad] == [5003]  # the heading is row 1
    shown = page.bad.item(0).text()
    assert shown.startswith("第 5003 行") and "身份证号" in shown and "校验位" in shown
    assert certno(5001) not in shown and "********" in shown  # an ID number is never shown whole
    assert "未写入任何数据" in page.bad_title.text() and not page.go.isEnabled()
    assert ("检查", 10000, 10000) in seen
    press(qtbot, Qt.Key_F12)  # refused: nothing to confirm
    assert "有错误的文件不能导入" in page.message.text()
    assert db.conn.execute("SELECT count(*) FROM members").fetchone()[0] == 0

    members_csv(tmp_path / "members.csv", 10000)  # corrected, checked again
    seen.clear()
    qtbot.keyClick(page.path, Qt.Key_Return)
    qtbot.waitUntil(lambda: page.preview is not None, timeout=30000)
    assert page.preview.ok and page.preview.new == 10000 and len(page.preview.rows) == 20
    assert page.table.item(0, 1).text() == "P000000000" and page.table.item(0, 3).text() == "女"
    qtbot.waitUntil(lambda: focused() is page.go)
    press(qtbot, Qt.Key_F12)
    supervisor_signs(qtbot, page, "zhang", "secret1")
    qtbot.waitUntil(lambda: "已导入" in page.message.text(), timeout=60000)
    writes = [done for stage, done, total in seen if stage == "写入"]
    assert len(writes) >= 10 and writes[-1] == 10000 and writes == sorted(writes)  # the bar moved, in steps
    assert db.conn.execute("SELECT count(*) FROM members").fetchone()[0] == 10000
    action, subject = db.conn.execute("SELECT action, subject FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert (action, subject) == ("member-import", "members.csv")
    assert verify(db.conn) == []  # opening balances are in the ledger
    window.shutdown()


def test_a_bad_row_found_only_at_import_writes_nothing(new_desk, tmp_path):
    """The file changed after its check: the import checks again inside its transaction."""
    _path, db = new_desk
    file = members_csv(tmp_path / "m.csv", 50)
    assert setup_import_preview(db, file).ok
    members_csv(file, 50, bad_at=10)
    from desktop_app.services import imports

    with pytest.raises(imports.ImportRefused, match="第 12 行"):
        imports.run(db, "members", file, "zhang", "secret1", lambda *_: None)
    assert db.conn.execute("SELECT count(*) FROM members").fetchone()[0] == 0


def setup_import_preview(db, file: Path):
    from desktop_app.services import imports

    return imports.preview(db, "members", file, lambda *_: None)


def catalogue_xlsx(path: Path, price: object = 12.5) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["编码", "名称", "类别", "价格", "限价", "单位", "自付比例", "条码"])
    sheet.append(["XH0001", "阿莫西林胶囊", "甲", price, None, "0.25g*24粒", None, "6901234567892"])
    sheet.append(["XH0002", "硝苯地平缓释片", "乙类", 23, 20, "20mg*30片", 0.1, None])
    sheet.append(["XH0003", "中药饮片", "丙", "8.80", None, "克", None, None])
    book.save(path)
    return path


def members_xlsx(path: Path, long_number: bool = False) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["人员编号", "身份证号", "姓名", "性别", "出生日期", "人员类别", "退休日期", "个人账户余额"])
    born = dt.datetime(1950, 1, 1)
    sheet.append(["X0001", int(certno(0)[:17] + "0") if long_number else certno(0), "王芳", "女", born, "退休",
                  dt.datetime(2005, 1, 1), 1234.5])  # fmt: skip
    sheet.append(["X0002", certno(1), "李强", None, None, "在职", None, 0])
    book.save(path)
    return path


def test_an_excel_catalogue_and_members_import(new_desk, tmp_path, qtbot):
    path, db = new_desk
    window = window_on(qtbot, path)
    qtbot.waitUntil(lambda: getattr(window, "checklist", None) is not None)
    press(qtbot, Qt.Key_Escape)
    office = back_office(qtbot, window)
    press(qtbot, Qt.Key_2, Qt.ControlModifier)  # the catalogue page
    page = office.catalogue
    qtbot.waitUntil(lambda: focused() is page.path)
    check_file(qtbot, page, catalogue_xlsx(tmp_path / "catalogue.xlsx", "12.505"))
    assert [(b.row, b.column) for b in page.preview.bad] == [(2, "价格")] and "两位小数" in page.bad.item(0).text()
    catalogue_xlsx(tmp_path / "catalogue.xlsx")
    qtbot.keyClick(page.path, Qt.Key_Return)
    qtbot.waitUntil(lambda: page.preview is not None and page.preview.ok)
    press(qtbot, Qt.Key_F12)
    supervisor_signs(qtbot, page, "zhang", "secret1")
    qtbot.waitUntil(lambda: "已导入" in page.message.text())
    rows = db.conn.execute("SELECT code, category, price, price_cap, selfpay_ratio FROM catalogue ORDER BY code")
    assert rows.fetchall() == [
        ("XH0001", "A", 1250, None, "0"),
        ("XH0002", "B", 2300, 2000, "0.1"),
        ("XH0003", "C", 880, None, "0"),
    ]

    qtbot.waitUntil(lambda: QApplication.activeWindow() is office)  # the supervisor's dialog has closed
    press(qtbot, Qt.Key_1, Qt.ControlModifier)  # members, from Excel: a long number Excel rounded is named
    page = office.members
    qtbot.waitUntil(lambda: focused() is page.path)
    check_file(qtbot, page, members_xlsx(tmp_path / "members.xlsx", long_number=True))
    assert page.preview.bad[0].row == 2 and "文本" in page.preview.bad[0].todo
    members_xlsx(tmp_path / "members.xlsx")
    qtbot.keyClick(page.path, Qt.Key_Return)
    qtbot.waitUntil(lambda: page.preview is not None and page.preview.ok)
    press(qtbot, Qt.Key_F12)
    supervisor_signs(qtbot, page, "zhang", "secret1")
    qtbot.waitUntil(lambda: "已导入" in page.message.text())
    got = db.conn.execute(
        "SELECT psn_no, sex, birth_date, status, status_since, account_balance FROM members ORDER BY psn_no"
    ).fetchall()
    assert got == [
        ("X0001", "2", "1950-01-01", "retired", "2005-01-01", 123450),
        ("X0002", "2", "1950-01-02", "employed", None, 0),  # sex and birth date read from the ID number
    ]
    window.shutdown()


@pytest.fixture
def demo_window(templates, tmp_path, qtbot):
    db = copy_db(templates, "guangxi", tmp_path / "desk.db")
    window = open_window(qtbot, tmp_path / "desk.db")
    yield window, db, tmp_path / "desk.db"
    window.shutdown()
    db.conn.close()


def signs_in(qtbot, path: Path, name: str, password: str) -> LoginDialog:
    login = LoginDialog(Backend(path))
    qtbot.addWidget(login)
    login.show()
    qtbot.keyClicks(login.name, name)
    qtbot.keyClick(login.name, Qt.Key_Return)
    qtbot.keyClicks(login.password, password)
    qtbot.keyClick(login.password, Qt.Key_Return)
    qtbot.waitUntil(lambda: login.result() == QDialog.Accepted or login.message.isVisible())
    login.backend.close()
    return login


def operators_page(qtbot, window):
    office = back_office(qtbot, window)
    press(qtbot, Qt.Key_3, Qt.ControlModifier)
    page = office.operators
    qtbot.waitUntil(lambda: focused() is page.table and bool(page.rows))
    return page


def test_a_cashier_added_in_the_window_can_sign_in(demo_window, qtbot):
    window, db, path = demo_window
    page = operators_page(qtbot, window)
    press(qtbot, Qt.Key_Tab)
    assert focused() is page.new_name
    for text in ("shouyin2", "abc123", "abc999"):  # name, password, and a mistyped repeat
        qtbot.keyClicks(focused(), text)
        press(qtbot, Qt.Key_Return)
    supervisor_signs(qtbot, page, "admin", "admin123")
    qtbot.waitUntil(lambda: page.message.isVisible())
    assert "两次输入的密码不一致" in page.message.text() and not operators.exists(db.conn, "shouyin2")
    page.new_again.clear()
    qtbot.keyClicks(page.new_again, "abc123")
    qtbot.keyClick(page.new_again, Qt.Key_Return)
    supervisor_signs(qtbot, page, "shouyin", "123456")  # a cashier cannot add one
    qtbot.waitUntil(lambda: "主管" in page.message.text())
    assert not operators.exists(db.conn, "shouyin2")
    qtbot.keyClick(page.new_again, Qt.Key_Return)
    supervisor_signs(qtbot, page, "admin", "admin123")
    qtbot.waitUntil(lambda: "已新增收款员 shouyin2" in page.message.text())
    qtbot.waitUntil(lambda: any(row.name == "shouyin2" for row in page.rows))
    assert signs_in(qtbot, path, "shouyin2", "abc123").role == "cashier"
    operator, subject = db.conn.execute(
        "SELECT operator, subject FROM audit_log WHERE action = 'operator-add'"
    ).fetchone()
    assert (operator, subject) == ("admin", "shouyin2") and verify(db.conn) == []


def choose(qtbot, page, name: str) -> None:
    page.window().activateWindow()  # back from the login dialog the test opened beside it
    qtbot.waitUntil(lambda: QApplication.activeWindow() is page.window())
    page.table.setFocus()
    for _ in range(len(page.rows) + 1):
        if page.chosen() is not None and page.chosen().name == name:
            return
        qtbot.keyClick(page.table, Qt.Key_Down)
    raise AssertionError(f"{name} not reached with ↓")


def test_a_disabled_cashier_is_refused_at_login_and_at_the_counter(demo_window, qtbot):
    window, db, path = demo_window
    page = operators_page(qtbot, window)
    choose(qtbot, page, "shouyin")
    assert page.toggle.text().startswith("停用")
    press(qtbot, Qt.Key_F8)
    supervisor_signs(qtbot, page, "admin", "admin123")
    qtbot.waitUntil(lambda: "已停用操作员 shouyin" in page.message.text())
    login = signs_in(qtbot, path, "shouyin", "123456")
    assert login.result() != QDialog.Accepted and "已被主管停用" in login.message.text()
    case = {
        "member": {"psn_no": db.conn.execute("SELECT min(psn_no) FROM members").fetchone()[0]},
        "diagnoses": DX,
        "items": [],
    }
    with pytest.raises(operators.AuthError, match="已被主管停用"):
        checkout.confirm(db, case, "shouyin")  # the window's own path: an operator already signed in
    assert verify(db.conn) == []
    with db.conn:  # re-enabled behind the audit's back: verify sees it
        db.conn.execute("UPDATE operators SET disabled = 0 WHERE name = 'shouyin'")
    assert any("操作员" in problem for problem in verify(db.conn))
    with db.conn:
        db.conn.execute("UPDATE operators SET disabled = 1 WHERE name = 'shouyin'")

    choose(qtbot, page, "shouyin")  # enabled again, and a forgotten password reset
    assert page.toggle.text().startswith("启用")
    press(qtbot, Qt.Key_F8)
    supervisor_signs(qtbot, page, "admin", "admin123")
    qtbot.waitUntil(lambda: "已启用操作员 shouyin" in page.message.text())
    choose(qtbot, page, "shouyin")
    for field in (page.reset_password, page.reset_again):
        qtbot.keyClicks(field, "newpass1")
        qtbot.keyClick(field, Qt.Key_Return)
    supervisor_signs(qtbot, page, "admin", "admin123")
    qtbot.waitUntil(lambda: "已重置 shouyin 的密码" in page.message.text())
    assert signs_in(qtbot, path, "shouyin", "newpass1").role == "cashier"
    assert verify(db.conn) == []


def test_a_supervisor_cannot_disable_the_last_supervisor_or_themselves(demo_window):
    _window, db, _path = demo_window
    with pytest.raises(InputError, match="不能停用自己"):
        settings.set_operator_disabled(db, "admin", "admin123", "admin", True)
    assert operators.authenticate(db.conn, "admin", "admin123") == "supervisor"


def test_digests_recorded_before_the_disabled_flag_still_hold(tmp_path, monkeypatch):
    """An older database (before 0005) verifies after the upgrade: an enabled operator's row reads as before."""
    path = tmp_path / "old.db"
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:4])
    db = connect(path)
    with db.conn:  # operators added and audited as the program before 0005 did
        for name, role, password in (("admin", "supervisor", "admin123"), ("shouyin", "cashier", "123456")):
            operators.add(db.conn, name, role, password, "2024-01-01T00:00:00+08:00")
        audit.record_state(db.conn, "2024-01-01T00:00:00+08:00", "admin", "operator-add", "shouyin", {})
    db.conn.close()
    monkeypatch.undo()
    db = connect(path)
    assert "disabled" in {c[1] for c in db.conn.execute("PRAGMA table_info(operators)")}
    assert verify(db.conn) == []
    db.conn.close()


# ---------------------------------------------------------------- the wizard


@pytest.fixture
def wizard(tmp_path, qtbot):
    setup_app(QApplication.instance())
    path = tmp_path / "first.db"
    connect(path).conn.close()
    backend = Backend(path)
    wizard = SetupWizard(backend, first=True)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    qtbot.waitUntil(lambda: wizard.validity is not None)
    yield wizard
    backend.close()


def pick_region(qtbot, wizard, region: str) -> None:
    wizard.region.setFocus()
    qtbot.keyClick(wizard.region, Qt.Key_Home)
    for _ in range(wizard.region.count()):
        if wizard.region.currentData() == region:
            return
        qtbot.keyClick(wizard.region, Qt.Key_Down)
    raise AssertionError(region)


def test_the_wizard_refuses_yunfu_today_and_warns_on_a_draft(wizard, qtbot):
    pick_region(qtbot, wizard, "yunfu")
    assert "不可选" in wizard.region.currentText()
    assert (
        "2022-09-01 至 2025-12-31" in wizard.region_note.text() and "已于 2025-12-31 失效" in wizard.region_note.text()
    )
    qtbot.keyClicks(wizard.facility_id, "H44530000001")
    type_chinese(wizard.facility_name, "云浮某诊所")
    qtbot.keyClick(wizard.facility_name, Qt.Key_Return)  # Next: refused on this page
    assert wizard.currentId() == 0 and "已于 2025-12-31 失效" in wizard.facility_message.text()
    assert focused() is wizard.region

    pick_region(qtbot, wizard, "henan-city-draft")  # a draft: a visible warning, and allowed
    assert "征求意见稿" in wizard.region.currentText() and "征求意见稿" in wizard.region_note.text()
    assert wizard.region_note.isVisible() and "font-weight: bold" in wizard.region_note.styleSheet()
    assert not wizard.facility_message.isVisible()
    qtbot.keyClick(wizard.facility_name, Qt.Key_Return)
    assert wizard.currentId() == 1


def test_each_wizard_page_checks_before_next(wizard, qtbot):
    pick_region(qtbot, wizard, "guangxi")
    type_chinese(wizard.facility_name, "某诊所")
    qtbot.keyClick(wizard.facility_name, Qt.Key_Return)  # no facility code: caught here, not two pages later
    assert wizard.currentId() == 0 and "机构编码" in wizard.facility_message.text()
    assert focused() is wizard.facility_id
    qtbot.keyClicks(wizard.facility_id, "H45010300099")
    qtbot.keyClick(wizard.facility_id, Qt.Key_Return)
    assert wizard.currentId() == 1
    qtbot.keyClick(wizard.offline_only, Qt.Key_Space)  # online, with no address
    qtbot.keyClick(wizard.offline_only, Qt.Key_Return)
    assert wizard.currentId() == 1 and "医保中心地址" in wizard.hub_message.text() and focused() is wizard.hub
    qtbot.keyClicks(wizard.hub, "http://hub.example:8700")
    qtbot.keyClicks(wizard.token, "T0KEN")
    qtbot.keyClick(wizard.token, Qt.Key_Return)
    assert wizard.currentId() == 2
    qtbot.keyClicks(wizard.supervisor, "zhang")
    qtbot.keyClicks(wizard.password, "abc")
    qtbot.keyClick(wizard.password, Qt.Key_Return)
    assert wizard.isVisible() and "至少 6 位" in wizard.message.text() and focused() is wizard.password
    assert wizard.button(QWizard.FinishButton).isEnabled()


def test_setup_refuses_a_region_not_in_force(tmp_path):
    db = connect(tmp_path / "x.db")
    answers = setup.Answers(region="yunfu", facility={"kind": "clinic", "id": "H1", "name": "某诊所"})
    answers.supervisor, answers.password, answers.password_again = "zhang", "secret1", "secret1"
    with pytest.raises(InputError, match="2025-12-31"):
        setup.apply(db, answers, today=dt.date(2026, 11, 23))
    setup.apply(db, answers, today=dt.date(2024, 6, 15))  # while its rules were in force
    assert setup.region_validity("yunfu", dt.date(2022, 8, 31)).problem.startswith("广东省云浮市的规则 2022-09-01 起")
    db.conn.close()
