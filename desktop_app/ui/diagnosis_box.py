"""The visit's diagnoses (诊断) at a clinic: found by code, name or pinyin initials, Enter adds, Backspace removes.

Ctrl+D comes here.  A clinic visit is settled only with at least one diagnosis (the checkout refuses without);
the first one chosen is the main diagnosis.  At a pharmacy the 外配处方 names the diagnosis and this box hides.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QGroupBox, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from ..domain.diagnosis import Diagnosis
from ..domain.errors import InputError
from ..services.cart import Cart
from .backend import Backend
from .common import MessageLine, message_of

DIAGNOSIS_KEY = "Ctrl+D"


class DiagnosisBox(QGroupBox):
    changed = Signal()  # a diagnosis was added or removed: the quote follows
    chosen_one = Signal()  # one was added from the box: the window moves on to the items

    def __init__(self, backend: Backend, cart: Cart) -> None:
        super().__init__(f"诊断  [{DIAGNOSIS_KEY}]")
        self.backend, self.cart = backend, cart
        self._seq = 0
        self.entry = QLineEdit(
            objectName="diagnosis_entry", placeholderText="诊断编码 / 名称 / 拼音首字母，回车；空框中退格删除最后一个"
        )
        self.entry.returnPressed.connect(lambda: self.search(add=True))
        self.entry.textEdited.connect(lambda _: self.timer.start())
        self.entry.installEventFilter(self)
        self.timer = QTimer(self, singleShot=True, interval=200)
        self.timer.timeout.connect(lambda: self.search(add=False))
        self.matches = QListWidget(objectName="diagnosis_matches")
        self.matches.setMaximumHeight(140)
        self.matches.hide()
        self.matches.itemActivated.connect(lambda row: self.pick(row.data(Qt.UserRole)))
        self.chosen = QLabel(objectName="diagnosis_chosen", wordWrap=True)
        self.message = MessageLine()
        layout = QVBoxLayout(self)
        layout.addWidget(self.entry)
        layout.addWidget(self.matches)
        layout.addWidget(self.chosen)
        layout.addWidget(self.message)
        self.refresh()

    def eventFilter(self, obj, event):  # noqa: N802
        if obj is self.entry and event.type() == event.Type.KeyPress:
            if event.key() == Qt.Key_Down and self.matches.isVisible():
                self.matches.setFocus()
                self.matches.setCurrentRow(0)
                return True
            if event.key() == Qt.Key_Backspace and not self.entry.text() and self.cart.diagnoses:
                self.cart.diagnoses.pop()  # the last one chosen goes, as a tag field does
                self.refresh()
                self.changed.emit()
                return True
        return super().eventFilter(obj, event)

    def search(self, add: bool) -> None:
        self.timer.stop()
        text = self.entry.text().strip()
        if not text:
            self.matches.hide()
            return
        self._seq += 1
        seq = self._seq
        self.backend.submit(
            lambda desk: desk.find_diagnoses(text),
            lambda found: self._found(seq, text, found, add),
            lambda exc: self.message.error(message_of(exc)),
        )

    def _found(self, seq: int, text: str, found: list[Diagnosis], add: bool) -> None:
        """An exact code, or a single match, is taken on Enter; several are listed (↓, Enter)."""
        if seq != self._seq:
            return
        self.message.clear()
        exact = bool(found) and found[0].code.lower() == text.lower()
        if add and (exact or len(found) == 1):
            self.pick(found[0])
            return
        self.matches.clear()
        for diagnosis in found:
            row = QListWidgetItem(f"{diagnosis.code}  {diagnosis.name}")
            row.setData(Qt.UserRole, diagnosis)
            self.matches.addItem(row)
        self.matches.setVisible(bool(found))
        if found and add:
            self.matches.setFocus()
            self.matches.setCurrentRow(0)
        elif not found:
            self.message.error(f"诊断目录中没有“{text}”：请核对编码、名称或拼音首字母")

    def pick(self, diagnosis: Diagnosis) -> None:
        try:
            self.cart.add_diagnosis(diagnosis)
        except InputError as exc:
            self.message.error(message_of(exc))
            self.entry.setFocus()
            return
        self.entry.clear()
        self.matches.hide()
        self.refresh()
        self.changed.emit()
        self.chosen_one.emit()

    def refresh(self) -> None:
        shown = "；".join(d.shown for d in self.cart.diagnoses)
        self.chosen.setText(f"已录入：{shown}" if shown else "尚未录入诊断：门诊结算须至少一个诊断")

    def reset(self) -> None:
        self.entry.clear()
        self.matches.hide()
        self.message.clear()
        self.refresh()
