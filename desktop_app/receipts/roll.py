"""The 80 mm thermal roll (72 mm printable): one page whose length grows with the content, as a roll printer cuts it."""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from . import qr
from .content import money, notes, settlement_pairs, status_lines, year_pairs
from .model import Receipt
from .sheet import Sheet, stack

ROLL_WIDTH = 80 * mm
ROLL_MARGIN = 4 * mm
QR_ROLL = 26 * mm


def render(r: Receipt, canvas: Canvas) -> None:
    """Draw ``r`` on ``canvas`` as one roll page."""
    sheet = _roll_sheet(r)
    height = sum(row.height for row in sheet.rows) + 2 * ROLL_MARGIN
    canvas.setPageSize((ROLL_WIDTH, height))
    stack(sheet.rows)(canvas, ROLL_MARGIN, height - ROLL_MARGIN)
    canvas.showPage()


def _roll_sheet(r: Receipt) -> Sheet:
    s = Sheet(ROLL_WIDTH - 2 * ROLL_MARGIN, 8)
    s.text(r.facility_name, size=10.5, align="center")
    s.text(f"机构编码 {r.facility_id}", size=7.5, align="center")
    s.text(f"职工医保{r.title}", size=10, align="center")
    for line in status_lines(r):
        s.text(line, size=8.5, align="center")
    s.rule()
    s.text(f"{'退费单号' if r.is_refund else '结算号'} {r.uuid}", size=7)
    if r.is_refund:
        s.text(f"原结算号 {r.original_uuid}", size=7)
    s.pair("时间", r.created_at)
    s.pair("收款员", f"{r.operator}  {r.device}")
    s.rule()
    s.pair("姓名", r.member_name)
    s.pair("证件号", r.masked_certno)
    s.pair("险种", r.insurance)
    s.pair("人员类别", f"{r.status} {r.scheme}")
    s.pair("就诊日期", r.visit_date)
    if r.diagnoses:
        s.text(f"诊断 {'；'.join(r.diagnoses)}", size=8)
    s.rule()
    s.pair("项目 / 类别 数量×单价", "金额", size=7.5)
    for item in r.items:
        s.text(item.label, size=8)
        price = "" if item.unit_price is None else f" × {money(item.unit_price)}"
        s.pair(f"    {item.category}  {item.quantity}{price}", money(item.amount), size=8)
    s.rule()
    for label, value, bold in settlement_pairs(r):
        s.pair(label, value, bold=bold)
    s.rule()
    s.text("本年累计（含本次）", size=8)
    for label, value in year_pairs(r):
        s.pair(label, value)
    for note in notes(r):
        s.text(f"※ {note}", size=7)
    s.rule()
    uuid = r.uuid

    def qr_code(c: Canvas, x: float, y: float) -> None:
        qr.draw_qr(c, uuid, x + (s.inner - QR_ROLL) / 2, y - QR_ROLL, QR_ROLL)

    s.add(QR_ROLL + 2 * mm, qr_code)
    s.text("扫码查询本次结算", size=7, align="center")
    s.text(f"规则 {r.rule_version}", size=6.5, align="center")
    s.text("请妥善保管本凭证", size=7, align="center")
    return s
