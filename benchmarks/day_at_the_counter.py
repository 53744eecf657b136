"""A day at the counter in a window process of its own: what ``bench_day.py`` runs and measures.

``python benchmarks/day_at_the_counter.py DB VISITS`` opens the counter's window on ``DB`` as the app does
(the bundled font, the worker, the receipt font warmed), logged in as the demo cashier, and works ``VISITS``
visits by keyboard alone, as the soak test does: F1 and the member's number, one to five item codes, Ctrl+D
and a diagnosis, F12 and Enter (the receipt PDF is written); every 50th visit refunded from F6 with the
supervisor's password, F7 day-end every 100th.  It prints one JSON line: the resident memory (VmRSS, MB)
after start and after every 100th visit, the largest (VmHWM), the seconds the visits took, and two times of
each visit: ``checkout.confirm`` as the window's worker ran it (timed around the real function), and Enter on
the confirm step to the window's ``settled`` signal (the commit, the receipt written, 结算成功 shown).
No pytest here: nothing but the app and Qt's own QTest key events in the process whose memory is measured.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from measure import timed  # noqa: E402  (benchmarks/, this script's folder)

from desktop_app import log  # noqa: E402
from desktop_app.services import checkout  # noqa: E402
from desktop_app.store.db import connect  # noqa: E402
from desktop_app.ui.backend import Backend  # noqa: E402
from desktop_app.ui.common import setup_app  # noqa: E402
from desktop_app.ui.dialogs import DayEndDialog, HistoryDialog  # noqa: E402
from desktop_app.ui.main_window import MainWindow  # noqa: E402

REFUND_EVERY = 50
DAY_END_EVERY = 100
# Seconds of each checkout.confirm as the window's worker runs it: between a visit's other work (the quotes, the
# dialogs, the last receipt), not in a loop of confirms.
CONFIRMS: list[float] = []


def memory(field: str) -> float:
    """This process's VmRSS or VmHWM in MB, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def wait_until(condition, timeout: float = 15.0) -> None:
    """Run the event loop until ``condition()`` holds, looking every 2 ms.

    Not ``QTest.qWait``: PySide6 holds the GIL through it, so the window's worker thread (the confirm, the
    receipt) would run only between the waits, at a fraction of its speed, and its times would be the harness's.
    ``QEventLoop.exec`` lets go of the GIL while it waits, as the app's own event loop does.
    """
    if condition():
        return
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    timer = QTimer(interval=2)
    timer.timeout.connect(lambda: (condition() or time.monotonic() > deadline) and loop.quit())
    timer.start()
    loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError(f"waited {timeout} s for the condition on line {condition.__code__.co_firstlineno}")


def focused(window):
    return QApplication.focusWidget() or window


def scan(widget, text: str) -> None:
    """A scanner types the code into the focused field and ends with Enter."""
    QTest.keyClicks(widget, text)
    QTest.keyClick(widget, Qt.Key_Return)


def visit(window: MainWindow, psn: str, codes: list[str]) -> tuple[dict, float]:
    """One visit by keyboard; its settlement, and the seconds from Enter on the confirm step to ``settled``."""
    QTest.keyClick(focused(window), Qt.Key_F1)
    wait_until(lambda: QApplication.focusWidget() is window.member.lookup)
    scan(window.member.lookup, psn)
    wait_until(lambda: window.cart.psn_no == psn)
    for i, code in enumerate(codes, 1):
        wait_until(lambda: QApplication.focusWidget() is window.visit.entry)
        scan(window.visit.entry, code)
        wait_until(lambda i=i: len(window.cart.lines) == i)
    QTest.keyClick(window, Qt.Key_D, Qt.ControlModifier)
    wait_until(lambda: QApplication.focusWidget() is window.diagnosis.entry)
    scan(window.diagnosis.entry, "J06.900")
    wait_until(lambda: len(window.cart.diagnoses) == 1)
    settled: list[tuple[float, dict]] = []

    def done(out: dict) -> None:
        settled.append((time.perf_counter(), out))

    window.settled.connect(done)
    QTest.keyClick(focused(window), Qt.Key_F12)
    wait_until(lambda: window.confirming is not None and QApplication.focusWidget() is window.confirming.tendered)
    start = time.perf_counter()
    QTest.keyClick(focused(window), Qt.Key_Return)
    wait_until(lambda: bool(settled) and window.cart.psn_no is None and not window.backend._pending)
    window.settled.disconnect(done)
    return settled[0][1], settled[0][0] - start


def close_dialog(window: MainWindow, dialog) -> None:
    QTest.keyClick(dialog, Qt.Key_Escape)
    wait_until(lambda: window.dialog is None)
    wait_until(lambda: QApplication.focusWidget() is window.member.lookup)


def refund(window: MainWindow, uuid: str) -> None:
    """F6, the newest row is the visit just settled, F8, the supervisor's name and password, Esc."""
    QTest.keyClick(focused(window), Qt.Key_F6)
    wait_until(lambda: isinstance(window.dialog, HistoryDialog))
    dialog = window.dialog
    wait_until(lambda: bool(dialog.rows) and dialog.rows[0].uuid == uuid)
    QTest.keyClick(dialog.table, Qt.Key_F8)
    wait_until(lambda: getattr(dialog, "auth", None) is not None and dialog.auth.isVisible())
    for field, text in ((dialog.auth.name, "admin"), (dialog.auth.password, "admin123")):
        scan(field, text)
    wait_until(lambda: "已退费" in dialog.message.text())
    close_dialog(window, dialog)


def day_end(window: MainWindow) -> None:
    QTest.keyClick(focused(window), Qt.Key_F7)
    wait_until(lambda: isinstance(window.dialog, DayEndDialog))
    dialog = window.dialog
    wait_until(lambda: hasattr(dialog, "report"))
    close_dialog(window, dialog)


def main() -> None:
    path, visits = Path(sys.argv[1]), int(sys.argv[2])
    db = connect(path)
    people = [r[0] for r in db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' LIMIT 60")]
    codes = [
        r[0]
        for r in db.conn.execute(
            "SELECT code FROM catalogue WHERE item_kind IN ('drug', 'service') AND trac_required = 0 LIMIT 40"
        )
    ]
    db.conn.close()
    checkout.confirm = timed(checkout.confirm, CONFIRMS)  # the desk calls it through the module
    log.setup("app", path.parent / "logs")  # as the app logs: a day's log lines are part of its memory too
    app = QApplication(sys.argv[:1])
    setup_app(app)
    backend = Backend(path)
    backend.submit(lambda desk: desk.warm_receipts())
    window = MainWindow(backend, "shouyin")
    window.show()
    window.activateWindow()
    wait_until(lambda: bool(window.state))
    rss = {0: memory("VmRSS")}
    start = time.perf_counter()
    enter_to_settled = []
    for n in range(1, visits + 1):
        out, seconds = visit(
            window, people[n % len(people)], [codes[(n * 7 + j) % len(codes)] for j in range(1 + n % 5)]
        )
        enter_to_settled.append(seconds)
        if n % REFUND_EVERY == 0:
            refund(window, out["uuid"])
        if n % DAY_END_EVERY == 0:
            day_end(window)
        if n % DAY_END_EVERY == 0 or n == visits:
            rss[n] = memory("VmRSS")
    seconds = time.perf_counter() - start
    window.shutdown()
    print(
        json.dumps(
            {
                "rss": rss,
                "hwm": memory("VmHWM"),
                "seconds": seconds,
                "confirm": CONFIRMS,
                "enter_to_settled": enter_to_settled,
            }
        )
    )


if __name__ == "__main__":
    main()
