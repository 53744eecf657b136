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

from ...services.desk import RefundSummary, Settled
from ..common import MessageLine, message_of, yuan
from ..printing import PreviewDialog
from ..screen_fit import fit_to_screen
from .return_lines import ReturnLinesDialog
from .supervisor import SupervisorDialog

HISTORY_COLUMNS = ("时间", "类型", "姓名", "医疗费总额", "统筹", "个人账户", "共济账户", "现金", "上传", "结算号")


class HistoryDialog(QDialog):
    """当日结算: search, preview, reprint, refund."""

    def __init__(self, window, day: dt.date) -> None:
        super().__init__(window)
        self.window_, self.backend, self.day, self.rows = window, window.backend, day, []
        self.shown_preview = None
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
        self.keys = {Qt.Key_F5: self.reprint, Qt.Key_F8: self.refund, Qt.Key_F9: self.partial}
        for text, slot in (
            ("预览  [Enter]", self.preview),
            ("补打  [F5]", self.reprint),
            ("退费  [F8]", self.refund),
            ("部分退费  [F9]", self.partial),
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
        """Enter: the receipt on screen as stored (no 补打 mark, no file under receipts/); F5 there reprints."""
        row = self.current()
        if row:
            uuid = row.uuid
            self.window_.receipt_for(uuid, None, then=lambda path: self._show(path, uuid), preview=True)

    def _show(self, path, uuid: str) -> None:
        """The preview is this dialog's own: Esc returns to the list, where the cashier was."""
        back_to = self.focusWidget()
        reprint = lambda _path: self.window_.receipt_for(uuid, "补打", self.window_.print_receipt)  # noqa: E731
        self.shown_preview = PreviewDialog(path, self, on_print=reprint)
        self.shown_preview.finished.connect(lambda _result: self._preview_closed(back_to))
        self.shown_preview.open()

    def _preview_closed(self, back_to) -> None:
        self.shown_preview.deleteLater()
        self.shown_preview = None
        self.activateWindow()
        (back_to or self.table).setFocus()

    def reprint(self) -> None:
        row = self.current()
        if row:
            self.window_.receipt_for(row.uuid, note="补打", then=self.window_.print_receipt)
            self.message.ok(f"已补打 {row.uuid}")

    def refund(self, then=None) -> None:
        """F8: what would be refunded (whose, what, how much back where), a reason, and a supervisor, now."""
        row = self.current()
        if row is None:
            return
        if row.kind == "refund" or row.refunded:
            self.message.error(f"结算号 {row.uuid}：{'这是退费记录' if row.kind == 'refund' else '已退费'}，不能再退费")
            return
        self.backend.submit(
            lambda desk: desk.refund_summary(row.uuid),
            lambda summary: (then or self._ask)(row, summary),
            lambda exc: self.message.error(message_of(exc)),
        )

    def partial(self) -> None:
        """F9: 部分退费: the lines returned are ticked; the rest are settled again (the supervisor authorises both)."""
        self.refund(then=self._pick_lines)

    def _pick_lines(self, row, summary: RefundSummary) -> None:
        if len(summary.items) < 2:
            self.message.error("这笔结算只有一个项目，不能部分退费：请按 F8 全部退费")
            return
        self.picker = ReturnLinesDialog(summary, self)
        self.picker.accepted.connect(lambda: self._ask_partial(row, self.picker))
        self.picker.open()

    def _ask_partial(self, row, picker: ReturnLinesDialog) -> None:
        self.auth = SupervisorDialog(
            "部分退费", self, reasons=REFUND_REASONS, details=picker.details(), reason_first=True
        )
        keep = picker.kept()
        self.auth.accepted.connect(
            lambda: self._partial(
                row, keep, self.auth.name.text().strip(), self.auth.password.text(), self.auth.reason_text()
            )
        )
        self.auth.open()

    def _partial(self, row, keep: list[int], name: str, password: str, reason: str) -> None:
        layout, today = self.window_.layout_name, self.window_.today
        self.backend.submit(
            lambda desk: desk.partial_refund(row.uuid, keep, name, password, layout, reason, today),
            self._partly_refunded,
            lambda exc: self.message.error(message_of(exc)),
        )

    def _partly_refunded(self, done: tuple[Settled, Settled]) -> None:
        refund, again = done
        cashier = refund.record.get("cashier", "")
        self.message.ok(
            f"已部分退费：原结算已冲销（退费单 {refund.uuid[:8]}），保留项目重新结算 {again.uuid[:8]}；"
            f"退还现金 {yuan(abs(refund.cash) - again.cash)}（计入收款员 {cashier}）"
        )
        self.window_.print_receipt(refund.receipt)
        self.window_.print_receipt(again.receipt)
        self.window_.refresh_status()
        self.load()

    def _ask(self, row, summary: RefundSummary) -> None:
        self.auth = SupervisorDialog(
            "退费", self, reasons=REFUND_REASONS, details=refund_details(summary), reason_first=True
        )
        self.auth.accepted.connect(
            lambda: self._refund(row, self.auth.name.text().strip(), self.auth.password.text(), self.auth.reason_text())
        )
        self.auth.open()

    def _refund(self, row, name: str, password: str, reason: str) -> None:
        layout = self.window_.layout_name
        self.backend.submit(
            lambda desk: desk.refund(row.uuid, name, password, layout, reason),
            self._refunded,
            lambda exc: self.message.error(message_of(exc)),
        )

    def _refunded(self, back: Settled) -> None:
        cashier = back.record.get("cashier", "")
        back_to = f"退回个人账户 {yuan(abs(back.own_account))}，共济账户 {yuan(abs(back.family_account))}"
        self.message.ok(
            f"已退费：退费单 {back.uuid}，退还现金 {yuan(abs(back.cash))}（计入收款员 {cashier}），"
            f"{back_to}，统筹基金 {yuan(abs(back.fund))}"
        )
        self.window_.print_receipt(back.receipt)
        self.window_.refresh_status()
        self.load()


REFUND_REASONS = (
    "患者取消就诊或退药",
    "收费有误（项目、数量或单价）",
    "重复收费",
    "医保结算有误，需重新结算",
    "其他（请在此填写）",
)
SHOWN_ITEMS = 6


def refund_details(s: RefundSummary) -> list[tuple[str, str]]:
    """The refund prompt's rows: whose settlement, its items, what goes back where, whose drawer pays the cash."""
    items = "；".join(f"{i.name} ×{i.quantity}  {yuan(i.amount)}" for i in s.items[:SHOWN_ITEMS])
    if len(s.items) > SHOWN_ITEMS:
        items += f"；等共 {len(s.items)} 项"
    family = f"（{s.family_payer_name}）" if s.family_payer_name else ""
    return [
        ("参保人", f"{s.name}　证件号 {s.masked_certno}"),
        ("原结算", f"{s.created_at[11:19]}　收款员 {s.cashier}　结算号 {s.uuid[:8]}"),
        ("项目", items or "—"),
        ("医疗费总额", yuan(s.total)),
        ("退回统筹基金", yuan(s.fund)),
        ("退回个人账户", yuan(s.own_account)),
        ("退回共济账户", yuan(s.family_account) + family),
        ("退还现金", f"{yuan(s.cash)}　（从收款员 {s.cashier} 的应交现金中扣除）"),
    ]
