"""The wire protocol between a front desk and the central server (hub), shared by both sides.

Versioned: every request and response carries ``protocol``; the hub refuses a
version it does not speak.  Amounts travel as integer fen, never floats.
Boundary names follow the national platform (``medfee_sumamt``, ``hifp_pay`` …).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..domain.vocabulary import AMOUNTS, COUNTERS

PROTOCOL_VERSION = 1
Fen = int
MAX_FEN = 10_000_000_000  # 100,000,000.00 yuan: above any outpatient visit; a larger figure is refused
MAX_QUANTITY = Decimal(100_000)
MAX_ITEMS = 500
FIRST_YEAR, LAST_YEAR = 2000, 2100
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

# ---- Limits: every request is bounded.  The hub refuses more (413, naming the limit, echoing nothing); the desk
# ---- sends pages within them.
MAX_BODY_BYTES = 8 * 2**20  # one request's body; refused before it is parsed
MAX_BATCH = 2000  # records in one push (the desk also keeps each push's body within MAX_BODY_BYTES)
MAX_AUDIT_LINKS = 40_000  # audit links in one request: about 7 MB, within MAX_BODY_BYTES
MAX_PAGE = 5000  # changes in one pull page (the `limit` parameter)
MAX_CURSOR = 10**30  # a cursor past the feed (a 64-bit number) gets an empty page; a longer number is refused

# ---- Time: the hub's worst wait, and the desk's time-out beyond it.  A request waits at most HUB_WAIT_SECONDS for
# ---- one of the hub's workers, then at most HUB_WAIT_SECONDS for the write lock (SQLite's busy timeout,
# ---- PostgreSQL's lock_timeout; the pool holds a connection for every worker, so none waits for one); past either
# ---- it is answered 503 with Retry-After.  Then the hub works on one bounded batch: MAX_BATCH records at the
# ---- slowest rate measured (133/s, issue 15) take 15 s, and 30 s are allowed.
HUB_WAIT_SECONDS = 30
HUB_WORST_SECONDS = 2 * HUB_WAIT_SECONDS + 30  # 90 s: the longest the hub takes to answer one request
DESK_TIMEOUT_SECONDS = HUB_WORST_SECONDS + 30  # 120 s: so the desk never gives up on an answer that is on its way
RETRY_AFTER_SECONDS = 2  # what a 503 asks of the desk, which adds its own jitter and backs off further
# An idle connection is kept longer than a desk pauses between two requests of one round (its back-off, applying a
# page), so a desk never sends on a connection the hub is closing (a reset, not an answer).
HUB_KEEP_ALIVE_SECONDS = DESK_TIMEOUT_SECONDS


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _decimal(text: str, field: str, low: Decimal, high: Decimal) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{field} {text!r} 不是数字") from None
    if not value.is_finite() or not low <= value <= high:
        raise ValueError(f"{field} {text!r} 超出范围 {low}–{high}")
    return value


def aware_time(text: str, field: str) -> dt.datetime:
    """An ISO 8601 time with its offset (a naive time cannot be compared with the hub's clock)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"{field} {text!r} 不是 ISO 8601 时间") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} {text!r} 没有时区")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"{field} {text!r} 年份超出范围")
    return value


# A traceability code as stored: 20 digits (码上放心), or GS1's 01 + GTIN + 21 + serial (up to 20 characters).
TRACE_CODE = r"^(?:[0-9]{20}|01[0-9]{14}21[!-~]{1,20})$"
MAX_TRACE_CODES = 2000  # codes in one record (the desk's own bound on a visit)
MAX_DIAGNOSES = 10  # diagnoses on one visit


class TraceInfo(Model):
    """One package's code, as the platform's 3505 carries it (``drugtracinfo``)."""

    drug_trac_codg: str = Field(pattern=TRACE_CODE)


class DiseInfo(Model):
    """One of the visit's diagnoses, as the platform's 2203 carries them (``diseinfo``); code "" for a
    prescription's diagnosis that names none of the catalogue's."""

    diag_srt_no: int = Field(ge=1, le=MAX_DIAGNOSES)
    diag_code: str = Field(max_length=20, pattern=r"^(?:[A-Z][0-9]{2}[0-9A-Za-z.+]{0,16})?$")
    diag_name: str = Field(min_length=1, max_length=100)


_ZERO = Decimal(0)
MAX_PRICE = Decimal(MAX_FEN) / 100  # yuan


class PushItem(Model):
    code: str = Field(min_length=1, max_length=64)
    quantity: str = Field(min_length=1, max_length=24)
    unit_price: str | None = Field(default=None, max_length=24)
    drugtracinfo: list[TraceInfo] = Field(default=[], max_length=MAX_TRACE_CODES)

    @field_validator("quantity")
    @classmethod
    def _quantity(cls, v: str) -> str:
        if _decimal(v, "quantity", _ZERO, MAX_QUANTITY) == 0:
            raise ValueError("quantity 须大于 0")
        return v

    @field_validator("unit_price")
    @classmethod
    def _price(cls, v: str | None) -> str | None:
        if v is not None:
            _decimal(v, "unit_price", _ZERO, MAX_PRICE)
        return v


_FIGURES = (*AMOUNTS, *COUNTERS)


class SettlementRecord(Model):
    """One journal entry of a desk: a settlement or a refund, keyed by its UUID.

    The desk's facts (member, items, visit, the payer's choices, the time) are what the hub
    settles from.  Its amounts are claims: the hub computes its own and records any difference.
    A settlement's amounts are ≥ 0, a refund's ≤ 0, all within ``MAX_FEN``.
    """

    uuid: str = Field(pattern=UUID)
    kind: Literal["settlement", "refund"]
    original_uuid: str | None = Field(default=None, pattern=UUID)
    psn_no: str = Field(min_length=1, max_length=40)
    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)
    visit_date: str = Field(max_length=10)
    region: str = Field(max_length=64)
    facility_id: str | None = Field(default=None, max_length=64)
    device: str = Field(max_length=64)
    operator: str = Field(max_length=64)
    desk_created_at: str = Field(max_length=40)
    medfee_sumamt: Fen
    hifp_pay: Fen
    acct_pay: Fen
    acct_mulaid_pay: Fen
    family_payer: str | None = Field(default=None, max_length=40)
    use_account: bool = True
    psn_cash_pay: Fen
    deductible: Fen
    pool: Fen
    programme_hypertension: Fen
    programme_diabetes: Fen
    items: list[PushItem] = Field(default=[], max_length=MAX_ITEMS)
    visit: dict[str, bool] = Field(default={}, max_length=8)
    diseinfo: list[DiseInfo] = Field(default=[], max_length=MAX_DIAGNOSES)

    @field_validator("visit_date")
    @classmethod
    def _date(cls, v: str) -> str:
        try:
            day = dt.date.fromisoformat(v)
        except ValueError:
            raise ValueError(f"visit_date {v!r} 不是日期") from None
        if not FIRST_YEAR <= day.year <= LAST_YEAR or day.isoformat() != v:
            raise ValueError(f"visit_date {v!r} 超出范围")
        return v

    @field_validator("desk_created_at")
    @classmethod
    def _created(cls, v: str) -> str:
        aware_time(v, "desk_created_at")
        return v

    @model_validator(mode="after")
    def _signs_and_links(self) -> SettlementRecord:
        sign = 1 if self.kind == "settlement" else -1
        for name in _FIGURES:
            value = getattr(self, name) * sign
            if not 0 <= value <= MAX_FEN:
                raise ValueError(
                    f"{name} = {getattr(self, name)}：{'结算' if sign > 0 else '退费'}金额须在 "
                    f"{'0 – ' if sign > 0 else '−'}{MAX_FEN} 分之内"
                )
        if (self.kind == "refund") != (self.original_uuid is not None):
            raise ValueError("original_uuid：退费必须且只有退费才指明原结算")
        if self.kind == "settlement" and not self.items:
            raise ValueError("items：结算至少需要一个项目")
        if int(self.visit_date[:4]) != self.year:
            raise ValueError(f"year {self.year} 与 visit_date {self.visit_date} 不符")
        codes = self.trace_codes
        if len(codes) > MAX_TRACE_CODES:
            raise ValueError(f"drugtracinfo：一笔结算最多 {MAX_TRACE_CODES} 个追溯码")
        if len(set(codes)) != len(codes):
            raise ValueError("drugtracinfo：同一追溯码在一笔结算中出现两次")
        return self

    @property
    def diagnosis_codes(self) -> tuple[str, ...] | None:
        """The codes the hub settles with, as the desk did: None for a record without diagnoses (an older desk's)."""
        return tuple(d.diag_code for d in self.diseinfo if d.diag_code) if self.diseinfo else None

    @property
    def trace_codes(self) -> list[str]:
        """Every package's code the record sold, in line order."""
        return [t.drug_trac_codg for item in self.items for t in item.drugtracinfo]


HASH = r"^[0-9a-f]{64}$"


class AuditLink(Model):
    """One entry of the desk's hash-chained audit log, as the hub needs it to follow the chain."""

    id: int = Field(ge=1)
    prev_hash: str = Field(pattern=HASH)
    hash: str = Field(pattern=HASH)


class AuditChain(Model):
    """The desk's audit chain from the head the hub last acknowledged to the desk's head (at every sync)."""

    protocol: int = PROTOCOL_VERSION
    links: list[AuditLink] = Field(min_length=1, max_length=MAX_AUDIT_LINKS)


class AuditHead(Model):
    protocol: int = PROTOCOL_VERSION
    id: int | None = None  # the last entry the hub holds for this desk (None: none yet)
    hash: str | None = None


class PushRequest(Model):
    protocol: int = PROTOCOL_VERSION
    desk_clock: str = Field(max_length=40)  # the desk's own clock when it sent this, ISO 8601 with offset
    records: list[SettlementRecord] = Field(max_length=MAX_BATCH)


class PushBatch(Model):
    """What the hub reads: each record is checked on its own, so one bad record never fails the batch."""

    protocol: int
    desk_clock: str = Field(max_length=40)
    records: list[Any] = Field(max_length=MAX_BATCH)


class PushChecked(PushBatch):
    """A push whose every record passes the protocol: the hub reads it so, in one pass, before anything else."""

    records: list[SettlementRecord] = Field(max_length=MAX_BATCH)


def record_error(exc: Exception) -> str:
    """One line naming the field and the problem, from a pydantic error."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "record"
        value = repr(first.get("input"))[:60]
        return f"{where} = {value}：{first.get('msg', '')}"
    return str(exc)


Status = Literal["applied", "set_aside"]


class TraceDuplicate(Model):
    """A code this record sold while an earlier sale of it stands at the hub (suspected 回流药): for review."""

    drug_trac_codg: str
    first_uuid: str
    first_desk: str
    first_sold_at: str


class PushResult(Model):
    uuid: str
    status: Status
    duplicate: bool = False  # a retry: this is the result recorded the first time
    reason: str | None = None  # why it was set aside
    server_seq: int | None = None  # the change that carries this entry's usage (for the desk's baseline)
    review: str | None = None  # "clawback" or "difference": the hub's figures differ from the desk's claim
    review_amount: Fen = 0  # hub cash − desk cash: the member still owes (+, to recover) or is owed (−, to reimburse)
    review_reason: str | None = None
    trace_duplicates: list[TraceDuplicate] = []  # codes sold before, elsewhere or here, and not refunded


class PushResponse(Model):
    protocol: int = PROTOCOL_VERSION
    server_time: str
    clock_skew_seconds: float | None  # desk clock − server clock; None when the desk's clock could not be read
    results: list[PushResult]


class Change(Model):
    seq: int
    kind: Literal["member", "family_link", "catalogue_item", "published_figure", "usage", "rules"]
    key: str
    data: dict


class PullResponse(Model):
    protocol: int = PROTOCOL_VERSION
    server_time: str
    changes: list[Change]
    next_cursor: int
    more: bool


class DaySums(Model):
    """对账 (like the platform's 3201): one day's count and sums for one desk."""

    day: str
    count: int
    medfee_sumamt: Fen
    hifp_pay: Fen
    acct_pay: Fen
    acct_mulaid_pay: Fen
    psn_cash_pay: Fen
    uuids: list[str] = []


class ReconcileResponse(Model):
    protocol: int = PROTOCOL_VERSION
    server: DaySums


class DeskInfo(Model):
    protocol: int = PROTOCOL_VERSION
    desk_id: str
    facility_id: str
    region: str
    server_time: str
