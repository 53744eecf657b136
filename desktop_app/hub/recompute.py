"""The hub recomputes every settlement from its own member data, catalogue and rules: a desk is not trusted blindly."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..domain.case import Case, Member, Usage, parse_case, parse_visit
from ..domain.money import from_fen, to_fen
from ..policy.engine import settle
from ..resources import rules_dir
from ..store.rule_files import cached_region
from ..sync.protocol import SettlementRecord
from . import store

CAP_REASON = "多台收款台离线结算同一参保人，合计超过年度支付限额：超付部分待追回"


def recompute(conn: Connection, desk: store.Desk, record: SettlementRecord) -> tuple[str | None, int, str | None]:
    """(review, fund paid above (+) or below (−) the hub's figure, reason); (None, 0, None) when they agree."""
    if not record.items:
        return None, 0, None
    try:
        server_fund, cap_exhausted = _server_fund(conn, desk, record)
    except Exception as exc:  # noqa: BLE001 - recorded for review, the money has moved either way
        return "difference", 0, f"中心复核失败：{exc}"
    gap = record.hifp_pay - server_fund
    if gap > 0:
        return "clawback", gap, CAP_REASON if cap_exhausted else "中心复核的统筹支付低于收款台结果：超付部分待追回"
    if gap < 0:
        return "difference", gap, "中心复核的统筹支付高于收款台结果（如离线限额所致，应补付参保人）"
    return None, 0, None


def _server_fund(conn: Connection, desk: store.Desk, record: SettlementRecord) -> tuple[int, bool]:
    row = conn.execute(select(store.members.c.data).where(store.members.c.psn_no == record.psn_no)).first()
    member = json.loads(row.data)
    items = []
    for line in record.items:
        found = conn.execute(select(store.catalogue.c.data).where(store.catalogue.c.code == line.code)).first()
        if found is None:
            raise ValueError(f"中心目录没有项目 {line.code}")
        cat = json.loads(found.data)
        price = line.unit_price if line.unit_price is not None else str(from_fen(cat["price"]))
        item = {"code": cat["code"], "name": cat["name"], "category": cat["category"], "quantity": line.quantity,
                "unit_price": price, "programme": cat["programme"]}
        if cat["category"] == "B":
            item["selfpay_ratio"] = cat["selfpay_ratio"]
        if cat["price_cap"] is not None:
            item["price_cap"] = str(from_fen(cat["price_cap"]))
        items.append(item)
    probe = parse_case({"region": record.region, "date": record.visit_date, "facility": desk.facility,
                        "member": {"status": member["status"]}, "items": items})
    before = store.usage_before(conn, record.psn_no, record.year)
    figures: dict[str, dict[str, Decimal]] = {}
    for r in conn.execute(select(store.published).where(store.published.c.region == record.region)):
        figures.setdefault(r.name, {})[r.year] = Decimal(r.value)
    case = Case(region=record.region, date=dt.date.fromisoformat(record.visit_date), facility=probe.facility,
                member=Member(member["status"], member["scheme"], frozenset(member["programmes"]), False,
                              member.get("designated_facility")),
                items=probe.items,
                usage=Usage(from_fen(before.get("deductible", 0)), from_fen(before.get("pool", 0)),
                            {"hypertension": from_fen(before.get("programme_hypertension", 0)),
                             "diabetes": from_fen(before.get("programme_diabetes", 0))}),
                visit=parse_visit(record.visit or None), published=figures)
    result = settle(case, cached_region(record.region, str(rules_dir())).at(case.date))
    return to_fen(result.fund_total), result.cap_left_after is not None and result.cap_left_after == 0
