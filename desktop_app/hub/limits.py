"""The hub's bounds on what it takes, and its answers past them (the numbers are ``sync.protocol``'s).

* :class:`Gate` (ASGI middleware): a body larger than ``MAX_BODY_BYTES`` is refused with 413 before it is
  parsed (by its Content-Length, or once that many bytes have come); at most ``schema.WORKERS`` requests are
  inside the app at once, and one that waits ``HUB_WAIT_SECONDS`` for its turn is answered 503 (one whose
  body takes longer than that to arrive, 408).
* :func:`invalid`: a request the protocol refuses gets 422 naming each field and the rule, never the input
  (pydantic's default echoes it all); too many records or audit links get 413 naming the limit.
* :func:`database_error`: the database busy (SQLite's lock past its busy timeout, PostgreSQL's lock or pool
  time-out, any PostgreSQL OperationalError) gets 503 with Retry-After, never 500.  The desk backs off and
  sends the same request again; each settlement UUID is still applied at most once.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..sync.protocol import HUB_WAIT_SECONDS, MAX_AUDIT_LINKS, MAX_BATCH, MAX_BODY_BYTES, RETRY_AFTER_SECONDS
from .schema import WORKERS

log = logging.getLogger("gongji.hub")

SHOWN_ERRORS = 20  # of a refused request's errors, the first this many are named
COUNTED = {"records": MAX_BATCH, "links": MAX_AUDIT_LINKS}  # the lists of a request body bounded in number
SQLITE_BUSY, SQLITE_LOCKED = 5, 6


def install(app: FastAPI, wait: float, workers: int = WORKERS) -> None:
    """On the hub's app: the gate, and the answers past the limits (with :func:`threads` as its lifespan)."""
    app.add_middleware(Gate, workers=min(workers, WORKERS), wait=wait)
    app.add_exception_handler(RequestValidationError, invalid)
    for error in (OperationalError, PoolTimeout):
        app.add_exception_handler(error, database_error)


@asynccontextmanager
async def threads(_app: FastAPI) -> AsyncIterator[None]:
    """The worker threads: one for each request the gate lets in (anyio's default is 40)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKERS
    yield


def _json(status: int, detail: object, retry: bool = False) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if retry else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def too_large() -> JSONResponse:
    return _json(413, f"请求体超过上限 {MAX_BODY_BYTES} 字节（{MAX_BODY_BYTES // 2**20} MB）：未读取，请分批上传")


def busy(what: str) -> JSONResponse:
    return _json(503, f"医保中心繁忙（{what}）：请 {RETRY_AFTER_SECONDS} 秒后重试", retry=True)


class Gate:
    """ASGI middleware: bounded bodies, and at most ``workers`` requests in the app at once (the rest wait or 503)."""

    def __init__(self, app: ASGIApp, workers: int = WORKERS, wait: float = HUB_WAIT_SECONDS) -> None:
        self.app, self.wait = app, wait
        self.slots = anyio.Semaphore(workers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await too_large()(scope, receive, send)  # refused before a byte of it is read
            return
        with anyio.move_on_after(self.wait) as waiting:
            await self.slots.acquire()
        if waiting.cancelled_caught:  # read (and drop) the body first: a desk cut off mid-send sees a reset instead
            log.warning("503: no worker free for %s s (%s %s)", self.wait, scope["method"], scope["path"])
            answer = busy(f"{self.wait} 秒内没有空闲的处理线程") if await _read(receive) is not None else too_large()
            await answer(scope, receive, send)
            return
        try:
            with anyio.move_on_after(self.wait) as reading:  # a body still coming after that holds a worker no longer
                body = await _read(receive)
            if reading.cancelled_caught:
                await _json(408, f"请求体 {self.wait} 秒内未传完：请重试")(scope, receive, send)
            elif body is None:
                await too_large()(scope, receive, send)
            else:
                await self.app(scope, _replay(body, receive), send)
        finally:
            self.slots.release()


async def _read(receive: Receive) -> bytes | None:
    """The whole body, or None once it passes ``MAX_BODY_BYTES`` (what came so far is dropped)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the desk went away: the app answers no one
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """The body read already, as the app's first message; after it, the connection's own (a disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


# --------------------------------------------------------------------------- exception handlers


async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each field and rule, without the input; 413 when a list of the body is past its limit."""
    errors = exc.errors()
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if error.get("type") == "too_long" and len(loc) == 2 and loc[0] == "body" and loc[1] in COUNTED:
            return _json(413, f"{loc[1]} 一次最多 {COUNTED[loc[1]]} 条：请分批上传")
    shown = [
        {
            "loc": [_short(part) for part in e.get("loc", ())][:8],
            "msg": _short(e.get("msg", ""), 200),
            "type": e.get("type"),
        }
        for e in errors[:SHOWN_ERRORS]
    ]
    return JSONResponse({"detail": shown, "errors": len(errors)}, status_code=422)


def _short(part: object, most: int = 64) -> object:
    """A name or a message as it is, up to ``most`` characters (a key of the body can be as long as the body)."""
    return part if isinstance(part, int) else str(part)[:most]


def _busy_database(exc: Exception) -> bool:
    """Whether the database refused for want of time or capacity (worth a retry), not for what we asked."""
    if isinstance(exc, PoolTimeout):
        return True
    original = getattr(exc, "orig", None)
    if isinstance(original, sqlite3.Error):  # SQLite says "operational" also of our own mistakes: only busy counts
        return getattr(original, "sqlite_errorcode", 0) & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
    return isinstance(exc, OperationalError)  # PostgreSQL: its state (lock time-out, deadlock, connections, down)


async def database_error(request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After when the database is busy; any other fault is ours, logged whole, and a 500."""
    if _busy_database(exc):
        log.warning("503: database busy on %s %s: %s", request.method, request.url.path, str(exc).splitlines()[0])
        return busy("数据库忙")
    log.error("fault on %s %s", request.method, request.url.path, exc_info=exc)
    return _json(500, "医保中心内部错误，已记录；请稍后重试或联系中心")
