"""设置 (supervisor): facility, region, printer and layout, hub, offline limits, a published figure."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...services.desk import SettingsView
from ..common import MessageLine, message_of
from ..screen_fit import fit_to_screen
from .form import FormDialog


class SettingsDialog(FormDialog):
    """设置 (supervisor): every setting the registry lets a supervisor change, and one published figure."""

    PLACEHOLDERS = {"sync.hub": "http://中心地址:8700，留空为单机"}

    def __init__(self, window, current: SettingsView, printers: list[str]) -> None:
        super().__init__(window)
        self.window_, self.backend, self.current = window, window.backend, current
        self.setWindowTitle("设置（需主管）")
        self.setMinimumWidth(560)
        outer = QVBoxLayout(self)
        body = QWidget(objectName="settings_body")
        form = QFormLayout(body)
        scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.NoFrame)  # at 1024×768 and 130% it scrolls
        scroll.setWidget(body)
        outer.addWidget(scroll)
        self.supervisor = QLineEdit(objectName="settings_supervisor")
        self.password = QLineEdit(objectName="settings_password", echoMode=QLineEdit.Password)
        form.addRow("主管", self.supervisor)
        form.addRow("主管密码", self.password)
        choices = {"region": current.regions, "printer.name": {"": "不打印，只保存 PDF", **{p: p for p in printers}}}
        self.fields: dict[str, QLineEdit | QComboBox] = {}
        for entry in current.entries:
            if entry.changed_by == "supervisor":
                self.fields[entry.key] = self._field(entry, choices.get(entry.key))
                form.addRow(entry.label, self.fields[entry.key])
        self.figure = QLineEdit(
            objectName="settings_figure", placeholderText="地区/名称/年份=数值，如 yunfu/avg_wage/2024=90000"
        )
        form.addRow("录入公布数值", self.figure)
        self.message = MessageLine()
        form.addRow(self.message)
        self._add_buttons(form, outer)
        self.chain(self.supervisor, self.password)
        self.chain(self.fields["facility.id"], self.fields["facility.name"], self.figure)
        hint = body.sizeHint()
        fit_to_screen(self, max(560, hint.width() + 40), hint.height() + 80)  # the buttons stay in sight

    def _field(self, entry, choices: dict | None) -> QLineEdit | QComboBox:
        """A picker where the registry (or the machine) gives the choices, else a line; a secret is never shown."""
        value = self.current.value(entry.key)
        if choices is not None or entry.choices:
            options = choices if choices is not None else {**({} if entry.required else {"": "—"}), **entry.choices}
            return self._combo(options, value)
        if entry.secret:
            hint = "已设置（留空不变）" if self.current.values.get(entry.key) else "中心登记收款台时给出的令牌"
            return QLineEdit(objectName=f"settings_{entry.key}", echoMode=QLineEdit.Password, placeholderText=hint)
        return QLineEdit(
            value, objectName=f"settings_{entry.key}", placeholderText=self.PLACEHOLDERS.get(entry.key, "")
        )

    def _add_buttons(self, form: QFormLayout, outer: QVBoxLayout) -> None:
        wizard = QPushButton("重新运行设置向导", objectName="settings_wizard")
        wizard.setAutoDefault(False)
        wizard.clicked.connect(self.run_wizard)
        form.addRow(wizard)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)

    def run_wizard(self) -> None:
        from ..wizard import SetupWizard

        self.wizard = SetupWizard(
            self.backend, first=False, current=self.current.values, parent=self, regions=self.current.regions
        )
        self.wizard.accepted.connect(
            lambda: (self.window_.message.ok("设置向导已完成"), self.window_.refresh_status(), self.reject())
        )
        self.wizard.open()

    @staticmethod
    def _combo(choices: dict, current) -> QComboBox:
        box = QComboBox()
        for key, text in choices.items():
            box.addItem(text, key)
        index = box.findData(current if current is not None else "")
        box.setCurrentIndex(max(index, 0))
        return box

    def changes(self) -> dict[str, str]:
        """What the dialog holds, by key; a secret left empty is left as it was."""
        values = {
            key: (field.currentData() if isinstance(field, QComboBox) else field.text().strip())
            for key, field in self.fields.items()
        }
        return {key: value for key, value in values.items() if value or not self.current.entries_by_key[key].secret}

    def submit(self) -> None:
        self.save()

    def save(self) -> None:
        name, password, changes, figure = (
            self.supervisor.text().strip(),
            self.password.text(),
            self.changes(),
            self.figure.text().strip(),
        )
        self.backend.submit(
            lambda desk: desk.change_settings(name, password, changes, figure),
            lambda _: self.accept(),
            lambda exc: self.message.error(message_of(exc)),
        )
