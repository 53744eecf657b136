"""The visit being built at the counter: the item box's text, change due, and the case it becomes."""

from decimal import Decimal

import pytest

from desktop_app.domain.errors import InputError
from desktop_app.services.cart import Cart, CartLine, change_due, parse_entry


@pytest.mark.parametrize(
    "text, expected",
    [
        ("XA00101", (Decimal("1"), "XA00101")),
        ("3*XA00101", (Decimal("3"), "XA00101")),
        ("XA00101*2", (Decimal("2"), "XA00101")),
        (" 0.5 * 阿莫西林 ", (Decimal("0.5"), "阿莫西林")),
    ],
)
def test_the_item_box(text, expected):
    assert parse_entry(text) == expected


@pytest.mark.parametrize(
    "text, field", [("0*XA00101", "数量"), ("-2*XA00101", "数量"), ("2*", "项目"), ("1.0001*XA", "数量")]
)
def test_a_bad_item_box_names_what_is_wrong(text, field):
    with pytest.raises(InputError) as info:
        parse_entry(text)
    assert info.value.field == field


def test_change_due():
    assert change_due(Decimal("12.30"), "") is None
    assert change_due(Decimal("12.30"), "20") == Decimal("7.70")
    for bad in ("10", "abc", "20.001", "-5"):
        with pytest.raises(InputError):
            change_due(Decimal("12.30"), bad)


def test_scanning_twice_adds_to_the_quantity_and_a_typed_fee_travels_with_the_case():
    cart = Cart(psn_no="P1")
    cart.add(CartLine("A", "甲药", "A", Decimal("10.00")))
    cart.add(CartLine("A", "甲药", "A", Decimal("10.00")))
    cart.add(CartLine("S", "诊查费", "A", Decimal("10.00")))
    cart.lines[1].unit_price = Decimal("15.00")
    case = cart.case()
    assert case["items"] == [{"code": "A", "quantity": "2"}, {"code": "S", "quantity": "1", "unit_price": "15.00"}]
    assert case["payment"] == {"use_account": True} and "visit" not in case
    cart.visit_kind, cart.family_payer = "emergency", "P2"
    case = cart.case()
    assert case["visit"] == {"emergency": True} and case["payment"]["family_payer"] == "P2"


def test_a_typed_price_whose_amount_is_not_whole_fen_is_refused_where_it_is_typed():
    cart = Cart(psn_no="P1")
    line = cart.add(CartLine("A", "甲药", "A", Decimal("10.00"), quantity=Decimal("0.5")))
    with pytest.raises(InputError, match="整分"):
        cart.set_price(line, Decimal("1.23"))  # 0.5 × 1.23 = 0.615
    assert line.unit_price == Decimal("10.00")  # unchanged
    cart.set_price(line, Decimal("1.24"))
    assert line.unit_price == Decimal("1.24") and cart.case()["items"][0]["unit_price"] == "1.24"
