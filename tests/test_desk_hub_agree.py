"""Desk and hub settle alike: every golden case, put into a desk's database and a hub's, gives the same figures.

Each golden case whose input is a settlement's facts is written as data on both sides: the
member (status, scheme, programmes, chosen institution, balance), a family payer and the
relation, the catalogue lines, the year's usage, an inpatient stay, the published figures
and the facility.  The desk settles it as at the counter (``checkout.build_quote``); the hub
settles the same facts as a pushed record (``recompute.hub_figures``).  Every amount and
usage counter must be equal, and where one side refuses, so must the other.

The offline cut is the desk's alone (the hub computes the full figure and records the gap for
reimbursement: ``tests/test_sync.py``), so a case's ``offline_fund`` is left out here.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from desktop_app.domain.case import parse_case
from desktop_app.domain.errors import GongjiError
from desktop_app.domain.money import to_fen
from desktop_app.hub import desks, importer, schema
from desktop_app.hub.recompute import Figures, Unsettleable, hub_figures
from desktop_app.policy.visit import journal_figures
from desktop_app.services import checkout
from desktop_app.store import config
from desktop_app.store.db import connect
from desktop_app.sync.protocol import SettlementRecord
from tests.golden_cases import GOLDEN_DIR, load_cases
from tests.store_fixtures import DX

CASES = [(path.stem, case) for path in sorted(GOLDEN_DIR.glob("*.yaml")) for case in load_cases(path)]


def settlement_facts(case: dict):
    """The parsed case when its input is a settlement's facts (not a malformed case file), else None."""
    try:
        return parse_case(case["input"])
    except GongjiError:
        return None


AGREED = [(f"{stem}: {c['name']}", c) for stem, c in CASES if settlement_facts(c) is not None]


def test_most_golden_cases_are_compared():
    assert len(AGREED) >= 110 and len(AGREED) >= 0.85 * len(CASES)  # 113 of 126 today; the rest are malformed files


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agree")
    desk = connect(folder / "desk.db")
    desk.file = folder / "desk.db"
    engine = schema.engine_for(f"sqlite:///{folder / 'hub.db'}")
    yield desk, engine, iter(range(1_000_000))
    desk.conn.close()
    engine.dispose()


PROGRAMME_DX = {"hypertension": "I10.x00", "diabetes": "E11.900"}


def write_case(desk, engine, n: int, case) -> tuple[str, dict, dict]:
    """The case as data on both sides; returns (psn_no, the desk's checkout input, the hub's record)."""
    psn, payer = f"G{n:07d}", None
    pay = case.payment
    facility = {k: v for k, v in vars(case.facility).items() if v is not None}
    member = {
        "psn_no": psn,
        "certno": f"CERT{n:014d}",
        "name": f"案例{n}",
        "sex": "1",
        "birth_date": "1970-01-01",
        "insutype": "310",
        "status": case.member.status,
        "status_since": None,
        "scheme": case.member.scheme,
        "region": case.region,
        "civil_servant": False,
        "programmes": sorted(case.member.programmes),
        "designated_facility": case.member.designated_facility,
    }
    balance = to_fen(pay.balance) if pay else 0
    conn = desk.conn
    with conn:
        config.put(conn, "region", case.region)
        for key in ("kind", "level", "grade", "tier", "id"):
            value = facility.get(key)
            config.put(conn, f"facility.{key}", "" if value is None else str(value))
        people = [(member, balance)]
        if pay and pay.family_payer:
            payer = f"{psn}F"
            people.append(
                (
                    {**member, "psn_no": payer, "certno": f"FAM{n:015d}", "name": pay.family_payer},
                    to_fen(pay.family_balance),
                )
            )
        for data, fen in people:
            conn.execute(
                f"INSERT INTO members ({', '.join(data)}, account_balance, name_initials, updated_at) "
                f"VALUES ({', '.join('?' * (len(data) + 3))})",
                [*(json.dumps(v) if k == "programmes" else v for k, v in data.items()), fen, "al", "now"],
            )
        if payer and pay.family_relation:
            conn.execute("INSERT INTO family_links VALUES (?, ?, ?)", (payer, psn, pay.family_relation))
        if case.member.inpatient:
            conn.execute("INSERT INTO inpatient_episodes VALUES (?, ?, NULL)", (psn, case.date.isoformat()))
        usage = {
            "deductible": case.usage.deductible_paid,
            "pool": case.usage.pool_paid,
            **{f"programme_{k}": v for k, v in case.usage.programme_paid.items()},
        }
        for counter, amount in usage.items():
            if amount:
                conn.execute("INSERT INTO usage VALUES (?, ?, ?, ?)", (psn, case.date.year, counter, to_fen(amount)))
        conn.execute("DELETE FROM published_figures")  # each case publishes its own figures, or none
        for name, years in case.published.items():
            for year, value in years.items():
                config.put_published(conn, case.region, name, year, value)
        lines = []
        for i, item in enumerate(case.items):
            code = f"{n}-{i}-{item.code}"[:60]
            price = item.unit_price if item.unit_price is not None else item.amount
            quantity = item.quantity if item.unit_price is not None else Decimal(1)
            conn.execute(
                "INSERT INTO catalogue (code, name, category, selfpay_ratio, price, price_cap, unit, programme, "
                "item_kind, account_payable, barcode) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    code,
                    item.name,
                    item.category,
                    str(item.selfpay_ratio),
                    to_fen(price),
                    None if item.price_cap is None else to_fen(item.price_cap),
                    "件",
                    item.programme,
                    item.item_kind,
                    int(item.account_payable),
                ),
            )
            lines.append({"code": code, "quantity": f"{quantity.normalize():f}", "unit_price": str(price)})
        # A clinic's visit always has a diagnosis: a case that states none is as if diagnosed as registered.
        diagnoses = list(case.diagnoses or [PROGRAMME_DX[p] for p in sorted(case.member.programmes)] + DX)
        for code in diagnoses:
            conn.execute("INSERT OR IGNORE INTO diagnoses VALUES (?, ?, '')", (code, f"诊断 {code}"))
    with schema.writing(engine) as hub:
        hub.execute(schema.published.delete())
    importer.import_desk_database(engine, str(desk.file))  # the hub's data: as a county seeds it, from the same export
    choices = {"use_account": pay.use_account, "family_payer": payer} if pay else None
    desk_input = {
        "member": {"psn_no": psn},
        "date": case.date.isoformat(),
        "diagnoses": diagnoses,
        "items": lines,
        "visit": {"emergency": case.visit.emergency, "referral": case.visit.referral},
    }
    if choices:
        desk_input["payment"] = choices
    if case.facility.kind == "pharmacy":  # the desk asks for the 外配处方; the hub settles the same sale
        desk_input["prescription"] = {
            "institution": "某医院",
            "doctor": "某医师",
            "issued": case.date.isoformat(),
            "number": f"RX{n}",
            "diagnosis": "某诊断",
        }
    record = {
        "uuid": f"00000000-0000-4000-8000-{n:012d}",
        "kind": "settlement",
        "psn_no": psn,
        "year": case.date.year,
        "visit_date": case.date.isoformat(),
        "region": case.region,
        "facility_id": facility.get("id"),
        "device": "agree",
        "operator": "agree",
        "desk_created_at": f"{case.date.isoformat()}T10:00:00+08:00",
        **dict.fromkeys(
            (
                "medfee_sumamt",
                "hifp_pay",
                "acct_pay",
                "acct_mulaid_pay",
                "psn_cash_pay",
                "deductible",
                "pool",
                "programme_hypertension",
                "programme_diabetes",
            ),
            0,
        ),
        "family_payer": payer,
        "use_account": pay.use_account if pay else True,
        "items": lines,
        "diseinfo": [{"diag_srt_no": i, "diag_code": c, "diag_name": f"诊断 {c}"} for i, c in enumerate(diagnoses, 1)],
        "visit": {"emergency": case.visit.emergency, "referral": case.visit.referral},
    }
    return psn, desk_input, record


def desk_figures(q) -> Figures:
    return Figures(**journal_figures(q.settlement, q.payment))


@pytest.mark.parametrize("name, case", AGREED, ids=[n for n, _ in AGREED])
def test_desk_and_hub_compute_identical_figures(sides, name, case):
    desk, engine, numbers = sides
    facts = settlement_facts(case)
    if facts.payment and facts.payment.offline_fund is not None:
        from dataclasses import replace

        facts = replace(facts, payment=replace(facts.payment, offline_fund=None))
    psn, desk_input, record = write_case(desk, engine, next(numbers), facts)
    try:
        at_desk = desk_figures(checkout.build_quote(desk.conn, desk_input, facts.date))
    except GongjiError as exc:
        at_desk = exc
    hub_desk = desks.Desk(
        "agree", facts.facility.id or "", facts.region, {k: v for k, v in vars(facts.facility).items() if v is not None}
    )
    try:
        with engine.connect() as conn:
            at_hub = hub_figures(conn, hub_desk, SettlementRecord.model_validate(record))
    except Unsettleable as exc:
        at_hub = exc
    if isinstance(at_desk, Exception) or isinstance(at_hub, Exception):
        assert isinstance(at_desk, Exception) and isinstance(at_hub, Exception), (at_desk, at_hub)
        assert "error" in case, f"both refused a case the golden file settles: {at_desk} / {at_hub}"
        return
    assert "error" not in case, f"the golden case expects a refusal, both sides settled: {at_desk}"
    assert at_hub.amounts() == at_desk.amounts()
    expect = case["expect"]
    if "hifp_pay" in expect and not (case["input"].get("payment") or {}).get("offline_fund"):
        assert at_hub.hifp_pay == to_fen(Decimal(expect["hifp_pay"]))  # and both are the golden figure
