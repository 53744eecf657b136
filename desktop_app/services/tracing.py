"""药品追溯码 at checkout (issue 18): the counter's rules, checked where the settlement is made.

A checkout request's item may carry ``trace_codes`` (each as scanned) and ``trace_waiver`` (a reason from
:data:`WAIVER_REASONS`).  :func:`check` refuses, naming the line and the code:

- a code that is damaged, or on an item the catalogue does not trace;
- a package past its expiry date (AI 17) on the visit's day;
- a code scanned twice in one visit, or already sold on this desk and not refunded;
- a code whose product part is tied to another catalogue item (tied at first sight: the first sale);
- a traced line whose codes do not match its quantity in smallest packages, unless the line names a
  waiver reason: then a supervisor must authorise the settlement, and the waiver is audited.  Such a line
  is quoted (the cashier sees the figures while scanning), never settled (:func:`require_complete`).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from ..domain.catalogue import CatalogueItem
from ..domain.errors import InputError
from ..domain.trace_code import TraceCode, read_trace_code
from ..store import audit, catalogue
from ..store import tracing as store

WAIVER_REASONS = ("无码药品", "扫码设备故障", "追溯码损坏无法识别", "拆零销售")
MAX_CODES = 2000  # codes in one visit: more packages than any counter sells at once


@dataclass(frozen=True)
class TracedLine:
    """A line of a traced item: its codes, the packages its quantity holds, and the waiver reason if short."""

    line_no: int
    item: CatalogueItem
    codes: tuple[TraceCode, ...]
    packages: Decimal
    waiver: str | None
    quantity: str = ""  # as the request gave it

    @property
    def complete(self) -> bool:
        return Decimal(len(self.codes)) == self.packages

    @property
    def short(self) -> bool:
        """Short of its codes (or beyond them) and not waived: it may be quoted, not settled."""
        return not self.complete and self.waiver is None

    def short_message(self) -> str:
        need = self.packages.normalize()
        split = "（不足一个最小包装为拆零销售）" if need != need.to_integral_value() else ""
        return (
            f"{self.item.name} 数量 {self.quantity} 应扫 {need:f} 个追溯码{split}，已扫 {len(self.codes)} 个："
            "请逐盒扫码；确实无法扫码时请主管选择原因放行（Ctrl+T）"
        )

    @property
    def counted(self) -> str:
        """ "2/3": codes scanned / packages sold."""
        return f"{len(self.codes)}/{self.packages.normalize():f}"

    def why_approval(self) -> str:
        return f"{self.item.name} 追溯码 {self.counted}（{self.waiver}）"


@dataclass(frozen=True)
class Scanned:
    """What the desk knows of a scanned code: the item it is sold as (None at first sight), and whether this desk
    sold it already and not refunded (when, as the cashier reads it)."""

    code: TraceCode
    item: CatalogueItem | None
    sold_here: str | None


def scanned(conn: sqlite3.Connection, code: TraceCode) -> Scanned:
    """Look a scanned code up: its product's item (tied at first sale, or a GTIN's barcode) and its sale here."""
    item_code = store.tied_item(conn, code.product)
    if item_code is None and code.scheme == "gs1":
        item_code = store.item_by_gtin(conn, code.product)
    item = catalogue.get(conn, item_code) if item_code is not None else None
    sold = store.unrefunded(conn, [code.code]).get(code.code)
    when = f"{sold.created_at[:16].replace('T', ' ')}（结算 {sold.settlement_uuid[:8]}）" if sold else None
    return Scanned(code, item, when)


def check(
    conn: sqlite3.Connection, raw_items: list, items: list[CatalogueItem], quantities: list[str], day: dt.date
) -> tuple[TracedLine, ...]:
    """Every counter rule for the visit's codes; the traced lines (``InputError`` at the first broken rule)."""
    seen: dict[str, str] = {}  # code -> where it was scanned
    products: dict[str, str] = {}  # product -> the item it is sold as in this visit
    traced = []
    for i, (raw, item, quantity) in enumerate(zip(raw_items, items, quantities)):
        path = f"items[{i}]"
        codes = _codes(raw.get("trace_codes"), f"{path}.trace_codes", item, day)
        waiver = _waiver(raw.get("trace_waiver"), f"{path}.trace_waiver", item)
        for code in codes:
            if code.code in seen:
                raise InputError(seen[code.code], code.code, "同一追溯码在本次就诊中扫了两次：一盒药只扫一次")
            seen[code.code] = f"{path}.trace_codes"
            _check_product(conn, code, item, products, f"{path}.trace_codes")
        if len(seen) > MAX_CODES:
            raise InputError("trace_codes", f"{len(seen)} 个", f"一次结算最多 {MAX_CODES} 个追溯码")
        if not item.trac_required:
            continue
        line = TracedLine(i, item, tuple(codes), item.packages(Decimal(quantity)), waiver, quantity)
        if line.complete and waiver is not None:
            raise InputError(f"{path}.trace_waiver", waiver, f"{item.name} 的追溯码已扫齐，无需主管放行")
        traced.append(line)
    _check_unsold(conn, seen)
    return tuple(traced)


def _codes(raw: object, path: str, item: CatalogueItem, day: dt.date) -> list[TraceCode]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise InputError(path, raw, "须为追溯码文本的列表")
    if raw and not item.trac_required:
        raise InputError(path, raw[0], f"{item.name} 不实行追溯码管理，无需扫码：请删除这些追溯码")
    codes = []
    for text in raw[: MAX_CODES + 1]:
        code = read_trace_code(text)
        if code is None:
            raise InputError(path, text[:40], "不是药品追溯码（20 位数字，或含 (01) 与 (21) 的 GS1 码）")
        if code.expired_on(day):
            raise InputError(path, code.code, f"这盒药已过有效期（{code.expiry.isoformat()}），不能销售")
        codes.append(code)
    return codes


def _waiver(raw: object, path: str, item: CatalogueItem) -> str | None:
    if raw is None:
        return None
    if not item.trac_required:
        raise InputError(path, raw, f"{item.name} 不实行追溯码管理，无需放行")
    if raw not in WAIVER_REASONS:
        raise InputError(path, raw, f"须为以下原因之一：{'、'.join(WAIVER_REASONS)}")
    return raw


def _check_product(conn: sqlite3.Connection, code: TraceCode, item: CatalogueItem, here: dict, path: str) -> None:
    """A code's product is sold as the item it was first sold as (a GTIN: the item with that barcode)."""
    tied = here.get(code.product) or store.tied_item(conn, code.product)
    if tied is None and code.scheme == "gs1":
        tied = store.item_by_gtin(conn, code.product)
    if tied is not None and tied != item.code:
        raise InputError(
            path, code.code, f"这个追溯码属于目录项目 {tied}，不是 {item.name}（{item.code}）：请核对药品后重新扫码"
        )
    here[code.product] = item.code


def _check_unsold(conn: sqlite3.Connection, seen: dict[str, str]) -> None:
    sold = store.unrefunded(conn, seen)
    if sold:
        first = sold[next(code for code in seen if code in sold)]
        raise InputError(
            seen[first.code],
            first.code,
            f"该追溯码已于 {first.created_at[:16].replace('T', ' ')} 在本机售出（结算 {first.settlement_uuid[:8]}），"
            "且未退费：同一盒药不能再次销售",
        )


def require_complete(traced: tuple[TracedLine, ...]) -> None:
    """A settlement is refused while a traced line is short of its codes and not waived."""
    for line in traced:
        if line.short:
            raise InputError(f"items[{line.line_no}].trace_codes", line.counted, line.short_message())


def record(
    conn: sqlite3.Connection, uuid: str, traced: tuple[TracedLine, ...], supervisor: str | None, at: str
) -> None:
    """Store the settlement's codes and waivers (its transaction); a waiver's audit names supervisor and reason."""
    for line in traced:
        store.record_line(conn, uuid, line.line_no, line.item.code, line.codes)
        if line.waiver is None:
            continue
        store.record_waiver(
            conn,
            uuid,
            line.line_no,
            line.item.code,
            len(line.codes),
            f"{line.packages.normalize():f}",
            line.waiver,
            supervisor,
        )
        audit.append(
            conn,
            at,
            supervisor,
            "trace_waiver",
            uuid,
            {"line": line.line_no + 1, "code": line.item.code, "codes": line.counted, "reason": line.waiver},
        )
