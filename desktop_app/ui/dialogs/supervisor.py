"""A supervisor's name, password and (where audited) reason, for one act at that moment."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QFormLayout, QLabel, QLineEdit

from .form import FormDialog


class SupervisorDialog(FormDialog):
    """A supervisor's name and password for one act (refund, settings)."""

    def __init__(self, action: str, parent=None, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{action}：需要主管授权")
        self.name = QLineEdit(objectName="supervisor_name")
        self.password = QLineEdit(objectName="supervisor_password", echoMode=QLineEdit.Password)
        form = QFormLayout(self)
        form.addRow(QLabel(f"{action}：请主管输入用户名和密码"))
        form.addRow("主管", self.name)
        form.addRow("密码", self.password)
        self.reason = None
        if reasons:  # the reason is audited and printed on the receipt
            self.reason = QComboBox(objectName="supervisor_reason", editable=True)
            self.reason.addItems(reasons)
            form.addRow("原因", self.reason)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.chain(self.name, self.password, *([self.reason.lineEdit()] if self.reason is not None else []))

    def reason_text(self) -> str:
        return self.reason.currentText().strip() if self.reason is not None else ""
