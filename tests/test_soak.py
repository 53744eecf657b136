"""A full day at the counter: 500 visits in a row through the real window, by keyboard alone.

Each visit is what a cashier does: F1 and the member's number scanned, one to five item codes
scanned, F12 to confirm (one transaction, then the receipt PDF).  Every 50th visit is refunded
from the F6 history screen with the supervisor's password; every 100th the F7 day-end screen is
opened, checked against the database, and closed.  The process must stay up (a Qt binding that
eats ``None`` aborts it after about 85 visits), ``None``'s reference count must not fall, and the
resident memory may grow by at most ``RSS_GROWTH_MB`` between visit 100 and visit 500.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog

from desktop_app.ui.dialogs import DayEndDialog, HistoryDialog
from tests.store_fixtures import copy_db
from tests.test_window import confirm_step, diagnose, key, open_window

VISITS = 500
REFUND_EVERY = 50
DAY_END_EVERY = 100
# 400 more visits may cost at most this much resident memory.  Caches (SQLite's page cache,
# Qt's font and glyph caches, Python's allocator arenas) are warm by visit 100, so what grows
# after that is a leak: 40 KB per visit fails.  Measured on 2 cores, PySide6 6.11.3: +2.1 MB.
# Before closed dialogs were deleted, each F6 kept its table alive: +51 MB.
RSS_GROWTH_MB = 16


def rss_mb() -> float:
    """This process's resident set, from /proc (Linux, as CI runs)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def scan(qtbot, widget, text: str) -> None:
    """A scanner types the code into the focused field and ends with Enter."""
    assert QApplication.focusWidget() is widget, QApplication.focusWidget()
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key_Return)


def visit(qtbot, window, psn: str, codes: list[str]) -> dict:
    key(qtbot, window, Qt.Key_F1)
    scan(qtbot, window.member.lookup, psn)
    qtbot.waitUntil(lambda: window.cart.psn_no == psn)
    for i, code in enumerate(codes, 1):
        scan(qtbot, window.visit.entry, code)
        qtbot.waitUntil(lambda i=i: len(window.cart.lines) == i)
    diagnose(qtbot, window)
    with qtbot.waitSignal(window.settled, timeout=10000) as settled:
        key(qtbot, window, Qt.Key_F12)
        confirm_step(qtbot, window)
    qtbot.waitUntil(lambda: window.cart.psn_no is None and not window.backend._pending)
    return settled.args[0]


def refund_last(qtbot, window, uuid: str) -> None:
    """F6, the newest row is the visit just settled, F8, the supervisor's name and password, Esc."""
    key(qtbot, window, Qt.Key_F6)
    dialog = window.dialog
    assert isinstance(dialog, HistoryDialog)
    qtbot.waitUntil(lambda: bool(dialog.rows) and dialog.rows[0].uuid == uuid)
    qtbot.keyClick(dialog.table, Qt.Key_F8)
    qtbot.waitUntil(lambda: getattr(dialog, "auth", None) is not None and dialog.auth.isVisible())
    for field, text in ((dialog.auth.name, "admin"), (dialog.auth.password, "admin123")):
        qtbot.keyClicks(field, text)
        qtbot.keyClick(field, Qt.Key_Return)
    qtbot.waitUntil(lambda: "已退费" in dialog.message.text())
    qtbot.waitUntil(lambda: any(r.original_uuid == uuid for r in dialog.rows))
    closed(qtbot, window, dialog)


def day_end(qtbot, window, db, settled: int, refunds: int) -> None:
    key(qtbot, window, Qt.Key_F7)
    dialog = window.dialog
    assert isinstance(dialog, DayEndDialog)
    qtbot.waitUntil(lambda: hasattr(dialog, "report"))
    assert (dialog.report.settlements, dialog.report.refunds) == (settled, refunds)
    assert dialog.report.adds_up()
    closed(qtbot, window, dialog)


def closed(qtbot, window, dialog) -> None:
    """Esc closes the dialog, which is deleted, and the keyboard is back in the member box
    (window activation is asynchronous)."""
    qtbot.keyClick(dialog, Qt.Key_Escape)
    qtbot.waitUntil(lambda: window.dialog is None and not shiboken6.isValid(dialog))
    assert window.findChildren(QDialog) == []  # none kept: each would hold its table all day
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.member.lookup)


@pytest.mark.slow
def test_five_hundred_visits_in_a_row(templates, tmp_path, qtbot, capsys):
    db = copy_db(templates, "guangxi", tmp_path / "desk.db")
    people = [
        r[0] for r in db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' ORDER BY psn_no LIMIT 60")
    ]
    codes = [
        r[0]
        for r in db.conn.execute(
            "SELECT code FROM catalogue WHERE item_kind IN ('drug', 'service') AND trac_required = 0 "
            "ORDER BY code LIMIT 40"
        )
    ]
    before = db.conn.execute("SELECT count(*) FROM settlements").fetchone()[0]
    window = open_window(qtbot, tmp_path / "desk.db")
    gc.collect()
    none_at_start = sys.getrefcount(None)
    rss = {}
    refunds = 0
    try:
        for n in range(1, VISITS + 1):
            items = [codes[(n * 7 + j) % len(codes)] for j in range(1 + n % 5)]
            out = visit(qtbot, window, people[n % len(people)], items)
            assert (window.receipt_folder / f"{out['uuid']}.pdf").stat().st_size > 0
            if n % REFUND_EVERY == 0:
                refund_last(qtbot, window, out["uuid"])
                refunds += 1
            if n % DAY_END_EVERY == 0:
                day_end(qtbot, window, db, n, refunds)
                gc.collect()
                rss[n] = rss_mb()
                lost = none_at_start - sys.getrefcount(None)
                assert lost < 200, f"None lost {lost} references by visit {n}: the Qt binding leaks"
    finally:
        window.shutdown()
    with capsys.disabled():
        print(
            f"\n500-visit soak: RSS {rss.get(100, 0):.1f} MB at visit 100, {rss.get(500, 0):.1f} MB at visit 500 "
            f"(growth {rss.get(500, 0) - rss.get(100, 0):+.1f} MB, bound {RSS_GROWTH_MB} MB); "
            + ", ".join(f"{k}: {v:.1f}" for k, v in sorted(rss.items()))
        )
    count = db.conn.execute("SELECT count(*) FROM settlements").fetchone()[0]
    assert count == before + VISITS + refunds
    assert rss[500] - rss[100] < RSS_GROWTH_MB
    db.conn.close()
