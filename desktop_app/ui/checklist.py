"""What a new desk still lacks (members, the catalogue, a cashier), and Ctrl+B to the back office that adds them.

:func:`install` is the main window's one call: it adds the Ctrl+B key and asks the worker, once, what
the database holds; an empty one shows :class:`ChecklistDialog` over the window.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from ..services.setup import Readiness
from .common import ERROR_STYLE, OK_STYLE, message_of
from .dialogs import BackOfficeDialog

BACK_OFFICE_KEY = "Ctrl+B"


def lines(ready: Readiness) -> list[tuple[bool, str]]:
    """Each item of the checklist: done or not, and what to do."""
    items = [
        (
            ready.members > 0,
            f"参保人：已有 {ready.members} 人" if ready.members else "参保人：还没有。在后台“导入参保人”",
        ),
        (
            ready.catalogue > 0,
            f"医保目录：已有 {ready.catalogue} 项" if ready.catalogue else "医保目录：还没有。在后台“导入医保目录”",
        ),
        (
            ready.cashiers > 0,
            f"收款员：已有 {ready.cashiers} 位" if ready.cashiers else "收款员：还没有（主管之外）。在后台“操作员”新增",
        ),
    ]
    if ready.rules:
        items.append((False, f"结算规则：{ready.rules}"))
    return items


class ChecklistDialog(QDialog):
    """本机还差什么: each missing item in red with where to add it; Enter or Ctrl+B opens the back office."""

    def __init__(self, window, ready: Readiness) -> None:
        super().__init__(window)
        self.setWindowTitle("开始收费前还需完成")
        self.setMinimumWidth(min(560, window.width()))
        root = QVBoxLayout(self)
        root.addWidget(QLabel("设置向导已完成。开始收费前，本机还需要："))
        self.items = []
        for done, text in lines(ready):
            label = QLabel(f"{'✔' if done else '✘'}  {text}", wordWrap=True)
            label.setStyleSheet(OK_STYLE if done else ERROR_STYLE)
            root.addWidget(label)
            self.items.append(label)
        root.addWidget(QLabel(f"按 Enter 或 {BACK_OFFICE_KEY} 打开后台；之后随时可按 {BACK_OFFICE_KEY} 再打开。"))
        buttons = QDialogButtonBox()
        self.open_button = buttons.addButton(f"打开后台  [{BACK_OFFICE_KEY}]", QDialogButtonBox.AcceptRole)
        buttons.addButton("稍后  [Esc]", QDialogButtonBox.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        root.addWidget(buttons)
        self.open_button.setDefault(True)
        QShortcut(QKeySequence(BACK_OFFICE_KEY), self, activated=self.accept)


def open_back_office(window) -> None:
    """The back office over the window; closing it refreshes the status bar."""
    dialog = BackOfficeDialog(window)
    dialog.changed.connect(window.refresh_status)
    window._open(dialog)


def _show(window, ready: Readiness) -> None:
    if ready.complete or window.dialog is not None:
        return
    dialog = ChecklistDialog(window, ready)
    dialog.accepted.connect(lambda: open_back_office(window), Qt.QueuedConnection)  # after the checklist has closed
    window.checklist = dialog
    window._open(dialog)


def install(window) -> None:
    """Ctrl+B opens the back office; an empty database shows the checklist once, at start."""
    QShortcut(QKeySequence(BACK_OFFICE_KEY), window, activated=lambda: open_back_office(window))
    window.backend.submit(
        lambda desk: desk.readiness(window.today),
        lambda ready: _show(window, ready),
        lambda exc: window.message.error(message_of(exc)),
    )
