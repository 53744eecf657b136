"""Print a receipt PDF through Qt's print support, and preview it with QtPdf: the same PDF either way."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QSize, QSizeF
from PySide6.QtGui import QPageLayout, QPageSize, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrinter, QPrinterInfo
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout

from .screen_fit import fit_to_screen


def printer_names() -> list[str]:
    return QPrinterInfo.availablePrinterNames()


def print_pdf(path: Path, printer: QPrinter) -> int:
    """Render each page of ``path`` onto ``printer`` at its resolution, page size taken from the PDF; returns pages."""
    document = QPdfDocument()
    document.load(str(path))
    if document.status() != QPdfDocument.Status.Ready:
        raise OSError(f"无法读取小票 {path}")
    painter = None
    try:
        for page in range(document.pageCount()):
            points = document.pagePointSize(page)
            printer.setPageSize(QPageSize(QSizeF(points.width(), points.height()), QPageSize.Unit.Point))
            printer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Point)
            if painter is None:
                painter = QPainter()
                if not painter.begin(printer):
                    raise OSError(f"打印机 {printer.printerName() or printer.outputFileName()} 无法开始打印")
            else:
                printer.newPage()
            dpi = printer.resolution()
            size = QSize(int(points.width() / 72 * dpi), int(points.height() / 72 * dpi))
            painter.drawImage(0, 0, document.render(page, size))
        return document.pageCount()
    finally:
        if painter is not None:
            painter.end()


def printer_named(name: str) -> QPrinter:
    info = QPrinterInfo.printerInfo(name)
    printer = QPrinter(info, QPrinter.PrinterMode.HighResolution) if not info.isNull() else QPrinter()
    if info.isNull():
        raise OSError(f"找不到打印机 {name!r}：请在设置中重新选择")
    return printer


class PreviewDialog(QDialog):
    """The receipt exactly as it will print (the same PDF file)."""

    def __init__(self, path: Path, parent=None, on_print=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"预览 {path.name}")
        fit_to_screen(self, 620, 720)  # at 1024×768 it keeps within the screen; the page scrolls
        self.document = QPdfDocument(self)
        self.document.load(str(path))
        self.view = QPdfView(self)
        self.view.setObjectName("pdf_view")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        if on_print is not None:
            button = QPushButton("打印  [F5]")
            button.setShortcut("F5")
            button.clicked.connect(lambda: on_print(path))
            buttons.addButton(button, QDialogButtonBox.ActionRole)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(str(path)))
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
