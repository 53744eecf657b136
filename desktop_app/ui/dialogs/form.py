"""The keyboard rule every form dialog follows: Enter moves on, only Enter in the last field submits."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLineEdit


class FormDialog(QDialog):
    """Enter in a field moves to the next one; only Enter in the last submits (never with half the form empty)."""

    def chain(self, *edits: QLineEdit) -> None:
        for edit, following in zip(edits, edits[1:]):
            edit.returnPressed.connect(following.setFocus)
        edits[-1].returnPressed.connect(self.submit)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - the fields handle Enter; the dialog's default button must not
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            return
        super().keyPressEvent(event)

    def submit(self) -> None:
        self.accept()
