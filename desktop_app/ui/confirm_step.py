"""F12's second look before anything is written: who, the split, 应收 in red, 实收 and 找零.

Enter (or F12 again) settles; Esc goes back to the visit with nothing written.  The cash
handed over may be typed here too (it starts as what 实收 holds): a cash short of 应收 is
refused in this dialog, before the settlement, never after.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from ..domain.errors import InputError
from ..services.cart import change_due
from ..services.desk import Shown
from .common import FigureLabel, MessageLine, message_of, relative_font, yuan
from .due_box import DUE_RED


class ConfirmStep(QDialog):
    def __init__(self, parent, name: str, shown: Shown, payer: str, tendered: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("确认结算")
        self.setObjectName("confirm_step")
        self.setMinimumWidth(440)  # read at arm's length, like the payment panel
        self.cash = shown.cash
        header = QLabel(f"{name}　医疗费总额 {yuan(shown.total)}")
        header.setObjectName("confirm_header")
        split = QFormLayout()
        for title, amount in (
            ("统筹基金支付", shown.fund),
            ("个人账户支付", shown.own_account),
            (f"共济账户支付{f'（{payer}）' if payer else ''}", shown.family_account),
            ("现金支付", shown.cash),
        ):
            split.addRow(title, self._figure(1.3, yuan(amount)))
        self.due = self._figure(2.6, yuan(shown.cash), DUE_RED)
        self.tendered = QLineEdit(tendered, placeholderText="不填表示刚好")
        self.tendered.setObjectName("confirm_tendered")
        self.tendered.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        relative_font(self.tendered, 1.4)
        self.tendered.textChanged.connect(lambda _: self.update_change())
        self.change = self._figure(2.0, "—")
        money = QFormLayout()
        money.addRow("应收", self.due)
        money.addRow("实收", self.tendered)
        money.addRow("找零", self.change)
        self.message = MessageLine()
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addLayout(split)
        if shown.warnings:
            warnings = QLabel("\n".join(shown.warnings), wordWrap=True, styleSheet="color: #8a5300;")
            layout.addWidget(warnings)
        layout.addLayout(money)
        layout.addWidget(self.message)
        layout.addLayout(self._buttons())
        QShortcut(QKeySequence("F12"), self, activated=self.settle)
        self.update_change()
        self.tendered.selectAll()
        self.tendered.setFocus()

    @staticmethod
    def _figure(times: float, text: str, colour: str = "") -> FigureLabel:
        label = FigureLabel(times, colour)
        label.setText(text)
        label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        return label

    def _buttons(self) -> QHBoxLayout:
        self.ok = QPushButton("确认结算  [Enter]")
        self.ok.setObjectName("confirm_ok")
        self.ok.setDefault(True)
        self.ok.clicked.connect(self.settle)
        back = QPushButton("返回修改  [Esc]")
        back.setAutoDefault(False)
        back.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(back)
        row.addWidget(self.ok)
        return row

    def change_due(self) -> Decimal | None:
        return change_due(self.cash, self.tendered.text())

    def update_change(self) -> None:
        try:
            due = self.change_due()
        except InputError:
            self.change.setText("—")
            return
        self.change.setText(yuan(due if due is not None else Decimal("0")))

    def settle(self) -> None:
        """Enter or F12: settle, unless the cash handed over is short or not an amount (then say so, stay)."""
        try:
            self.change_due()
        except InputError as exc:
            self.message.error(message_of(exc))
            self.tendered.setFocus()
            self.tendered.selectAll()
            return
        self.accept()
