"""Render a :class:`~desktop_app.receipts.model.Receipt` as a PDF with reportlab, in two layouts.

* ``roll``: an 80 mm thermal roll (72 mm printable).  One page whose length
  grows with the content, as a roll printer cuts it.
* ``a5``: the A5 outpatient settlement slip (医保结算单), portrait; items flow
  onto further pages, each with the slip's heading and the table's header.

Layout is done here, line by line, with the canvas (no platypus): a receipt
must render in a few milliseconds.  The bundled WenQuanYi Micro Hei is
embedded as a subset.  Long names wrap by measured width, character by
character (Chinese has no spaces to break at).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from ..domain.money import fmt
from ..resources import resource_path
from .model import Receipt
from .qr import draw_qr

FONT = "WenQuanYiMicroHei"
FONT_FILE = ("fonts", "wqy-microhei.ttc")
LAYOUTS = ("roll", "a5")


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


def money(amount: Decimal) -> str:
    """Yuan with two decimals; a refund's zero prints as 0.00, not -0.00."""
    return fmt(abs(amount) if amount == 0 else amount)


# --------------------------------------------------------------------------- rows


def _bold_right(c: Canvas, right: float, baseline: float, text: str, size: float) -> None:
    """Right-aligned text filled and stroked (the font has no bold face; thermal printers need the weight)."""
    t = c.beginText(right - width(text, size), baseline)
    t.setFont(FONT, size)
    t.setTextRenderMode(2)
    c.setLineWidth(size * 0.04)
    t.textOut(text)
    t.setTextRenderMode(0)
    c.drawText(t)

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
                    _bold_right(c, x + self.inner, baseline, value, size)
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


# --------------------------------------------------------------------------- shared content


def _status_lines(r: Receipt) -> list[str]:
    lines = []
    if r.is_refund:
        lines.append("【退费】金额为负，冲销原结算")
    if r.copy_note:
        lines.append(f"【{r.copy_note}】")
    if r.unsynced:
        lines.append("离线结算，尚未上传医保中心")
    return lines


def _settlement_pairs(r: Receipt) -> list[tuple[str, str, bool]]:
    ratio = "" if r.fund_ratio is None or r.is_refund else f"（{(r.fund_ratio * 100).normalize():f}%）"
    pairs = [
        ("医疗费总额", money(r.total), True),
        ("全自费", money(r.fully_self_paid), False),
        ("先行自付", money(r.self_pay_first), False),
        ("符合政策范围", money(r.in_scope), False),
        ("本次起付线", money(r.deductible), False),
        (f"统筹基金支付{ratio}", money(r.fund), True),
    ]
    pairs += [(f"  其中{name}门诊用药保障", money(amount), False) for name, amount in r.programme_fund]
    pairs.append(("个人账户支付", money(r.own_account), False))
    family = f"共济账户支付（{r.family_payer_name}）" if r.family_payer_name else "共济账户支付"
    pairs.append((family, money(r.family_account), False))
    pairs.append(("现金支付", money(r.cash), True))
    pairs.append(("个人账户余额", money(r.balance), False))
    return pairs


def _year_pairs(r: Receipt) -> list[tuple[str, str]]:
    pairs = [("起付线已累计", money(r.ytd_deductible)), ("统筹基金已支付", money(r.ytd_fund))]
    pairs += [(f"{name}已支付", money(amount)) for name, amount in r.ytd_programme]
    pairs.append(("年度限额剩余", "不设限额" if r.cap_left is None else money(r.cap_left)))
    return pairs


# --------------------------------------------------------------------------- roll

ROLL_WIDTH = 80 * mm
ROLL_MARGIN = 4 * mm
QR_ROLL = 26 * mm


def _roll_sheet(r: Receipt) -> Sheet:
    s = Sheet(ROLL_WIDTH - 2 * ROLL_MARGIN, 8)
    s.text(r.facility_name, size=10.5, align="center")
    s.text(f"机构编码 {r.facility_id}", size=7.5, align="center")
    s.text(f"职工医保{r.title}", size=10, align="center")
    for line in _status_lines(r):
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
    s.rule()
    s.pair("项目 / 类别 数量×单价", "金额", size=7.5)
    for item in r.items:
        s.text(item.name, size=8)
        price = "" if item.unit_price is None else f" × {money(item.unit_price)}"
        s.pair(f"    {item.category}  {item.quantity}{price}", money(item.amount), size=8)
    s.rule()
    for label, value, bold in _settlement_pairs(r):
        s.pair(label, value, bold=bold)
    s.rule()
    s.text("本年累计（含本次）", size=8)
    for label, value in _year_pairs(r):
        s.pair(label, value)
    for warning in r.warnings:
        s.text(f"※ {warning}", size=7)
    s.rule()
    uuid = r.uuid

    def qr(c: Canvas, x: float, y: float) -> None:
        draw_qr(c, uuid, x + (s.inner - QR_ROLL) / 2, y - QR_ROLL, QR_ROLL)
    s.add(QR_ROLL + 2 * mm, qr)
    s.text("扫码查询本次结算", size=7, align="center")
    s.text(f"规则 {r.rule_version}", size=6.5, align="center")
    s.text("请妥善保管本凭证", size=7, align="center")
    return s


def _render_roll(r: Receipt, canvas: Canvas) -> None:
    sheet = _roll_sheet(r)
    height = sum(row.height for row in sheet.rows) + 2 * ROLL_MARGIN
    canvas.setPageSize((ROLL_WIDTH, height))
    y = height - ROLL_MARGIN
    for row in sheet.rows:
        row.draw(canvas, ROLL_MARGIN, y)
        y -= row.height
    canvas.showPage()


# --------------------------------------------------------------------------- A5

A5_MARGIN = 10 * mm
A5_INNER = A5[0] - 2 * A5_MARGIN
QR_A5 = 22 * mm
# Columns of the item table: (heading, width share, alignment)
COLUMNS = (("序号", 0.07, "right"), ("项目名称", 0.47, "left"), ("类别", 0.08, "center"),
           ("数量", 0.10, "right"), ("单价", 0.13, "right"), ("金额", 0.15, "right"))
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


def _a5_heading(r: Receipt, page: int, pages: int) -> Sheet:
    s = Sheet(A5_INNER - QR_A5 - 4 * mm, 9)
    s.text(f"职工医保门诊{'退费' if r.is_refund else '结算'}单", size=14)
    s.text(f"{r.facility_name}（{r.facility_id}）", size=9)
    s.text(f"{'退费单号' if r.is_refund else '结算号'} {r.uuid}", size=8)
    if r.is_refund:
        s.text(f"原结算号 {r.original_uuid}", size=8)
    s.text(f"结算时间 {r.created_at}    收款员 {r.operator}    设备 {r.device}", size=8)
    for line in _status_lines(r):
        s.text(line, size=9)
    s.text(f"第 {page} 页 / 共 {pages} 页", size=8)
    return s


def _a5_member(r: Receipt) -> Sheet:
    s = Sheet(A5_INNER, 9)
    s.rule(dashed=False)
    s.text(f"姓名 {r.member_name}    证件号 {r.masked_certno}    就诊日期 {r.visit_date}")
    s.text(f"险种 {r.insurance}    人员类别 {r.status}    {r.scheme}")
    s.gap(3)
    return s


def _a5_body(r: Receipt) -> list[Row]:
    rows: list[Row] = []
    for n, item in enumerate(r.items, 1):
        h, d = _cells([str(n), item.name, item.category, item.quantity,
                       "" if item.unit_price is None else money(item.unit_price), money(item.amount)], TABLE_SIZE)
        rows.append(Row(h, d, item=True))
    summary = Sheet(A5_INNER, 9)
    summary.gap(4)
    half = Sheet(A5_INNER / 2 - 4 * mm, 9)
    for label, value, bold in _settlement_pairs(r):
        half.pair(label, value, bold=bold)
    year = Sheet(A5_INNER / 2 - 4 * mm, 9)
    year.text("本年累计（含本次）")
    for label, value in _year_pairs(r):
        year.pair(label, value)
    left_rows, right_rows = half.rows, year.rows
    block_height = max(sum(x.height for x in left_rows), sum(x.height for x in right_rows))

    def two_columns(c: Canvas, x: float, y: float) -> None:
        for column, offset in ((left_rows, 0.0), (right_rows, A5_INNER / 2 + 4 * mm)):
            yy = y
            for row in column:
                row.draw(c, x + offset, yy)
                yy -= row.height
    summary.add(block_height, two_columns)
    for warning in r.warnings:
        summary.text(f"※ {warning}", size=8)
    summary.gap(6)
    summary.text(f"规则 {r.rule_version}", size=7.5)
    summary.text("收款员签章：                        参保人签字：", size=9)
    rows.append(Row(sum(x.height for x in summary.rows), _stack(summary.rows)))
    return rows


def _stack(rows: list[Row]) -> Draw:
    def draw(c: Canvas, x: float, y: float) -> None:
        for row in rows:
            row.draw(c, x, y)
            y -= row.height
    return draw


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
    top = _a5_heading(r, 1, 1)
    first = sum(x.height for x in top.rows) + sum(x.height for x in _a5_member(r).rows)
    room_first = A5[1] - 2 * A5_MARGIN - max(first, QR_A5 + 4 * mm) - _table_header().height
    room_next = A5[1] - 2 * A5_MARGIN - max(sum(x.height for x in top.rows), QR_A5 + 4 * mm) - _table_header().height
    pages: list[list[Row]] = [[]]
    used, room = 0.0, room_first
    for row in _a5_body(r):
        if used + row.height > room and pages[-1]:
            pages.append([])
            used, room = 0.0, room_next
        pages[-1].append(row)
        used += row.height
    return pages


def _render_a5(r: Receipt, canvas: Canvas) -> None:
    canvas.setPageSize(A5)
    pages = _paginate(r)
    for number, rows in enumerate(pages, 1):
        y = A5[1] - A5_MARGIN
        x = A5_MARGIN
        heading = _a5_heading(r, number, len(pages)).rows
        if number == 1:
            heading += _a5_member(r).rows
        draw_qr(canvas, r.uuid, x + A5_INNER - QR_A5, y - QR_A5, QR_A5)
        heading_height = sum(row.height for row in heading)
        _stack(heading)(canvas, x, y)
        y -= max(heading_height, QR_A5 + 4 * mm)
        table = [_table_header(), *rows] if any(row.item for row in rows) else rows
        for row in table:
            row.draw(canvas, x, y)
            y -= row.height
        canvas.showPage()


# --------------------------------------------------------------------------- entry point


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
    (_render_roll if layout == "roll" else _render_a5)(receipt, canvas)
    canvas.save()
    return buffer.getvalue()
