"""The 外配处方 form at a pharmacy: the prescription a sale under pooling is made on (F9)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLineEdit, QSpinBox


class PrescriptionPanel(QGroupBox):
    """外配处方: required before a pharmacy sale under pooling."""

    changed = Signal()
    FIELDS = (("institution", "开具机构"), ("doctor", "开具医师"), ("number", "处方号"), ("diagnosis", "诊断"))

    def __init__(self, today: dt.date) -> None:
        super().__init__("外配处方  [F9]")
        self.today = today
        self.edits = {}
        form = QFormLayout(self)
        for key, title in self.FIELDS:
            edit = QLineEdit()
            edit.setObjectName(f"rx_{key}")
            edit.editingFinished.connect(self.changed.emit)
            self.edits[key] = edit
            form.addRow(title, edit)
        self.issued = QLineEdit(today.isoformat())
        self.issued.setObjectName("rx_issued")
        self.issued.setInputMask("0000-00-00")
        self.issued.editingFinished.connect(self.changed.emit)
        form.addRow("开具日期", self.issued)
        self.valid_days = QSpinBox(minimum=1, maximum=3, value=1, suffix=" 天")
        self.valid_days.setObjectName("rx_valid_days")
        self.valid_days.valueChanged.connect(lambda _: self.changed.emit())
        form.addRow("有效期", self.valid_days)
        for edit in [*self.edits.values(), self.issued]:
            edit.returnPressed.connect(self.focusNextChild)

    def filled(self) -> bool:
        """Anything typed: an empty form means no prescription (refused where one is required)."""
        return self.isVisible() and any(e.text().strip() for e in self.edits.values())

    def first(self) -> QLineEdit:
        return self.edits["institution"]

    def data(self) -> dict:
        return {
            **{k: e.text().strip() for k, e in self.edits.items()},
            "issued": self.issued.text().strip(),
            "valid_days": self.valid_days.value(),
        }

    def reset(self) -> None:
        for edit in self.edits.values():
            edit.clear()
        self.issued.setText(self.today.isoformat())
        self.valid_days.setValue(1)
