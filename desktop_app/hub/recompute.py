"""The hub settles every record itself, with the function the desk uses, from its own data.

A desk sends facts (member, items, visit, the payer's choices, the time) and, beside them,
its figures.  The figures are claims.  :func:`hub_figures` computes what the fund, the
accounts and the usage counters move by, from the hub's member data, catalogue, family
links, usage, balances and rules.  Only these figures are applied.  :func:`review` compares
the claim with them and says what the agency must claw back or reimburse.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError

from ..domain.case import Case, Member, Usage, parse_case, parse_visit
from ..domain.catalogue import CatalogueItem
from ..domain.errors import GongjiError
from ..domain.money import fmt, from_fen
from ..policy.payment import Accounts, PayerChoice
from ..policy.visit import journal_figures, settle_visit
from ..resources import rules_dir
from ..rule_files import cached_region
from ..sync.protocol import SettlementRecord
from .accounts import inpatient_on, usage_before
from .desks import Desk
from .schema import catalogue, family_links, members, published

CAP_REASON = "多台收款台离线结算同一参保人，合计超过年度支付限额：超付部分待追回"


class Unsettleable(Exception):
    """The hub cannot settle this record from its own data; the message says why (in Chinese)."""


@dataclass(frozen=True)
class Figures:
    """What one journal entry moves, in fen, as the hub computed it."""

    medfee_sumamt: int
    hifp_pay: int
    acct_pay: int
    acct_mulaid_pay: int
    psn_cash_pay: int
    deductible: int
    pool: int
    programme_hypertension: int
    programme_diabetes: int
    cap_exhausted: bool = False

    def amounts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k != "cap_exhausted"}

    def negated(self) -> Figures:
        return Figures(**{k: -v for k, v in self.amounts().items()})

    def adds_up(self) -> bool:
        return self.hifp_pay + self.acct_pay + self.acct_mulaid_pay + self.psn_cash_pay == self.medfee_sumamt


def hub_figures(conn: Connection, desk: Desk, record: SettlementRecord) -> Figures:
    """Settle ``record``'s facts from the hub's own data; :class:`Unsettleable` when it cannot.

    Only a refusal of the record becomes Unsettleable: by the rules, or by the database (a value it cannot
    hold or compare).  Any other exception is a fault of the hub's and propagates (see ``push``).
    """
    try:
        return _figures(conn, desk, record)
    except GongjiError as exc:  # the rules refuse it (a date outside every version, a relation not allowed …)
        raise Unsettleable(f"中心按规则无法结算：{exc}") from None
    except DataError as exc:  # on PostgreSQL, e.g. a NUL character in a member's or an item's code
        raise Unsettleable(f"中心无法结算：{type(exc).__name__}: {exc}") from None


def _figures(conn: Connection, desk: Desk, record: SettlementRecord) -> Figures:
    row = conn.execute(select(members).where(members.c.psn_no == record.psn_no)).first()
    if row is None:
        raise Unsettleable(f"中心没有参保人 {record.psn_no}")
    if row.region != desk.region:
        raise Unsettleable(f"参保人 {record.psn_no} 属于 {row.region}，收款台属于 {desk.region}：不能在本地区结算")
    member = json.loads(row.data)
    lines = _catalogue_lines(conn, record)
    case = _case(conn, desk, record, member, lines)
    rules = cached_region(desk.region, str(rules_dir())).at(case.date)
    outcome = settle_visit(
        case,
        rules,
        lines,
        _accounts(conn, desk, record, member, row.account_balance),
        PayerChoice(record.use_account, record.family_payer),
    )
    s = outcome.settlement
    return Figures(
        **journal_figures(s, outcome.payment), cap_exhausted=s.cap_left_after is not None and s.cap_left_after == 0
    )


def _catalogue_lines(conn: Connection, record: SettlementRecord) -> list[CatalogueItem]:
    """The hub's catalogue entry for each of the record's items, in order; :class:`Unsettleable` for a code it lacks."""
    lines = []
    for line in record.items:
        found = conn.execute(select(catalogue.c.data).where(catalogue.c.code == line.code)).first()
        if found is None:
            raise Unsettleable(f"中心目录没有项目 {line.code}")
        lines.append(CatalogueItem.from_row(json.loads(found.data)))
    return lines


def _case(conn: Connection, desk: Desk, record: SettlementRecord, member: dict, lines: list[CatalogueItem]) -> Case:
    """The visit to settle: the record's facts, with the hub's member, prices, usage and published figures."""
    items = [
        item.visit_line(line.quantity, None if line.unit_price is None else Decimal(line.unit_price))
        for item, line in zip(lines, record.items)
    ]
    probe = parse_case(
        {
            "region": desk.region,
            "date": record.visit_date,
            "facility": desk.facility,
            "member": {"status": member["status"]},
            "items": items,
        }
    )
    before = usage_before(conn, record.psn_no, record.year)
    published_figures: dict[str, dict[str, Decimal]] = {}  # the region's, by name and year
    for r in conn.execute(select(published).where(published.c.region == desk.region)):
        published_figures.setdefault(r.name, {})[r.year] = Decimal(r.value)
    return Case(
        region=desk.region,
        date=dt.date.fromisoformat(record.visit_date),
        facility=probe.facility,
        member=Member(
            member["status"],
            member["scheme"],
            frozenset(member["programmes"]),
            inpatient_on(conn, record.psn_no, record.visit_date),
            member.get("designated_facility"),
        ),
        items=probe.items,
        usage=Usage(
            from_fen(before.get("deductible", 0)),
            from_fen(before.get("pool", 0)),
            {
                "hypertension": from_fen(before.get("programme_hypertension", 0)),
                "diabetes": from_fen(before.get("programme_diabetes", 0)),
            },
        ),
        visit=parse_visit(record.visit or None),
        published=published_figures,
    )


def _accounts(conn: Connection, desk: Desk, record: SettlementRecord, member: dict, balance: int) -> Accounts:
    payer = record.family_payer
    if payer is None or payer == record.psn_no:
        return Accounts(record.psn_no, member["scheme"], from_fen(balance))
    owner = conn.execute(select(members).where(members.c.psn_no == payer)).first()
    if owner is None:
        raise Unsettleable(f"中心没有共济支付人 {payer}")
    if owner.region != desk.region:
        raise Unsettleable(f"共济支付人 {payer} 属于 {owner.region}，不能在 {desk.region} 共济")
    link = conn.execute(
        select(family_links.c.relation).where(
            (family_links.c.owner_psn_no == payer) & (family_links.c.relative_psn_no == record.psn_no)
        )
    ).first()
    return Accounts(
        record.psn_no,
        member["scheme"],
        from_fen(balance),
        from_fen(owner.account_balance),
        link.relation if link else None,
        json.loads(owner.data).get("name", ""),
    )


def review(record: SettlementRecord, hub: Figures) -> tuple[str | None, int, str | None]:
    """(review, amount, reason); (None, 0, None) when the claim is the hub's figures.

    The member paid the desk's cash; the fund and the accounts move by the hub's figures.  So
    what is left to settle with the member is the cash gap: hub cash − desk cash.  Positive,
    the member paid too little ("clawback": to recover); negative, too much ("difference": to
    reimburse).  The reason names every figure that differs.
    """
    claim = {k: getattr(record, k) for k in hub.amounts()}
    if claim == hub.amounts():
        return None, 0, None
    detail = "，".join(
        f"{NAMES[k]} 收款台 {fmt(from_fen(claim[k]))} / 中心 {fmt(from_fen(v))}"
        for k, v in hub.amounts().items()
        if claim[k] != v
    )
    owed = hub.psn_cash_pay - record.psn_cash_pay
    if record.kind == "refund":
        return "difference", owed, f"退费金额与中心原结算不符，按中心原结算冲回（{detail}）"
    causes = []
    fund_gap = record.hifp_pay - hub.hifp_pay
    if fund_gap > 0:
        causes.append(CAP_REASON if hub.cap_exhausted else "中心核定的统筹支付低于收款台结果：超付部分待追回")
    elif fund_gap < 0:
        causes.append("中心核定的统筹支付高于收款台结果（如离线限额所致，应补付参保人）")
    if record.acct_pay + record.acct_mulaid_pay > hub.acct_pay + hub.acct_mulaid_pay:
        causes.append("个人账户透支：收款台支付超出中心核定的余额（多台收款台离线共用同一账户），待追回")
    elif record.acct_pay + record.acct_mulaid_pay < hub.acct_pay + hub.acct_mulaid_pay:
        causes.append("个人账户支付低于中心核定")
    if not causes:
        causes.append("收款台结果与中心核定不同，按中心核定入账")
    kind = "clawback" if owed > 0 else "difference"
    return kind, owed, f"{'；'.join(causes)}（{detail}）"


NAMES = {
    "medfee_sumamt": "医疗费总额",
    "hifp_pay": "统筹基金",
    "acct_pay": "个人账户",
    "acct_mulaid_pay": "共济账户",
    "psn_cash_pay": "现金",
    "deductible": "起付线累计",
    "pool": "统筹累计",
    "programme_hypertension": "高血压专项累计",
    "programme_diabetes": "糖尿病专项累计",
}
