"""Small pieces every screen uses: fonts, money text, the error line, Chinese typed into a field."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QFont, QFontDatabase, QIcon
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from .. import log
from ..domain.errors import GongjiError
from ..domain.money import fmt
from ..resources import resource_path

ERROR_STYLE = "color: #b00020; font-weight: bold;"
OK_STYLE = "color: #1b5e20; font-weight: bold;"


def setup_app(app: QApplication) -> str:
    """Simplified Chinese for Qt's own buttons (确定, 取消 …) and the bundled font; returns the font family."""
    QLocale.setDefault(QLocale(QLocale.Chinese, QLocale.China))
    translator = QTranslator(app)
    if translator.load("qtbase_zh_CN", QLibraryInfo.path(QLibraryInfo.TranslationsPath)):
        app.installTranslator(translator)
    app.setWindowIcon(QIcon(str(resource_path("icons", "gongji-256.png"))))
    return load_fonts(app)


def load_fonts(app: QApplication) -> str:
    """Use the bundled WenQuanYi Micro Hei, so Chinese never shows as boxes, whatever the machine has."""
    family = "WenQuanYi Micro Hei"
    font_id = QFontDatabase.addApplicationFont(str(resource_path("fonts", "wqy-microhei.ttc")))
    if font_id >= 0:
        families = QFontDatabase.applicationFontFamilies(font_id)
        family = families[0] if families else family
    app.setFont(QFont(family, 11))
    return family


def yuan(amount: Decimal | str | None) -> str:
    if amount is None:
        return "—"
    return fmt(Decimal(str(amount)))


def message_of(exc: BaseException) -> str:
    """What a cashier reads: our errors already name the field and the value."""
    if isinstance(exc, GongjiError):
        return str(exc)
    where = log.current_file() or "日志"  # the window's log is logs/app.log beside its database (log.py)
    return f"内部错误（已记入 {where}）：{type(exc).__name__}: {exc}"


class MessageLine(QLabel):
    """One line under a panel for what went wrong (red) or right (green); never a modal box."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.hide()

    def error(self, text: str) -> None:
        self.setStyleSheet(ERROR_STYLE)
        self.setText(text)
        self.show()

    def ok(self, text: str) -> None:
        self.setStyleSheet(OK_STYLE)
        self.setText(text)
        self.show()

    def clear(self) -> None:  # noqa: D102
        super().clear()
        self.hide()
