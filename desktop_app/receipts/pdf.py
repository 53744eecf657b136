"""Render a :class:`~desktop_app.receipts.model.Receipt` as a PDF with reportlab, in two layouts.

* ``roll``: an 80 mm thermal roll (72 mm printable), :mod:`.roll`.  One page whose
  length grows with the content, as a roll printer cuts it.
* ``a5``: the A5 outpatient settlement slip (医保结算单), portrait, :mod:`.a5`; items
  flow onto further pages, each with the slip's heading and the table's header.

Both are laid out line by line with the canvas (:mod:`.sheet`, no platypus): a
receipt must render in a few milliseconds.  What they say is :mod:`.content`;
the bundled WenQuanYi Micro Hei (:mod:`.font`) is embedded as a subset.
"""

from __future__ import annotations

import io

from reportlab.pdfgen.canvas import Canvas

from . import a5, roll
from .font import FONT, ReceiptError, register_font
from .model import Receipt

LAYOUTS = ("roll", "a5")

__all__ = ["LAYOUTS", "ReceiptError", "render"]


def render(receipt: Receipt, layout: str) -> bytes:
    """The receipt as PDF bytes in ``layout`` (``roll`` or ``a5``)."""
    if layout not in LAYOUTS:
        raise ReceiptError(f"layout：不支持的版式 {layout!r}，可用 roll（80 毫米卷纸）或 a5（A5 结算单）")
    register_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pageCompression=1, invariant=1, initialFontName=FONT, initialFontSize=8)
    canvas.setTitle(f"{receipt.title} {receipt.uuid}")
    canvas.setAuthor(receipt.facility_name)
    canvas.setCreator("共济前台")
    (roll.render if layout == "roll" else a5.render)(receipt, canvas)
    canvas.save()
    return buffer.getvalue()
