"""The row of F-keys across the top of the window: one row on a wide screen, two on a narrow one.

Thirteen buttons in one row need about 1160 pixels; at 1024×768 they wrap to a second row
instead of pushing the payment panel and F12 off the screen.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QPushButton, QWidget

KEYS = (
    ("F1", "参保人"),
    ("F2", "项目"),
    ("F3", "个人账户"),
    ("F4", "共济"),
    ("F5", "同步"),
    ("F6", "当日结算"),
    ("F7", "日结"),
    ("F8", "设置"),
    ("F9", "处方"),
    ("F10", "说明"),
    ("F11", "实收"),
    ("F12", "结算"),
    ("Esc", "返回"),
)


class FlowLayout(QLayout):
    """Items left to right, wrapping to the next row when the width runs out (Qt's flow layout example)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 4) -> None:
        super().__init__(parent)
        self.items = []
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:  # noqa: N802 - Qt's names
        self.items.append(item)

    def count(self) -> int:
        return len(self.items)

    def itemAt(self, index: int):  # noqa: N802
        return self.items[index] if 0 <= index < len(self.items) else None

    def takeAt(self, index: int):  # noqa: N802
        return self.items.pop(index) if 0 <= index < len(self.items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802
        size = QSize()
        for item in self.items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _place(self, rect: QRect, move: bool) -> int:
        """Lay the items out in ``rect`` (or only measure): the height the rows take."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, row_height = area.x(), area.y(), 0
        for item in self.items:
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and row_height > 0:
                x, y, row_height = area.x(), y + row_height + self.spacing(), 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self.spacing()
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + margins.bottom()


class KeyBar(QWidget):
    """A button for each key; a click does what the key does (the keyboard is the way, the mouse still works)."""

    def __init__(self, press: Callable[[str], None]) -> None:
        super().__init__()
        self.setObjectName("key_bar")
        layout = FlowLayout(self)
        self.buttons = {}
        for key, text in KEYS:
            button = QPushButton(f"{key} {text}")
            button.setFocusPolicy(Qt.NoFocus)
            button.clicked.connect(lambda _=False, k=key: press(k))
            layout.addWidget(button)
            self.buttons[key] = button
