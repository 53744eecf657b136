"""Screenshots of every screen at 1024×768, 1366×768 and 1920×1080, to look at what the cashier sees.

    .venv/bin/python scripts/screenshots.py OUT_DIR [--size 1024x768 --size ...]

(under xvfb-run or not: each size runs in its own process on Qt's offscreen platform, given a
screen of exactly that size, so that what fits the screen is judged against that screen).
Makes a demo database once in OUT_DIR, then for each size, in OUT_DIR/<size>/, on a fresh copy:
drives a checkout with the keyboard's actions and saves login.png, main.png, explanation.png,
confirm.png (the F12 step), after-confirm.png (the change that stays), cleared.png (Esc, Ctrl+Z
offered), history.png, refund.png (F8), refund-lines.png and refund-partial.png (F9), member-list.png
(several matches), item-search.png (initials), dayend.png, settings.png, wizard-1..3.png, preview.png, pharmacy.png,
backoffice-import.png, backoffice-operators.png, checklist.png, and at
1920×1080 main-130.png (字号 130%).  The main window is as large as the screen less a 40 px taskbar
and a 32 px title bar: what a maximised window gets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = ("1024x768", "1366x768", "1920x1080")
CHROME = 40 + 32  # taskbar and title bar
window_ref = [None]


def settle_until(app, backend, condition, limit=300):
    for _ in range(limit):
        app.processEvents()
        backend.wait(20)
        time.sleep(0.01)
        app.processEvents()
        if condition():
            return
    w = window_ref[0]
    raise TimeoutError(f"payment: {w.payment.message.text()} | {w.message.text()} | {w.visit.message.text()}")


def shoot(app, widget, path: Path, wait: float = 0.05) -> None:
    """Show (so a dialog takes the size it opens at), let it paint, save."""
    widget.show()
    for _ in range(max(1, int(wait / 0.01))):
        app.processEvents()
        time.sleep(0.01)
    widget.grab().save(str(path))


def make_demo(out: Path) -> Path:
    from desktop_app.services.demo import generate
    from desktop_app.store.db import connect

    path = out / "demo.db"
    if not path.exists():
        out.mkdir(parents=True, exist_ok=True)
        db = connect(path)
        generate(db, 2000)
        db.conn.close()
    return path


def one_size(out: Path, demo: Path, width: int, height: int) -> None:
    """Every screen at one size (this process's offscreen screen is width×height)."""
    from PySide6.QtWidgets import QApplication

    from desktop_app.store.db import connect
    from desktop_app.ui import dialogs
    from desktop_app.ui.backend import Backend
    from desktop_app.ui.common import apply_font_scale, setup_app
    from desktop_app.ui.main_window import MainWindow

    out.mkdir(parents=True, exist_ok=True)
    path = out / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(demo, path)
    app = QApplication([])
    setup_app(app)
    backend = Backend(path)
    login = dialogs.LoginDialog(backend)
    shoot(app, login, out / "login.png")
    login.close()
    window = MainWindow(backend, "shouyin")
    window_ref[0] = window
    window.move(0, 0)
    window.resize(width, height - CHROME)
    window.show()
    settle_until(app, backend, lambda: window.state)
    conn = connect(path).conn
    visit(app, backend, window, conn)
    shoot(app, window, out / "main.png")
    if width >= 1920:
        apply_font_scale(app, "130")
        shoot(app, window, out / "main-130.png", 0.3)
        apply_font_scale(app, "100")
    shoot(app, dialogs_explanation(window), out / "explanation.png")
    confirm(app, backend, window, out)
    back_office(app, backend, window, out, conn)
    backend.close()


def visit(app, backend, window, conn) -> None:
    """A member with a family payer, four dear drugs and two traced ones scanned box by box, 500 handed over."""
    from desktop_app.services.demo import demo_product

    psn = conn.execute(
        "SELECT f.relative_psn_no, o.name FROM family_links f JOIN members o ON o.psn_no = f.owner_psn_no "
        "JOIN members m ON m.psn_no = f.relative_psn_no WHERE m.programmes != '[]' AND o.account_balance > 100000 "
        "AND m.account_balance < 20000 LIMIT 1"
    ).fetchone()[0]
    window.member.lookup.setText(psn)
    window.member.search(pick=True)
    settle_until(app, backend, lambda: window.cart.psn_no)
    codes = [
        r[0]
        for r in conn.execute(
            "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY price DESC LIMIT 4"
        )
    ]
    for code in codes:
        window.visit.entry.setText(f"2*{code}")
        window.visit.search(add=True)
        settle_until(app, backend, lambda code=code: any(line.code == code for line in window.cart.lines))
    traced = [r[0] for r in conn.execute("SELECT item_code FROM trace_products ORDER BY item_code LIMIT 2")]
    for n, code in enumerate(traced):  # two boxes of each, scanned: the 追溯码 column shows 2/2
        for box in (1, 2):
            window.visit.entry.setText(f"{demo_product(code)}66{n:05d}{box:06d}")
            window.visit.search(add=True)
            settle_until(app, backend, lambda code=code, box=box: _boxes(window, code) == box)
    for code in ("I10.x00", "J06.900"):  # the visit's diagnoses (Ctrl+D): a 两病 member's, and the day's complaint
        window.diagnosis.entry.setText(code)
        window.diagnosis.search(add=True)
        settle_until(app, backend, lambda code=code: any(d.code == code for d in window.cart.diagnoses))
    window.payment.family.setCurrentIndex(1)
    window.payment.tendered.setText("500")
    settle_until(app, backend, lambda: window.payment.quote is not None and window.payment.quote.get("family_payer"))


def _boxes(window, code: str) -> int:
    return next((len(line.codes) for line in window.cart.lines if line.code == code), 0)


def dialogs_explanation(window):
    from desktop_app.ui.payment_panel import ExplanationDialog

    return ExplanationDialog(list(window.payment.shown.explanation), window)


def confirm(app, backend, window, out: Path) -> None:
    """F12's step, the settlement, the change that stays; then Esc on a new visit, with Ctrl+Z offered."""
    window.confirm()
    settle_until(app, backend, lambda: window.confirming is not None)
    step = window.confirming
    shoot(app, step, out / "confirm.png")
    step.settle()
    settle_until(app, backend, lambda: window.last_receipt is not None and window.payment.due_box.settled)
    shoot(app, window, out / "after-confirm.png", 0.3)


def back_office(app, backend, window, out: Path, conn) -> None:
    from desktop_app.store import config
    from desktop_app.ui import dialogs
    from desktop_app.ui.printing import PreviewDialog
    from desktop_app.ui.wizard import SetupWizard

    history = dialogs.HistoryDialog(window, window.today)
    history.show()
    settle_until(app, backend, lambda: history.rows)
    shoot(app, history, out / "history.png")
    refund_screens(app, backend, history, out)
    history.close()
    dayend = dialogs.DayEndDialog(window, window.today)
    dayend.show()
    settle_until(app, backend, lambda: hasattr(dayend, "report"))
    shoot(app, dayend, out / "dayend.png")
    dayend.close()
    current = []
    backend.submit(lambda desk: desk.settings(), current.append)
    settle_until(app, backend, lambda: current)
    settings = dialogs.SettingsDialog(window, current[0], ["收银台热敏打印机"])
    shoot(app, settings, out / "settings.png")
    settings.close()
    wizard = SetupWizard(backend, first=True)
    settle_until(app, backend, lambda: wizard.validity is not None)
    wizard.region.setCurrentIndex(wizard.region.findData("henan-city-draft"))  # a draft: its warning shows
    wizard.facility_id.setText("H41010000001")
    wizard.facility_name.setText("某某社区卫生服务中心")
    for page in range(3):
        shoot(app, wizard, out / f"wizard-{page + 1}.png")
        wizard.next()
    wizard.close()
    back_office_screens(app, window, backend, out)
    lookup_screens(app, backend, window, out, conn)
    shoot(app, PreviewDialog(window.last_receipt, window), out / "preview.png", 1.0)
    window.member.lookup.setText(conn.execute("SELECT psn_no FROM members LIMIT 1").fetchone()[0])
    window.member.search(pick=True)
    settle_until(app, backend, lambda: window.cart.psn_no)
    window.member.lookup.clear()
    window.member.lookup.setFocus()
    window.escape()
    shoot(app, window, out / "cleared.png")
    with conn:
        config.put(conn, "facility.kind", "pharmacy")
    window.refresh_status()
    settle_until(app, backend, lambda: window.prescription.isVisible())
    shoot(app, window, out / "pharmacy.png")


def refund_screens(app, backend, history, out: Path) -> None:
    """F8's prompt (whose, what, how much back where), and F9's lines to tick, on the settlement just made."""
    from PySide6.QtCore import Qt

    history.table.selectRow(next(i for i, r in enumerate(history.rows) if r.kind == "settlement" and not r.refunded))
    history.refund()
    settle_until(app, backend, lambda: getattr(history, "auth", None) is not None)
    shoot(app, history.auth, out / "refund.png")
    history.auth.close()
    history.partial()
    settle_until(app, backend, lambda: getattr(history, "picker", None) is not None)
    history.picker.lines.item(1).setCheckState(Qt.Checked)
    shoot(app, history.picker, out / "refund-lines.png")
    history.picker.accept()
    settle_until(app, backend, lambda: history.auth.windowTitle().startswith("部分退费"))
    shoot(app, history.auth, out / "refund-partial.png")
    history.auth.close()


def lookup_screens(app, backend, window, out: Path, conn) -> None:
    """Several members match a name's initials: the list; an item's initials: its matches with spec and maker."""
    window.member.lookup.setText("zw")
    window.member.search(pick=True)
    settle_until(app, backend, lambda: window.member.results.isVisible())
    shoot(app, window, out / "member-list.png")
    window.member.close_list()
    name = conn.execute("SELECT name_initials FROM catalogue WHERE item_kind = 'drug' LIMIT 1").fetchone()[0]
    window.visit.entry.setText(name[:2])
    window.visit.search(add=False)
    settle_until(app, backend, lambda: window.visit.suggestions.isVisible())
    shoot(app, window, out / "item-search.png")
    window.visit.suggestions.hide()
    window.visit.entry.clear()


def run_size(out: Path, demo: Path, size: str) -> None:
    """One size in its own process, on an offscreen screen of that size."""
    width, height = (int(n) for n in size.split("x"))
    screen = {"screens": [{"name": size, "x": 0, "y": 0, "width": width, "height": height, "logicalDpi": 96}]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as config:
        json.dump(screen, config)
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config.name}"}
    try:
        subprocess.run([sys.executable, __file__, str(out), "--one", size, "--demo", str(demo)], env=env, check=True)
    finally:
        os.unlink(config.name)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="screenshots", type=Path)
    parser.add_argument("--size", action="append", help="WxH, repeatable (default: 1024x768, 1366x768, 1920x1080)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: this size, into OUT itself
    parser.add_argument("--demo", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        width, height = (int(n) for n in args.one.split("x"))
        one_size(args.out / args.one, args.demo, width, height)
        return
    demo = make_demo(args.out)
    for size in args.size or SIZES:
        run_size(args.out, demo, size)
        print(f"{size}: {args.out / size}")


def back_office_screens(app, window, backend, out: Path) -> None:
    """The back office (Ctrl+B): a members file with a bad row checked, the operators; the new desk's checklist."""
    import csv

    from desktop_app.services.setup import Readiness
    from desktop_app.store.db import connect
    from desktop_app.ui import dialogs
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
    main()
