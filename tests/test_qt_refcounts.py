"""The screens' repeated paths must not eat Python's ``None``.

PySide6 6.12.0 on Python 3.11 drops one reference to ``None`` on every call of a void
setter (``setTextAlignment``, ``setFlags``, ``setAlignment``, ``setText``, ``setData`` …).
Python 3.11's ``None`` is not immortal, so after some tens of thousands of such calls
the interpreter aborts with "Fatal Python error: none_dealloc" and the counter loses
its window mid-queue (about 85 visits).  ``pyproject.toml`` pins a Qt without the bug;
this test fails on a Qt that has it.

Each path is the real method a screen calls on every refresh, fed with real data from
a real SQLite file, run several hundred times.  The count is read every few rounds,
so a leaking Qt fails the test long before ``None`` could reach zero.
"""

from __future__ import annotations

import gc
import sys
from decimal import Decimal

import pytest
from PySide6.QtWidgets import QApplication

from desktop_app.services import card as cards
from desktop_app.services import checkout, daybook
from desktop_app.services.cart import CartLine
from desktop_app.services.desk import Shown
from desktop_app.ui.dialogs import DayEndDialog, HistoryDialog
from tests.store_fixtures import DX, copy_db
from tests.test_window import TODAY, open_window, settle_one

ROUNDS = 300
CHECK_EVERY = 10
# Steady-state repeats create and free the same objects; a correct binding nets zero.
# The slack only absorbs caches filling on the first rounds (it is far below one round's
# loss on a leaking Qt: a 5-line visit table alone makes about 60 setter calls).
SLACK = 40


def assert_keeps_none(name: str, fn, rounds: int = ROUNDS) -> None:
    """Run ``fn`` ``rounds`` times; fail as soon as ``None``'s reference count falls."""
    fn()  # a first round fills whatever caches the path has
    QApplication.processEvents()
    gc.collect()
    before = sys.getrefcount(None)
    for i in range(1, rounds + 1):
        fn()
        if i % CHECK_EVERY == 0:
            QApplication.processEvents()
            lost = before - sys.getrefcount(None)
            if lost > SLACK:
                pytest.fail(
                    f"{name}: None lost {lost} references in {i} rounds; this Qt binding leaks "
                    f"(see pyproject.toml's pin)"
                )
    gc.collect()
    lost = before - sys.getrefcount(None)
    assert lost <= SLACK, f"{name}: None lost {lost} references in {rounds} rounds"


@pytest.fixture
def window(templates, tmp_path, qtbot):
    db = copy_db(templates, "guangxi", tmp_path / "desk.db")
    for _ in range(3):
        settle_one(db)
    settle_one(db)
    first = db.conn.execute("SELECT uuid FROM settlements ORDER BY rowid DESC LIMIT 1").fetchone()[0]
    checkout.refund(db, first, "admin", "admin123", at=f"{TODAY.isoformat()}T16:40:00+08:00")
    w = open_window(qtbot, tmp_path / "desk.db")
    yield w, db
    w.shutdown()
    db.conn.close()


def test_the_visit_table_refresh_keeps_none(window):
    w, db = window
    for code, name, category, price in db.conn.execute(
        "SELECT code, name, category, price FROM catalogue ORDER BY code LIMIT 5"
    ):
        w.cart.add(CartLine(code, name, category, Decimal(price) / 100, Decimal("2")))
    assert_keeps_none("visit table refresh", w.visit.refresh)


def test_the_member_card_and_payment_panel_keep_none(window):
    w, db = window
    owner = db.conn.execute("SELECT owner_psn_no FROM family_links LIMIT 1").fetchone()[0]
    card = cards.member_card(db.conn, owner, TODAY)
    code = db.conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 LIMIT 1"
    ).fetchone()[0]
    quote = Shown.of(
        checkout.build_quote(
            db.conn,
            {
                "member": {"psn_no": owner},
                "diagnoses": DX,
                "date": TODAY.isoformat(),
                "items": [{"code": code, "quantity": 2}],
            },
            TODAY,
        )
    )

    def member_and_payment():
        w.member.show_card(card)
        w.payment.set_member(card)
        w.payment.show_quote(quote)
        w.payment.show_quote(None)

    assert_keeps_none("member card and payment panel", member_and_payment)


def test_the_history_and_day_end_screens_keep_none(window, qtbot):
    w, db = window
    rows = daybook.history(db.conn, TODAY)
    report = daybook.day_report(db.conn, TODAY)
    assert len(rows) >= 5 and report.refunds == 1
    history = HistoryDialog(w, TODAY)
    day_end = DayEndDialog(w, TODAY)
    for dialog in (history, day_end):
        qtbot.addWidget(dialog)
    w.backend.wait()
    qtbot.waitUntil(lambda: len(history.rows) == len(rows) and hasattr(day_end, "report"))
    assert_keeps_none("history rows", lambda: history.show_rows(rows))
    assert_keeps_none("day-end report", lambda: day_end.show_report(report))
