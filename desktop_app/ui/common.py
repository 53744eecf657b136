"""Small pieces every screen uses: fonts and their scale, money text, the error line, a cashier's messages."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QFont, QFontDatabase, QIcon
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from .. import log
from ..domain.errors import GongjiError
from ..domain.money import fmt
from ..resources import resource_path
from .plain_words import plain

ERROR_STYLE = "color: #b00020; font-weight: bold;"
OK_STYLE = "color: #1b5e20; font-weight: bold;"
BASE_POINT_SIZE = 11  # the text's size at 字号 100%
FONT_TIMES = "font_times"  # a widget's property: its text's size relative to the application's


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
    app.setFont(QFont(family, BASE_POINT_SIZE))
    return family


def apply_font_scale(app: QApplication, percent: str | int) -> None:
    """The 字号 setting (percent of the standard size): all text grows, the large figures in proportion.

    At start (app.py) this comes before any window; after the settings dialog saves, the open
    widgets are told again: a font set by :func:`relative_font` or by a style sheet is not inherited.
    """
    try:
        factor = int(percent) / 100
    except (TypeError, ValueError):
        factor = 1.0
    font = QFont(app.font())
    font.setPointSizeF(BASE_POINT_SIZE * min(max(factor, 0.8), 2.0))
    app.setFont(font)
    for widget in app.allWidgets():
        if widget.property(FONT_TIMES) is not None:
            relative_font(widget, widget.property(FONT_TIMES))
        elif widget.styleSheet():
            widget.setStyleSheet(widget.styleSheet())  # polished again, on the new font


def relative_font(widget: QWidget, times: float, bold: bool = True) -> None:
    """``widget``'s text at ``times`` the application's size, kept so through a change of the 字号 setting."""
    font = QFont(QApplication.font())
    font.setPointSizeF(font.pointSizeF() * times)
    font.setBold(bold)
    widget.setProperty(FONT_TIMES, times)
    widget.setFont(font)


class FigureLabel(QLabel):
    """A figure read from across the counter: bold, ``times`` the text's size, in ``colour`` if given."""

    def __init__(self, times: float, colour: str = "", parent: QWidget | None = None) -> None:
        super().__init__("—", parent)
        if colour:
            self.setStyleSheet(f"color: {colour};")
        relative_font(self, times)


def yuan(amount: Decimal | str | None) -> str:
    if amount is None:
        return "—"
    return fmt(Decimal(str(amount)))


def message_of(exc: BaseException, items: Sequence[str] = ()) -> str:
    """What a cashier reads: what is wrong and what to do (the field's path goes to the log).

    ``items`` are the names of the cart's lines, so that an error about ``items[1]`` reads 第 2 项（名称）.
    """
    if isinstance(exc, GongjiError):
        return plain(exc, items)
    where = log.current_file() or "日志"  # the window's log is logs/app.log beside its database (log.py)
    return f"内部错误（已记入 {where}）：{type(exc).__name__}: {exc}"


class MessageLine(QLabel):
    """One line under a panel for what went wrong (red) or right (green); never a modal box."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = ""  # "error" or "ok" while shown
        self.setWordWrap(True)
        self.hide()

    def error(self, text: str) -> None:
        self.kind = "error"
        self.setStyleSheet(ERROR_STYLE)
        self.setText(text)
        self.show()

    def ok(self, text: str) -> None:
        self.kind = "ok"
        self.setStyleSheet(OK_STYLE)
        self.setText(text)
        self.show()

    def clear(self) -> None:  # noqa: D102
        self.kind = ""
        super().clear()
        self.hide()
