"""The central server (hub): FastAPI under uvicorn.  OpenAPI at /openapi.json, docs at /docs."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine

from ..domain.clock import now_iso
from ..sync.protocol import (
    HUB_KEEP_ALIVE_SECONDS,
    HUB_WAIT_SECONDS,
    MAX_CURSOR,
    MAX_PAGE,
    PROTOCOL_VERSION,
    AuditChain,
    AuditHead,
    DeskInfo,
    PullResponse,
    PushBatch,
    PushResponse,
    ReconcileResponse,
    aware_time,
)
from . import desks, limits, pull
from . import push as hub_push
from .checkpoints import Checkpointer
from .desks import Desk
from .schema import WORKERS, engine_for

Cursor = Annotated[int, Query(ge=0, le=MAX_CURSOR, description="上次读到的变更号；超出变更表得空页")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"每页最多条数（≤ {MAX_PAGE}）")]


def create_app(url: str, wait: float = HUB_WAIT_SECONDS, workers: int = WORKERS) -> FastAPI:
    """The API on the database at ``url``: ``workers`` requests at once, each waiting at most ``wait`` s for its
    turn and again for a lock, else 503."""
    engine = engine_for(url, wait, background_checkpoints=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """The worker threads, and on SQLite the checkpoints' own thread (``checkpoints``)."""
        path = engine.url.database if engine.dialect.name == "sqlite" else None
        async with limits.threads(app):
            checkpointer = Checkpointer(path).start() if path and path != ":memory:" else None
            try:
                yield
            finally:
                if checkpointer is not None:
                    checkpointer.stop()

    app = FastAPI(
        title="共济前台 中心服务",
        version=f"protocol {PROTOCOL_VERSION}",
        description="收款台上传结算、下载参保人与目录变更、对账。每个收款台以自己的令牌访问。",
        lifespan=lifespan,
    )
    app.state.engine = engine
    limits.install(app, wait, workers)
    desk = _desk_by_token(engine)

    @app.get("/health")
    def health() -> dict:
        return {"ok": True, "protocol": PROTOCOL_VERSION, "server_time": now_iso()}

    @app.get("/v1/desk", response_model=DeskInfo)
    def who(d: Desk = Depends(desk)) -> DeskInfo:
        return DeskInfo(desk_id=d.desk_id, facility_id=d.facility_id, region=d.region, server_time=now_iso())

    @app.post("/v1/push", response_model=PushResponse, openapi_extra=_request_body(PushBatch))
    async def push(request: Request, d: Desk = Depends(desk)) -> Response:
        """A ``PushBatch``: each record is checked and settled on its own; a bad one is set aside with its reason.

        The body is read here as it came and parsed by the protocol's own models, in a worker thread
        (:func:`_push`): a push is the hub's bulk of work, and this spares a parse and a check of every record.
        """
        return await run_in_threadpool(_push, engine, await request.body(), d)

    @app.post("/v1/audit", response_model=AuditHead)
    def audit(chain: AuditChain, d: Desk = Depends(desk)) -> AuditHead:
        """The desk's audit chain since the head last seen: refused (409) unless it extends that head."""
        try:
            head = desks.extend_audit(engine, d, chain.links)
        except desks.AuditConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        return AuditHead(id=head, hash=chain.links[-1].hash)

    @app.get("/v1/audit", response_model=AuditHead)
    def audit_head(d: Desk = Depends(desk)) -> AuditHead:
        head = desks.audit_head(engine, d)
        return AuditHead(id=head[0], hash=head[1]) if head else AuditHead()

    @app.get("/v1/changes", response_model=PullResponse)
    def changes(cursor: Cursor = 0, limit: Limit = 1000, d: Desk = Depends(desk)) -> Response:
        """A page of the feed after ``cursor``, a ``PullResponse`` whose stored payloads are sent as stored,
        not parsed again; a cursor past the feed gets an empty page."""
        return Response(pull.page_json(engine, d, cursor, limit, now_iso()), media_type="application/json")

    @app.get("/v1/reconcile", response_model=ReconcileResponse)
    def reconcile(day: str = Query(pattern=r"^\d{4}-\d{2}-\d{2}$"), d: Desk = Depends(desk)) -> ReconcileResponse:
        return ReconcileResponse(server=pull.day_sums(engine, d, day))

    return app


def _push(engine: Engine, body: bytes, d: Desk) -> Response:
    """The push's work, in a worker thread: its answer as a ``PushResponse``'s JSON."""
    try:
        request = hub_push.read_batch(body)
    except ValidationError as exc:  # answered as FastAPI answers a body it refuses (limits.invalid)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    if request.protocol != PROTOCOL_VERSION:
        raise HTTPException(
            status_code=400, detail=f"协议版本 {request.protocol} 不受支持（中心为 {PROTOCOL_VERSION}）"
        )
    skew = _clock_skew(request.desk_clock)
    results = hub_push.push(engine, d, request.records, now_iso(), skew)
    answer = PushResponse(
        server_time=now_iso(), clock_skew_seconds=None if skew is None else round(skew, 1), results=results
    )
    return Response(answer.model_dump_json(), media_type="application/json")


def _request_body(model: type[BaseModel]) -> dict:
    """The OpenAPI description of a body a route reads itself."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


def _desk_by_token(engine: Engine) -> Callable[..., Desk]:
    """The dependency every /v1 route takes: the desk whose bearer token came with the request, else 401."""

    def desk(authorization: str = Header(default="")) -> Desk:
        token = authorization.removeprefix("Bearer ").strip()
        found = desks.desk_for_token(engine, token) if token else None
        if found is None:
            raise HTTPException(status_code=401, detail="令牌无效：请使用中心为本收款台登记的令牌")
        return found

    return desk


def _clock_skew(desk_clock: str) -> float | None:
    """The desk's clock minus ours, in seconds; None when it cannot be read.

    Then the year is judged by each record's own time against the hub's clock.
    """
    try:
        return (aware_time(desk_clock, "desk_clock") - dt.datetime.now(dt.UTC)).total_seconds()
    except ValueError:
        return None


def serve(url: str, host: str, port: int) -> None:
    import gc

    import uvicorn

    app = create_app(url)
    # What the hub loaded to start (the rules, SQLAlchemy's tables, FastAPI's routes) lives as long as it does:
    # moved out of the collector's sight, a push spends ~15% less CPU (0.42 → 0.35 ms a settlement, 2 cores;
    # benchmarks/bench_sync.py), because the full collections no longer walk it.
    gc.collect()
    gc.freeze()
    # A push makes and drops thousands of small objects a batch and keeps none in cycles: the young generation is
    # collected every 50,000 allocations instead of 700.  The same 20,000 records pushed in-process, four runs
    # each: median 0.320 -> 0.307 ms of CPU a settlement (within this machine's noise, in the direction expected).
    gc.set_threshold(50_000, 20, 100)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_keep_alive=HUB_KEEP_ALIVE_SECONDS)
