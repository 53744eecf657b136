"""应收 / 实收 / 找零: the three figures a cashier reads from two metres away, and the change that stays.

While a visit is open the box shows the cash due (large, red), the cash handed over (typed, F11)
and the change.  After a settlement it keeps the settled figures, marked 已结算, until the next
member starts: a cashier counting coins back has the change in front of her.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QLineEdit, QWidget

from ..domain.errors import InputError
from ..services.cart import change_due
from .common import FigureLabel, relative_font, yuan

DUE_RED = "#c62828"
SETTLED_GREEN = "#1b5e20"


class DueBox(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("due_box")
        self.setFrameShape(QFrame.StyledPanel)
        self.cash: Decimal | None = None
        self.settled = False
        self.caption = QLabel()  # 已结算: whose change this is (hidden while a visit is open)
        self.caption.setObjectName("due_caption")
        self.caption.setWordWrap(True)
        self.caption.hide()
        self.due = FigureLabel(2.6, DUE_RED)
        self.due.setObjectName("due")
        self.tendered = QLineEdit(placeholderText="不填即刚好")
        self.tendered.setObjectName("tendered")
        self.tendered.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        relative_font(self.tendered, 1.4)
        self.tendered.textChanged.connect(lambda _: self.update_change())
        self.change = FigureLabel(2.0)
        self.change.setObjectName("change")
        for figure in (self.due, self.change):
            figure.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        grid = QGridLayout(self)
        grid.addWidget(self.caption, 0, 0, 1, 2)
        for row, (title, widget) in enumerate(
            (("应收", self.due), ("实收 [F11]", self.tendered), ("找零", self.change)), 1
        ):
            label = QLabel(title)
            relative_font(label, 1.2)
            grid.addWidget(label, row, 0)
            grid.addWidget(widget, row, 1)
        grid.setColumnStretch(1, 1)

    def show_due(self, cash: Decimal | None) -> None:
        """The open visit's cash due (None: no quote yet, which leaves a settlement's figures standing)."""
        if self.settled:
            if cash is None:
                return
            self.start_next()
        self.cash = cash
        self.due.setText(yuan(cash) if cash is not None else "—")
        self.update_change()

    def update_change(self) -> None:
        if self.settled:
            return
        if self.cash is None:
            self.change.setText("—")
            return
        try:
            due = change_due(self.cash, self.tendered.text())
        except InputError as exc:  # said beside the field, never raised
            self.change.setText("—")
            self.change.setToolTip(exc.reason)
            return
        self.change.setToolTip("")
        self.change.setText(yuan(due if due is not None else Decimal("0")))

    def show_settled(self, name: str, cash: Decimal, tendered: Decimal | None) -> None:
        """What was just settled, kept until the next member starts."""
        self.settled = True
        self.cash = None
        self.caption.setText(f"已结算：{name}　请找零")
        self.caption.setStyleSheet(f"color: {SETTLED_GREEN}; font-weight: bold;")
        self.caption.show()
        self.due.setText(yuan(cash))
        self.tendered.blockSignals(True)
        self.tendered.setText(yuan(tendered) if tendered is not None else "")
        self.tendered.blockSignals(False)
        self.tendered.setReadOnly(True)
        change = (tendered - cash) if tendered is not None else Decimal("0")
        self.change.setText(yuan(change) if change >= 0 else f"补收 {yuan(-change)}")

    def start_next(self) -> None:
        """The next member: the settled figures go, the box is ready for the new visit."""
        self.settled = False
        self.caption.clear()
        self.caption.hide()
        self.tendered.setReadOnly(False)
        self.tendered.clear()
        self.cash = None
        self.due.setText("—")
        self.change.setText("—")
