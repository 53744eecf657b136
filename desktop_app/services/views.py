"""What the desk's methods return to the window: plain dataclasses, by meaning (see :mod:`.desk`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..domain.catalogue import CatalogueItem
from ..store import settings as registry
from . import checkout


@dataclass(frozen=True)
class Notice:
    """What the hub flagged on one settlement: set aside, a clawback or a difference to reimburse."""

    kind: str  # "set_aside", "clawback", "difference"
    amount: Decimal
    reason: str
    uuid: str


@dataclass(frozen=True)
class DeskState:
    """This desk as the status bar and the title show it."""

    region: str
    pharmacy: bool
    facility_name: str
    rules: str  # the rule version in force today, or why none is
    unsynced: int
    printer: str
    layout: str
    hub: str
    token: str
    last_sync: str
    notices: tuple[Notice, ...]


@dataclass(frozen=True)
class ItemMatches:
    """What the item box found: an exact code or barcode hit, else the items whose name, 助记码 or code starts so."""

    exact: bool
    items: tuple[CatalogueItem, ...]


@dataclass(frozen=True)
class Shown:
    """A quote as the payment panel shows it: figures by meaning, and the record the receipt would print."""

    total: Decimal
    fully_self_paid: Decimal
    self_pay_first: Decimal
    in_scope: Decimal
    deductible: Decimal
    fund: Decimal
    own_account: Decimal
    family_account: Decimal
    cash: Decimal
    balance_after: Decimal
    cap_left: Decimal | None
    fund_ratio: Decimal
    rule_version: str
    family_payer: str | None
    warnings: tuple[str, ...]
    explanation: tuple[str, ...]
    record: dict = field(repr=False)  # the platform's field names, as a receipt and the CLI print them

    @classmethod
    def of(cls, quote: checkout.Quote) -> Shown:
        s, p = quote.settlement, quote.payment
        return cls(
            s.total,
            s.fully_self_paid,
            s.self_pay_first,
            s.in_scope,
            s.deductible_this_visit,
            s.fund_total,
            p.own_account,
            p.family_account,
            p.cash,
            p.balance_after,
            s.cap_left_after,
            s.fund_ratio,
            s.rule_version,
            p.family_payer,
            (*s.warnings, *(line.short_message() for line in quote.traced if line.short)),
            tuple(s.explanation),
            checkout.quote_dict(quote),
        )


@dataclass(frozen=True)
class Settled:
    """A committed settlement or refund and its receipt."""

    uuid: str
    name: str
    fund: Decimal
    own_account: Decimal
    family_account: Decimal
    cash: Decimal
    receipt: Path
    record: dict = field(repr=False)  # as journalled and printed

    @classmethod
    def of(cls, out: dict, receipt: Path) -> Settled:
        amount = {k: Decimal(out[k]) for k in ("hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")}
        return cls(
            out["uuid"],
            out.get("psn_name") or "",
            amount["hifp_pay"],
            amount["acct_pay"],
            amount["acct_mulaid_pay"],
            amount["psn_cash_pay"],
            receipt,
            out,
        )


@dataclass(frozen=True)
class SettingsView:
    """The settings dialog's content: the registry, the current values, the regions and the printers' choice."""

    values: dict[str, str]
    regions: dict[str, str]
    entries: tuple[registry.Setting, ...] = registry.SETTINGS

    def value(self, key: str) -> str:
        return self.values.get(key) or registry.REGISTRY[key].default

    @property
    def entries_by_key(self) -> dict[str, registry.Setting]:
        return {entry.key: entry for entry in self.entries}
