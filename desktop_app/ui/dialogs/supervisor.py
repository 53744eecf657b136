"""A supervisor's name, password and (where audited) reason, for one act at that moment."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QFormLayout, QLabel, QLineEdit

from ..common import MessageLine
from .form import FormDialog

OTHER = "其他（"  # the list's last reason is a placeholder to type over, never a reason itself


class SupervisorDialog(FormDialog):
    """A supervisor's name and password for one act (refund, price, settings).

    ``details`` are (label, text) rows shown first: what is being authorised (a refund's member, items and
    amounts).  With ``reasons`` the dialog asks why (a list, editable): audited and printed on the slip.
    ``reason_first`` puts the reason before the name (a refund: the cashier picks why, then the supervisor
    signs in); Enter moves on, Enter in the last field submits.
    """

    def __init__(
        self,
        action: str,
        parent=None,
        reasons: tuple[str, ...] = (),
        details: Sequence[tuple[str, str]] = (),
        reason_first: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{action}：需要主管授权")
        self.name = QLineEdit(objectName="supervisor_name")
        self.password = QLineEdit(objectName="supervisor_password", echoMode=QLineEdit.Password)
        self.message = MessageLine()
        form = QFormLayout(self)
        form.addRow(QLabel(f"{action}：请主管输入用户名和密码"))
        for label, text in details:
            value = QLabel(text, wordWrap=True)
            value.setObjectName(f"supervisor_detail_{label}")
            form.addRow(label, value)
        self.reason = None
        if reasons:  # the reason is audited and printed on the receipt
            self.reason = QComboBox(objectName="supervisor_reason", editable=True)
            self.reason.setInsertPolicy(QComboBox.NoInsert)
            self.reason.addItems(reasons)
        if self.reason is not None and reason_first:
            form.addRow("原因", self.reason)
        form.addRow("主管", self.name)
        form.addRow("密码", self.password)
        if self.reason is not None and not reason_first:
            form.addRow("原因", self.reason)
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        fields = [self.name, self.password]
        if self.reason is not None:
            fields.insert(0 if reason_first else 2, self.reason.lineEdit())
        self.chain(*fields)
        fields[0].setFocus()

    def reason_text(self) -> str:
        return self.reason.currentText().strip() if self.reason is not None else ""

    def submit(self) -> None:
        """Accept, unless the reason is left empty or is the placeholder to type over."""
        if self.reason is not None and (not self.reason_text() or self.reason_text().startswith(OTHER)):
            self.message.error("请选择原因；选“其他”时请改写为具体原因")
            self.reason.setFocus()
            self.reason.lineEdit().selectAll()
            return
        self.accept()
