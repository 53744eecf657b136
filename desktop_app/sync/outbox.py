"""Push: the desk's unsent journal entries to the hub, oldest first, and the hub's answers recorded.

In pages within the protocol's limits (``MAX_BATCH`` records, ``MAX_BODY_BYTES``); the hub applies
each UUID at most once and answers a retry with its first result, so a lost response is simply
sent again.  Each page's answers are recorded in one local transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import sqlite_utils
from pydantic import ValidationError

from ..domain.clock import now_iso
from ..domain.money import from_fen
from ..domain.vocabulary import AMOUNTS, COUNTERS
from ..store import config, tracing
from ..store.db import transaction
from .hub_client import HubClient, SyncError, SyncReport
from .protocol import MAX_BATCH, MAX_BODY_BYTES, PushResponse, SettlementRecord, record_error

SKEW_WARNING_SECONDS = 300
ENVELOPE_BYTES = 256  # a push's body around its records (protocol, desk clock)
# Records a push sends: about a third of a second of the hub's work and 1 MB.  The hub commits (and syncs its disk)
# once a push, so fewer, larger pushes cost it less a record: 500 → 1,000 took a one-desk push from 2,317 to
# 2,668 a second (benchmarks/bench_sync.py, 20,000 records).  Within MAX_BATCH and MAX_BODY_BYTES.
PUSH_PAGE = 1000


def _record(row: sqlite3.Row) -> SettlementRecord:
    output = json.loads(row["output_json"])
    data = json.loads(row["input_json"])
    items = [
        {
            "code": i["code"],
            "quantity": i.get("cnt", "1"),
            "unit_price": i.get("pric"),
            "drugtracinfo": i.get("drugtracinfo", []),
        }
        for i in output.get("items", [])
    ]
    visit = data.get("visit") if isinstance(data.get("visit"), dict) else {}
    payment = data.get("payment") if isinstance(data.get("payment"), dict) else {}
    return SettlementRecord(
        uuid=row["uuid"],
        kind=row["kind"],
        original_uuid=row["original_uuid"],
        psn_no=row["psn_no"],
        year=row["year"],
        visit_date=row["visit_date"],
        region=row["region"],
        facility_id=row["facility_id"],
        device=row["device"],
        operator=row["operator"],
        desk_created_at=row["created_at"],
        **{k: row[k] for k in (*AMOUNTS, *COUNTERS)},
        family_payer=row["family_payer"],
        use_account=payment.get("use_account", True) is not False,
        items=items if row["kind"] == "settlement" else [],
        visit={k: bool(v) for k, v in visit.items()},
        diseinfo=output.get("diseinfo", []) if row["kind"] == "settlement" else [],
    )


def _outbox(conn: sqlite3.Connection, limit: int, after: int = 0) -> list[sqlite3.Row]:
    """Up to ``limit`` unsent entries after outbox entry ``after``, oldest first (each with its ``outbox_id``)."""
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(
            "SELECT o.id AS outbox_id, s.* FROM outbox o JOIN settlements s ON s.uuid = o.uuid "
            "WHERE o.id > ? AND o.sent_at IS NULL ORDER BY o.id LIMIT ?",
            (after, limit),
        ).fetchall()
    finally:
        conn.row_factory = None


def unsent(conn: sqlite3.Connection, limit: int) -> list[SettlementRecord]:
    return [_record(r) for r in _outbox(conn, limit)]


def _sendable(db: sqlite_utils.Database, rows: list[sqlite3.Row], report: SyncReport) -> list[SettlementRecord]:
    """The rows as records; one outside the protocol's bounds is set aside here, with its reason (never blocking)."""
    records, refused = [], []
    for row in rows:
        try:
            records.append(_record(row))
        except ValidationError as exc:
            refused.append((row["uuid"], f"本机记录超出上传协议的范围，未上传，请主管核查：{record_error(exc)}"))
    if refused:
        with transaction(db) as conn:
            for uuid, reason in refused:
                conn.execute("UPDATE outbox SET sent_at = ?, status = 'set_aside' WHERE uuid = ?", (now_iso(), uuid))
                _notice(conn, uuid, "set_aside", 0, reason)
                report.set_aside.append({"uuid": uuid, "reason": reason})
    return records


def _pages(records: list[SettlementRecord]) -> Iterator[list[SettlementRecord]]:
    """The records in order, in pushes of at most ``MAX_BATCH`` whose bodies stay within ``MAX_BODY_BYTES``."""
    for page, _ in _encoded_pages(records):
        yield page


def _encoded_pages(records: list[SettlementRecord]) -> Iterator[tuple[list[SettlementRecord], list[str]]]:
    """:func:`_pages`, each page with its records' JSON (what is sent).

    One record is far smaller than the limit (its items and every field are bounded by the protocol).
    """
    page: list[SettlementRecord] = []
    encoded: list[str] = []
    size = ENVELOPE_BYTES
    for record in records:
        text = record.model_dump_json()
        length = len(text.encode()) + 1
        if page and (len(page) == MAX_BATCH or size + length > MAX_BODY_BYTES):
            yield page, encoded
            page, encoded, size = [], [], ENVELOPE_BYTES
        page.append(record)
        encoded.append(text)
        size += length
    if page:
        yield page, encoded


def push(db: sqlite_utils.Database, client: HubClient, report: SyncReport, batch: int = PUSH_PAGE) -> None:
    """Send the outbox oldest first, ``batch`` entries at a time (at most the hub's ``MAX_BATCH``).

    One push is on its way at a time, in order: the next is sent once the hub has answered this one
    (so a refund never reaches the hub before its original).  While the hub settles a push, the next
    page is read and prepared here, and the last push's answers are recorded (the desk's part of the
    work, about a quarter of the whole, overlaps the hub's).
    """
    size, after = max(1, min(batch, MAX_BATCH)), 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="push") as sender:
        on_its_way: tuple[Future, list[SettlementRecord]] | None = None
        while rows := _outbox(db.conn, size, after):
            after = rows[-1]["outbox_id"]
            for page, encoded in _encoded_pages(_sendable(db, rows, report)):
                answered = _answered(on_its_way)
                on_its_way = sender.submit(client.push_encoded, encoded), page
                if answered is not None:
                    _record_answers(db, report, answered)
        if (answered := _answered(on_its_way)) is not None:
            _record_answers(db, report, answered)
    if abs(report.clock_skew_seconds) > SKEW_WARNING_SECONDS:
        report.warnings.append(
            f"本机时钟与中心相差 {report.clock_skew_seconds:.0f} 秒，请校准时间（年度以中心时间为准）"
        )


def _answered(on_its_way: tuple[Future, list[SettlementRecord]] | None) -> PushResponse | None:
    """The push on its way and the hub's answer, waited for; :class:`SyncError` if it answered none of it."""
    if on_its_way is None:
        return None
    future, records = on_its_way
    response = future.result()
    if not {r.uuid for r in response.results} & {r.uuid for r in records}:
        raise SyncError("医保中心没有确认任何一笔上传：停止，稍后重试")
    return response


def _record_answers(db: sqlite_utils.Database, report: SyncReport, response: PushResponse) -> None:
    """The hub's answers to one push (see :func:`_answered`), recorded in one local transaction."""
    report.clock_skew_seconds = response.clock_skew_seconds or 0.0
    with transaction(db) as conn:
        for result in response.results:
            conn.execute(
                "UPDATE outbox SET sent_at = ?, server_seq = ?, status = ? WHERE uuid = ?",
                (response.server_time, result.server_seq, result.status, result.uuid),
            )
            report.pushed += 1
            report.duplicates += result.duplicate
            if result.status == "set_aside":
                _notice(conn, result.uuid, "set_aside", 0, result.reason or "")
                report.set_aside.append({"uuid": result.uuid, "reason": result.reason})
            else:
                report.applied += 1
            if result.review:
                _notice(conn, result.uuid, result.review, result.review_amount, result.review_reason or "")
                report.reviews.append(
                    {
                        "uuid": result.uuid,
                        "review": result.review,
                        "amount": str(from_fen(result.review_amount)),
                        "reason": result.review_reason,
                    }
                )
            _trace_notices(conn, report, result, response.server_time)
        config.put(conn, "sync.clock_skew_seconds", str(report.clock_skew_seconds))


def _trace_notices(conn: sqlite3.Connection, report: SyncReport, result, at: str) -> None:
    """Codes the hub found sold before while that sale stands: kept for the day-end and shown after sync."""
    for found in result.trace_duplicates:
        tracing.record_notice(
            conn, result.uuid, found.drug_trac_codg, found.first_uuid, found.first_desk, found.first_sold_at, at
        )
        report.trace_duplicates.append({"uuid": result.uuid, **found.model_dump()})


def _notice(conn: sqlite3.Connection, uuid: str, kind: str, amount: int, reason: str) -> None:
    conn.execute("INSERT OR REPLACE INTO sync_notices VALUES (?, ?, ?, ?, ?)", (uuid, kind, amount, reason, now_iso()))
