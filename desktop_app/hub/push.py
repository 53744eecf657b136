"""Push: a desk's journal entries arrive; the hub applies only what it computed itself.

Trust model: a desk's token lets it send facts for its own facility and region.  Every
figure that moves money (fund, accounts, usage) is the hub's own computation
(``recompute.hub_figures``); the desk's figures are claims, compared and recorded
(``recompute.review``).  Each record is checked on its own, in its own savepoint: a bad
one is set aside with its reason (or, without a usable UUID, rejected), logged, and the rest
of the batch goes on.  A fault of the hub's own is no reason to set a record aside: it refuses
the whole batch (nothing of it applied) and the desk sends it again.  A UUID is applied at
most once; a retry gets the first answer before any computation.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError

from ..domain.vocabulary import AMOUNTS, COUNTERS
from ..sync.protocol import UUID, PushResult, SettlementRecord, aware_time, record_error
from .accounts import add_usage, spend, usage_before
from .desks import Desk
from .recompute import Figures, Unsettleable, hub_figures, review
from .schema import insert_for, publish, rejected, set_aside, settlements, writing

log = logging.getLogger("gongji.hub")
DAY = dt.timedelta(days=1)


def push(
    engine: Engine, desk: Desk, records: Iterable[dict | SettlementRecord], received_at: str, skew_seconds: float | None
) -> list[PushResult]:
    """Apply a batch in one transaction, each record under its own savepoint; every record set aside is logged."""
    with writing(engine) as conn:
        results = [_push_one(conn, desk, raw, received_at, skew_seconds) for raw in records]
    for result in results:
        if result.status == "set_aside" and not result.duplicate:  # a retry's was logged the first time
            log.warning("desk %s: record %r set aside: %r", desk.desk_id, result.uuid or "(no UUID)", result.reason)
    return results


def _stored_result(conn: Connection, uuid: str) -> tuple[str, PushResult] | None:
    """(desk that sent it, the result recorded the first time), or None for a new UUID."""
    s = settlements
    row = conn.execute(
        select(s.c.desk_id, s.c.server_seq, s.c.review, s.c.review_amount, s.c.review_reason).where(s.c.uuid == uuid)
    ).first()
    if row:
        return row.desk_id, PushResult(
            uuid=uuid,
            status="applied",
            duplicate=True,
            server_seq=row.server_seq,
            review=row.review,
            review_amount=row.review_amount,
            review_reason=row.review_reason,
        )
    row = conn.execute(select(set_aside.c.desk_id, set_aside.c.reason).where(set_aside.c.uuid == uuid)).first()
    if row:
        return row.desk_id, PushResult(uuid=uuid, status="set_aside", duplicate=True, reason=row.reason)
    return None


def _push_one(
    conn: Connection, desk: Desk, raw: dict | SettlementRecord, received_at: str, skew: float | None
) -> PushResult:
    try:
        record = raw if isinstance(raw, SettlementRecord) else SettlementRecord.model_validate(raw)
    except ValidationError as exc:
        return _malformed(conn, desk, raw, record_error(exc), received_at)
    stored = _stored_result(conn, record.uuid)
    if stored is not None:  # a retry: answered before anything is computed
        return _retry_answer(stored, desk, record.uuid)
    if record.region != desk.region or (record.facility_id and record.facility_id != desk.facility_id):
        # Not stored: another facility's desk must not be able to claim (or block) this UUID.
        return PushResult(
            uuid=record.uuid,
            status="set_aside",
            reason=f"收款台 {desk.desk_id} 只能上传本机构（{desk.facility_id}，{desk.region}）的结算",
        )
    original = None
    if record.kind == "refund":
        original = conn.execute(select(settlements).where(settlements.c.uuid == record.original_uuid)).first()
    reason = _refusal(desk, record, original, skew)
    if reason is None:
        outcome = _apply_or_reason(conn, desk, record, original, received_at, skew)
        if isinstance(outcome, PushResult):
            return outcome
        reason = outcome
    return _set_aside(conn, desk, record.uuid, reason, record.model_dump_json(), received_at)


def _apply_or_reason(
    conn: Connection, desk: Desk, record: SettlementRecord, original, received_at: str, skew: float | None
) -> PushResult | str:
    """Apply the record under its own savepoint: its result, or why it cannot be applied (and nothing of it kept).

    Only what says the record cannot be applied becomes a reason.  Anything else is a fault of the hub's,
    never set aside as if it were the record's: it propagates, the whole batch is refused (HTTP 500,
    nothing of it applied), and the desk keeps the batch and sends it again once the hub is mended.
    """
    savepoint = conn.begin_nested()
    try:
        result = _apply(conn, desk, record, original, received_at, skew)
        savepoint.commit()
        return result
    except _Duplicate:
        savepoint.rollback()
        return f"原结算 {record.original_uuid} 已有退费，不能重复退费"
    except Unsettleable as exc:
        savepoint.rollback()
        return str(exc)
    except DataError as exc:  # the database refused one of its values (on PostgreSQL: a clock skew beyond an integer)
        savepoint.rollback()
        return f"中心无法入账：{type(exc).__name__}: {exc}"
    except Exception:
        log.error("desk %s: record %s hit a fault of the hub's; the whole batch is refused", desk.desk_id, record.uuid)
        raise


def _set_aside(conn: Connection, desk: Desk, uuid: str, reason: str, text: str, received_at: str) -> PushResult:
    """Keep the record for review under its UUID, with its reason; applied nowhere (the first reason stays)."""
    conn.execute(
        insert_for(conn, set_aside)
        .values(uuid=uuid, desk_id=desk.desk_id, reason=reason, record=text, received_at=received_at)
        .on_conflict_do_nothing()
    )
    return PushResult(uuid=uuid, status="set_aside", reason=reason)


def _malformed(conn: Connection, desk: Desk, raw: object, reason: str, received_at: str) -> PushResult:
    """A record that fails the protocol's bounds: set aside under its UUID if it has one, else rejected."""
    text = json.dumps(raw, ensure_ascii=False, default=str)[:20000]
    uuid = raw.get("uuid") if isinstance(raw, dict) else None
    if isinstance(uuid, str) and re.fullmatch(UUID, uuid):
        stored = _stored_result(conn, uuid)
        if stored is not None:
            return _retry_answer(stored, desk, uuid)
        return _set_aside(conn, desk, uuid, reason, text, received_at)
    conn.execute(rejected.insert().values(desk_id=desk.desk_id, reason=reason, record=text, received_at=received_at))
    return PushResult(uuid=str(uuid)[:40] if uuid is not None else "", status="set_aside", reason=f"记录无效：{reason}")


def _retry_answer(stored: tuple[str, PushResult], desk: Desk, uuid: str) -> PushResult:
    """The first answer, to the desk that sent it; another desk learns only that the UUID is taken."""
    sender, result = stored
    if sender == desk.desk_id:
        return result
    return PushResult(uuid=uuid, status="set_aside", reason=f"结算号 {uuid} 已由其他收款台上传")


class _Duplicate(Exception):
    """The entry's key was taken after all: in practice, its original already has its one refund."""


def _refusal(desk: Desk, record: SettlementRecord, original, skew: float | None) -> str | None:
    """Why the record cannot be applied as it stands (for review), or None."""
    if sum(getattr(record, k) for k in AMOUNTS[1:]) != record.medfee_sumamt:
        return "支付拆分之和不等于医疗费总额"
    created = aware_time(record.desk_created_at, "desk_created_at")
    corrected = created - dt.timedelta(seconds=skew or 0)  # the hub's clock decides
    if corrected > dt.datetime.now(dt.UTC) + DAY:
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


def _refund_refusal(desk: Desk, record: SettlementRecord, original) -> str | None:
    if original is None:
        return f"原结算 {record.original_uuid} 尚未入账（或已被搁置），退费不能入账"
    if original.kind != "settlement":
        return f"{record.original_uuid} 是退费记录，不能再退费"
    if original.facility_id != desk.facility_id:
        return f"原结算 {record.original_uuid} 不是本机构（{desk.facility_id}）的结算，不能在此退费"
    if original.psn_no != record.psn_no or original.year != record.year:
        return f"退费的参保人或年度与原结算 {record.original_uuid} 不符"
    return None


def _apply(
    conn: Connection, desk: Desk, record: SettlementRecord, original, received_at: str, skew: float | None
) -> PushResult:
    """Store the entry with the hub's own figures, move the counters and balances by them, and publish both."""
    if record.kind == "settlement":
        figures = hub_figures(conn, desk, record)
        family_payer = record.family_payer if figures.acct_mulaid_pay else None
    else:
        figures = Figures(**{k: getattr(original, k) for k in (*AMOUNTS, *COUNTERS)}).negated()
        family_payer = original.family_payer
    if not figures.adds_up():  # never stored: a figure that would fail the hub's own check
        raise Unsettleable("中心核定的支付拆分不平衡")
    verdict = review(record, figures)
    amounts = figures.amounts()
    _insert_entry(conn, desk, record, amounts, family_payer, verdict, received_at, skew)
    seq = _count_usage(conn, desk, record, amounts)
    for owner, amount in ((record.psn_no, figures.acct_pay), (family_payer, figures.acct_mulaid_pay)):
        if owner and amount:
            spend(conn, owner, amount)
    conn.execute(update(settlements).where(settlements.c.uuid == record.uuid).values(server_seq=seq))
    return PushResult(
        uuid=record.uuid,
        status="applied",
        server_seq=seq,
        review=verdict[0],
        review_amount=verdict[1],
        review_reason=verdict[2],
    )  # a retry reads the same from the row


def _insert_entry(
    conn: Connection,
    desk: Desk,
    record: SettlementRecord,
    amounts: dict[str, int],
    family_payer: str | None,
    verdict: tuple[str | None, int, str | None],
    received_at: str,
    skew: float | None,
) -> None:
    """The settlements row, with the hub's amounts and its verdict on the desk's; :class:`_Duplicate` if taken."""
    s = settlements
    inserted = conn.execute(
        insert_for(conn, s)
        .values(
            uuid=record.uuid,
            desk_id=desk.desk_id,
            facility_id=desk.facility_id,
            kind=record.kind,
            original_uuid=record.original_uuid,
            psn_no=record.psn_no,
            year=record.year,
            visit_date=record.visit_date,
            day=record.desk_created_at[:10],
            desk_created_at=record.desk_created_at,
            received_at=received_at,
            clock_skew_seconds=round(skew or 0),
            **amounts,
            family_payer=family_payer,
            record=record.model_dump_json(),
            review=verdict[0],
            review_amount=verdict[1],
            review_reason=verdict[2],
        )
        .on_conflict_do_nothing()
        .returning(s.c.uuid)
    ).first()
    if inserted is None:  # the key (or the original's one refund) was taken; RETURNING is reliable, rowcount is not
        raise _Duplicate


def _count_usage(conn: Connection, desk: Desk, record: SettlementRecord, amounts: dict[str, int]) -> int:
    """Add the entry's counters to the member's yearly usage and publish the new totals; the change's seq."""
    for counter in COUNTERS:
        if amounts[counter]:
            add_usage(conn, record.psn_no, record.year, counter, amounts[counter])
    usage_now = usage_before(conn, record.psn_no, record.year)
    return publish(
        conn,
        "usage",
        f"{record.psn_no}/{record.year}",
        desk.region,
        {"psn_no": record.psn_no, "year": record.year, "counters": usage_now},
    )
