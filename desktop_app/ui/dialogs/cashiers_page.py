"""后台 · 操作员: add a cashier, disable or enable one, reset a forgotten password; each a supervisor's act now."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...services.settings import ROLE_NAMES, OperatorRow
from ..common import MessageLine, message_of
from .authorise import ask_supervisor

COLUMNS = ("用户名", "角色", "状态", "建立时间")


def _password(name: str) -> QLineEdit:
    return QLineEdit(objectName=name, echoMode=QLineEdit.Password, placeholderText="至少 6 位")


class CashiersPage(QWidget):
    """The operators, and the three acts on them; the list reloads after each."""

    def __init__(self, backend, parent=None) -> None:
        super().__init__(parent)
        self.backend, self.rows = backend, []
        self.table = QTableWidget(0, len(COLUMNS), objectName="operators_table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setTabKeyNavigation(False)  # ↑↓ choose a row; Tab goes on to the form
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.itemSelectionChanged.connect(self._selected)
        self.new_name = QLineEdit(objectName="operator_new_name", placeholderText="登录用的用户名，如 shouyin2")
        self.new_role = QComboBox(objectName="operator_new_role")
        for role, word in ROLE_NAMES.items():
            self.new_role.addItem(word, role)
        self.new_password, self.new_again = _password("operator_new_password"), _password("operator_new_again")
        self.reset_password, self.reset_again = _password("operator_reset_password"), _password("operator_reset_again")
        self.reset_again.setPlaceholderText("再输一次，回车重置")
        self.new_again.setPlaceholderText("再输一次，回车新增")
        self.toggle = QPushButton("停用  [F8]", objectName="operator_toggle", autoDefault=False, enabled=False)
        self.toggle.clicked.connect(self.ask_toggle)
        self.message = MessageLine()
        self._lay_out()
        self.new_name.returnPressed.connect(self.new_password.setFocus)
        self.new_password.returnPressed.connect(self.new_again.setFocus)
        self.new_again.returnPressed.connect(self.ask_add)
        self.reset_password.returnPressed.connect(self.reset_again.setFocus)
        self.reset_again.returnPressed.connect(self.ask_reset)
        QShortcut(QKeySequence("F8"), self, activated=self.ask_toggle, context=Qt.WidgetWithChildrenShortcut)
        self.load()

    def _lay_out(self) -> None:
        add = QGroupBox("新增操作员（回车：下一项，最后一项回车新增）")
        form = QFormLayout(add)
        form.addRow("用户名", self.new_name)
        form.addRow("角色", self.new_role)
        form.addRow("密码", self.new_password)
        form.addRow("再次输入密码", self.new_again)
        chosen = QGroupBox("选中的操作员（↑↓ 在上表中选择）")
        reset = QFormLayout(chosen)
        reset.addRow("新密码", self.reset_password)
        reset.addRow("再次输入新密码", self.reset_again)
        reset.addRow(self.toggle)
        groups = QHBoxLayout()
        groups.addWidget(add, 1)
        groups.addWidget(chosen, 1)
        root = QVBoxLayout(self)
        root.addWidget(self.table, 1)
        root.addLayout(groups)
        root.addWidget(self.message)
        chain = (self.table, self.new_name, self.new_role, self.new_password, self.new_again)
        chain += (self.reset_password, self.reset_again, self.toggle)
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    # ---------------------------------------------------------------- the list

    def load(self, select: str | None = None) -> None:
        self.backend.submit(lambda desk: desk.operators(), lambda rows: self._show(rows, select), self._failed)

    def _show(self, rows: list[OperatorRow], select: str | None) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = (
                row.name,
                row.role_name,
                "已停用" if row.disabled else "启用",
                row.created_at[:16].replace("T", " "),
            )
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        names = [row.name for row in rows]
        if select in names:
            self.table.selectRow(names.index(select))
        self._selected()

    def chosen(self) -> OperatorRow | None:
        index = self.table.currentRow()
        return self.rows[index] if 0 <= index < len(self.rows) and self.table.selectedItems() else None

    def _selected(self) -> None:
        row = self.chosen()
        self.toggle.setEnabled(row is not None)
        self.toggle.setText(f"{'启用' if row is not None and row.disabled else '停用'}  [F8]")

    # ---------------------------------------------------------------- the acts

    def _with_supervisor(self, action: str, act, done_text: str, select: str | None) -> None:
        """Ask a supervisor's name and password now, then run ``act(desk, name, password)`` in the worker."""

        def run(name: str, password: str) -> None:
            self.backend.submit(
                lambda desk: act(desk, name, password), lambda _: self._done(done_text, select), self._failed
            )

        self.supervisor = ask_supervisor(self, action, run, QApplication.focusWidget() or self.table)

    def ask_add(self) -> None:
        name, role = self.new_name.text().strip(), self.new_role.currentData()
        password, again = self.new_password.text(), self.new_again.text()
        self._with_supervisor(
            f"新增{ROLE_NAMES[role]} {name}",
            lambda desk, who, secret: desk.add_operator(who, secret, name, role, password, again),
            f"已新增{ROLE_NAMES[role]} {name}，可用新密码登录",
            name,
        )

    def ask_toggle(self) -> None:
        row = self.chosen()
        if row is None:
            self.message.error("请先在上表中选择一位操作员（↑↓）")
            return
        disable = not row.disabled
        self._with_supervisor(
            f"{'停用' if disable else '启用'}操作员 {row.name}",
            lambda desk, who, secret: desk.set_operator_disabled(who, secret, row.name, disable),
            f"已{'停用' if disable else '启用'}操作员 {row.name}",
            row.name,
        )

    def ask_reset(self) -> None:
        row = self.chosen()
        if row is None:
            self.message.error("请先在上表中选择要重置密码的操作员（↑↓）")
            return
        password, again = self.reset_password.text(), self.reset_again.text()
        self._with_supervisor(
            f"重置 {row.name} 的密码",
            lambda desk, who, secret: desk.reset_password(who, secret, row.name, password, again),
            f"已重置 {row.name} 的密码，请告知本人用新密码登录",
            row.name,
        )

    def _done(self, text: str, select: str | None) -> None:
        for field in (self.new_name, self.new_password, self.new_again, self.reset_password, self.reset_again):
            field.clear()
        self.message.ok(text)
        self.load(select)
        self.table.setFocus()

    def _failed(self, exc: BaseException) -> None:
        self.message.error(message_of(exc))
