"""The day-end report (日结) as an A4 PDF: the sums, by operator, and a bar chart of the day by hour."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ..domain.report import DayReport
from .content import money
from .font import FONT, register_font

MARGIN = 18 * mm


def render(report: DayReport, printed_at: str) -> bytes:
    register_font()
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=A4, invariant=1, initialFontName=FONT, initialFontSize=10)
    c.setTitle(f"日结 {report.day}")
    c.setCreator("共济前台")
    w, h = A4
    y = h - MARGIN
    c.setFont(FONT, 16)
    c.drawString(MARGIN, y - 16, f"门诊医保日结报表  {report.day}")
    y -= 26
    c.setFont(FONT, 10)
    c.drawString(MARGIN, y - 10, f"{report.facility}    打印时间 {printed_at}")
    y -= 24
    rows = [
        ("结算笔数", str(report.settlements)),
        ("退费笔数", str(report.refunds)),
        ("医疗费总额（已扣退费）", money(report.total)),
        ("统筹基金支付", money(report.fund)),
        ("个人账户支付", money(report.own_account)),
        ("共济账户支付", money(report.family_account)),
        ("现金", money(report.cash)),
        ("退费金额", money(report.refunded_total)),
        ("尚未上传医保中心", f"{report.unsynced} 笔"),
    ]
    c.setFont(FONT, 11)
    for label, value in rows:
        c.drawString(MARGIN, y - 11, label)
        c.drawRightString(MARGIN + 90 * mm, y - 11, value)
        y -= 16
    y -= 8
    c.setFont(FONT, 11)
    c.drawString(MARGIN, y - 11, "按收款员")
    y -= 16
    c.setFont(FONT, 10)
    for name, (count, amount) in sorted(report.by_operator.items()):
        c.drawString(MARGIN + 4 * mm, y - 10, name)
        c.drawRightString(MARGIN + 60 * mm, y - 10, f"{count} 笔")
        c.drawRightString(MARGIN + 90 * mm, y - 10, money(amount))
        y -= 14
    y -= 14
    _chart(c, report, MARGIN, y, w - 2 * MARGIN, 70 * mm)
    c.showPage()
    c.save()
    return buffer.getvalue()


def _chart(c: Canvas, report: DayReport, x: float, top: float, width: float, height: float) -> None:
    """Settlement count per hour, 07:00 to 21:00 (and any other hour that had one)."""
    hours = sorted(set(range(7, 22)) | set(report.by_hour))
    peak = max([count for count, _ in report.by_hour.values()] + [1])
    c.setFont(FONT, 11)
    c.drawString(x, top - 11, "各时段结算笔数")
    base = top - height
    plot = height - 30
    step = width / len(hours)
    c.setLineWidth(0.5)
    c.line(x, base, x + width, base)
    c.setFont(FONT, 7)
    for i, hour in enumerate(hours):
        count = report.by_hour.get(hour, (0, 0))[0]
        bar = plot * count / peak
        c.setFillGray(0.35)
        c.rect(x + i * step + step * 0.15, base, step * 0.7, bar, stroke=0, fill=1)
        c.setFillGray(0)
        c.drawCentredString(x + i * step + step / 2, base - 9, f"{hour:02d}")
        if count:
            c.drawCentredString(x + i * step + step / 2, base + bar + 2, str(count))
