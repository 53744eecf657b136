"""The visit being built at the counter, before it is confirmed: plain Python, so the window stays thin.

A :class:`Cart` turns what the cashier entered into the same case a
``checkout`` JSON file holds, and parses the item box's text ("3*XA00101").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from ..domain.catalogue import cashier_ceiling
from ..domain.diagnosis import MAX_PER_VISIT as MAX_DIAGNOSES
from ..domain.diagnosis import Diagnosis
from ..domain.errors import InputError
from ..domain.money import ZERO, fmt
from ..domain.trace_code import FIELD as TRACE_FIELD
from ..domain.trace_code import TraceCode
from .request import MAX_QUANTITY

FEN = Decimal("0.01")


@dataclass
class CartLine:
    code: str
    name: str
    category: str
    unit_price: Decimal
    quantity: Decimal = Decimal("1")
    catalogue_price: Decimal | None = None  # the catalogue's price; unit_price may differ (a fee typed at the desk)
    price_cap: Decimal | None = None  # the catalogue's cap: above it, or above its price, a supervisor must approve
    spec_unit: str = ""  # 规格/单位 and the maker, as the cart shows them (display only: never part of the case)
    manufacturer: str = ""
    trac_required: bool = False  # 追溯码管理: each smallest package's code is scanned
    packs_per_unit: int = 1
    codes: list[TraceCode] = field(default_factory=list)
    waiver: str | None = None  # a supervisor's reason for settling this traced line short of its codes

    def __post_init__(self) -> None:
        if self.catalogue_price is None:
            self.catalogue_price = self.unit_price

    @property
    def amount(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(Decimal("0.01"))

    @property
    def ceiling(self) -> Decimal:
        """The highest price a cashier may type alone."""
        return cashier_ceiling(self.catalogue_price, self.price_cap)

    @property
    def packages(self) -> Decimal:
        """The smallest packages the quantity holds: the codes a traced line needs."""
        return self.quantity * self.packs_per_unit

    @property
    def short(self) -> bool:
        """A traced line whose codes do not match its packages (and no supervisor's waiver yet)."""
        return self.trac_required and self.waiver is None and Decimal(len(self.codes)) != self.packages

    @property
    def trace_shown(self) -> str:
        """ "2/3" (codes scanned / packages), "放行：无码药品" once waived, "" when not traced."""
        if not self.trac_required:
            return ""
        if self.waiver is not None:
            return f"放行：{self.waiver}"
        return f"{len(self.codes)}/{self.packages.normalize():f}"


@dataclass
class Cart:
    psn_no: str | None = None
    lines: list[CartLine] = field(default_factory=list)
    visit_kind: str = "ordinary"
    use_account: bool = True
    family_payer: str | None = None
    prescription: dict | None = None
    approval: object | None = None  # a supervisor's checkout.Approval for a price above the catalogue's
    diagnoses: list[Diagnosis] = field(default_factory=list)  # the visit's, the first the main one

    def add(self, line: CartLine) -> CartLine:
        """Add an item; scanning the same item again adds to its quantity.

        A quantity the checkout would refuse (see :func:`check_quantity`) is refused here, where it
        was typed, and the cart is left as it was.
        """
        for existing in self.lines:
            if existing.code == line.code and existing.unit_price == line.unit_price:
                existing.quantity = check_quantity(existing, existing.quantity + line.quantity)
                return existing
        check_quantity(line, line.quantity)
        self.lines.append(line)
        return line

    def set_quantity(self, line: CartLine, text: str) -> None:
        """A quantity typed over in the cart's table; :class:`InputError` (the line unchanged) if refused."""
        line.quantity = check_quantity(line, parse_quantity(text))

    def set_price(self, line: CartLine, price: Decimal) -> None:
        """A unit price typed over (within what the cashier may set); refused, the line unchanged, when price ×
        quantity is not a whole fen: it is refused here, where it is typed, not at the quote."""
        check_quantity(replace(line, unit_price=price), line.quantity)
        line.unit_price = price

    def scan(self, code: TraceCode, line: CartLine, sold_here: str | None, today: dt.date) -> CartLine:
        """A package's code scanned for ``line`` (already in the cart, or new: added); the line it went to.

        Refused, the cart as it was, when the package is past its expiry, the code is in the cart already or was
        sold on this desk and not refunded (``sold_here`` says when), or the item is not traced.  A code beyond
        the packages the line's quantity holds raises the quantity by one unit: each scan is a package sold.
        """
        if not line.trac_required:
            raise InputError(TRACE_FIELD, code.code, f"{line.name} 不实行追溯码管理，无需扫码")
        if code.expired_on(today):
            raise InputError(TRACE_FIELD, code.code, f"这盒药已过有效期（{code.expiry.isoformat()}），不能销售")
        if any(code.code == c.code for other in self.lines for c in other.codes):
            raise InputError(TRACE_FIELD, code.code, "这个追溯码本次已经扫过：一盒药只扫一次")
        if sold_here is not None:
            raise InputError(
                TRACE_FIELD, code.code, f"该追溯码已于 {sold_here} 在本机售出且未退费：同一盒药不能再次销售"
            )
        if line not in self.lines:  # the first package of an item: a line of one unit
            line.quantity, line.codes = Decimal("1"), []
            line = self.add(line)
        elif Decimal(len(line.codes)) >= line.packages:
            line.quantity = check_quantity(line, line.quantity + 1)
        line.codes.append(code)
        return line

    def traced_line_for(self, item_code: str | None) -> CartLine | None:
        """Where a scanned code goes: the line of its item, or (a product seen for the first time) the last
        traced line still short of codes."""
        if item_code is not None:
            return next((line for line in self.lines if line.code == item_code), None)
        return next((line for line in reversed(self.lines) if line.short), None)

    def case(self, today: dt.date | None = None) -> dict:
        """The checkout case (as ``desktop-app checkout`` reads it)."""
        data: dict = {
            "member": {"psn_no": self.psn_no},
            "items": [
                {
                    "code": line.code,
                    "quantity": str(line.quantity),
                    **({"unit_price": str(line.unit_price)} if line.unit_price != line.catalogue_price else {}),
                    **({"trace_codes": [c.scan_text for c in line.codes]} if line.codes else {}),
                    **({"trace_waiver": line.waiver} if line.waiver is not None else {}),
                }
                for line in self.lines
            ],
            "payment": {"use_account": self.use_account},
        }
        if today is not None:
            data["date"] = today.isoformat()
        if self.family_payer:
            data["payment"]["family_payer"] = self.family_payer
        if self.visit_kind in ("emergency", "referral"):
            data["visit"] = {self.visit_kind: True}
        if self.prescription is not None:
            data["prescription"] = self.prescription
        if self.diagnoses:
            data["diagnoses"] = [d.code for d in self.diagnoses]
        return data

    def add_diagnosis(self, diagnosis: Diagnosis) -> None:
        """A diagnosis chosen for the visit; the same one twice, or more than a visit holds, is refused."""
        if diagnosis in self.diagnoses:
            raise InputError("诊断", diagnosis.shown, "本次就诊已录入这个诊断")
        if len(self.diagnoses) >= MAX_DIAGNOSES:
            raise InputError("诊断", diagnosis.shown, f"一次就诊最多 {MAX_DIAGNOSES} 个诊断")
        self.diagnoses.append(diagnosis)

    @property
    def ready(self) -> bool:
        return bool(self.psn_no and self.lines)


def parse_entry(text: str) -> tuple[Decimal, str]:
    """What the item box holds: ``code``, ``3*code`` or ``code*3`` -> (quantity, code or name)."""
    text = text.strip()
    if "*" not in text:
        return Decimal("1"), text
    left, _, right = text.partition("*")
    left, right = left.strip(), right.strip()
    number, what = (left, right) if _is_number(left) else (right, left)
    try:
        quantity = Decimal(number)
    except InvalidOperation:
        raise InputError("数量", number, "须为数字，例如 3*XA00101") from None
    if quantity <= ZERO or quantity != quantity.quantize(Decimal("0.001")):
        raise InputError("数量", number, "须为正数，最多三位小数")
    if not what:
        raise InputError("项目", text, "缺少目录编码、条码或名称")
    return quantity, what


def parse_quantity(text: str) -> Decimal:
    """A quantity as typed in the cart's table: a number (the checks of :func:`check_quantity` come after)."""
    try:
        quantity = Decimal(text.strip())
    except InvalidOperation:
        raise InputError("数量", text.strip(), "须为数字，例如 2 或 0.5") from None
    if not quantity.is_finite():
        raise InputError("数量", text.strip(), "须为数字，例如 2 或 0.5")
    return quantity


def check_quantity(line: CartLine, quantity: Decimal) -> Decimal:
    """``quantity`` if ``line`` may hold it: what the checkout would refuse, refused at entry.

    Positive, at most :data:`MAX_QUANTITY`, three decimals, and a whole number of fen at the line's
    price (and at the catalogue's cap): 2.5 of an item at 0.15 元 is 0.375 元, which no receipt can show.
    """
    shown = f"{quantity.normalize():f}"
    if quantity <= ZERO:
        raise InputError("数量", shown, "须大于 0")
    if quantity > MAX_QUANTITY:
        raise InputError("数量", shown, f"不能超过 {MAX_QUANTITY}")
    if quantity != quantity.quantize(Decimal("0.001")):
        raise InputError("数量", shown, "最多三位小数")
    for price, what in ((line.unit_price, "单价"), (line.price_cap, "限价")):
        if price is not None and price * quantity != (price * quantity).quantize(FEN):
            raise InputError(
                "数量",
                shown,
                f"{line.name} 的{what} {fmt(price)} 元 × {shown} 算不出整分金额，请改为整数数量",
            )
    return quantity


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def change_due(cash: Decimal, tendered_text: str) -> Decimal | None:
    """Change for the cash the member hands over; None when nothing was typed (exact money)."""
    text = tendered_text.strip()
    if not text:
        return None
    try:
        tendered = Decimal(text)
    except InvalidOperation:
        raise InputError("实收现金", text, "须为金额，例如 100 或 100.50") from None
    if tendered != tendered.quantize(Decimal("0.01")) or tendered < 0:
        raise InputError("实收现金", text, "须为非负金额，最多两位小数")
    if tendered < cash:
        raise InputError("实收现金", text, f"少于应收现金 {cash}，请核对收到的现金")
    return tendered - cash
