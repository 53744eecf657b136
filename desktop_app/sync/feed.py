"""Pull: the hub's change feed applied to the desk, page by page, the cursor committed with each page.

An interrupted pull resumes where it stopped.  Each page is applied by :mod:`.apply`.
"""

from __future__ import annotations

import gc
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import sqlite_utils

from ..domain.clock import now_iso
from ..store import audit, bulk, config
from ..store.db import transaction
from .apply import KINDS, apply_page
from .hub_client import HubClient, SyncError, SyncReport
from .protocol import MAX_PAGE

# Changes per page of a pull, the hub's most (``protocol.MAX_PAGE``): a page and the cursor after it are one
# transaction; with pages of 1,000 a pull of 50,000 members spent about a third of its time committing.
PULL_PAGE = MAX_PAGE
# Pages already fetched join the open transaction for this long: each commit of a page of new members
# rewrote most of their indexes' pages (200,000 members applied in 20 s a transaction per page, in 13 s so).
PULL_TRANSACTION_SECONDS = 1.0
# While a pull writes, the young generation is collected every this many allocations instead of 700: a page's
# changes are plain dicts and lists, none in a cycle, and collecting them over and over cost time for nothing.
GC_THRESHOLD = 100_000


def pull(db: sqlite_utils.Database, client: HubClient, report: SyncReport, page: int = PULL_PAGE) -> None:
    """Apply the hub's changes page by page; the cursor after a page commits with it.

    The next page is on its way while one is applied (the hub reads and sends while the desk writes),
    requested from the cursor the page before gave.  Pages already here join the open transaction for
    about a second (``PULL_TRANSACTION_SECONDS``): a big pull commits far less often, and the counter
    never waits on a pull longer than that, nor ever on the network.
    """
    cursor = int(config.get(db.conn, "sync.cursor") or 0)
    with deferred_indexes(db), bulk_writing(db.conn), ThreadPoolExecutor(1, thread_name_prefix="pull") as ahead:
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
def deferred_indexes(db: sqlite_utils.Database) -> Iterator[None]:
    """A desk with no member yet (its first pull) fills its tables with the members' secondary indexes dropped
    and builds them once at the end (:mod:`..store.bulk`): a million members in far less time."""
    with transaction(db) as conn:
        deferred = bulk.defer(conn)
    try:
        yield
    finally:
        if deferred:
            bulk.restore(db.conn)


@contextmanager
def bulk_writing(conn: sqlite3.Connection) -> Iterator[None]:
    """A larger page cache, fewer checkpoints and rarer garbage collection while a pull writes; durability is
    unchanged.

    With SQLite's 2 MB cache, a second's inserts into the members' random-keyed indexes spilled and
    re-read their pages: a million members took 28 s to insert, 17 s with 64 MB and a checkpoint
    every 10,000 pages (2 cores).  The connection's own settings come back afterwards.
    """
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    checkpoint = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    conn.execute("PRAGMA cache_size = -65536")  # KiB
    conn.execute("PRAGMA wal_autocheckpoint = 10000")
    threshold = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *threshold[1:])  # a page makes 15,000 dicts that hold no cycle
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
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
    body = client.feed_page(cursor, limit)
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
