"""A member as cached from the national platform's person lookup, and a prescription."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .errors import InputError
from .frozen import quick_init


@quick_init  # every lookup and every quote makes one: see .frozen
@dataclass(frozen=True)
class MemberRecord:
    psn_no: str
    certno: str
    name: str
    sex: str  # '1' male, '2' female
    birth_date: str
    insutype: str
    status: str
    status_since: str | None
    scheme: str
    region: str
    civil_servant: bool
    programmes: tuple[str, ...]
    designated_facility: str | None
    account_balance: Decimal

    def age_on(self, day: dt.date) -> int:
        born = dt.date.fromisoformat(self.birth_date)
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True)
class Prescription:
    """外配处方: written elsewhere, filled at a pharmacy."""

    institution: str
    doctor: str
    issued: dt.date
    number: str
    diagnosis: str
    valid_days: int = 1  # 处方当日有效; a doctor may extend it to at most 3 days

    def expires(self) -> dt.date:
        return self.issued + dt.timedelta(days=self.valid_days - 1)


MAX_VALID_DAYS = 3
_PRESCRIPTION_FIELDS = {
    "institution": "开具机构",
    "doctor": "医师",
    "issued": "开具日期",
    "number": "处方号",
    "diagnosis": "诊断",
}


def parse_prescription(raw: object, visit_date: dt.date) -> Prescription:
    """Validate a prescription for a sale on ``visit_date``; refuse an incomplete or expired one."""
    if not isinstance(raw, dict):
        raise InputError(
            "prescription", raw, "定点零售药店门诊统筹结算须录入外配处方（开具机构、医师、日期、处方号、诊断）"
        )
    unknown = set(raw) - set(_PRESCRIPTION_FIELDS) - {"valid_days"}
    if unknown:
        raise InputError(f"prescription.{sorted(unknown)[0]}", raw[sorted(unknown)[0]], "未知字段")
    for key, label in _PRESCRIPTION_FIELDS.items():
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"prescription.{key}", value, f"处方信息不完整：缺少{label}")
    try:
        issued = dt.date.fromisoformat(raw["issued"])
    except ValueError:
        raise InputError("prescription.issued", raw["issued"], "须为日期 YYYY-MM-DD") from None
    valid_days = raw.get("valid_days", 1)
    if not isinstance(valid_days, int) or isinstance(valid_days, bool) or not 1 <= valid_days <= MAX_VALID_DAYS:
        raise InputError(
            "prescription.valid_days", valid_days, f"处方有效期须为 1 至 {MAX_VALID_DAYS} 天（处方管理办法第十八条）"
        )
    p = Prescription(
        raw["institution"].strip(),
        raw["doctor"].strip(),
        issued,
        raw["number"].strip(),
        raw["diagnosis"].strip(),
        valid_days,
    )
    if issued > visit_date:
        raise InputError("prescription.issued", raw["issued"], f"开具日期晚于购药日期 {visit_date}")
    if p.expires() < visit_date:
        raise InputError(
            "prescription.issued",
            raw["issued"],
            f"处方已过期：{issued} 开具，有效 {valid_days} 天，至 {p.expires()} 止",
        )
    return p
