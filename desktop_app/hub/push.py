"""Push: a desk's journal entries arrive; the hub applies only what it computed itself.

Trust model: a desk's token lets it send facts for its own facility and region.  Every
figure that moves money (fund, accounts, usage) is the hub's own computation
(``recompute.settle``); the desk's figures are claims, compared and recorded
(``recompute.review``).  Each record is checked on its own: a bad one is set aside with its
reason (or, without a usable UUID, rejected), logged, and the rest of the batch goes on.  A
fault of the hub's own is no reason to set a record aside: it refuses the whole batch (nothing
of it applied) and the desk sends it again.  A UUID is applied at most once; a retry gets the
first answer before any computation.

How a batch goes, so that its cost is near the database's own and desks do not take turns:

1. Each record is checked against the protocol (no database).
2. One round of reads, in one consistent snapshot, holding no lock: the answers already given for
   the batch's UUIDs and the originals its refunds name (``batch.Ledger``), then for the new
   records only, the members, usage, balances, stays, family links, catalogue lines and published
   figures (``recompute.read_facts``).  A retried batch is answered from the first part alone.
3. The batch is settled in memory from that read (``batch.Batch``), with no transaction open.
4. One short write transaction.  On PostgreSQL it first takes the desk's lock and its codes' (advisory,
   a bounded number) and locks its members' rows, in one order, so pushes for other members go on
   beside it; it checks that what the batch was settled from still holds, writes the batch in a
   handful of statements, and takes the change feed's lock last, for the numbered insert, until the
   commit.  On SQLite the write
   transaction is the one writer, on the connection that read the batch: if no other connection has
   written since (``PRAGMA data_version``), what was read still holds without reading it again.  If
   another push for the same member came first, the batch is settled again from a fresh read; after
   ``ROUNDS`` such rounds, under its members' locks.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, OperationalError

from ..sync.protocol import PushBatch, PushChecked, PushResult, SettlementRecord, record_error
from .batch import Batch, Ledger, Stale
from .desks import Desk
from .recompute import read_facts
from .schema import data_version, writing, writing_on
from .tracing import TraceBook

log = logging.getLogger("gongji.hub")
ROUNDS = 3  # settled from a fresh read at most this often; then under the members' locks
TRANSIENT = {"40P01", "40001"}  # PostgreSQL: deadlock detected, serialization failure (try again)

Taken = tuple[object, SettlementRecord | None, str | None]  # (as sent, as checked, or why it is malformed)


def push(
    engine: Engine, desk: Desk, records: Iterable[dict | SettlementRecord], received_at: str, skew_seconds: float | None
) -> list[PushResult]:
    """Apply a batch: each record answered on its own, all of them written in one short transaction."""
    started = time.perf_counter()
    taken = [_check(raw) for raw in records]
    try:
        batch, settled, rounds = _settle_and_write(engine, desk, taken, received_at, skew_seconds)
    except DataError as exc:  # a value the database refuses (none is known to pass the checks): one by one
        if len(taken) > 1:
            return [
                r for raw, record, _ in taken for r in push(engine, desk, [record or raw], received_at, skew_seconds)
            ]
        if taken[0][1] is None:
            raise
        batch, settled, rounds = _refused_by_database(engine, desk, taken[0][1], exc, received_at), 0, 1
    results = batch.results()
    for result in results:
        if result.status == "set_aside" and not result.duplicate:  # a retry's was logged the first time
            log.warning("desk %s: record %r set aside: %r", desk.desk_id, result.uuid or "(no UUID)", result.reason)
    log.info(
        "push from desk %s: %d records, %d applied, %d set aside, %d retries answered; "
        "settled by the hub: %d (round %d, %.0f ms)",
        desk.desk_id,
        len(results),
        len(batch.entries),
        sum(r.status == "set_aside" and not r.duplicate for r in results),
        sum(r.duplicate for r in results),
        settled,
        rounds,
        (time.perf_counter() - started) * 1000,
    )
    return results


def read_batch(body: bytes) -> PushBatch:
    """A push's body, its records checked against the protocol: in one pass when all of them pass (the common
    case), else each on its own in :func:`push` (a bad one is set aside, the rest go on).  A body that is not a
    push at all raises pydantic's ``ValidationError``."""
    try:
        return PushChecked.model_validate_json(body)
    except ValidationError:
        return PushBatch.model_validate_json(body)


def _check(raw: object) -> Taken:
    if isinstance(raw, SettlementRecord):
        return raw, raw, None
    try:
        return raw, SettlementRecord.model_validate(raw), None
    except ValidationError as exc:
        return raw, None, record_error(exc)


def _settle_and_write(
    engine: Engine, desk: Desk, taken: list[Taken], received_at: str, skew: float | None
) -> tuple[Batch, int, int]:
    """(the batch as written, how many records the hub settled, in how many rounds)."""
    settled = 0
    for round_ in range(1, ROUNDS + 4):
        under_lock = round_ > ROUNDS
        try:
            with engine.connect() as conn:  # on SQLite, read and written on one connection (see _unchanged)
                if not under_lock:
                    batch, version = _read_and_work_out(engine, conn, desk, taken, received_at, skew)
                    settled += batch.settled
                    if not batch.writes:  # every record a retry, or another facility's: nothing to write
                        return batch, settled, round_
                with writing_on(conn):
                    _lock(conn, desk, taken)
                    if under_lock:
                        batch = _work_out(conn, desk, taken, received_at, skew, lock=True)
                        settled += batch.settled
                    elif not _unchanged(conn, version) and not batch.still_holds(conn):
                        raise Stale
                    batch.write(conn)
            return batch, settled, round_
        except Stale:
            continue
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) not in TRANSIENT:
                raise
    raise RuntimeError(f"push from desk {desk.desk_id}: not written after {ROUNDS + 3} rounds")


def _read_and_work_out(
    engine: Engine, conn: Connection, desk: Desk, taken: list[Taken], received_at: str, skew: float | None
) -> tuple[Batch, int | None]:
    """The batch worked out from one snapshot, and on SQLite the snapshot's :func:`data_version` (else None).

    SQLite's snapshot is read on ``conn`` itself, which then writes; PostgreSQL's on a connection of its own, in a
    read-only repeatable-read transaction.
    """
    if conn.dialect.name == "sqlite":
        with conn.begin():
            return _work_out(conn, desk, taken, received_at, skew, lock=False), data_version(conn)
    with _snapshot(engine) as reading:
        return _work_out(reading, desk, taken, received_at, skew, lock=False), None


def _unchanged(conn: Connection, version: int | None) -> bool:
    """Whether, on SQLite, no other connection has written since the batch was read (then it still holds, and is
    not read again).  SQLite has one writer, and this write transaction holds it now."""
    return version is not None and data_version(conn) == version


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction that sees one moment of the database (SQLite's WAL gives readers one)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn


def _work_out(
    conn: Connection, desk: Desk, taken: list[Taken], received_at: str, skew: float | None, lock: bool
) -> Batch:
    """Read what the batch needs (one round) and settle it in memory."""
    records = [record for _, record, _ in taken if record is not None]
    ledger = Ledger.read(conn, _uuids(taken), {r.original_uuid for r in records if r.original_uuid})
    new = [r for r in records if r.uuid not in ledger.applied and r.uuid not in ledger.set_aside]
    facts = None
    if new:
        payers = {o["family_payer"] for o in ledger.originals.values() if o["family_payer"]}
        facts = read_facts(conn, desk.region, new, payers, lock=lock)
    batch = Batch(desk, received_at, skew, ledger, facts, TraceBook.read(conn, new, set(ledger.applied)))
    batch.new = new
    for raw, record, error in taken:
        batch.take(raw, record, error)
    return batch


def _uuids(taken: list[Taken]) -> set[str]:
    """Every UUID the batch names, a malformed record's too (it is set aside under it)."""
    found = set()
    for raw, record, _ in taken:
        uuid = record.uuid if record is not None else raw.get("uuid") if isinstance(raw, dict) else None
        if isinstance(uuid, str) and len(uuid) == 36:
            found.add(uuid)
    return found


_DESK_LOCK = text("SELECT pg_advisory_xact_lock(1, :key)")
_CODE_LOCKS = text("SELECT count(pg_advisory_xact_lock(2, k)) FROM unnest(CAST(:keys AS integer[])) AS k")
# Traceability codes are locked by bucket: a batch takes at most this many locks, whatever its size.  PostgreSQL's
# table of locks holds max_locks_per_transaction (64) x max_connections (100) = 6,400 by default, shared by every
# transaction: 32 writers with a lock for each of 200 records' codes ran out of it ("out of shared memory").
CODE_LOCK_BUCKETS = 128


def _lock(conn: Connection, desk: Desk, taken: list[Taken]) -> None:
    """On PostgreSQL (advisory locks, in one order; its members' rows come next): the desk, so that its own pushes
    of the same UUIDs (a retry while the first is on its way) go in turn and the second is answered from the
    first; then the buckets of its traceability codes, so that two desks selling one code at once go in turn and
    the second sees the first's sale.  Another desk sending a UUID already taken fails the journal's key instead
    (the batch is then worked out again, and answered that the UUID is taken)."""
    if conn.dialect.name == "postgresql":  # SQLite's write transaction is the only writer
        conn.execute(_DESK_LOCK, {"key": _key(desk.desk_id)})
        codes = {code for _, record, _ in taken if record is not None for code in record.trace_codes}
        if codes:
            conn.execute(_CODE_LOCKS, {"keys": sorted({_key(code) % CODE_LOCK_BUCKETS for code in codes})})


def _key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big", signed=True)


def _refused_by_database(engine: Engine, desk: Desk, record: SettlementRecord, exc: DataError, at: str) -> Batch:
    """One record whose values the database refused: set aside with the database's words, nothing of it applied."""
    batch = Batch(desk, at, None, Ledger.read_nothing(), None)
    batch.set_aside(record.uuid, f"中心无法入账：{type(exc).__name__}: {exc.orig}", record.model_dump_json())
    with writing(engine) as conn:
        batch.write(conn)
    return batch
