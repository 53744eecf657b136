"""Sizes that hold from 1024×768 to 1920×1080: the window maximised on a counter's screen, dialogs that fit it."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

# A counter's screens, 1024×768 up to 1920×1200, count as small: the window opens maximised there
# (every pixel for the panels; at 1920 the 字号 setting makes the text larger, not the window).
SMALL_SCREEN = (2000, 1250)
# On a larger screen the window opens at this size, centred.
COMFORTABLE = (1600, 1000)


def available(widget: QWidget | None = None) -> QRect:
    """The screen's free area (without the taskbar) where ``widget`` opens, or the primary screen's."""
    screen = None
    if widget is not None:
        parent = widget.parentWidget()
        screen = (parent.window() if parent is not None else widget).screen()
    return (screen or QGuiApplication.primaryScreen()).availableGeometry()


def is_small(area: QRect) -> bool:
    return area.width() < SMALL_SCREEN[0] or area.height() < SMALL_SCREEN[1]


def window_size(area: QRect) -> tuple[int, int]:
    """The window's size before it is shown: the whole free area on a small screen, else a comfortable part of it."""
    if is_small(area):
        return area.width(), area.height()
    return min(COMFORTABLE[0], area.width()), min(COMFORTABLE[1], area.height())


def show_for_screen(window: QWidget) -> None:
    """Show the main window: maximised on a small screen, centred at a comfortable size on a large one."""
    area = available(window)
    if is_small(area):
        window.showMaximized()
        return
    width, height = window_size(area)
    window.resize(width, height)
    window.move(area.x() + (area.width() - width) // 2, area.y() + (area.height() - height) // 2)
    window.show()


def fit_to_screen(dialog: QWidget, width: int, height: int) -> None:
    """Size a dialog as its content wants, but never beyond 95% of the screen's free area (it scrolls instead)."""
    area = available(dialog)
    dialog.resize(min(width, area.width() * 95 // 100), min(height, area.height() * 90 // 100))
