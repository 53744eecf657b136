"""Receipt rendering: our layout with a segno-drawn QR code, against reportlab's own QR widget.

Run: .venv/bin/python benchmarks/bench_receipt.py
Prints milliseconds per receipt (after one warm-up that loads the font) and the
ratio to the baseline measured in the same run: the same receipt with the QR
code drawn by ``reportlab.graphics.barcode.qr.QrCodeWidget``.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.receipts import pdf, qr  # noqa: E402
from desktop_app.services import checkout, receipts  # noqa: E402
from desktop_app.services.demo import generate  # noqa: E402
from desktop_app.store.db import connect  # noqa: E402

TODAY = dt.date(2024, 6, 15)


def per_call_ms(fn, n: int = 200) -> float:
    fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def widget_qr(canvas, payload, x, y, size):
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    widget = QrCodeWidget(payload)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, x, y)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = connect(Path(folder) / "bench.db")
        generate(db, 200, seed=3, region="guangxi", today=TODAY, visits=20)
        codes = [
            r[0]
            for r in db.conn.execute(
                "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 LIMIT 60"
            )
        ]
        psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' LIMIT 1").fetchone()[0]
        rows = {}
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
                ours = per_call_ms(lambda receipt=receipt, layout=layout: pdf.render(receipt, layout))
                original = qr.draw_qr
                qr.draw_qr = widget_qr
                try:
                    base = per_call_ms(lambda receipt=receipt, layout=layout: pdf.render(receipt, layout), n=30)
                finally:
                    qr.draw_qr = original
                rows[(n, layout)] = (ours, base)
        print("receipt rendering, median ms per PDF (font already loaded)")
        print(f"{'items':>5} {'layout':>6} {'ours':>8} {'qr widget':>10} {'ratio':>6}")
        for (n, layout), (ours, base) in rows.items():
            print(f"{n:>5} {layout:>6} {ours:8.2f} {base:10.2f} {base / ours:6.1f}x")
        load = per_call_ms(lambda: receipts.load(db.conn, out["uuid"]))
        print(f"loading one receipt from the database: {load:.2f} ms")


if __name__ == "__main__":
    main()
