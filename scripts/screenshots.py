"""Screenshots of every screen at 1366x768, to look at what the cashier sees.

Run under a virtual screen:  xvfb-run -s "-screen 0 1366x768x24" .venv/bin/python scripts/screenshots.py OUT_DIR
(or with QT_QPA_PLATFORM=offscreen).  Makes a demo database in OUT_DIR, drives a checkout with
the keyboard, and saves login.png, main.png, explanation.png, history.png, dayend.png, settings.png, pharmacy.png,
preview.png, wizard-1..3.png, backoffice-import.png, backoffice-operators.png, checklist.png.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.services.demo import generate  # noqa: E402
from desktop_app.store import config  # noqa: E402
from desktop_app.store.db import connect  # noqa: E402
from desktop_app.ui import dialogs  # noqa: E402
from desktop_app.ui.backend import Backend  # noqa: E402
from desktop_app.ui.common import setup_app  # noqa: E402
from desktop_app.ui.main_window import MainWindow  # noqa: E402
from desktop_app.ui.payment_panel import ExplanationDialog  # noqa: E402
from desktop_app.ui.printing import PreviewDialog  # noqa: E402

window_ref = [None]


def settle_until(app, backend, condition, limit=200):
    for _ in range(limit):
        app.processEvents()
        backend.wait(20)
        time.sleep(0.01)
        app.processEvents()
        if condition():
            return
    raise TimeoutError(
        f"payment message: {window_ref[0].payment.message.text()} | {window_ref[0].message.text()} | "
        f"{window_ref[0].visit.message.text()}"
    )


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "demo.db"
    if not path.exists():
        db = connect(path)
        generate(db, 2000)
        db.conn.close()
    app = QApplication([])
    setup_app(app)
    backend = Backend(path)
    login = dialogs.LoginDialog(backend)
    login.show()
    app.processEvents()
    login.grab().save(str(out / "login.png"))
    login.close()
    window = MainWindow(backend, "shouyin")
    window_ref[0] = window
    window.show()
    window.move(0, 0)
    settle_until(app, backend, lambda: window.state)
    conn = connect(path).conn
    psn = conn.execute(
        "SELECT f.relative_psn_no, o.name FROM family_links f JOIN members o ON o.psn_no = f.owner_psn_no "
        "JOIN members m ON m.psn_no = f.relative_psn_no WHERE m.programmes != '[]' AND o.account_balance > 100000 "
        "AND m.account_balance < 20000 LIMIT 1"
    ).fetchone()[0]
    window.member.lookup.setText(psn)
    window.member.search(pick=True)
    settle_until(app, backend, lambda: window.cart.psn_no)
    codes = [
        r[0] for r in conn.execute("SELECT code FROM catalogue WHERE item_kind = 'drug' ORDER BY price DESC LIMIT 6")
    ]
    for code in codes:
        window.visit.entry.setText(f"2*{code}")
        window.visit.search(add=True)
        settle_until(app, backend, lambda code=code: any(line.code == code for line in window.cart.lines))
    window.payment.family.setCurrentIndex(1)
    window.payment.tendered.setText("500")
    settle_until(app, backend, lambda: window.payment.quote is not None)
    app.processEvents()
    window.grab().save(str(out / "main.png"))
    ExplanationDialog(window.payment.quote["explanation"], window).grab().save(str(out / "explanation.png"))
    window.confirm()
    settle_until(app, backend, lambda: window.last_receipt is not None)
    window.grab().save(str(out / "after-confirm.png"))
    history = dialogs.HistoryDialog(window, window.today)
    history.show()
    settle_until(app, backend, lambda: history.rows)
    history.grab().save(str(out / "history.png"))
    history.close()
    dayend = dialogs.DayEndDialog(window, window.today)
    dayend.show()
    settle_until(app, backend, lambda: hasattr(dayend, "report"))
    dayend.grab().save(str(out / "dayend.png"))
    dayend.close()
    current = []
    backend.submit(lambda desk: desk.settings(), current.append)
    settle_until(app, backend, lambda: current)
    settings = dialogs.SettingsDialog(window, current[0], ["收银台热敏打印机"])
    settings.show()
    app.processEvents()
    settings.grab().save(str(out / "settings.png"))
    settings.close()
    from desktop_app.ui.wizard import SetupWizard

    wizard = SetupWizard(backend, first=True)
    wizard.show()
    settle_until(app, backend, lambda: wizard.validity is not None)
    wizard.region.setCurrentIndex(wizard.region.findData("henan-city-draft"))  # a draft: its warning shows
    wizard.facility_id.setText("H41010000001")
    wizard.facility_name.setText("某某社区卫生服务中心")
    for page in range(3):
        for _ in range(10):  # the region's note has grown: let the layout settle
            app.processEvents()
            time.sleep(0.01)
        wizard.grab().save(str(out / f"wizard-{page + 1}.png"))
        wizard.next()
    wizard.close()
    back_office_screens(app, window, backend, out)
    preview = PreviewDialog(window.last_receipt, window)
    preview.show()
    for _ in range(100):
        app.processEvents()
        time.sleep(0.01)
    preview.grab().save(str(out / "preview.png"))
    preview.close()
    with conn:
        config.put(conn, "facility.kind", "pharmacy")
    window.refresh_status()
    settle_until(app, backend, lambda: window.prescription.isVisible())
    window.grab().save(str(out / "pharmacy.png"))
    backend.close()


def back_office_screens(app, window, backend, out: Path) -> None:
    """The back office (Ctrl+B): a members file with a bad row checked, the operators; the new desk's checklist."""
    import csv

    from desktop_app.services.setup import Readiness
    from desktop_app.ui.checklist import ChecklistDialog

    file = out / "members-import.csv"
    rows = connect(backend.path).conn.execute("SELECT psn_no, certno, name FROM members LIMIT 30").fetchall()
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["人员编号", "身份证号", "姓名", "人员类别", "个人账户余额", "备注"])
        for i, (psn_no, certno, name) in enumerate(rows):
            writer.writerow(
                [psn_no, certno if i != 7 else certno[:17] + "0", name, "在职", "12.5" if i != 12 else "1.234", ""]
            )
    office = dialogs.BackOfficeDialog(window)
    office.show()
    office.members.path.setText(str(file))
    office.members.check()
    settle_until(app, backend, lambda: office.members.preview is not None)
    office.grab().save(str(out / "backoffice-import.png"))
    office.tabs.setCurrentIndex(2)
    settle_until(app, backend, lambda: office.operators.rows)
    office.grab().save(str(out / "backoffice-operators.png"))
    office.close()
    checklist = ChecklistDialog(window, Readiness(0, 0, 0, ""))
    checklist.show()
    app.processEvents()
    checklist.grab().save(str(out / "checklist.png"))
    checklist.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))
