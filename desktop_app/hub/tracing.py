"""药品追溯码 at the hub: every package's code sold anywhere in the region, with its sale.

A code identifies one smallest package, so it can be sold once until a refund gives the package back.
A desk offline cannot know what another desk sold: the hub is where a code sold again is caught.  Such
a sale is applied like any other (the member was served; the money is the fund's own figures), and the
code is recorded for review with both settlements (``trace_reviews``) and reported to the desk that sold
it second, in that record's answer (a retry gets the same answer).

:class:`TraceBook` is read in the push's one round of reads and worked on in memory with the batch, so a
refund and the settlement that sells its packages again (a partial refund) may come in one batch.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from ..sync.protocol import SettlementRecord, TraceDuplicate
from .accounts import each, keyed
from .schema import execute_many, trace_reviews, trace_sales

S, R = trace_sales.c, trace_reviews.c
_STANDING = keyed(
    lambda within: select(S.code, S.uuid, S.desk_id, S.sold_at).where(within(S.code), S.released_by.is_(None))
)
_SOLD_BY = keyed(lambda within: select(S.uuid, S.code).where(within(S.uuid), S.released_by.is_(None)))
_FOUND = keyed(
    lambda within: select(R.uuid, R.code, R.first_uuid, R.first_desk_id, R.first_sold_at).where(within(R.uuid))
)
_SELL = insert(trace_sales)
_REVIEW = insert(trace_reviews)
_RELEASE = (
    update(trace_sales)
    .where(S.uuid == bindparam("original"), S.released_by.is_(None))
    .values(released_by=bindparam("refund"))
)


@dataclass(frozen=True)
class Sale:
    code: str
    uuid: str
    desk_id: str
    sold_at: str


class TraceBook:
    """The standing sales of a batch's codes, the codes of the originals its refunds name, and past findings."""

    def __init__(self, standing: dict[str, list[Sale]], sold_by: dict[str, list[str]], found: dict) -> None:
        self.standing, self.sold_by, self.found = standing, sold_by, found
        self._as_read = copy.deepcopy((standing, sold_by))
        self.sales: list[dict] = []
        self._sales_of: dict[str, list[dict]] = {}  # this batch's sales by settlement UUID (refunds find theirs)
        self.reviews: list[dict] = []
        self.releases: list[dict] = []

    @classmethod
    def read(cls, conn: Connection, records: list[SettlementRecord], uuids: set[str]) -> TraceBook:
        """What the hub holds about the batch's codes, its refunds' originals, and its UUIDs' past findings."""
        standing, sold_by = cls._read_codes(conn, _codes(records), _originals(records))
        found: dict[str, list[TraceDuplicate]] = {}
        for uuid, code, first, desk, at in each(conn, _FOUND, uuids):
            found.setdefault(uuid, []).append(
                TraceDuplicate(drug_trac_codg=code, first_uuid=first, first_desk=desk, first_sold_at=at)
            )
        return cls(standing, sold_by, found)

    @classmethod
    def empty(cls) -> TraceBook:
        return cls({}, {}, {})

    @staticmethod
    def _read_codes(conn: Connection, codes: set[str], originals: set[str]) -> tuple[dict, dict]:
        standing: dict[str, list[Sale]] = {}
        for code, uuid, desk, at in sorted(each(conn, _STANDING, codes)):
            standing.setdefault(code, []).append(Sale(code, uuid, desk, at))
        sold_by: dict[str, list[str]] = {}
        for uuid, code in sorted(each(conn, _SOLD_BY, originals)):
            sold_by.setdefault(uuid, []).append(code)
        return standing, sold_by

    def still_holds(self, conn: Connection, records: list[SettlementRecord]) -> bool:
        """Whether the codes' sales are still as read (on PostgreSQL the codes are locked by then)."""
        return self._read_codes(conn, _codes(records), _originals(records)) == self._as_read

    def answer(self, uuid: str) -> list[TraceDuplicate]:
        """The findings recorded for ``uuid`` when it was first applied (for a retry's answer)."""
        return self.found.get(uuid, [])

    # ------------------------------------------------------------------ in memory, with the batch

    def sell(self, record: SettlementRecord, desk_id: str, received_at: str) -> list[TraceDuplicate]:
        """Record the settlement's codes as sold; the ones already sold and not refunded, for review."""
        found = []
        for code in record.trace_codes:
            before = self.standing.setdefault(code, [])
            if before:
                first = before[0]
                found.append(
                    TraceDuplicate(
                        drug_trac_codg=code,
                        first_uuid=first.uuid,
                        first_desk=first.desk_id,
                        first_sold_at=first.sold_at,
                    )
                )
                self.reviews.append(
                    {
                        "code": code,
                        "uuid": record.uuid,
                        "desk_id": desk_id,
                        "first_uuid": first.uuid,
                        "first_desk_id": first.desk_id,
                        "first_sold_at": first.sold_at,
                        "found_at": received_at,
                    }
                )
            sale = Sale(code, record.uuid, desk_id, record.desk_created_at)
            before.append(sale)
            self.sold_by.setdefault(record.uuid, []).append(code)
            row = {**sale.__dict__, "released_by": None}
            self.sales.append(row)
            self._sales_of.setdefault(record.uuid, []).append(row)
        return found

    def release(self, original_uuid: str, refund_uuid: str) -> None:
        """A refund gives its original's packages back: those codes may be sold again without review."""
        for code in self.sold_by.pop(original_uuid, []):
            self.standing[code] = [s for s in self.standing.get(code, []) if s.uuid != original_uuid]
        self.releases.append({"original": original_uuid, "refund": refund_uuid})
        for sale in self._sales_of.get(original_uuid, []):  # sold earlier in this very batch: released as written
            sale["released_by"] = refund_uuid

    def write(self, conn: Connection) -> None:
        if self.releases:
            execute_many(conn, _RELEASE, self.releases)
        if self.sales:
            execute_many(conn, _SELL, self.sales)
        if self.reviews:
            execute_many(conn, _REVIEW, self.reviews)


def _codes(records: list[SettlementRecord]) -> set[str]:
    return {code for r in records if r.kind == "settlement" for code in r.trace_codes}


def _originals(records: list[SettlementRecord]) -> set[str]:
    return {r.original_uuid for r in records if r.original_uuid}
