"""The checkout service on real SQLite files: settle, pay, refund; bad input writes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from desktop_app.domain.errors import InputError
from desktop_app.domain.identity import check_digit
from desktop_app.services import checkout
from desktop_app.services.verify import verify
from desktop_app.store import journal, members
from desktop_app.store.operators import AuthError
from tests.store_fixtures import DX, TODAY, copy_db

DAY = TODAY.isoformat()


@pytest.fixture
def db(templates, tmp_path):
    return copy_db(templates, "guangxi", tmp_path / "desk.db")


def counts(db) -> tuple:
    c = db.conn
    return tuple(
        c.execute(f"SELECT count(*), coalesce(sum({col}), 0) FROM {table}").fetchone()
        for table, col in (
            ("settlements", "medfee_sumamt"),
            ("usage", "amount"),
            ("account_entries", "delta"),
            ("audit_log", "id"),
            ("outbox", "id"),
            ("prescriptions", "valid_days"),
        )
    )


def member_with(db, where: str) -> str:
    return db.conn.execute(f"SELECT psn_no FROM members WHERE {where} ORDER BY psn_no LIMIT 1").fetchone()[0]


def drug(db, category: str = "A") -> str:
    return db.conn.execute(
        "SELECT code FROM catalogue WHERE category = ? AND item_kind = 'drug' AND trac_required = 0 "
        "ORDER BY code LIMIT 1",
        (category,),
    ).fetchone()[0]


def case(psn_no: str, *lines: dict, **extra) -> dict:
    return {"member": {"psn_no": psn_no}, "diagnoses": DX, "date": DAY, "items": list(lines), **extra}


def test_settle_writes_everything_in_one_go(db):
    psn = member_with(db, "scheme = 'combined' AND account_balance > 50000")
    before = members.get(db.conn, psn)
    usage_before = journal.usage(db.conn, psn, TODAY.year)
    out = checkout.confirm(db, case(psn, {"code": drug(db), "quantity": 2}), "shouyin", today=TODAY)
    total = Decimal(out["medfee_sumamt"])
    assert (
        Decimal(out["hifp_pay"])
        + Decimal(out["acct_pay"])
        + Decimal(out["acct_mulaid_pay"])
        + Decimal(out["psn_cash_pay"])
        == total
    )
    assert Decimal(out["balc"]) == before.account_balance - Decimal(out["acct_pay"])
    assert members.get(db.conn, psn).account_balance == Decimal(out["balc"])
    after = journal.usage(db.conn, psn, TODAY.year)
    assert after.pool_paid == usage_before.pool_paid + Decimal(out["ordinary_pool_pay"])
    assert db.conn.execute("SELECT count(*) FROM outbox WHERE uuid = ?", (out["uuid"],)).fetchone()[0] == 1
    assert verify(db.conn) == []


def test_lookup_by_id_number_psn_no_and_name(db):
    record = members.get(db.conn, member_with(db, "1"))
    assert checkout.lookup(db.conn, record.certno) == [record]
    assert checkout.lookup(db.conn, record.psn_no) == [record]
    assert record in checkout.lookup(db.conn, record.name, limit=500)
    initials = members.name_initials(record.name)
    assert record in checkout.lookup(db.conn, initials.upper(), limit=500)


def test_a_bad_check_digit_is_refused_with_the_right_digit(db):
    certno = members.get(db.conn, member_with(db, "1")).certno
    wrong = certno[:17] + ("0" if certno[17] != "0" else "1")
    with pytest.raises(InputError) as info:
        checkout.lookup(db.conn, wrong)
    assert info.value.field == "certno" and f"应为 {check_digit(certno[:17])}" in str(info.value)


def test_items_no_account_may_pay_are_paid_in_cash(db):
    psn = member_with(db, "scheme = 'combined' AND account_balance > 50000")
    out = checkout.confirm(db, case(psn, {"code": "ZF000"}), "shouyin", today=TODAY)  # public-health vaccine
    assert out["acct_pay"] == "0.00" and out["psn_cash_pay"] == out["medfee_sumamt"]


def test_family_account_pays_what_the_own_account_cannot(db):
    # Spouses: the payer's account covers the rest once the member's own account is empty.
    owner, relative = db.conn.execute(
        "SELECT f.owner_psn_no, f.relative_psn_no FROM family_links f JOIN members o ON o.psn_no = f.owner_psn_no "
        "JOIN members r ON r.psn_no = f.relative_psn_no WHERE f.relation = 'spouse' AND o.account_balance > 100000 "
        "AND r.scheme = 'combined' ORDER BY r.account_balance LIMIT 1"
    ).fetchone()
    own = members.get(db.conn, relative).account_balance
    code, price = db.conn.execute(
        "SELECT code, price FROM catalogue WHERE category = 'A' AND item_kind = 'drug' AND trac_required = 0 "
        "ORDER BY price DESC LIMIT 1"
    ).fetchone()
    lines = [
        {"code": code, "quantity": int((own + Decimal("2000.00")) * 100 // price) + 1}
    ]  # more than the own account
    out = checkout.confirm(
        db, case(relative, *lines, payment={"use_account": True, "family_payer": owner}), "shouyin", today=TODAY
    )
    assert Decimal(out["acct_pay"]) == own
    assert Decimal(out["acct_mulaid_pay"]) > 0
    assert out["balc"] == "0.00" and out["family_payer"] == owner
    assert verify(db.conn) == []


def test_refund_reverses_everything_once(db):
    psn = member_with(db, "scheme = 'combined' AND account_balance > 50000")
    usage0, balance0 = journal.usage(db.conn, psn, TODAY.year), members.get(db.conn, psn).account_balance
    out = checkout.confirm(db, case(psn, {"code": drug(db), "quantity": 3}), "shouyin", today=TODAY)
    back = checkout.refund(db, out["uuid"], "admin", "admin123")
    assert back["kind"] == "refund" and back["original_uuid"] == out["uuid"]
    assert back["medfee_sumamt"] == "-" + out["medfee_sumamt"]
    assert journal.usage(db.conn, psn, TODAY.year) == usage0
    assert members.get(db.conn, psn).account_balance == balance0
    assert verify(db.conn) == []


def test_yearly_counters_reset_at_the_calendar_year(db):
    psn = member_with(db, "1")
    checkout.confirm(db, case(psn, {"code": drug(db)}), "shouyin", today=TODAY)
    nxt = case(psn, {"code": drug(db)})
    nxt["date"] = "2025-01-02"
    out = checkout.confirm(db, nxt, "shouyin", today=dt.date(2025, 1, 2))  # the desk's today is the visit's day
    assert journal.usage(db.conn, psn, 2025).deductible_paid == Decimal(out["act_pay_dedc"])
    assert out["usage_after"]["pool_paid"] == out["ordinary_pool_pay"]


# ------------------------------------------------------------- bad input: a clear error, nothing written


def bad_cases(db):
    psn = member_with(db, "scheme = 'combined'")
    good = {"code": drug(db), "quantity": 1}
    certno = members.get(db.conn, psn).certno
    stranger = member_with(
        db,
        f"psn_no NOT IN (SELECT owner_psn_no FROM family_links WHERE relative_psn_no = '{psn}') AND psn_no != '{psn}'",
    )
    return {
        "unknown member": (case("99999999999999999999", good), "member.psn_no"),
        "unknown ID number": (
            {"member": {"certno": "11010519491231002X"}, "diagnoses": DX, "date": DAY, "items": [good]},
            "member.certno",
        ),
        "bad ID number": (
            {
                "member": {"certno": certno[:17] + ("1" if certno[17] == "0" else "0")},
                "diagnoses": DX,
                "date": DAY,
                "items": [good],
            },
            "member.certno",
        ),
        "negative amount": (case(psn, {**good, "unit_price": "-3.00"}), "items[0].unit_price"),
        "non-numeric amount": (case(psn, {**good, "unit_price": "abc"}), "items[0].unit_price"),
        "zero quantity": (case(psn, {**good, "quantity": 0}), "items[0].quantity"),
        "unknown item": (case(psn, {"code": "NOPE-1"}), "items[0].code"),
        "category set by hand": (case(psn, {**good, "category": "A"}), "items[0]"),
        "family payer with no relation": (case(psn, good, payment={"family_payer": stranger}), "payment.family_payer"),
        "family payer is the member": (case(psn, good, payment={"family_payer": psn}), "payment.family_payer"),
    }


@pytest.mark.parametrize(
    "label",
    [
        "unknown member",
        "unknown ID number",
        "bad ID number",
        "negative amount",
        "non-numeric amount",
        "zero quantity",
        "unknown item",
        "category set by hand",
        "family payer with no relation",
        "family payer is the member",
    ],
)
def test_bad_checkout_writes_nothing(db, label):
    data, field = bad_cases(db)[label]
    before = counts(db)
    with pytest.raises(InputError) as info:
        checkout.confirm(db, data, "shouyin", today=TODAY)
    assert info.value.field == field, str(info.value)
    assert counts(db) == before


def test_family_payer_outside_the_regions_relations(templates, tmp_path):
    # Sichuan lists spouse, parents and children; not the spouse's parents (Guangxi does).
    db = copy_db(templates, "sichuan-provincial", tmp_path / "sc.db")
    owner, relative = db.conn.execute(
        "SELECT owner_psn_no, relative_psn_no FROM family_links WHERE relation = 'spouse_parent' LIMIT 1"
    ).fetchone()
    before = counts(db)
    with pytest.raises(InputError) as info:
        checkout.confirm(
            db, case(relative, {"code": drug(db)}, payment={"family_payer": owner}), "shouyin", today=TODAY
        )
    assert info.value.field == "payment.family_payer" and "第五条" in str(info.value)
    assert counts(db) == before


def test_guangxi_allows_the_spouses_parents(db):
    owner, relative = db.conn.execute(
        "SELECT owner_psn_no, relative_psn_no FROM family_links WHERE relation = 'spouse_parent' LIMIT 1"
    ).fetchone()
    out = checkout.confirm(
        db, case(relative, {"code": drug(db)}, payment={"family_payer": owner}), "shouyin", today=TODAY
    )
    assert out["family_payer"] == owner


def test_refund_of_a_refund_and_a_second_refund_write_nothing(db):
    psn = member_with(db, "1")
    out = checkout.confirm(db, case(psn, {"code": drug(db)}), "shouyin", today=TODAY)
    back = checkout.refund(db, out["uuid"], "admin", "admin123")
    before = counts(db)
    with pytest.raises(InputError, match="不能重复退费"):
        checkout.refund(db, out["uuid"], "admin", "admin123")
    with pytest.raises(InputError, match="退费记录"):
        checkout.refund(db, back["uuid"], "admin", "admin123")
    with pytest.raises(InputError, match="没有这笔结算"):
        checkout.refund(db, "00000000-0000-0000-0000-000000000000", "admin", "admin123")
    assert counts(db) == before


def test_refund_needs_a_supervisor(db):
    out = checkout.confirm(db, case(member_with(db, "1"), {"code": drug(db)}), "shouyin", today=TODAY)
    before = counts(db)
    with pytest.raises(AuthError, match="主管"):
        checkout.refund(db, out["uuid"], "shouyin", "123456")
    with pytest.raises(AuthError):
        checkout.refund(db, out["uuid"], "admin", "wrong-password")
    assert counts(db) == before


# ------------------------------------------------------------- pharmacy: 外配处方


@pytest.fixture
def pharmacy(templates, tmp_path):
    db = copy_db(templates, "sichuan-provincial", tmp_path / "pharmacy.db")
    for key, value in (("facility.kind", "pharmacy"), ("facility.level", ""), ("facility.id", "P51010500001")):
        db.conn.execute("UPDATE settings SET value = ? WHERE key = ?", (value, key))
    return db


RX = {
    "institution": "四川省人民医院",
    "doctor": "李医生",
    "issued": DAY,
    "number": "RX20240615001",
    "diagnosis": "原发性高血压",
}


def test_pharmacy_sale_with_a_prescription(pharmacy):
    psn = member_with(pharmacy, "1")
    out = checkout.confirm(pharmacy, case(psn, {"code": drug(pharmacy)}, prescription=RX), "shouyin", today=TODAY)
    assert out["pool_prop_selfpay"] in ("0.50", "0.60")
    row = pharmacy.conn.execute("SELECT number FROM prescriptions WHERE settlement_uuid = ?", (out["uuid"],)).fetchone()
    assert row == ("RX20240615001",)


@pytest.mark.parametrize(
    "rx, field, words",
    [
        (None, "prescription", "外配处方"),
        ({**RX, "doctor": ""}, "prescription.doctor", "缺少医师"),
        ({k: v for k, v in RX.items() if k != "diagnosis"}, "prescription.diagnosis", "缺少诊断"),
        ({**RX, "issued": (TODAY - dt.timedelta(days=1)).isoformat()}, "prescription.issued", "处方已过期"),
        (
            {**RX, "issued": (TODAY - dt.timedelta(days=3)).isoformat(), "valid_days": 3},
            "prescription.issued",
            "处方已过期",
        ),
        ({**RX, "valid_days": 7}, "prescription.valid_days", "1 至 3 天"),
        ({**RX, "issued": (TODAY + dt.timedelta(days=1)).isoformat()}, "prescription.issued", "晚于"),
    ],
)
def test_pharmacy_refuses_a_bad_prescription(pharmacy, rx, field, words):
    psn = member_with(pharmacy, "1")
    data = case(psn, {"code": drug(pharmacy)})
    if rx is not None:
        data["prescription"] = rx
    before = counts(pharmacy)
    with pytest.raises(InputError) as info:
        checkout.confirm(pharmacy, data, "shouyin", today=TODAY)
    assert info.value.field == field and words in str(info.value)
    assert counts(pharmacy) == before


def test_an_extended_prescription_is_valid_on_its_last_day(pharmacy):
    psn = member_with(pharmacy, "1")
    rx = {**RX, "issued": (TODAY - dt.timedelta(days=2)).isoformat(), "valid_days": 3}
    assert checkout.confirm(pharmacy, case(psn, {"code": drug(pharmacy)}, prescription=rx), "shouyin", today=TODAY)
