"""The receipt's one font: the bundled WenQuanYi Micro Hei, registered once, measured, wrapped.

The font is embedded as a subset.  Long names wrap by measured width, character
by character (Chinese has no spaces to break at).  The font has no bold face:
:func:`bold_right` fills and strokes the glyphs instead.
"""

from __future__ import annotations

import functools

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from ..resources import resource_path

FONT = "WenQuanYiMicroHei"
FONT_FILE = ("fonts", "wqy-microhei.ttc")


class ReceiptError(ValueError):
    """A receipt cannot be rendered as asked (unknown layout, missing font)."""


@functools.cache
def register_font() -> str:
    """Register the bundled CJK TrueType font once per process; returns its name."""
    path = resource_path(*FONT_FILE)
    if not path.exists():
        raise ReceiptError(f"找不到小票字体 {path}（安装包不完整）")
    pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
    return FONT


def width(text: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, FONT, size)


def wrap(text: str, size: float, limit: float) -> list[str]:
    """Break ``text`` into lines no wider than ``limit`` points (at least one character per line)."""
    lines, line, used = [], "", 0.0
    for ch in text:
        w = width(ch, size)
        if line and used + w > limit:
            lines.append(line)
            line, used = "", 0.0
        line += ch
        used += w
    lines.append(line)
    return lines


def bold_right(c: Canvas, right: float, baseline: float, text: str, size: float) -> None:
    """Right-aligned text filled and stroked (the font has no bold face; thermal printers need the weight)."""
    t = c.beginText(right - width(text, size), baseline)
    t.setFont(FONT, size)
    t.setTextRenderMode(2)
    c.setLineWidth(size * 0.04)
    t.textOut(text)
    t.setTextRenderMode(0)
    c.drawText(t)
