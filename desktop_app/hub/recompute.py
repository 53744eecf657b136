"""The hub settles every record itself, with the function the desk uses, from its own data.

A desk sends facts (member, items, visit, the payer's choices, the time) and, beside them,
its figures.  The figures are claims.  :func:`settle` computes what the fund, the accounts
and the usage counters move by, from the hub's member data, catalogue, family links, usage,
balances and rules, as :class:`Facts` holds them: read for a whole batch at once
(:func:`read_facts`, one round of statements), then kept up to date in memory as each record
of the batch is applied, so the next record of the same member starts from the right usage and
balance.  Only these figures are applied.  :func:`review` compares the claim with them and says
what the agency must claw back or reimburse.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError

from ..domain.case import Case, Facility, Item, Member, Usage, parse_case, parse_visit
from ..domain.catalogue import CatalogueItem
from ..domain.errors import GongjiError
from ..domain.money import fmt, from_fen
from ..domain.vocabulary import AMOUNTS, COUNTERS
from ..policy.payment import Accounts, PayerChoice
from ..policy.rulebook import RuleVersion
from ..policy.visit import journal_figures, settle_visit
from ..resources import rules_dir
from ..rule_files import cached_region
from ..sync.protocol import SettlementRecord
from .accounts import Holder, each, in_hospital, keyed, links_of, members_of, stays_of, usage_of
from .desks import Desk
from .schema import catalogue, published

FIGURES = (*AMOUNTS, *COUNTERS)  # what a journal entry moves, in fen
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
        """The figures by name (one dict, made once: a caller copies it before changing it)."""
        return self._amounts

    @cached_property
    def _amounts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in FIGURES}

    def negated(self) -> Figures:
        return Figures(**{k: -v for k, v in self.amounts().items()})

    def adds_up(self) -> bool:
        return self.hifp_pay + self.acct_pay + self.acct_mulaid_pay + self.psn_cash_pay == self.medfee_sumamt


@dataclass
class Facts:
    """The hub's data a batch is settled from, read once; the usage and balances then move as records apply."""

    region: str
    rules_dir: str
    members: dict[str, Holder]  # as read: what a writer checks is still so before it writes
    usage: dict[tuple[str, int], dict[str, int]]  # as read, per (member, year)
    stays: dict[str, list[tuple[str, str | None]]]
    links: dict[tuple[str, str], str]
    catalogue: dict[str, str]
    published: dict[str, dict[str, Decimal]]
    asked: frozenset[str] = frozenset()  # every member (and family payer) looked up, found or not
    spent: dict[str, int] = field(default_factory=dict)  # taken from each account by this batch so far
    counted: dict[tuple[str, int, str], int] = field(default_factory=dict)  # added to each counter so far
    settled: int = 0  # how many records were settled from these facts (the hub's log says, per batch)
    _parsed: dict = field(default_factory=dict)

    def balance(self, psn_no: str) -> int:
        return self.members[psn_no].balance - self.spent.get(psn_no, 0)

    def usage_now(self, psn_no: str, year: int) -> dict[str, int]:
        """The member's counters for the year with this batch's entries so far (the rows there are, as stored)."""
        now = dict(self.usage.get((psn_no, year), {}))
        for counter in COUNTERS:
            if (psn_no, year, counter) in self.counted:  # a counter an entry moved has its row, even back at 0
                now[counter] = now.get(counter, 0) + self.counted[(psn_no, year, counter)]
        return now

    def member_data(self, psn_no: str) -> dict:
        key = ("member", psn_no)
        if key not in self._parsed:
            self._parsed[key] = json.loads(self.members[psn_no].data)
        return self._parsed[key]

    def rules(self, date: dt.date) -> RuleVersion:
        """The region's rules in force on ``date`` (looked up once per date in a batch)."""
        key = ("rules", date)
        if key not in self._parsed:
            self._parsed[key] = cached_region(self.region, self.rules_dir).at(date)
        return self._parsed[key]

    def frame(self, desk: Desk, status: str) -> tuple:
        """The batch's desk and a member status, as the key of what the case parser made of them."""
        key = ("frame", status)
        if key not in self._parsed:
            self._parsed[key] = (desk.region, tuple(sorted(desk.facility.items())), status)
        return self._parsed[key]

    def item(self, code: str) -> CatalogueItem:
        """The hub's catalogue entry; :class:`Unsettleable` for a code it lacks."""
        if code not in self.catalogue:
            raise Unsettleable(f"中心目录没有项目 {code}")
        return _catalogue_item(self.catalogue[code])

    def count(self, psn_no: str, year: int, figures: Figures, family_payer: str | None) -> None:
        """Move this batch's usage and balances by an entry the hub applies."""
        for counter in COUNTERS:
            amount = getattr(figures, counter)
            if amount:
                key = (psn_no, year, counter)
                self.counted[key] = self.counted.get(key, 0) + amount
        for owner, amount in ((psn_no, figures.acct_pay), (family_payer, figures.acct_mulaid_pay)):
            if owner and amount:
                self.spent[owner] = self.spent.get(owner, 0) + amount

    def still_holds(self, conn: Connection) -> bool:
        """Whether the members and usage read are still what the database holds; on PostgreSQL, locks the members."""
        return members_of(conn, self.asked, lock=True) == self.members and usage_of(conn, self.usage) == self.usage


_CATALOGUE = keyed(lambda within: select(catalogue.c.code, catalogue.c.data).where(within(catalogue.c.code)))
_PUBLISHED = select(published.c.name, published.c.year, published.c.value).where(
    published.c.region == bindparam("region")
)


def read_facts(
    conn: Connection, region: str, records: Iterable[SettlementRecord], payers: Iterable[str] = (), lock: bool = False
) -> Facts:
    """Everything the records need, for all of them at once: one statement per kind of data.

    ``payers`` are further accounts the batch may move (the family payers of refunds' originals).  With
    ``lock`` (a writer, on PostgreSQL) the members' rows stay locked until the transaction ends.
    """
    records = list(records)
    asked = {r.psn_no for r in records} | {r.family_payer for r in records if r.family_payer} | set(payers)
    figures: dict[str, dict[str, Decimal]] = {}
    for r in conn.execute(_PUBLISHED, {"region": region}):
        figures.setdefault(r.name, {})[r.year] = Decimal(r.value)
    return Facts(
        region=region,
        rules_dir=str(rules_dir()),
        members=members_of(conn, asked, lock=lock),
        usage=usage_of(conn, {(r.psn_no, r.year) for r in records}),
        stays=stays_of(conn, {r.psn_no for r in records}),
        links=links_of(conn, {r.family_payer for r in records if r.family_payer}),
        catalogue=dict(each(conn, _CATALOGUE, {line.code for r in records for line in r.items})),
        published=figures,
        asked=frozenset(asked),
    )


def hub_figures(conn: Connection, desk: Desk, record: SettlementRecord) -> Figures:
    """One record settled from the hub's data as it stands (see :func:`settle`)."""
    try:
        facts = read_facts(conn, desk.region, [record])
    except DataError as exc:  # on PostgreSQL, e.g. a NUL character in a member's or an item's code
        raise Unsettleable(f"中心无法结算：{type(exc).__name__}: {exc}") from None
    return settle(facts, desk, record)


def settle(facts: Facts, desk: Desk, record: SettlementRecord) -> Figures:
    """Settle ``record``'s facts from the hub's own data; :class:`Unsettleable` when it cannot.

    Only a refusal of the record becomes Unsettleable: by the rules, or for data the hub lacks.  Any other
    exception is a fault of the hub's and propagates (see ``push``).
    """
    facts.settled += 1
    try:
        return _figures(facts, desk, record)
    except GongjiError as exc:  # the rules refuse it (a date outside every version, a relation not allowed …)
        raise Unsettleable(f"中心按规则无法结算：{exc}") from None


def _figures(facts: Facts, desk: Desk, record: SettlementRecord) -> Figures:
    row = facts.members.get(record.psn_no)
    if row is None:
        raise Unsettleable(f"中心没有参保人 {record.psn_no}")
    if row.region != desk.region:
        raise Unsettleable(f"参保人 {record.psn_no} 属于 {row.region}，收款台属于 {desk.region}：不能在本地区结算")
    member = facts.member_data(record.psn_no)
    lines = [facts.item(line.code) for line in record.items]
    case = _case(facts, desk, record, member, lines)
    rules = facts.rules(case.date)
    outcome = settle_visit(
        case,
        rules,
        lines,
        _accounts(facts, desk, record, member),
        PayerChoice(record.use_account, record.family_payer),
        explain=False,  # the hub stores figures; the desk explains them
    )
    s = outcome.settlement
    return Figures(
        **journal_figures(s, outcome.payment), cap_exhausted=s.cap_left_after is not None and s.cap_left_after == 0
    )


@lru_cache(maxsize=20_000)
def _catalogue_item(data: str) -> CatalogueItem:
    """A catalogue row as stored (its JSON text: a changed row is another key)."""
    return CatalogueItem.from_row(json.loads(data))


_FRAMES: dict[tuple, Facility] = {}  # (region, facility, member status) → the facility as parsed
_ITEMS: dict[tuple, Item] = {}  # (catalogue row as stored, quantity, unit price) → the visit's item as parsed
_PARSED_LIMIT = 100_000


def _probe(
    facts: Facts, desk: Desk, record: SettlementRecord, status: str, lines: list[CatalogueItem]
) -> tuple[Facility, tuple]:
    """The facility and the items as the case parser reads them (each parse depends on its own input alone).

    A visit whose facility and every item were parsed before is served from what was parsed; any other
    goes through the parser whole, as it always did, and its parts are kept for the next.
    """
    frame = facts.frame(desk, status)
    keys = [(facts.catalogue[line.code], line.quantity, line.unit_price) for line in record.items]
    if frame in _FRAMES and all(key in _ITEMS for key in keys):
        return _FRAMES[frame], tuple(_ITEMS[key] for key in keys)
    probe = parse_case(
        {
            "region": desk.region,
            "date": record.visit_date,
            "facility": desk.facility,
            "member": {"status": status},
            "items": [
                item.visit_line(quantity, None if price is None else Decimal(price))
                for item, (_, quantity, price) in zip(lines, keys)
            ],
        }
    )
    if len(_ITEMS) > _PARSED_LIMIT:
        _ITEMS.clear()
    _FRAMES[frame] = probe.facility
    _ITEMS.update(zip(keys, probe.items))
    return probe.facility, probe.items


def _case(facts: Facts, desk: Desk, record: SettlementRecord, member: dict, lines: list[CatalogueItem]) -> Case:
    """The visit to settle: the record's facts, with the hub's member, prices, usage and published figures."""
    facility, items = _probe(facts, desk, record, member["status"], lines)
    before = facts.usage_now(record.psn_no, record.year)
    return Case(
        region=desk.region,
        date=dt.date.fromisoformat(record.visit_date),
        facility=facility,
        member=Member(
            member["status"],
            member["scheme"],
            frozenset(member["programmes"]),
            in_hospital(facts.stays.get(record.psn_no, []), record.visit_date),
            member.get("designated_facility"),
        ),
        items=items,
        usage=Usage(
            from_fen(before.get("deductible", 0)),
            from_fen(before.get("pool", 0)),
            {
                "hypertension": from_fen(before.get("programme_hypertension", 0)),
                "diabetes": from_fen(before.get("programme_diabetes", 0)),
            },
        ),
        visit=parse_visit(record.visit or None),
        published=facts.published,
        diagnoses=record.diagnosis_codes,
    )


def _accounts(facts: Facts, desk: Desk, record: SettlementRecord, member: dict) -> Accounts:
    payer = record.family_payer
    balance = from_fen(facts.balance(record.psn_no))
    if payer is None or payer == record.psn_no:
        return Accounts(record.psn_no, member["scheme"], balance)
    owner = facts.members.get(payer)
    if owner is None:
        raise Unsettleable(f"中心没有共济支付人 {payer}")
    if owner.region != desk.region:
        raise Unsettleable(f"共济支付人 {payer} 属于 {owner.region}，不能在 {desk.region} 共济")
    return Accounts(
        record.psn_no,
        member["scheme"],
        balance,
        from_fen(facts.balance(payer)),
        facts.links.get((payer, record.psn_no)),
        facts.member_data(payer).get("name", ""),
    )


def review(record: SettlementRecord, hub: Figures) -> tuple[str | None, int, str | None]:
    """(review, amount, reason); (None, 0, None) when the claim is the hub's figures.

    The member paid the desk's cash; the fund and the accounts move by the hub's figures.  So
    what is left to settle with the member is the cash gap: hub cash − desk cash.  Positive,
    the member paid too little ("clawback": to recover); negative, too much ("difference": to
    reimburse).  The reason names every figure that differs.
    """
    figures = hub.amounts()
    claim = {k: getattr(record, k) for k in figures}
    if claim == figures:
        return None, 0, None
    detail = "，".join(
        f"{NAMES[k]} 收款台 {fmt(from_fen(claim[k]))} / 中心 {fmt(from_fen(v))}"
        for k, v in figures.items()
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
