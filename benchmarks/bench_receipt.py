"""Receipts: the roll and the A5 slip of a 5-item and a 60-item settlement, against the same lines drawn plainly.

Floor: the same canvas settings and embedded font, each item's name, quantity, price and amount and the
settlement's figures drawn with ``drawString`` at fixed places (no measuring, no wrapping), and the QR
code's dark modules drawn one rectangle each.  Also the first receipt of a fresh process (the font is read
then).  Goal (issue 16): a 60-item receipt ≤ 20 ms and ≤ 4x its floor.
Run: ``make bench`` or ``.venv/bin/python benchmarks/bench_receipt.py``.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import segno
from reportlab.lib.pagesizes import A5
from reportlab.pdfgen.canvas import Canvas

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure import Figure, alternate, report  # noqa: E402

from desktop_app.receipts import content, pdf  # noqa: E402
from desktop_app.receipts.font import FONT, register_font  # noqa: E402
from desktop_app.services import checkout, receipts  # noqa: E402
from desktop_app.services.demo import generate  # noqa: E402
from desktop_app.store.db import connect  # noqa: E402

TODAY = dt.date(2024, 6, 15)
GOAL = 20e-3
ROLL_WIDTH = 226.8  # 80 mm; the height grows with the lines


def plain(receipt, layout: str) -> bytes:
    """The same lines and QR code, drawn with no layout at all."""
    register_font()
    lines = [f"{i.name} {i.quantity} {i.unit_price or ''} {i.amount}" for i in receipt.items]
    lines += [f"{label} {value}" for label, value, _ in content.settlement_pairs(receipt)]
    buffer = io.BytesIO()
    size = A5 if layout == "a5" else (ROLL_WIDTH, 14 * len(lines) + 200)
    c = Canvas(buffer, pagesize=size, pageCompression=1, invariant=1, initialFontName=FONT, initialFontSize=8)
    per_page = 40 if layout == "a5" else len(lines)
    for start in range(0, len(lines), per_page):
        c.setFont(FONT, 8)
        y = size[1] - 20
        for line in lines[start : start + per_page]:
            c.drawString(10, y, line)
            y -= 12
        c.showPage()
    matrix = segno.make(receipt.uuid, error="m").matrix
    for r, row in enumerate(matrix):
        for col, dark in enumerate(row):
            if dark:
                c.rect(20 + col * 2, 20 + (len(matrix) - r) * 2, 2, 2, stroke=0, fill=1)
    c.save()
    return buffer.getvalue()


FIRST = """
import sys, time
sys.path.insert(0, {root!r})
from desktop_app.services import receipts
from desktop_app.receipts import pdf
from desktop_app.store.db import connect
db = connect({path!r})
r = receipts.load(db.conn, {uuid!r})
t = time.perf_counter(); pdf.render(r, "roll"); first = time.perf_counter() - t
t = time.perf_counter(); pdf.render(r, "roll"); print(first * 1000, (time.perf_counter() - t) * 1000)
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        db = connect(path)
        generate(db, 200, seed=3, region="guangxi", today=TODAY, visits=20)
        codes = [
            r[0]
            for r in db.conn.execute(
                "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 LIMIT 60"
            )
        ]
        psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' LIMIT 1").fetchone()[0]
        figures = []
        for n in (5, 60):
            out = checkout.confirm(
                db,
                {
                    "member": {"psn_no": psn},
                    "date": TODAY.isoformat(),
                    "diagnoses": ["J06.900"],
                    "items": [{"code": c, "quantity": 1} for c in codes[:n]],
                },
                "shouyin",
                today=TODAY,
            )
            receipt = receipts.load(db.conn, out["uuid"])
            for layout in ("roll", "a5"):
                path_s, floor_s = alternate(
                    lambda receipt=receipt, layout=layout: pdf.render(receipt, layout),
                    lambda receipt=receipt, layout=layout: plain(receipt, layout),
                    rounds=15,
                    number=10,
                )
                goal = GOAL if n == 60 else None
                figures.append(
                    Figure(
                        f"{n}-item receipt, {layout}",
                        path_s,
                        floor_s,
                        "the same lines and QR drawn plainly",
                        goal,
                        unit="ms",
                    )
                )
        db.conn.close()
        runs = [
            subprocess.run(
                [sys.executable, "-c", FIRST.format(root=str(ROOT), path=str(path), uuid=out["uuid"])],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            for _ in range(3)
        ]
        firsts = sorted(float(r[0]) for r in runs)
        seconds = sorted(float(r[1]) for r in runs)
    report(
        "receipts, per PDF (the font loaded once before)",
        figures,
        [
            f"the first 60-item roll of a fresh process: {firsts[1]:.0f} ms (the second: {seconds[1]:.0f} ms), "
            "median of 3"
        ],
    )


if __name__ == "__main__":
    main()
