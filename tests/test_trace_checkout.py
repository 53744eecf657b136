"""药品追溯码 at checkout (issue 18, points 1 to 4): each counter rule refuses with its field and writes nothing.

Real SQLite desks copied from the demo template; the checkout is the one the window and the CLI use.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop_app.domain.errors import GongjiError, InputError
from desktop_app.domain.trace_code import read_trace_code
from desktop_app.services import checkout, partial_refund
from desktop_app.services.cart import Cart, CartLine
from desktop_app.services.demo import demo_product
from desktop_app.services.import_rows import catalogue_item
from desktop_app.services.verify import verify
from desktop_app.store import audit, catalogue
from desktop_app.store.db import connect
from tests.store_fixtures import DX, TODAY, copy_db

SUPERVISOR = checkout.Approval("admin", "admin123", "扫码设备故障")


@pytest.fixture
def db(templates, tmp_path):
    db = copy_db(templates, "guangxi", tmp_path / "desk.db")
    yield db
    db.conn.close()


def items(db, packs: int = 1, tied: bool = True, count: int = 1) -> list[str]:
    known = "IN" if tied else "NOT IN"
    return [
        r[0]
        for r in db.conn.execute(
            f"SELECT code FROM catalogue WHERE trac_required = 1 AND packs_per_unit = ? AND code {known} "
            "(SELECT item_code FROM trace_products) ORDER BY code LIMIT ?",
            (packs, count),
        )
    ]


def member(db) -> str:
    return db.conn.execute("SELECT psn_no FROM members ORDER BY psn_no LIMIT 1").fetchone()[0]


def code(item: str, n: int) -> str:
    return f"{demo_product(item)}55{n:011d}"


def case(db, *lines: dict) -> dict:
    return {"member": {"psn_no": member(db)}, "date": TODAY.isoformat(), "diagnoses": DX, "items": list(lines)}


def written(db) -> tuple[int, int]:
    return (
        db.conn.execute("SELECT count(*) FROM settlements").fetchone()[0],
        db.conn.execute("SELECT count(*) FROM trace_codes").fetchone()[0],
    )


def refused(db, data: dict, field: str, words: str, approval=None) -> None:
    before = written(db)
    with pytest.raises(InputError) as caught:
        checkout.confirm(db, data, "shouyin", today=TODAY, approval=approval)
    assert caught.value.field == field and words in str(caught.value)
    assert written(db) == before


def test_each_rule_refuses_with_its_field(db):
    (item,) = items(db)
    (other,) = items(db, tied=True, count=2)[1:]
    (plain,) = [r[0] for r in db.conn.execute("SELECT code FROM catalogue WHERE trac_required = 0 LIMIT 1")]
    twice = {"code": item, "quantity": 2, "trace_codes": [code(item, 1), code(item, 1)]}
    refused(db, case(db, twice), "items[0].trace_codes", "扫了两次")
    refused(
        db, case(db, {"code": item, "quantity": 1, "trace_codes": ["12345"]}), "items[0].trace_codes", "不是药品追溯码"
    )
    refused(db, case(db, {"code": plain, "trace_codes": [code(item, 2)]}), "items[0].trace_codes", "不实行追溯码管理")
    refused(
        db, case(db, {"code": other, "trace_codes": [code(item, 3)]}), "items[0].trace_codes", f"属于目录项目 {item}"
    )
    refused(
        db, case(db, {"code": item, "quantity": 3, "trace_codes": [code(item, 4)]}), "items[0].trace_codes", "应扫 3"
    )
    refused(
        db,
        case(db, {"code": item, "quantity": 3, "trace_codes": [code(item, 4)], "trace_waiver": "随便"}),
        "items[0].trace_waiver",
        "须为以下原因之一",
    )
    refused(
        db,
        case(db, {"code": item, "trace_codes": [code(item, 5)], "trace_waiver": "无码药品"}),
        "items[0].trace_waiver",
        "已扫齐",
    )
    expired = f"(01)06901234567892(17){(TODAY - dt.timedelta(days=1)):%y%m%d}(21)EXP1"
    refused(db, case(db, {"code": item, "trace_codes": [expired]}), "items[0].trace_codes", "已过有效期")
    # a short line with a reason from the list still needs the supervisor, at that moment
    with pytest.raises(GongjiError):
        checkout.confirm(
            db, case(db, {"code": item, "quantity": 2, "trace_waiver": "无码药品"}), "shouyin", today=TODAY
        )
    sold = checkout.confirm(db, case(db, {"code": item, "trace_codes": [code(item, 6)]}), "shouyin", today=TODAY)
    refused(db, case(db, {"code": item, "trace_codes": [code(item, 6)]}), "items[0].trace_codes", "未退费")
    checkout.refund(db, sold["uuid"], "admin", "admin123", reason="患者退药")
    assert checkout.confirm(db, case(db, {"code": item, "trace_codes": [code(item, 6)]}), "shouyin", today=TODAY)
    assert verify(db.conn) == []


def two_box_item(db) -> str:
    """A traced item sold by the 提 of two boxes, each box with its own code: added as an import would, audited."""
    (code_,) = items(db, tied=False)
    item = dataclasses.replace(catalogue.get(db.conn, code_), code="TP00001", barcode=None, unit="提", packs_per_unit=2)
    with db.conn:
        catalogue.upsert(db.conn, item)
        audit.record_state(db.conn, "2024-06-15T08:00:00+08:00", "admin", "import", "catalogue", {"rows": 1})
    return item.code


def test_a_unit_of_two_boxes_needs_two_codes_and_a_waiver_is_audited(db):
    pair = two_box_item(db)
    refused(
        db, case(db, {"code": pair, "quantity": 1, "trace_codes": [code(pair, 1)]}), "items[0].trace_codes", "应扫 2"
    )
    short = {"code": pair, "quantity": 2, "trace_codes": [code(pair, 2)], "trace_waiver": "无码药品"}
    out = checkout.confirm(db, case(db, short), "shouyin", today=TODAY, approval=SUPERVISOR)
    assert out["items"][0]["trac_cnt"] == "1/4" and out["items"][0]["trac_waiver"] == "无码药品"
    assert any("追溯码 1/4（无码药品）：主管 admin 授权" in w for w in out["warnings"])
    row = db.conn.execute("SELECT reason, supervisor, codes, packages FROM trace_waivers").fetchone()
    assert row == ("无码药品", "admin", 1, "4")


def test_the_codes_table_holds_a_code_once_until_its_refund_whatever_writes_it(db):
    (item,) = items(db)
    out = checkout.confirm(db, case(db, {"code": item, "trace_codes": [code(item, 1)]}), "shouyin", today=TODAY)
    with pytest.raises(sqlite3.IntegrityError):
        db.conn.execute(
            "INSERT INTO trace_codes (code, settlement_uuid, line_no, item_code, product) VALUES (?, ?, 0, ?, ?)",
            (code(item, 1), out["uuid"] + "x", item, demo_product(item)),
        )
    for sql in (
        "DELETE FROM trace_codes",
        "UPDATE trace_codes SET code = 'x'",
        "UPDATE trace_codes SET released_by = NULL",
    ):
        with pytest.raises(sqlite3.IntegrityError):
            db.conn.execute(sql)


def test_a_partial_refund_keeps_the_kept_lines_codes_sold(db):
    first, second = items(db, count=2)
    lines = [
        {"code": first, "quantity": 1, "trace_codes": [code(first, 1)]},
        {"code": second, "quantity": 2, "trace_codes": [code(second, 2), code(second, 3)]},
    ]
    out = checkout.confirm(db, case(db, *lines), "shouyin", today=TODAY)
    done = partial_refund.partial_refund(db, out["uuid"], [1], "admin", "admin123", "患者退药", today=TODAY)
    standing = db.conn.execute(
        "SELECT code, settlement_uuid FROM trace_codes WHERE released_by IS NULL AND settlement_uuid IN (?, ?)",
        (out["uuid"], done["settlement"]["uuid"]),
    ).fetchall()
    assert sorted(standing) == sorted((c, done["settlement"]["uuid"]) for c in (code(second, 2), code(second, 3)))
    assert verify(db.conn) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scans=st.lists(st.sampled_from(["a1", "a2", "b1", "a1", "x"]), max_size=8))
def test_the_cart_takes_each_box_once_and_its_quantity_follows(scans):
    """Whatever the order of scans, a code is in the cart at most once and a line's boxes match its quantity."""
    cart = Cart(psn_no="p")
    traced = CartLine("A", "甲药", "A", __import__("decimal").Decimal("5"), trac_required=True)
    boxes = {
        "a1": "8000001" + "1" * 13,
        "a2": "8000001" + "2" * 13,
        "b1": "8000001" + "3" * 13,
        "x": "8000001" + "4" * 13,
    }
    for name in scans:
        line = cart.traced_line_for("A") or CartLine("A", "甲药", "A", traced.unit_price, trac_required=True)
        try:
            cart.scan(read_trace_code(boxes[name]), line, None, TODAY)
        except InputError as exc:
            assert "已经扫过" in str(exc)
    codes = [c.code for line in cart.lines for c in line.codes]
    assert len(codes) == len(set(codes)) == len(set(scans))
    assert all(line.quantity == len(line.codes) for line in cart.lines)
    assert all(not line.short for line in cart.lines)


def test_the_catalogue_import_reads_the_tracing_columns(tmp_path):
    good, bad = catalogue_item(
        {
            "code": "T1",
            "name": "阿莫西林胶囊",
            "category": "A",
            "price": "12.00",
            "trac_required": "是",
            "packs_per_unit": "10",
        },
        2,
    )
    assert bad == [] and good.trac_required and good.packs_per_unit == 10
    item, bad = catalogue_item({"code": "T2", "name": "x", "category": "A", "price": "1", "packs_per_unit": "0"}, 3)
    assert item is None and bad[0].column == "包装数"
    db = connect(tmp_path / "new.db")
    assert {"trac_required", "packs_per_unit"} <= {r[1] for r in db.conn.execute("PRAGMA table_info(catalogue)")}
    db.conn.close()
