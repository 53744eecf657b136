"""A supervisor's name and password asked over a back-office page, for one act; the keyboard comes back after."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from .supervisor import SupervisorDialog


def ask_supervisor(page: QWidget, action: str, then: Callable[[str, str], None], back_to: QWidget) -> SupervisorDialog:
    """Open :class:`SupervisorDialog` over ``page``; on OK, ``then(name, password)``; either way the keyboard
    returns to ``back_to`` in the page's window (a supervisor goes on typing, never reaching for the mouse)."""
    dialog = SupervisorDialog(action, page)

    def closed(_result: int) -> None:
        page.window().activateWindow()
        back_to.setFocus()
        dialog.deleteLater()

    dialog.accepted.connect(lambda: then(dialog.name.text().strip(), dialog.password.text()))
    dialog.finished.connect(closed)
    dialog.open()
    return dialog
