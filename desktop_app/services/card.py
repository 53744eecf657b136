"""The member lookup's matches, and the member card the counter shows on choosing one: who, what they may use,
this year's usage against the cap."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from ..domain.case import Case, Member
from ..domain.identity import mask_certno
from ..domain.member import MemberRecord
from ..domain.vocabulary import PAYER_RELATION_NAMES, PROGRAMME_NAMES, SCHEME_NAMES, SEX_NAMES, STATUS_NAMES
from ..policy.engine import settle
from ..resources import rules_dir
from ..rule_files import cached_region
from ..store import config, journal, members
from . import checkout

MAX_MATCHES = 20  # a name's matches listed at most; more means the cashier types more of the name


@dataclass(frozen=True)
class MemberMatch:
    """One row of the lookup's list: enough to tell two members of one name apart."""

    psn_no: str
    name: str
    sex: str  # 男 / 女
    age: int
    masked_certno: str


@dataclass(frozen=True)
class MemberMatches:
    """What the member box found.  ``exact``: the text was the one member's ID number or psn_no (picked at once);
    otherwise a name's matches, always listed for the cashier to choose, never taken on a guess."""

    exact: bool
    members: tuple[MemberMatch, ...]
    more: bool = False  # more than these matched: the cashier should type more of the name


def find_members(conn: sqlite3.Connection, text: str, today: dt.date) -> MemberMatches:
    found = checkout.lookup(conn, text, MAX_MATCHES + 1)
    more, found = len(found) > MAX_MATCHES, found[:MAX_MATCHES]
    typed = text.strip().upper()
    exact = len(found) == 1 and typed in (found[0].psn_no, found[0].certno.upper())
    return MemberMatches(exact, tuple(_match(record, today) for record in found), more)


def _match(record: MemberRecord, today: dt.date) -> MemberMatch:
    sex = SEX_NAMES.get(record.sex, record.sex)
    return MemberMatch(record.psn_no, record.name, sex, record.age_on(today), mask_certno(record.certno))


@dataclass(frozen=True)
class FamilyPayer:
    psn_no: str
    name: str
    relation: str  # how the payer stands to the patient, as the cashier reads it: 父母, 配偶, 子女 …
    balance: Decimal
    allowed: bool  # the region's rules allow this relation (checked on the stored code, never on the wording)


@dataclass(frozen=True)
class MemberCard:
    psn_no: str
    name: str
    masked_certno: str
    age: int
    sex: str
    insutype: str
    status: str
    scheme: str
    programmes: tuple[str, ...]
    designated_facility: str | None
    balance: Decimal
    family: tuple[FamilyPayer, ...]
    deductible_paid: Decimal
    pool_paid: Decimal
    programme_paid: dict[str, Decimal]
    annual_cap: Decimal | None
    cap_left: Decimal | None
    rule_version: str


def member_card(conn: sqlite3.Connection, psn_no: str, today: dt.date) -> MemberCard:
    """The member panel: who, what they may use, and this year's usage against the cap."""
    record = members.get(conn, psn_no)
    region = config.region(conn)
    rules = cached_region(region, str(rules_dir())).at(today)
    usage = journal.usage(conn, psn_no, today.year)
    # An empty visit settles to nothing but tells the cap in force for this member today.
    probe = settle(
        Case(
            region=region,
            date=today,
            facility=config.facility(conn),
            member=Member(
                record.status, record.scheme, frozenset(record.programmes), False, record.designated_facility
            ),
            items=(),
            usage=usage,
            published=config.published(conn, region),
        ),
        rules,
    )
    allowed = set(rules["account_relations"].value)
    family = tuple(
        FamilyPayer(owner.psn_no, owner.name, PAYER_RELATION_NAMES.get(rel, rel), owner.account_balance, rel in allowed)
        for owner, rel in members.account_owners_for(conn, psn_no)
    )
    return MemberCard(
        psn_no=record.psn_no,
        name=record.name,
        masked_certno=mask_certno(record.certno),
        age=record.age_on(today),
        sex=SEX_NAMES.get(record.sex, record.sex),
        insutype=record.insutype,
        status=STATUS_NAMES.get(record.status, record.status),
        scheme=SCHEME_NAMES.get(record.scheme, record.scheme),
        programmes=tuple(PROGRAMME_NAMES.get(p, p) for p in record.programmes),
        designated_facility=record.designated_facility,
        balance=record.account_balance,
        family=family,
        deductible_paid=usage.deductible_paid,
        pool_paid=usage.pool_paid,
        programme_paid=dict(usage.programme_paid),
        annual_cap=probe.annual_cap,
        cap_left=probe.cap_left_after,
        rule_version=probe.rule_version,
    )
