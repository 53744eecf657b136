"""A column of rows, each a height and a way to draw itself: how both layouts lay out text.

Layout is done line by line with the canvas (no platypus): a receipt must render
in a few milliseconds.  A :class:`Sheet` turns text, label–value pairs and rules
into :class:`Row` s for a column of a given width; a page draws its rows top
down, each at its left edge and top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reportlab.pdfgen.canvas import Canvas

from .font import FONT, bold_right, width, wrap

Draw = Callable[[Canvas, float, float], None]  # (canvas, left x, top y)


@dataclass
class Row:
    height: float
    draw: Draw
    item: bool = False  # a line of the item table (a page holding one gets the table header)


class Sheet:
    """Builds rows of text for a column ``inner`` points wide."""

    def __init__(self, inner: float, size: float) -> None:
        self.inner, self.size, self.rows = inner, size, []

    def add(self, height: float, draw: Draw) -> None:
        self.rows.append(Row(height, draw))

    def text(self, text: str, *, size: float | None = None, align: str = "left", indent: float = 0.0) -> None:
        size = size or self.size
        leading = size * 1.35
        for line in wrap(text, size, self.inner - indent):

            def draw(c: Canvas, x: float, y: float, line=line, size=size) -> None:
                c.setFont(FONT, size)
                baseline = y - size
                if align == "center":
                    c.drawCentredString(x + self.inner / 2, baseline, line)
                elif align == "right":
                    c.drawRightString(x + self.inner, baseline, line)
                else:
                    c.drawString(x + indent, baseline, line)

            self.add(leading, draw)

    def pair(self, label: str, value: str, *, size: float | None = None, bold: bool = False) -> None:
        """A label on the left and its value flush right; a long label wraps, the value stays on the last line."""
        size = size or self.size
        leading = size * 1.35
        room = self.inner - width(value, size) - size
        lines = wrap(label, size, max(room, self.inner / 3))
        for i, line in enumerate(lines):
            last = i == len(lines) - 1

            def draw(c: Canvas, x: float, y: float, line=line, last=last) -> None:
                c.setFont(FONT, size)
                baseline = y - size
                c.drawString(x, baseline, line)
                if last and bold:
                    bold_right(c, x + self.inner, baseline, value, size)
                elif last:
                    c.drawRightString(x + self.inner, baseline, value)

            self.add(leading, draw)

    def rule(self, dashed: bool = True) -> None:
        def draw(c: Canvas, x: float, y: float) -> None:
            c.setLineWidth(0.5)
            c.setDash(2, 2) if dashed else c.setDash()
            c.line(x, y - 3, x + self.inner, y - 3)
            c.setDash()

        self.add(6, draw)

    def gap(self, height: float) -> None:
        self.add(height, lambda c, x, y: None)


def stack(rows: list[Row]) -> Draw:
    """Rows drawn one under the other, as one drawing."""

    def draw(c: Canvas, x: float, y: float) -> None:
        for row in rows:
            row.draw(c, x, y)
            y -= row.height

    return draw
