"""The desk's HTTP client to the hub: the desk's token, the protocol's models, back-off while the hub is busy.

Any transport failure or refusal becomes a :class:`SyncError` whose message a cashier can act on.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import orjson

from ..domain.clock import now_iso
from ..domain.errors import GongjiError
from .protocol import (
    DESK_TIMEOUT_SECONDS,
    AuditChain,
    AuditHead,
    AuditLink,
    PullResponse,
    PushRequest,
    PushResponse,
    ReconcileResponse,
    SettlementRecord,
)

CONNECT_SECONDS = 10  # to reach the hub at all; an answer may take DESK_TIMEOUT_SECONDS (beyond the hub's worst)
BUSY = (429, 503)  # the hub asks the desk to come back later: it backs off and sends the same request again
ATTEMPTS = 6  # tries of one request at a busy hub, then the round stops (the outbox keeps what was not sent)
BACKOFF_SECONDS = 1.0  # the jitter's range: doubled at each retry, added to the wait the hub asks (Retry-After)
MAX_WAIT_SECONDS = 60.0  # a Retry-After above this is read as this


class SyncError(GongjiError):
    """The hub could not be reached or refused the desk; the message says which."""


@dataclass
class SyncReport:
    pushed: int = 0
    applied: int = 0
    duplicates: int = 0
    set_aside: list[dict] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    trace_duplicates: list[dict] = field(default_factory=list)  # codes the hub found sold before (回流药 suspected)
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
        """The hub's answer, parsed (by orjson: parsing was about 40% of applying a pull's pages with ``json``)."""
        return orjson.loads(self._answer(method, path, **kwargs).content)

    def _answer(self, method: str, path: str, **kwargs) -> httpx.Response:
        """The hub's answer, once it is not a refusal (each refusal is a :class:`SyncError` saying what to do)."""
        response = self._send(method, path, **kwargs)
        if response.status_code in BUSY:
            raise SyncError(f"医保中心繁忙（{response.status_code}），已尝试 {ATTEMPTS} 次：请稍后再同步")
        if response.status_code == 401:
            raise SyncError("医保中心拒绝了本收款台的令牌：请向中心核对收款台登记")
        if response.status_code == 409:  # the hub refuses this desk's audit chain: say its words
            raise SyncError(f"医保中心拒收：{response.json().get('detail', response.text[:300])}")
        if response.status_code >= 400:
            raise SyncError(f"医保中心返回 {response.status_code}：{response.text[:300]}")
        return response

    def push(self, records: list[SettlementRecord]) -> PushResponse:
        return self.push_encoded([r.model_dump_json() for r in records])

    def push_encoded(self, records: list[str]) -> PushResponse:
        """A push of records already in their JSON (each a ``SettlementRecord``'s), stamped with the desk's clock."""
        envelope = PushRequest(desk_clock=now_iso(), records=[]).model_dump_json()
        assert envelope.endswith('"records":[]}'), envelope  # the records' list is the request's last field
        body = f"{envelope[:-2]}{','.join(records)}]}}"
        answer = self._answer("POST", "/v1/push", content=body.encode(), headers={"Content-Type": "application/json"})
        return PushResponse.model_validate_json(answer.content)  # read straight from the JSON: the next push waits

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
        return PullResponse.model_validate(self.feed_page(cursor, limit))

    def feed_page(self, cursor: int, limit: int) -> dict:
        """A page of the change feed as the hub sent it (the JSON of a ``PullResponse``), not yet checked."""
        return self._call("GET", "/v1/changes", params={"cursor": cursor, "limit": limit})

    def reconcile(self, day: str) -> ReconcileResponse:
        return ReconcileResponse.model_validate(self._call("GET", "/v1/reconcile", params={"day": day}))

    def close(self) -> None:
        self.http.close()
