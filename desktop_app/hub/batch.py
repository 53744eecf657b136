"""One push, worked out in memory from one round of reads, then written in a handful of statements.

:class:`Ledger` is what the hub already holds about a batch's UUIDs: the answers it gave before
(a retry is answered from them, before anything is computed), the originals its refunds name,
and whether these already have their refund.  :class:`Batch` takes the records in order, each on
its own: a retry gets its first answer; a record the hub cannot apply is set aside with its
reason; the rest are settled from the :class:`~.recompute.Facts` and applied to them in memory,
so a member's second visit in the batch starts from the first one's usage and balance.  Then
:meth:`Batch.write` writes it all, each statement compiled once: the journal entries, the
counters and balances, the records set aside, and last the numbered change feed (one usage
entry per journal entry, its ``server_seq``, then each moved balance).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..domain.vocabulary import AMOUNTS, COUNTERS
from ..sync.protocol import UUID, PushResult, SettlementRecord, aware_time
from .accounts import each, keyed, move
from .desks import Desk
from .recompute import Facts, Figures, Unsettleable, review, settle
from .schema import execute_many, feed_entry, member_entry, number, rejected, set_aside, settlements
from .tracing import TraceBook

DAY = dt.timedelta(days=1)
SKEW_LIMIT = 2**31 - 1  # seconds: what the journal's column holds on PostgreSQL (68 years)


class Stale(Exception):
    """What the batch was worked out from changed before it could be written: work it out again."""


J = settlements.c  # the journal's columns
_APPLIED = keyed(
    lambda within: select(J.uuid, J.desk_id, J.server_seq, J.review, J.review_amount, J.review_reason).where(
        within(J.uuid)
    )
)
_SET_ASIDE = keyed(
    lambda within: select(set_aside.c.uuid, set_aside.c.desk_id, set_aside.c.reason).where(within(set_aside.c.uuid))
)
_ORIGINALS = keyed(lambda within: select(settlements).where(within(J.uuid)))
_REFUNDED = keyed(lambda within: select(J.original_uuid).where(within(J.original_uuid)))


@dataclass(frozen=True)
class Ledger:
    """What the hub holds about a batch's UUIDs and its refunds' originals, as read."""

    uuids: frozenset[str]  # the batch's UUIDs
    named: frozenset[str]  # the originals its refunds name
    originals: dict[str, dict]  # the stored entry of each of those the hub holds
    applied: dict[str, tuple]  # uuid → (desk, server_seq, review, review_amount, review_reason)
    set_aside: dict[str, tuple]  # uuid → (desk, reason)
    refunded: frozenset[str]  # originals that already have their refund

    @classmethod
    def read(cls, conn: Connection, uuids: set[str], originals: set[str]) -> Ledger:
        return cls(
            frozenset(uuids),
            frozenset(originals),
            {r.uuid: dict(r._mapping) for r in each(conn, _ORIGINALS, originals)},
            {r[0]: tuple(r[1:]) for r in each(conn, _APPLIED, uuids)},
            {r[0]: tuple(r[1:]) for r in each(conn, _SET_ASIDE, uuids)},
            frozenset(r[0] for r in each(conn, _REFUNDED, originals)),
        )

    @classmethod
    def read_nothing(cls) -> Ledger:
        return cls(frozenset(), frozenset(), {}, {}, {}, frozenset())

    def first_answer(self, uuid: str) -> tuple[str, PushResult] | None:
        """(desk that sent it, the result recorded the first time), or None for a new UUID."""
        if uuid in self.applied:
            desk, seq, verdict, amount, reason = self.applied[uuid]
            return desk, PushResult(
                uuid=uuid,
                status="applied",
                duplicate=True,
                server_seq=seq,
                review=verdict,
                review_amount=amount,
                review_reason=reason,
            )
        if uuid in self.set_aside:
            desk, reason = self.set_aside[uuid]
            return desk, PushResult(uuid=uuid, status="set_aside", duplicate=True, reason=reason)
        return None


def _dialects(build) -> dict:
    return {"sqlite": build(sqlite.insert), "postgresql": build(postgresql.insert)}


_ENTRIES = insert(settlements)  # a key taken meanwhile fails it: the batch is worked out again
_PUT_ASIDE = _dialects(lambda ins: ins(set_aside).on_conflict_do_nothing())
_REJECT = insert(rejected)


class Batch:
    """A push's records taken in order: each one's answer, and what the whole batch writes."""

    def __init__(
        self,
        desk: Desk,
        received_at: str,
        skew: float | None,
        ledger: Ledger,
        facts: Facts | None,
        trace: TraceBook | None = None,
    ) -> None:
        self.desk, self.received_at, self.skew, self.ledger, self.facts = desk, received_at, skew, ledger, facts
        self.now = dt.datetime.now(dt.UTC)  # the hub's clock, as the batch is taken
        self.trace = trace or TraceBook.empty()  # the batch's traceability codes (issue 18)
        self.new: list[SettlementRecord] = []  # the records the batch was worked out from (read again to check)
        self.answers: list[PushResult] = []
        self.again: list[tuple[int, PushResult]] = []  # a UUID twice in the batch: (position, the first answer)
        self.stored: dict[str, PushResult] = {}  # this batch's answers that it stores, by UUID
        self.entries: list[dict] = []  # journal rows, in order
        self.applied: list[PushResult] = []  # their answers (the server_seq comes with the feed)
        self.usage_feed: list[dict] = []  # one per entry: the member's counters just after it
        self.here: dict[str, dict] = {}  # entries of this batch, by UUID (a refund's original may be one)
        self.refunded = set(ledger.refunded)
        self.aside: list[dict] = []
        self.rejected: list[dict] = []

    # ------------------------------------------------------------------ taking records

    def take(self, raw: object, record: SettlementRecord | None, error: str | None) -> None:
        """Answer one record: its first answer if it is a retry, else apply it or set it aside."""
        if record is None:
            self._malformed(raw, error)
        elif self._retry(record.uuid):
            pass
        elif record.region != self.desk.region or (record.facility_id and record.facility_id != self.desk.facility_id):
            # Not stored: another facility's desk must not be able to claim (or block) this UUID.
            reason = f"收款台 {self.desk.desk_id} 只能上传本机构（{self.desk.facility_id}，{self.desk.region}）的结算"
            self.answers.append(PushResult(uuid=record.uuid, status="set_aside", reason=reason))
        else:
            original = self.here.get(record.original_uuid) or self.ledger.originals.get(record.original_uuid)
            reason = refusal(self.desk, record, original, self.skew, self.now) or self._apply(record, original)
            if reason is not None:
                self.set_aside(record.uuid, reason, record.model_dump_json())

    def _retry(self, uuid: str) -> bool:
        """Answer a UUID seen before (stored, or earlier in this batch) as its first answer; whether it was."""
        if uuid in self.stored:
            self.again.append((len(self.answers), self.stored[uuid]))
            self.answers.append(self.stored[uuid])  # replaced by a copy marked duplicate in results()
            return True
        stored = self.ledger.first_answer(uuid)
        if stored is None:
            return False
        sender, result = stored
        if sender != self.desk.desk_id:  # another desk learns only that the UUID is taken
            result = PushResult(uuid=uuid, status="set_aside", reason=f"结算号 {uuid} 已由其他收款台上传")
        elif self.trace.answer(uuid):
            result = result.model_copy(update={"trace_duplicates": self.trace.answer(uuid)})
        self.answers.append(result)
        return True

    def _malformed(self, raw: object, reason: str) -> None:
        """A record that fails the protocol's bounds: set aside under its UUID if it has one, else rejected."""
        text = json.dumps(raw, ensure_ascii=False, default=str)[:20000]
        uuid = raw.get("uuid") if isinstance(raw, dict) else None
        if isinstance(uuid, str) and re.fullmatch(UUID, uuid):
            if not self._retry(uuid):
                self.set_aside(uuid, reason, text)
            return
        self.rejected.append(
            {"desk_id": self.desk.desk_id, "reason": reason, "record": text, "received_at": self.received_at}
        )
        shown = str(uuid)[:40] if uuid is not None else ""
        self.answers.append(PushResult(uuid=shown, status="set_aside", reason=f"记录无效：{reason}"))

    def set_aside(self, uuid: str, reason: str, text: str) -> None:
        """Keep the record for review under its UUID, with its reason; applied nowhere."""
        reason = reason.replace("\x00", "\\x00")  # the database holds no NUL (a member number may carry one)
        self.aside.append(
            {
                "uuid": uuid,
                "desk_id": self.desk.desk_id,
                "reason": reason,
                "record": text,
                "received_at": self.received_at,
            }
        )
        self._answer(PushResult(uuid=uuid, status="set_aside", reason=reason))

    def _answer(self, result: PushResult) -> None:
        self.stored[result.uuid] = result
        self.answers.append(result)

    def _apply(self, record: SettlementRecord, original: dict | None) -> str | None:
        """Apply the record to the facts and queue its entry; why it cannot be applied, or None."""
        if record.kind == "settlement":
            try:
                figures = settle(self.facts, self.desk, record)
            except Unsettleable as exc:
                return str(exc)
            family_payer = record.family_payer if figures.acct_mulaid_pay else None
        else:
            if record.original_uuid in self.refunded:
                return f"原结算 {record.original_uuid} 已有退费，不能重复退费"
            figures = Figures(**{k: original[k] for k in (*AMOUNTS, *COUNTERS)}).negated()
            family_payer = original["family_payer"]
        if not figures.adds_up():  # never stored: a figure that would fail the hub's own check
            return "中心核定的支付拆分不平衡"
        if abs(round(self.skew or 0)) > SKEW_LIMIT:
            return f"中心无法入账：收款台时钟偏差 {self.skew:.0f} 秒，超出可记录的范围"
        verdict = review(record, figures)
        if record.kind == "settlement":
            found = self.trace.sell(record, self.desk.desk_id, self.received_at)
        else:
            found = []
            self.trace.release(record.original_uuid, record.uuid)
        self.facts.count(record.psn_no, record.year, figures, family_payer)
        entry = self._entry(record, figures.amounts(), family_payer, verdict)
        self.entries.append(entry)
        self.here[record.uuid] = entry
        if record.original_uuid:
            self.refunded.add(record.original_uuid)
        counters = self.facts.usage_now(record.psn_no, record.year)
        self.usage_feed.append(
            feed_entry(
                "usage",
                f"{record.psn_no}/{record.year}",
                self.desk.region,
                {"psn_no": record.psn_no, "year": record.year, "counters": counters},
            )
        )
        result = PushResult(
            uuid=record.uuid,
            status="applied",
            review=verdict[0],
            review_amount=verdict[1],
            review_reason=verdict[2],
            trace_duplicates=found,
        )
        self.applied.append(result)
        self._answer(result)
        return None

    def _entry(self, record: SettlementRecord, amounts: dict, family_payer: str | None, verdict: tuple) -> dict:
        """The journal row: the record's facts, the hub's amounts, and its verdict on the desk's."""
        return {
            "uuid": record.uuid,
            "desk_id": self.desk.desk_id,
            "facility_id": self.desk.facility_id,
            "kind": record.kind,
            "original_uuid": record.original_uuid,
            "psn_no": record.psn_no,
            "year": record.year,
            "visit_date": record.visit_date,
            "day": record.desk_created_at[:10],
            "desk_created_at": record.desk_created_at,
            "received_at": self.received_at,
            "clock_skew_seconds": round(self.skew or 0),
            **amounts,
            "family_payer": family_payer,
            "record": record.model_dump_json(),
            "server_seq": None,
            "review": verdict[0],
            "review_amount": verdict[1],
            "review_reason": verdict[2],
        }

    # ------------------------------------------------------------------ writing

    @property
    def settled(self) -> int:
        return self.facts.settled if self.facts is not None else 0

    @property
    def writes(self) -> bool:
        return bool(self.entries or self.aside or self.rejected)

    def still_holds(self, conn: Connection) -> bool:
        """Whether what the batch was worked out from is still so (members first: on PostgreSQL, locked)."""
        if self.facts is not None and not self.facts.still_holds(conn):
            return False
        if not self.trace.still_holds(conn, self.new):
            return False
        return Ledger.read(conn, set(self.ledger.uuids), set(self.ledger.named)) == self.ledger

    def write(self, conn: Connection) -> None:
        """Write the batch, the feed last; :class:`Stale` if a UUID (or an original's one refund) was taken meanwhile.

        The rows that other writers may lock too (counters, balances) come first, then the feed's lock, held
        to the commit: the numbered feed entries, and the journal entries that carry their numbers.
        """
        if self.aside:
            execute_many(conn, _PUT_ASIDE[conn.dialect.name], self.aside)
        if self.rejected:
            conn.execute(_REJECT, self.rejected)
        if self.facts is not None:
            move(conn, self.facts.counted, self.facts.spent)
        self.trace.write(conn)
        seqs = number(conn, self.usage_feed + self._balance_feed())
        for entry, result, seq in zip(self.entries, self.applied, seqs):
            entry["server_seq"] = result.server_seq = seq
        if self.entries:
            try:
                execute_many(conn, _ENTRIES, self.entries)
            except IntegrityError:
                raise Stale from None

    def _balance_feed(self) -> list[dict]:
        """Each account the batch moved, with its balance after the batch (after every usage entry of the batch)."""
        facts = self.facts
        if facts is None:
            return []
        return [
            member_entry(psn, facts.members[psn].region, facts.members[psn].data, facts.balance(psn))
            for psn in sorted(facts.spent)
        ]

    def results(self) -> list[PushResult]:
        answers = list(self.answers)
        for position, first in self.again:
            answers[position] = first.model_copy(update={"duplicate": True})
        return answers


def refusal(
    desk: Desk, record: SettlementRecord, original: dict | None, skew: float | None, now: dt.datetime
) -> str | None:
    """Why the record cannot be applied as it stands (for review), or None (``now``: the hub's clock)."""
    if sum(getattr(record, k) for k in AMOUNTS[1:]) != record.medfee_sumamt:
        return "支付拆分之和不等于医疗费总额"
    created = aware_time(record.desk_created_at, "desk_created_at")
    corrected = created - dt.timedelta(seconds=skew or 0)  # the hub's clock decides
    if corrected > now + DAY:
        return f"结算时间 {record.desk_created_at} 晚于中心时间，需人工复核"
    if record.kind == "refund":
        return _refund_refusal(desk, record, original)
    local = corrected.astimezone(created.tzinfo)
    if local.year != record.year:
        shown = f"收款台时钟偏差 {skew:.0f} 秒，" if skew is not None else ""
        return f"{shown}结算年度（{record.year}）按中心时间应为 {local.year}，需人工复核"
    if abs((dt.date.fromisoformat(record.visit_date) - local.date()).days) > 1:
        return f"就诊日期 {record.visit_date} 与结算时间（按中心时间 {local.date()}）不符，需人工复核"
    return None


def _refund_refusal(desk: Desk, record: SettlementRecord, original: dict | None) -> str | None:
    if original is None:
        return f"原结算 {record.original_uuid} 尚未入账（或已被搁置），退费不能入账"
    if original["kind"] != "settlement":
        return f"{record.original_uuid} 是退费记录，不能再退费"
    if original["facility_id"] != desk.facility_id:
        return f"原结算 {record.original_uuid} 不是本机构（{desk.facility_id}）的结算，不能在此退费"
    if original["psn_no"] != record.psn_no or original["year"] != record.year:
        return f"退费的参保人或年度与原结算 {record.original_uuid} 不符"
    return None
