"""当日结算: the day's settlements and refunds; search, preview, reprint, refund."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ...services.desk import Settled
from ..common import MessageLine, message_of, yuan
from ..screen_fit import fit_to_screen
from .supervisor import SupervisorDialog

HISTORY_COLUMNS = ("时间", "类型", "姓名", "医疗费总额", "统筹", "个人账户", "共济账户", "现金", "上传", "结算号")


class HistoryDialog(QDialog):
    """当日结算: search, preview, reprint, refund."""

    def __init__(self, window, day: dt.date) -> None:
        super().__init__(window)
        self.window_, self.backend, self.day, self.rows = window, window.backend, day, []
        self.setWindowTitle(f"当日结算  {day.isoformat()}")
        fit_to_screen(self, 1200, 600)  # at 1024×768 it fits the screen and the table scrolls
        self.search = QLineEdit(objectName="history_search", placeholderText="姓名 / 人员编号 / 结算号开头")
        self.search.textChanged.connect(lambda _: self.timer.start())
        self.timer = QTimer(self, singleShot=True, interval=200)
        self.timer.timeout.connect(self.load)
        self.table = QTableWidget(0, len(HISTORY_COLUMNS), objectName="history_table")
        self.table.setHorizontalHeaderLabels(HISTORY_COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.message = MessageLine()
        buttons = QHBoxLayout()
        self.keys = {Qt.Key_F5: self.reprint, Qt.Key_F8: self.refund}
        for text, slot in (
            ("预览  [Enter]", self.preview),
            ("补打  [F5]", self.reprint),
            ("退费  [F8]", self.refund),
            ("关闭  [Esc]", self.reject),
        ):
            button = QPushButton(text)
            button.setAutoDefault(False)
            button.setFocusPolicy(Qt.NoFocus)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.search.returnPressed.connect(self.table.setFocus)
        self.table.activated.connect(lambda _: self.preview())
        self.load()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - F-keys wherever the focus is in this dialog
        action = self.keys.get(event.key())
        if action:
            action()
        else:
            super().keyPressEvent(event)

    def load(self) -> None:
        text = self.search.text()
        self.backend.submit(
            lambda desk: desk.history(self.day, text), self.show_rows, lambda exc: self.message.error(message_of(exc))
        )

    def show_rows(self, rows) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            kind = "退费" if row.kind == "refund" else ("已退费" if row.refunded else "结算")
            values = (
                row.created_at[11:19],
                kind,
                row.name,
                yuan(row.total),
                yuan(row.fund),
                yuan(row.own_account),
                yuan(row.family_account),
                yuan(row.cash),
                "已上传" if row.synced else "未上传",
                row.uuid,
            )
            for c, value in enumerate(values):
                cell = QTableWidgetItem(value)
                if 3 <= c <= 7:
                    cell.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, c, cell)
        if rows:
            self.table.selectRow(0)

    def current(self):
        r = self.table.currentRow()
        return self.rows[r] if 0 <= r < len(self.rows) else None

    def preview(self) -> None:
        row = self.current()
        if row:
            self.window_.receipt_for(row.uuid, note="补打", then=self.window_.preview)

    def reprint(self) -> None:
        row = self.current()
        if row:
            self.window_.receipt_for(row.uuid, note="补打", then=self.window_.print_receipt)
            self.message.ok(f"已补打 {row.uuid}")

    def refund(self) -> None:
        row = self.current()
        if row is None:
            return
        if row.kind == "refund" or row.refunded:
            self.message.error(f"结算号 {row.uuid}：{'这是退费记录' if row.kind == 'refund' else '已退费'}，不能再退费")
            return
        self.auth = SupervisorDialog("退费", self)
        self.auth.accepted.connect(lambda: self._refund(row, self.auth.name.text().strip(), self.auth.password.text()))
        self.auth.open()

    def _refund(self, row, name: str, password: str) -> None:
        layout = self.window_.layout_name
        self.backend.submit(
            lambda desk: desk.refund(row.uuid, name, password, layout),
            self._refunded,
            lambda exc: self.message.error(message_of(exc)),
        )

    def _refunded(self, back: Settled) -> None:
        self.message.ok(
            f"已退费：退费单 {back.uuid}，退回现金 {yuan(-back.cash)}，退回个人账户 {yuan(-back.own_account)}"
        )
        self.window_.print_receipt(back.receipt)
        self.window_.refresh_status()
        self.load()
