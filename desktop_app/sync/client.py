"""The desk's side of sync: its HTTP client to the hub, and one round of sync (audit anchor, push, pull).

Push sends unsent journal entries oldest first, in pages within the protocol's limits
(``MAX_BATCH`` records, ``MAX_BODY_BYTES``); the hub applies each UUID at most once and
answers a retry with its first result, so a lost response is simply sent again.  Each
page's answers are recorded in one local transaction.  Pull applies pages of changes
(by :mod:`.apply`) and moves the cursor in the same transaction, so an interrupted pull
resumes where it stopped.  A busy hub (429, 503) is asked again after a jittered
back-off, a bounded number of times; the desk's time-out exceeds the hub's worst wait.
对账 and the audit check against the hub are in :mod:`.reconcile`.

This is the desk's side, at the level of the desk's services: it reads and writes the desk's
store.  It lives beside :mod:`.protocol`, which both sides share; the hub imports only the protocol.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import sqlite_utils
from pydantic import ValidationError

from ..domain.clock import now_iso
from ..domain.errors import GongjiError
from ..domain.money import from_fen
from ..domain.vocabulary import AMOUNTS, COUNTERS
from ..store import audit, config
from ..store.db import transaction
from .apply import KINDS, apply_page
from .protocol import (
    DESK_TIMEOUT_SECONDS,
    MAX_AUDIT_LINKS,
    MAX_BATCH,
    MAX_BODY_BYTES,
    MAX_PAGE,
    AuditChain,
    AuditHead,
    AuditLink,
    PullResponse,
    PushRequest,
    PushResponse,
    ReconcileResponse,
    SettlementRecord,
    record_error,
)

SKEW_WARNING_SECONDS = 300
CONNECT_SECONDS = 10  # to reach the hub at all; an answer may take DESK_TIMEOUT_SECONDS (beyond the hub's worst)
BUSY = (429, 503)  # the hub asks the desk to come back later: it backs off and sends the same request again
ATTEMPTS = 6  # tries of one request at a busy hub, then the round stops (the outbox keeps what was not sent)
BACKOFF_SECONDS = 1.0  # the jitter's range: doubled at each retry, added to the wait the hub asks (Retry-After)
MAX_WAIT_SECONDS = 60.0  # a Retry-After above this is read as this
ENVELOPE_BYTES = 256  # a push's body around its records (protocol, desk clock)
# Changes per page of a pull, the hub's most (``protocol.MAX_PAGE``): a page and the cursor after it are one
# transaction; with pages of 1,000 a pull of 50,000 members spent about a third of its time committing.
PULL_PAGE = MAX_PAGE
# Pages already fetched join the open transaction for this long: each commit of a page of new members
# rewrote most of their indexes' pages (200,000 members applied in 20 s a transaction per page, in 13 s so).
PULL_TRANSACTION_SECONDS = 1.0


class SyncError(GongjiError):
    """The hub could not be reached or refused the desk; the message says which."""


@dataclass
class SyncReport:
    pushed: int = 0
    applied: int = 0
    duplicates: int = 0
    set_aside: list[dict] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    pulled: int = 0
    cursor: int = 0
    clock_skew_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(vars(self))


class HubClient:
    """HTTP to the hub with the desk's token; any transport failure becomes a :class:`SyncError`.

    A busy hub (429, 503) is asked again after the wait it names plus a random share of a doubling back-off,
    so desks that came online together do not come back together; after ``ATTEMPTS`` tries the round stops.
    """

    def __init__(
        self,
        url: str,
        token: str,
        timeout: float = DESK_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = httpx.Client(
            base_url=url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_SECONDS)),
            transport=transport,
            headers={"Authorization": f"Bearer {token}"},
        )
        self.sleep, self.random = sleep, random.Random()

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        """The hub's answer, after backing off while it is busy (the last busy answer when it stays so)."""
        attempt = 0
        while True:
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                raise SyncError(f"无法连接医保中心 {self.http.base_url}：{exc.__class__.__name__} {exc}") from None
            if response.status_code not in BUSY or attempt + 1 == ATTEMPTS:
                return response
            self.sleep(self.pause(attempt, response.headers.get("Retry-After")))
            attempt += 1

    def pause(self, attempt: int, retry_after: str | None) -> float:
        """Seconds before try ``attempt + 2``: never sooner than the hub asked, plus jitter from a doubling range."""
        try:
            asked = min(max(float(retry_after or 0), 0.0), MAX_WAIT_SECONDS)
        except ValueError:  # an HTTP date, or nonsense: the back-off alone
            asked = 0.0
        return asked + self.random.uniform(0, BACKOFF_SECONDS * 2**attempt)

    def _call(self, method: str, path: str, **kwargs) -> dict:
        response = self._send(method, path, **kwargs)
        if response.status_code in BUSY:
            raise SyncError(f"医保中心繁忙（{response.status_code}），已尝试 {ATTEMPTS} 次：请稍后再同步")
        if response.status_code == 401:
            raise SyncError("医保中心拒绝了本收款台的令牌：请向中心核对收款台登记")
        if response.status_code == 409:  # the hub refuses this desk's audit chain: say its words
            raise SyncError(f"医保中心拒收：{response.json().get('detail', response.text[:300])}")
        if response.status_code >= 400:
            raise SyncError(f"医保中心返回 {response.status_code}：{response.text[:300]}")
        return response.json()

    def push(self, records: list[SettlementRecord]) -> PushResponse:
        request = PushRequest(desk_clock=now_iso(), records=records)
        return PushResponse.model_validate(
            self._call(
                "POST", "/v1/push", content=request.model_dump_json(), headers={"Content-Type": "application/json"}
            )
        )

    def audit(self, links: list[AuditLink]) -> AuditHead:
        return AuditHead.model_validate(
            self._call(
                "POST",
                "/v1/audit",
                content=AuditChain(links=links).model_dump_json(),
                headers={"Content-Type": "application/json"},
            )
        )

    def audit_head(self) -> AuditHead:
        return AuditHead.model_validate(self._call("GET", "/v1/audit"))

    def changes(self, cursor: int, limit: int) -> PullResponse:
        return PullResponse.model_validate(self._call("GET", "/v1/changes", params={"cursor": cursor, "limit": limit}))

    def reconcile(self, day: str) -> ReconcileResponse:
        return ReconcileResponse.model_validate(self._call("GET", "/v1/reconcile", params={"day": day}))

    def close(self) -> None:
        self.http.close()


# --------------------------------------------------------------------------- the audit chain's anchor


def anchor_audit(db: sqlite_utils.Database, client: HubClient) -> int | None:
    """Send the audit chain from the head the hub holds; the hub refuses one that does not extend it.

    In pages of at most ``MAX_AUDIT_LINKS``, each starting at the head the hub acknowledged for the one before.
    A hub that holds a head beyond this chain (or none) is sent the chain from the last head it acknowledged.
    """
    last = db.conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
    if last is None:
        return None
    held = client.audit_head().id
    start = held if held and held <= last else max(int(config.get(db.conn, "sync.audit_acked") or 0), 1)
    while True:
        links = [
            AuditLink(id=i, prev_hash=p, hash=h)
            for i, p, h in db.conn.execute(
                "SELECT id, prev_hash, hash FROM audit_log WHERE id >= ? ORDER BY id LIMIT ?", (start, MAX_AUDIT_LINKS)
            )
        ]
        head = client.audit(links).id
        if head:
            with transaction(db) as conn:
                config.put(conn, "sync.audit_acked", str(head))
        if len(links) < MAX_AUDIT_LINKS or not head or head <= start:  # the whole chain, or the hub kept its anchor
            return head
        start = head


# --------------------------------------------------------------------------- push


def _record(row: sqlite3.Row) -> SettlementRecord:
    output = json.loads(row["output_json"])
    data = json.loads(row["input_json"])
    items = [
        {"code": i["code"], "quantity": i.get("cnt", "1"), "unit_price": i.get("pric")} for i in output.get("items", [])
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
    )


def _outbox(conn: sqlite3.Connection, limit: int) -> list[sqlite3.Row]:
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(
            "SELECT s.* FROM outbox o JOIN settlements s ON s.uuid = o.uuid WHERE o.sent_at IS NULL "
            "ORDER BY o.id LIMIT ?",
            (limit,),
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
    """The records in order, in pushes of at most ``MAX_BATCH`` whose bodies stay within ``MAX_BODY_BYTES``.

    One record is far smaller than the limit (its items and every field are bounded by the protocol).
    """
    page: list[SettlementRecord] = []
    size = ENVELOPE_BYTES
    for record in records:
        length = len(record.model_dump_json().encode()) + 1
        if page and (len(page) == MAX_BATCH or size + length > MAX_BODY_BYTES):
            yield page
            page, size = [], ENVELOPE_BYTES
        page.append(record)
        size += length
    if page:
        yield page


def push(db: sqlite_utils.Database, client: HubClient, report: SyncReport, batch: int = 500) -> None:
    """Send the outbox oldest first, ``batch`` entries at a time (at most the hub's ``MAX_BATCH``)."""
    while rows := _outbox(db.conn, max(1, min(batch, MAX_BATCH))):
        for page in _pages(_sendable(db, rows, report)):
            _push_page(db, client, report, page)
    if abs(report.clock_skew_seconds) > SKEW_WARNING_SECONDS:
        report.warnings.append(
            f"本机时钟与中心相差 {report.clock_skew_seconds:.0f} 秒，请校准时间（年度以中心时间为准）"
        )


def _push_page(db: sqlite_utils.Database, client: HubClient, report: SyncReport, records: list) -> None:
    """One push, and its answers recorded in one local transaction."""
    response = client.push(records)
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
        config.put(conn, "sync.clock_skew_seconds", str(report.clock_skew_seconds))
    answered = {r.uuid for r in response.results}
    if not answered & {r.uuid for r in records}:
        raise SyncError("医保中心没有确认任何一笔上传：停止，稍后重试")


def _notice(conn: sqlite3.Connection, uuid: str, kind: str, amount: int, reason: str) -> None:
    conn.execute("INSERT OR REPLACE INTO sync_notices VALUES (?, ?, ?, ?, ?)", (uuid, kind, amount, reason, now_iso()))


# --------------------------------------------------------------------------- pull


def pull(db: sqlite_utils.Database, client: HubClient, report: SyncReport, page: int = PULL_PAGE) -> None:
    """Apply the hub's changes page by page; the cursor after a page commits with it.

    The next page is on its way while one is applied (the hub reads and sends while the desk writes),
    requested from the cursor the page before gave.  Pages already here join the open transaction for
    about a second (``PULL_TRANSACTION_SECONDS``): a big pull commits far less often, and the counter
    never waits on a pull longer than that, nor ever on the network.
    """
    cursor = int(config.get(db.conn, "sync.cursor") or 0)
    with bulk_writing(db.conn), ThreadPoolExecutor(max_workers=1, thread_name_prefix="pull") as ahead:
        page = max(1, min(page, MAX_PAGE))
        following: Future | None = ahead.submit(_page, client, cursor, page)
        while following is not None:
            response = following.result()  # outside any transaction: a failed fetch leaves what is committed
            with transaction(db) as conn:
                started, applied, kinds = time.monotonic(), 0, set()
                while True:
                    more = response["more"]
                    following = ahead.submit(_page, client, response["next_cursor"], page) if more else None
                    apply_page(conn, response["changes"], report.warnings)
                    applied += len(response["changes"])
                    kinds |= {c["kind"] for c in response["changes"]}
                    cursor = response["next_cursor"]
                    if not _ready(following) or time.monotonic() - started >= PULL_TRANSACTION_SECONDS:
                        break
                    response = following.result()
                guarded = sorted(kinds & {"catalogue_item", "published_figure"})
                if guarded:  # the hub's catalogue and figures: a change of guarded tables, so it is audited
                    audit.record_state(
                        conn, now_iso(), "sync", "pull", ",".join(guarded), {"changes": applied, "cursor": cursor}
                    )
                config.put(conn, "sync.cursor", str(cursor))
            report.pulled += applied
            report.cursor = cursor


@contextmanager
def bulk_writing(conn: sqlite3.Connection) -> Iterator[None]:
    """A larger page cache and fewer checkpoints while a pull writes; durability is unchanged.

    With SQLite's 2 MB cache, a second's inserts into the members' random-keyed indexes spilled and
    re-read their pages: a million members took 28 s to insert, 17 s with 64 MB and a checkpoint
    every 10,000 pages (2 cores).  The connection's own settings come back afterwards.
    """
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    checkpoint = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    conn.execute("PRAGMA cache_size = -65536")  # KiB
    conn.execute("PRAGMA wal_autocheckpoint = 10000")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {int(cache)}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint)}")
        conn.execute("PRAGMA shrink_memory")


def _ready(following: Future | None) -> bool:
    """Whether the next page is here, and whole (a failed fetch is raised outside the transaction)."""
    return following is not None and following.done() and following.exception() is None


def _page(client: HubClient, cursor: int, limit: int) -> dict:
    """One page of the feed as the hub sent it (a ``PullResponse``), its shape checked change by change.

    No model is built per change: a page of a million members' pull is mostly data to write, and
    validating it into objects cost as much as writing it.
    """
    body = client._call("GET", "/v1/changes", params={"cursor": cursor, "limit": limit})
    changes = body.get("changes") if isinstance(body, dict) else None
    if not (
        isinstance(changes, list)
        and type(body.get("next_cursor")) is int
        and type(body.get("more")) is bool
        and all(
            type(c) is dict
            and type(c.get("seq")) is int
            and c.get("kind") in KINDS
            and type(c.get("key")) is str
            and type(c.get("data")) is dict
            for c in changes
        )
    ):
        raise SyncError(f"医保中心返回的变更页格式不对（游标 {cursor}）：请核对中心版本")
    return body


# --------------------------------------------------------------------------- the whole round


def sync(
    db: sqlite_utils.Database,
    hub: str,
    token: str,
    transport: httpx.BaseTransport | None = None,
    batch: int = 500,
    page: int = PULL_PAGE,
) -> SyncReport:
    """Push, then pull; remembers the hub and the time of the last full success."""
    report = SyncReport()
    client = HubClient(hub, token, transport=transport)
    try:
        anchor_audit(db, client)  # first: a desk whose chain the hub refuses sends nothing more
        push(db, client, report, batch)
        pull(db, client, report, page)
    finally:
        client.close()
    with transaction(db) as conn:
        if config.get(conn, "sync.hub") != hub:  # a setting: changed only with an audit entry
            config.put(conn, "sync.hub", hub)
            audit.record_state(conn, now_iso(), "sync", "settings", "sync.hub", {"sync.hub": hub})
        config.put(conn, "sync.last_ok", now_iso())
    return report
