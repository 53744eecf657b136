"""What a receipt shows, as plain data, built from a stored settlement's output.

The renderer never looks anything up: :func:`build` takes the settlement (and,
for a refund, the original) as the store saved them, plus the few things the
journal does not carry (facility name, the member's ID number, whether the
entry has reached the central server).  Amounts stay ``Decimal``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from ..domain.identity import mask_certno
from ..domain.vocabulary import CATEGORY_SHORT, PROGRAMME_NAMES, SCHEME_NAMES, STATUS_NAMES

INSURANCE_NAMES = {
    "310": "职工基本医疗保险",
    "320": "公务员医疗补助",
    "330": "大额医疗费用补助",
    "390": "城乡居民基本医疗保险",
}


@dataclass(frozen=True)
class ReceiptLine:
    name: str
    category: str  # 甲 / 乙 / 丙
    quantity: str
    unit_price: Decimal | None
    amount: Decimal
    trace: str = ""  # a traced line's codes: "追溯码 3", or "追溯码 1/3（无码药品）" when a supervisor waived them

    @property
    def label(self) -> str:
        """The name as printed, with a traced line's code count."""
        return f"{self.name}  [{self.trace}]" if self.trace else self.name


@dataclass(frozen=True)
class Receipt:
    kind: str  # "settlement" or "refund"
    uuid: str
    original_uuid: str | None
    created_at: str  # local time, "YYYY-MM-DD HH:MM:SS"
    operator: str
    device: str
    facility_name: str
    facility_id: str
    visit_date: str
    rule_version: str
    member_name: str
    masked_certno: str
    insurance: str
    status: str
    scheme: str
    items: tuple[ReceiptLine, ...]
    total: Decimal  # 医疗费总额
    fully_self_paid: Decimal  # 全自费
    self_pay_first: Decimal  # 先行自付
    in_scope: Decimal  # 符合政策范围
    deductible: Decimal  # 本次起付线
    fund: Decimal  # 统筹基金支付
    fund_ratio: Decimal | None
    programme_fund: tuple[tuple[str, Decimal], ...]  # (两病名称, 金额), already in ``fund``
    own_account: Decimal
    family_account: Decimal
    family_payer_name: str | None
    cash: Decimal
    balance: Decimal  # 个人账户余额 after this entry
    ytd_deductible: Decimal
    ytd_fund: Decimal
    ytd_programme: tuple[tuple[str, Decimal], ...]
    cap_left: Decimal | None
    unsynced: bool
    copy_note: str | None = None  # "补打" on a reprint
    warnings: tuple[str, ...] = field(default=())
    tendered: Decimal | None = None  # 实收: the cash handed over, where the cashier typed it
    change: Decimal | None = None  # 找零
    diagnoses: tuple[str, ...] = ()  # "I10.x00 原发性高血压", in order: the visit's (a refund: its original's)
    supervisor: str | None = None  # a refund's authorising supervisor (``operator`` is the cashier of record)
    reason: str | None = None  # a refund's reason

    @property
    def is_refund(self) -> bool:
        return self.kind == "refund"

    @property
    def title(self) -> str:
        return "门诊退费凭证" if self.is_refund else "门诊结算凭证"


def _d(value: object) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal("0.00")


def _local_time(iso: str) -> str:
    try:
        return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def build(
    entry: dict,
    *,
    original: dict | None,
    certno: str,
    insutype: str,
    status: str,
    scheme: str,
    facility_name: str,
    facility_id: str,
    family_payer_name: str | None,
    unsynced: bool,
    copy_note: str | None = None,
) -> Receipt:
    """A receipt for a stored settlement output ``entry``; a refund takes its breakdown from ``original``."""
    refund = entry.get("kind") == "refund"
    source = original if refund and original is not None else entry
    sign = Decimal(-1) if refund else Decimal(1)
    return Receipt(
        kind=entry.get("kind", "settlement"),
        uuid=entry["uuid"],
        original_uuid=entry.get("original_uuid"),
        created_at=_local_time(entry["created_at"]),
        operator=entry.get("cashier") or entry["operator"],
        device=entry.get("device", ""),
        facility_name=facility_name,
        facility_id=facility_id,
        visit_date=source.get("date", entry.get("date", "")),
        rule_version=source.get("rule_version", ""),
        member_name=entry.get("psn_name") or "",
        masked_certno=mask_certno(certno),
        insurance=INSURANCE_NAMES.get(insutype, insutype),
        status=STATUS_NAMES.get(status, status),
        scheme=SCHEME_NAMES.get(scheme, scheme),
        items=_lines(source),
        **_breakdown(source, sign),
        own_account=_d(entry["acct_pay"]),
        family_account=_d(entry["acct_mulaid_pay"]),
        family_payer_name=family_payer_name,
        cash=_d(entry["psn_cash_pay"]),
        balance=_d(entry.get("balc")),
        **_year(entry),
        unsynced=unsynced,
        copy_note=copy_note,
        warnings=tuple(source.get("warnings", ())) if not refund else (),
        tendered=None if entry.get("tendered") is None else _d(entry["tendered"]),
        change=None if entry.get("change") is None else _d(entry["change"]),
        supervisor=entry.get("supervisor") if refund else None,
        reason=entry.get("reason") if refund else None,
        diagnoses=tuple(f"{d['diag_code']} {d['diag_name']}".strip() for d in source.get("diseinfo", ())),
    )


def _lines(source: dict) -> tuple[ReceiptLine, ...]:
    """The items as printed: name, 甲/乙/丙, quantity, unit price and amount."""
    return tuple(
        ReceiptLine(
            name=i["name"],
            category=CATEGORY_SHORT.get(i["category"], i["category"]),
            quantity=str(i.get("cnt", "1")),
            unit_price=None if i.get("pric") is None else _d(i["pric"]),
            amount=_d(i["det_item_fee_sumamt"]),
            trace=_trace(i),
        )
        for i in source.get("items", [])
    )


def _trace(item: dict) -> str:
    """A traced line's code count as the receipt prints it ("" for an item that is not traced)."""
    if "trac_cnt" not in item:
        return ""
    if item.get("trac_waiver"):
        return f"追溯码 {item['trac_cnt']}（{item['trac_waiver']}）"
    return f"追溯码 {len(item.get('drugtracinfo', []))}"


def _breakdown(source: dict, sign: Decimal) -> dict:
    """How the total divides (a refund's is the original's, negated) and what the fund paid."""
    ratio = source.get("pool_prop_selfpay")
    return {
        "total": sign * _d(source["medfee_sumamt"]),
        "fully_self_paid": sign * _d(source.get("fulamt_ownpay_amt")),
        "self_pay_first": sign * _d(source.get("preselfpay_amt")),
        "in_scope": sign * _d(source.get("inscp_scp_amt")),
        "deductible": sign * _d(source.get("act_pay_dedc")),
        "fund": sign * _d(source["hifp_pay"]),
        "fund_ratio": None if ratio is None else _d(ratio),
        "programme_fund": tuple(
            (PROGRAMME_NAMES.get(k, k), sign * _d(v)) for k, v in (source.get("programme_pay") or {}).items() if _d(v)
        ),
    }


def _year(entry: dict) -> dict:
    """The member's year after this settlement: deductible and fund used, what is left of the cap."""
    usage = entry.get("usage_after") or {}
    return {
        "ytd_deductible": _d(usage.get("deductible_paid")),
        "ytd_fund": _d(usage.get("pool_paid")),
        "ytd_programme": tuple(
            (PROGRAMME_NAMES.get(k, k), _d(v)) for k, v in (usage.get("programme_paid") or {}).items() if _d(v)
        ),
        "cap_left": None if entry.get("cap_left") is None else _d(entry["cap_left"]),
    }
