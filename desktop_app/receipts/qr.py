"""The QR code that carries a settlement's UUID, drawn straight onto the canvas.

reportlab's own QR widget took about 65 ms per code here; segno computes the
matrix in well under a millisecond, and each dark run of a row becomes one
filled rectangle, so drawing costs a few hundred path operations.
"""

from __future__ import annotations

import functools

import segno
from reportlab.pdfgen.canvas import Canvas

QUIET = 2  # modules of white border (the printer's margin adds the rest)


@functools.lru_cache(maxsize=64)
def runs(payload: str) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """(size in modules, dark runs as (row, first column, length)) for ``payload``."""
    matrix = segno.make(payload, error="m", micro=False).matrix
    found = []
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                found.append((r, start, c - start))
            else:
                c += 1
    return len(matrix), tuple(found)


def draw_qr(canvas: Canvas, payload: str, x: float, y: float, size: float) -> None:
    """Draw the QR code of ``payload`` in the square with lower-left corner (x, y) and side ``size``."""
    count, dark = runs(payload)
    module = size / (count + 2 * QUIET)
    path = canvas.beginPath()
    top = y + size - QUIET * module
    for r, c, length in dark:
        path.rect(x + (QUIET + c) * module, top - (r + 1) * module, length * module, module)
    canvas.saveState()
    canvas.setFillGray(0)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()
