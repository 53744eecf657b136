"""The desk's side of sync: push the outbox, pull changes, take the hub's usage and balances, reconcile.

Push sends unsent journal entries oldest first, in batches; the hub applies each
UUID at most once and answers a retry with its first result, so a lost response
is simply sent again.  Each batch's answers are recorded in one local
transaction.  Pull applies one page of changes and moves the cursor in the same
transaction, so an interrupted pull resumes where it stopped.

The hub is the authority on yearly usage and account balances.  When it sends
a member's figures, the desk replaces its own with them plus whatever the desk
settled that the hub has not yet counted, and records the difference as a
correction (``usage_adjustments``, ledger reason ``sync``), so ``verify`` still
proves every figure from its sources.

This is the desk's side, at the level of the desk's services: it reads and writes the desk's
store.  It lives beside :mod:`.protocol`, which both sides share; the hub imports only the protocol.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
import sqlite_utils
from pydantic import ValidationError

from ..domain.clock import now_iso
from ..domain.errors import GongjiError
from ..domain.member import MemberRecord
from ..domain.money import from_fen
from ..domain.vocabulary import AMOUNTS, COUNTERS
from ..store import audit, config, journal, members
from ..store.db import transaction
from .protocol import (
    AuditChain,
    AuditHead,
    AuditLink,
    Change,
    PullResponse,
    PushRequest,
    PushResponse,
    ReconcileResponse,
    SettlementRecord,
    record_error,
)

SKEW_WARNING_SECONDS = 300


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
    """HTTP to the hub with the desk's token; any transport failure becomes a :class:`SyncError`."""

    def __init__(
        self, url: str, token: str, timeout: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.http = httpx.Client(
            base_url=url.rstrip("/"), timeout=timeout, transport=transport, headers={"Authorization": f"Bearer {token}"}
        )

    def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SyncError(f"无法连接医保中心 {self.http.base_url}：{exc.__class__.__name__} {exc}") from None
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
    """Send the audit chain from the head the hub acknowledged last; the hub refuses one that does not extend it."""
    acked = int(config.get(db.conn, "sync.audit_acked") or 0)
    links = [
        AuditLink(id=i, prev_hash=p, hash=h)
        for i, p, h in db.conn.execute(
            "SELECT id, prev_hash, hash FROM audit_log WHERE id >= ? ORDER BY id", (max(acked, 1),)
        )
    ]
    if not links:
        return None
    head = client.audit(links)
    if head.id:
        with transaction(db) as conn:
            config.put(conn, "sync.audit_acked", str(head.id))
    return head.id


def audit_matches_hub(
    db: sqlite_utils.Database, hub: str, token: str, transport: httpx.BaseTransport | None = None
) -> list[str]:
    """The hub's anchor of this desk's audit chain is in the local chain, unchanged (else it was rewritten)."""
    client = HubClient(hub, token, transport=transport)
    try:
        head = client.audit_head()
    finally:
        client.close()
    if head.id is None:
        return []
    row = db.conn.execute("SELECT hash FROM audit_log WHERE id = ?", (head.id,)).fetchone()
    if row is None:
        return [f"audit_log: 医保中心保存的第 {head.id} 条审计记录在本机已不存在（被删除）"]
    if row[0] != head.hash:
        return [f"audit_log: 第 {head.id} 条审计记录与医保中心保存的不符（审计链被改写）"]
    return []


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


def push(db: sqlite_utils.Database, client: HubClient, report: SyncReport, batch: int = 500) -> None:
    while rows := _outbox(db.conn, batch):
        records = _sendable(db, rows, report)
        if not records:
            continue
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
    if abs(report.clock_skew_seconds) > SKEW_WARNING_SECONDS:
        report.warnings.append(
            f"本机时钟与中心相差 {report.clock_skew_seconds:.0f} 秒，请校准时间（年度以中心时间为准）"
        )


def _notice(conn: sqlite3.Connection, uuid: str, kind: str, amount: int, reason: str) -> None:
    conn.execute("INSERT OR REPLACE INTO sync_notices VALUES (?, ?, ?, ?, ?)", (uuid, kind, amount, reason, now_iso()))


# --------------------------------------------------------------------------- pull


def pull(db: sqlite_utils.Database, client: HubClient, report: SyncReport, page: int = 1000) -> None:
    cursor = int(config.get(db.conn, "sync.cursor") or 0)
    while True:
        response = client.changes(cursor, page)
        with transaction(db) as conn:
            for change in response.changes:
                APPLY[change.kind](conn, change, report)
            guarded = sorted({c.kind for c in response.changes} & {"catalogue_item", "published_figure"})
            if guarded:  # the hub's catalogue and figures: a change of guarded tables, so it is audited
                audit.record_state(
                    conn,
                    now_iso(),
                    "sync",
                    "pull",
                    ",".join(guarded),
                    {"changes": len(response.changes), "cursor": response.next_cursor},
                )
            cursor = response.next_cursor
            config.put(conn, "sync.cursor", str(cursor))
        report.pulled += len(response.changes)
        report.cursor = cursor
        if not response.more:
            return


def _pending(conn: sqlite3.Connection, where: str, args: tuple, seq: int, columns: str) -> list[int]:
    """Sums of this desk's entries the hub had not counted as of change ``seq``: unsent, set aside, or counted later."""
    row = conn.execute(
        f"SELECT {columns} FROM settlements s JOIN outbox o ON o.uuid = s.uuid WHERE {where} "
        "AND (o.sent_at IS NULL OR o.status = 'set_aside' OR o.server_seq > ?)",
        (*args, seq),
    ).fetchone()
    return [v or 0 for v in row]


def _apply_usage(conn: sqlite3.Connection, change: Change, report: SyncReport) -> None:
    psn_no, year, server = change.data["psn_no"], int(change.data["year"]), change.data["counters"]
    if members.get(conn, psn_no) is None:
        return
    pending = dict(
        zip(
            COUNTERS,
            _pending(
                conn,
                "s.psn_no = ? AND s.year = ?",
                (psn_no, year),
                change.seq,
                ", ".join(f"sum(s.{c})" for c in COUNTERS),
            ),
        )
    )
    local = dict(
        conn.execute("SELECT counter, amount FROM usage WHERE psn_no = ? AND year = ?", (psn_no, year)).fetchall()
    )
    for counter in COUNTERS:
        delta = server.get(counter, 0) + pending[counter] - local.get(counter, 0)
        if delta:
            conn.execute(
                "INSERT INTO usage_adjustments (psn_no, year, counter, delta, server_seq, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (psn_no, year, counter, delta, change.seq, now_iso()),
            )
            conn.execute(
                "INSERT INTO usage VALUES (?, ?, ?, ?) ON CONFLICT(psn_no, year, counter) "
                "DO UPDATE SET amount = amount + excluded.amount",
                (psn_no, year, counter, delta),
            )


def _apply_member(conn: sqlite3.Connection, change: Change, report: SyncReport) -> None:
    data = dict(change.data)
    server_balance = data.pop("account_balance")
    record = MemberRecord(**{**data, "programmes": tuple(data["programmes"]), "account_balance": Decimal(0)})
    members.upsert(conn, record, now_iso())
    [own] = _pending(conn, "s.psn_no = ?", (record.psn_no,), change.seq, "sum(s.acct_pay)")
    [family] = _pending(conn, "s.family_payer = ?", (record.psn_no,), change.seq, "sum(s.acct_mulaid_pay)")
    # Two desks offline can both spend one account: the hub then holds an overdraft (recorded there for
    # review); the desk shows what is really left, which is nothing.
    target = max(0, server_balance - own - family)
    current = conn.execute("SELECT account_balance FROM members WHERE psn_no = ?", (record.psn_no,)).fetchone()[0]
    if target != current:
        journal.account_entry(conn, record.psn_no, target - current, "sync", now_iso())


def _apply_family(conn: sqlite3.Connection, change: Change, report: SyncReport) -> None:
    d = change.data
    if members.get(conn, d["owner_psn_no"]) and members.get(conn, d["relative_psn_no"]):
        conn.execute(
            "INSERT OR REPLACE INTO family_links VALUES (?, ?, ?)",
            (d["owner_psn_no"], d["relative_psn_no"], d["relation"]),
        )


def _apply_catalogue(conn: sqlite3.Connection, change: Change, report: SyncReport) -> None:
    # Through the store, so the item's 助记码 is computed with it; an older hub's entry has no spec or maker.
    from ..domain.catalogue import CatalogueItem
    from ..store import catalogue

    catalogue.upsert(conn, CatalogueItem.from_row(change.data))


def _apply_published(conn: sqlite3.Connection, change: Change, report: SyncReport) -> None:
    d = change.data
    config.put_published(conn, d["region"], d["name"], d["year"], Decimal(d["value"]))


def _apply_rules(conn: sqlite3.Connection, change: Change, report: SyncReport) -> None:
    from ..rule_files import region_digest

    d = change.data
    config.put(conn, f"hub.rules.{d['region']}", f"{d['label']} {d['digest']}")
    if d["region"] == config.get(conn, "region") and region_digest(d["region"]) != d["digest"]:
        report.warnings.append(f"中心的 {d['region']} 规则（{d['label']}）与本机不同：请更新本机规则文件")


APPLY = {
    "usage": _apply_usage,
    "member": _apply_member,
    "family_link": _apply_family,
    "catalogue_item": _apply_catalogue,
    "published_figure": _apply_published,
    "rules": _apply_rules,
}


# --------------------------------------------------------------------------- the whole round, and 对账


def sync(
    db: sqlite_utils.Database,
    hub: str,
    token: str,
    transport: httpx.BaseTransport | None = None,
    batch: int = 500,
    page: int = 1000,
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


def local_day(conn: sqlite3.Connection, day: str) -> dict:
    rows = conn.execute(
        f"SELECT s.uuid, {', '.join('s.' + a for a in AMOUNTS)} FROM settlements s JOIN outbox o "
        "ON o.uuid = s.uuid WHERE substr(s.created_at, 1, 10) = ? AND o.status = 'applied' "
        "ORDER BY s.uuid",
        (day,),
    ).fetchall()
    return {
        "count": len(rows),
        **{a: sum(r[i + 1] for r in rows) for i, a in enumerate(AMOUNTS)},
        "uuids": [r[0] for r in rows],
    }


def reconcile(
    db: sqlite_utils.Database, hub: str, token: str, day: str, transport: httpx.BaseTransport | None = None
) -> dict:
    """对账: this desk's day against the hub's, count and sums; on a difference, the settlements behind it."""
    client = HubClient(hub, token, transport=transport)
    try:
        server = client.reconcile(day).server
    finally:
        client.close()
    local = local_day(db.conn, day)
    differences = {
        k: {"desk": local[k], "hub": getattr(server, k)} for k in ("count", *AMOUNTS) if local[k] != getattr(server, k)
    }
    only_desk = sorted(set(local["uuids"]) - set(server.uuids))
    only_hub = sorted(set(server.uuids) - set(local["uuids"]))
    return {
        "day": day,
        "ok": not differences and not only_desk and not only_hub,
        "differences": differences,
        "only_at_desk": only_desk,
        "only_at_hub": only_hub,
    }
