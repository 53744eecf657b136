"""Operator login at start: the window opens only for a known operator."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox, QFormLayout, QLineEdit

from ..backend import Backend
from ..common import MessageLine, message_of
from .form import FormDialog


class LoginDialog(FormDialog):
    """The operator signs in at start; the window opens only for a known operator."""

    def __init__(self, backend: Backend, parent=None) -> None:
        super().__init__(parent)
        self.backend, self.operator, self.role = backend, None, None
        self.setWindowTitle("共济前台 — 操作员登录")
        self.setMinimumWidth(380)
        self.name = QLineEdit(objectName="login_name")
        self.password = QLineEdit(objectName="login_password", echoMode=QLineEdit.Password)
        self.message = MessageLine()
        form = QFormLayout(self)
        form.addRow("操作员", self.name)
        form.addRow("密码", self.password)
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("登录")
        buttons.button(QDialogButtonBox.Cancel).setText("退出")
        buttons.accepted.connect(self.try_login)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.chain(self.name, self.password)

    def submit(self) -> None:
        self.try_login()

    def try_login(self) -> None:
        name, password = self.name.text().strip(), self.password.text()
        self.backend.submit(
            lambda desk: desk.sign_in(name, password), lambda role: self._ok(name, role), lambda exc: self._fail(exc)
        )

    def _ok(self, name: str, role: str) -> None:
        self.operator, self.role = name, role
        self.accept()

    def _fail(self, exc: BaseException) -> None:
        self.password.clear()
        self.password.setFocus()
        self.message.error(message_of(exc))
