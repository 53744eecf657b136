"""The A5 outpatient settlement slip (医保结算单), portrait.

Page one has the heading (with the QR code beside it) and the member; then the
item table, and below it the settlement's figures beside the year so far.  Items
flow onto further pages, each with the slip's heading and the table's header.
"""

from __future__ import annotations

from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from . import qr
from .content import money, notes, settlement_pairs, status_lines, year_pairs
from .font import FONT, wrap
from .model import Receipt
from .sheet import Draw, Row, Sheet, stack

A5_MARGIN = 10 * mm
A5_INNER = A5[0] - 2 * A5_MARGIN
QR_A5 = 22 * mm
# Columns of the item table: (heading, width share, alignment)
COLUMNS = (
    ("序号", 0.07, "right"),
    ("项目名称", 0.47, "left"),
    ("类别", 0.08, "center"),
    ("数量", 0.10, "right"),
    ("单价", 0.13, "right"),
    ("金额", 0.15, "right"),
)
TABLE_SIZE = 8.0


def _cells(values: list[str], size: float) -> tuple[float, Draw]:
    """One table row; the name column wraps, the others stay on its first line."""
    widths = [share * A5_INNER for _, share, _ in COLUMNS]
    pad = 2
    name_lines = wrap(values[1], size, widths[1] - 2 * pad)
    leading = size * 1.35
    height = leading * len(name_lines) + 2

    def draw(c: Canvas, x: float, y: float) -> None:
        c.setFont(FONT, size)
        left = x
        for col, ((_, _, align), w) in enumerate(zip(COLUMNS, widths)):
            lines = name_lines if col == 1 else [values[col]]
            for k, line in enumerate(lines):
                baseline = y - size - k * leading
                if align == "right":
                    c.drawRightString(left + w - pad, baseline, line)
                elif align == "center":
                    c.drawCentredString(left + w / 2, baseline, line)
                else:
                    c.drawString(left + pad, baseline, line)
            left += w
        c.setLineWidth(0.3)
        c.line(x, y - height + 1, x + A5_INNER, y - height + 1)

    return height, draw


def _heading(r: Receipt, page: int, pages: int) -> Sheet:
    s = Sheet(A5_INNER - QR_A5 - 4 * mm, 9)
    s.text(f"职工医保门诊{'退费' if r.is_refund else '结算'}单", size=14)
    s.text(f"{r.facility_name}（{r.facility_id}）", size=9)
    s.text(f"{'退费单号' if r.is_refund else '结算号'} {r.uuid}", size=8)
    if r.is_refund:
        s.text(f"原结算号 {r.original_uuid}", size=8)
    s.text(f"结算时间 {r.created_at}    收款员 {r.operator}    设备 {r.device}", size=8)
    for line in status_lines(r):
        s.text(line, size=9)
    s.text(f"第 {page} 页 / 共 {pages} 页", size=8)
    return s


def _member(r: Receipt) -> Sheet:
    s = Sheet(A5_INNER, 9)
    s.rule(dashed=False)
    s.text(f"姓名 {r.member_name}    证件号 {r.masked_certno}    就诊日期 {r.visit_date}")
    s.text(f"险种 {r.insurance}    人员类别 {r.status}    {r.scheme}")
    if r.diagnoses:
        s.text(f"诊断 {'；'.join(r.diagnoses)}")
    s.gap(3)
    return s


def _body(r: Receipt) -> list[Row]:
    """The item table's rows, then the summary as one row: the figures beside the year so far, notes, signatures."""
    rows: list[Row] = []
    for n, item in enumerate(r.items, 1):
        h, d = _cells(
            [
                str(n),
                item.label,
                item.category,
                item.quantity,
                "" if item.unit_price is None else money(item.unit_price),
                money(item.amount),
            ],
            TABLE_SIZE,
        )
        rows.append(Row(h, d, item=True))
    summary = Sheet(A5_INNER, 9)
    summary.gap(4)
    half = Sheet(A5_INNER / 2 - 4 * mm, 9)
    for label, value, bold in settlement_pairs(r):
        half.pair(label, value, bold=bold)
    year = Sheet(A5_INNER / 2 - 4 * mm, 9)
    year.text("本年累计（含本次）")
    for label, value in year_pairs(r):
        year.pair(label, value)
    left_rows, right_rows = half.rows, year.rows
    block_height = max(sum(x.height for x in left_rows), sum(x.height for x in right_rows))

    def two_columns(c: Canvas, x: float, y: float) -> None:
        for column, offset in ((left_rows, 0.0), (right_rows, A5_INNER / 2 + 4 * mm)):
            stack(column)(c, x + offset, y)

    summary.add(block_height, two_columns)
    for note in notes(r):
        summary.text(f"※ {note}", size=8)
    summary.gap(6)
    summary.text(f"规则 {r.rule_version}", size=7.5)
    summary.text("收款员签章：                        参保人签字：", size=9)
    rows.append(Row(sum(x.height for x in summary.rows), stack(summary.rows)))
    return rows


def _table_header() -> Row:
    h, d = _cells([heading for heading, _, _ in COLUMNS], TABLE_SIZE)

    def draw(c: Canvas, x: float, y: float) -> None:
        c.setFillGray(0.9)
        c.rect(x, y - h + 1, A5_INNER, h - 1, stroke=0, fill=1)
        c.setFillGray(0)
        d(c, x, y)

    return Row(h, draw)


def _paginate(r: Receipt) -> list[list[Row]]:
    """Distribute the body rows over pages; the heading's height does not depend on the page number."""
    top = _heading(r, 1, 1)
    first = sum(x.height for x in top.rows) + sum(x.height for x in _member(r).rows)
    room_first = A5[1] - 2 * A5_MARGIN - max(first, QR_A5 + 4 * mm) - _table_header().height
    room_next = A5[1] - 2 * A5_MARGIN - max(sum(x.height for x in top.rows), QR_A5 + 4 * mm) - _table_header().height
    pages: list[list[Row]] = [[]]
    used, room = 0.0, room_first
    for row in _body(r):
        if used + row.height > room and pages[-1]:
            pages.append([])
            used, room = 0.0, room_next
        pages[-1].append(row)
        used += row.height
    return pages


def render(r: Receipt, canvas: Canvas) -> None:
    """Draw ``r`` on ``canvas`` as A5 pages: each has the slip's heading, and the table's header if it has items."""
    canvas.setPageSize(A5)
    pages = _paginate(r)
    for number, rows in enumerate(pages, 1):
        y = A5[1] - A5_MARGIN
        x = A5_MARGIN
        heading = _heading(r, number, len(pages)).rows
        if number == 1:
            heading += _member(r).rows
        qr.draw_qr(canvas, r.uuid, x + A5_INNER - QR_A5, y - QR_A5, QR_A5)
        heading_height = sum(row.height for row in heading)
        stack(heading)(canvas, x, y)
        y -= max(heading_height, QR_A5 + 4 * mm)
        table = [_table_header(), *rows] if any(row.item for row in rows) else rows
        stack(table)(canvas, x, y)
        canvas.showPage()
