"""The wire protocol between a front desk and the central server (hub), shared by both sides.

Versioned: every request and response carries ``protocol``; the hub refuses a
version it does not speak.  Amounts travel as integer fen, never floats.
Boundary names follow the national platform (``medfee_sumamt``, ``hifp_pay`` …).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = 1
Fen = int


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PushItem(Model):
    code: str
    quantity: str
    unit_price: str | None = None


class SettlementRecord(Model):
    """One journal entry of a desk: a settlement or a refund (negative amounts), keyed by its UUID."""

    uuid: str = Field(min_length=36, max_length=36)
    kind: Literal["settlement", "refund"]
    original_uuid: str | None = None
    psn_no: str
    year: int
    visit_date: str
    region: str
    facility_id: str | None
    device: str
    operator: str
    desk_created_at: str
    medfee_sumamt: Fen
    hifp_pay: Fen
    acct_pay: Fen
    acct_mulaid_pay: Fen
    family_payer: str | None = None
    psn_cash_pay: Fen
    deductible: Fen
    pool: Fen
    programme_hypertension: Fen
    programme_diabetes: Fen
    items: list[PushItem] = []
    visit: dict[str, bool] = {}


class PushRequest(Model):
    protocol: int = PROTOCOL_VERSION
    desk_clock: str  # the desk's own clock when it sent this, ISO 8601 with offset
    records: list[SettlementRecord]


Status = Literal["applied", "set_aside"]


class PushResult(Model):
    uuid: str
    status: Status
    duplicate: bool = False  # a retry: this is the result recorded the first time
    reason: str | None = None  # why it was set aside
    server_seq: int | None = None  # the change that carries this entry's usage (for the desk's baseline)
    review: str | None = None  # "clawback" or "difference": the hub's recomputation disagreed
    review_amount: Fen = 0  # fund the desk paid above (+) or below (−) the hub's figure
    review_reason: str | None = None


class PushResponse(Model):
    protocol: int = PROTOCOL_VERSION
    server_time: str
    clock_skew_seconds: float  # desk clock − server clock
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
