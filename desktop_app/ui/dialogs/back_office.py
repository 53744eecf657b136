"""后台 (Ctrl+B): a supervisor's back office in the window: import members, the catalogue and the diagnoses,
manage operators.

Anyone may open it; every act in it asks a supervisor's name and password at that moment, and is audited.
Ctrl+Tab (or Ctrl+1/2/3/4) moves between the pages; Esc closes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QTabWidget, QVBoxLayout

from .cashiers_page import CashiersPage
from .form import FormDialog
from .import_page import ImportPage

PAGES = (
    ("members", "导入参保人"),
    ("catalogue", "导入医保目录"),
    ("operators", "操作员"),
    ("diagnoses", "导入诊断目录"),
)


class BackOfficeDialog(FormDialog):
    """导入参保人 · 导入医保目录 · 操作员.  Enter belongs to the fields (a FormDialog): it never presses a button
    of the dialog, nor of the supervisor's dialog that an Enter has just opened over a page."""

    changed = Signal()  # something was written: the window refreshes its status (and the checklist)

    def __init__(self, window, page: str = "members") -> None:
        super().__init__(window)
        self.backend = window.backend
        self.setWindowTitle("后台（主管）：导入与操作员  [Ctrl+Tab 换页，Esc 关闭]")
        self.members = ImportPage(self.backend, "members")
        self.catalogue = ImportPage(self.backend, "catalogue")
        self.operators = CashiersPage(self.backend)
        self.diagnoses = ImportPage(self.backend, "diagnoses")  # the platform's 1307 download
        self.tabs = QTabWidget(objectName="back_office_tabs")
        pages = (self.members, self.catalogue, self.operators, self.diagnoses)
        for index, ((_key, title), widget) in enumerate(zip(PAGES, pages)):
            self.tabs.addTab(widget, f"{title}  [Ctrl+{index + 1}]")
        self.tabs.currentChanged.connect(self._focus_page)
        for index in range(self.tabs.count()):
            QShortcut(QKeySequence(f"Ctrl+{index + 1}"), self, activated=lambda i=index: self.tabs.setCurrentIndex(i))
        for importer in (self.members, self.catalogue, self.diagnoses):
            importer.imported.connect(lambda _done: self.changed.emit())
        QVBoxLayout(self).addWidget(self.tabs)
        self._fit()
        self.tabs.setCurrentIndex([key for key, _ in PAGES].index(page))
        self._focus_page(self.tabs.currentIndex())

    def _fit(self) -> None:
        """About 1000 × 680, never larger than the screen it opens on."""
        screen = (self.parent().screen() if self.parent() else None) or QGuiApplication.primaryScreen()
        room = screen.availableGeometry()
        self.resize(min(1000, room.width() - 40), min(680, room.height() - 60))

    def _focus_page(self, index: int) -> None:
        page = self.tabs.widget(index)
        target = page.path if isinstance(page, ImportPage) else page.table
        target.setFocus(Qt.TabFocusReason)

    def done(self, result: int) -> None:  # noqa: D102 - closing: the window refreshes what it shows
        self.changed.emit()
        super().done(result)
