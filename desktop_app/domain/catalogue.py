"""A catalogue item (医保目录) and how one becomes a line of a visit: the one mapping desk and hub share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from .frozen import quick_init
from .money import from_fen


def cashier_ceiling(price: Decimal, price_cap: Decimal | None) -> Decimal:
    """The highest unit price a cashier may type alone: the catalogue's price, or its cap if lower."""
    return price if price_cap is None else min(price, price_cap)


@quick_init  # one a line of every quote: see .frozen
@dataclass(frozen=True)
class CatalogueItem:
    code: str
    name: str
    category: str
    selfpay_ratio: Decimal
    price: Decimal
    price_cap: Decimal | None
    unit: str
    programme: str | None
    item_kind: str
    account_payable: bool  # the catalogue's own flag; the region's excluded kinds apply as well
    barcode: str | None
    spec: str = ""  # 规格 (0.25g×24粒), shown so the cashier tells one pack from another
    manufacturer: str = ""  # 生产厂家
    trac_required: bool = False  # 追溯码管理: each smallest package sold is scanned (drugs and consumables)
    packs_per_unit: int = 1  # smallest packages (each with its own traceability code) in one sold unit

    def packages(self, quantity: Decimal) -> Decimal:
        """How many smallest packages ``quantity`` sold units hold: the codes a traced line needs."""
        return quantity * self.packs_per_unit

    @property
    def spec_unit(self) -> str:
        """规格/单位 as the counter shows it: "0.25g×24粒/盒", or the one that is known."""
        return "/".join(part for part in (self.spec, self.unit) if part)

    @classmethod
    def from_row(cls, d: Mapping) -> CatalogueItem:
        """From a stored row or feed entry (prices in fen); an older one may lack spec, maker and tracing."""
        return cls(
            d["code"],
            d["name"],
            d["category"],
            Decimal(str(d["selfpay_ratio"])),
            from_fen(d["price"]),
            None if d["price_cap"] is None else from_fen(d["price_cap"]),
            d["unit"],
            d["programme"],
            d["item_kind"],
            bool(d["account_payable"]),
            d["barcode"],
            d.get("spec") or "",
            d.get("manufacturer") or "",
            bool(d.get("trac_required") or 0),
            int(d.get("packs_per_unit") or 1),
        )

    def visit_line(self, quantity: object, unit_price: Decimal | None) -> dict:
        """The engine's item for ``quantity`` of this at ``unit_price`` (the catalogue price when None)."""
        line = {
            "code": self.code,
            "name": self.name,
            "category": self.category,
            "quantity": quantity,
            "unit_price": str(self.price if unit_price is None else unit_price),
            "programme": self.programme,
        }
        if self.category == "B":
            line["selfpay_ratio"] = str(self.selfpay_ratio)
        if self.price_cap is not None:
            line["price_cap"] = str(self.price_cap)
        return line
