"""``domain.frozen.quick_init``: a frozen dataclass made as fast as a plain one, and nothing else changed."""

from __future__ import annotations

import dataclasses
import inspect
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.domain.case import Item, new_item, parse_case
from desktop_app.domain.frozen import quick_init
from desktop_app.domain.settlement import ItemSplit, Settlement, new_split
from desktop_app.policy import engine
from desktop_app.rule_files import load_region


@dataclasses.dataclass(frozen=True)
class _Plain:
    code: str
    amount: Decimal
    ratio: Decimal = Decimal("0")
    note: str | None = None


@quick_init
@dataclasses.dataclass(frozen=True)
class _Quick:
    code: str
    amount: Decimal
    ratio: Decimal = Decimal("0")
    note: str | None = None


amounts = st.decimals(min_value=0, max_value=10**6, places=2)
values = st.tuples(st.text(max_size=5), st.decimals(allow_nan=False, places=2), st.decimals(allow_nan=False, places=2))


@given(values, st.booleans(), st.none() | st.text(max_size=3))
def test_the_same_fields_defaults_equality_and_hash_as_the_dataclass_makes(args, keywords, note):
    code, amount, ratio = args
    if keywords:
        plain, quick = _Plain(code=code, amount=amount), _Quick(code=code, amount=amount)
    else:
        plain, quick = _Plain(code, amount, ratio, note), _Quick(code, amount, ratio, note)
    assert dataclasses.astuple(plain) == dataclasses.astuple(quick)
    assert repr(plain).removeprefix("_Plain") == repr(quick).removeprefix("_Quick")
    assert quick == dataclasses.replace(quick) and hash(quick) == hash(dataclasses.replace(quick))


def test_still_frozen_and_still_strict_about_its_arguments():
    quick = _Quick("X", Decimal("1.00"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.code = "Y"
    with pytest.raises(TypeError):
        _Quick("X")  # a field without a default is still required
    with pytest.raises(TypeError):
        _Quick("X", Decimal(1), unknown=1)


def test_the_engines_values_use_it():
    assert Settlement.__init__.__qualname__ == "Settlement.__init__" and "d = self.__dict__" not in repr(Settlement)


@given(st.text(max_size=5), st.sampled_from("ABC"), amounts, st.none() | amounts, st.booleans())
def test_an_item_made_by_the_parsers_constructor_is_the_named_tuples_own(code, category, amount, cap, payable):
    """The parser makes a visit's items with ``new_item`` (the tuple's ``__new__``): the same value, type, fields
    and immutability as ``Item`` called with every field; called with four, the defaults are the parser's."""
    fields = (code, "项目", amount, category, Decimal("0.1"), None, Decimal("2"), amount, cap, "drug", payable)
    made = new_item(fields)
    assert len(fields) == len(Item._fields)
    assert type(made) is Item and made == Item(*fields) and hash(made) == hash(Item(*fields))
    assert (made.code, made.amount, made.price_cap, made.account_payable) == (code, amount, cap, payable)
    with pytest.raises(AttributeError):
        made.amount = Decimal("0")
    item = Item("X001", "阿莫西林", Decimal("9.90"), "A")
    assert (item.quantity, item.unit_price, item.item_kind, item.account_payable) == (Decimal("1"), None, "drug", True)
    assert (
        item
        == parse_case(
            {
                "region": "guangxi",
                "date": "2024-05-10",
                "facility": {"kind": "clinic", "level": 1},
                "member": {"status": "employed"},
                "items": [{"code": "X001", "name": "阿莫西林", "amount": "9.90", "category": "A"}],
            }
        ).items[0]
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: dataclasses.dataclass(type("Loose", (), {"__annotations__": {"a": "int"}})),
        lambda: dataclasses.dataclass(frozen=True)(
            type("Later", (), {"__annotations__": {"a": "int"}, "__post_init__": lambda self: None})
        ),
        lambda: dataclasses.dataclass(frozen=True)(
            type("Listed", (), {"__annotations__": {"a": "list"}, "a": dataclasses.field(default_factory=list)})
        ),
    ],
)
def test_refuses_a_class_whose_own_init_does_more(make):
    with pytest.raises(TypeError, match="quick_init"):
        quick_init(make())


@given(st.text(max_size=5), st.sampled_from("ABC"), amounts, amounts, st.none() | amounts)
def test_an_item_split_made_by_the_engines_constructor_is_the_named_tuples_own(code, category, amount, part, price):
    """The engine makes its splits with ``new_split`` (the tuple's ``__new__``): the same value, type, field names
    and immutability as calling ``ItemSplit`` with every field."""
    fields = (code, "项目", category, amount, part, part, amount - part, "ordinary", Decimal("2"), price)
    made = new_split(fields)
    assert len(fields) == len(ItemSplit._fields)  # the engine's call has every field: see the next test
    assert type(made) is ItemSplit and made == ItemSplit(*fields) and hash(made) == hash(ItemSplit(*fields))
    assert (made.code, made.amount, made.in_scope, made.unit_price) == (code, amount, amount - part, price)
    with pytest.raises(AttributeError):
        made.amount = Decimal("0")
    assert ItemSplit(code, "项目", category, amount, part, part, amount, "none").quantity == Decimal("1")


def test_the_engine_passes_a_settlements_fields_in_their_order():
    """``settle`` makes its Settlement positionally (see there), naming each field in a comment: the names are the
    dataclass's own, in its order."""
    source = inspect.getsource(engine.settle)
    call = source[source.index("return Settlement(") :]
    named = [re.match(r"\w+", comment).group(0) for comment in re.findall(r"#\s*(\w[^\n]*)", call)]
    assert named == [f.name for f in dataclasses.fields(Settlement)]


@given(st.lists(st.text(max_size=8), max_size=3), st.booleans())
def test_a_settlement_explained_further_is_the_one_replace_makes(lines, added_up):
    """``Settlement.explained_further`` (the payment's lines after the fund's) equals ``dataclasses.replace``,
    whether or not the fund total had been added up, and stays frozen."""
    case = parse_case(
        {
            "region": "guangxi",
            "date": "2024-05-10",
            "facility": {"kind": "clinic", "level": 1, "id": "C1"},
            "member": {"status": "employed", "designated_facility": "C1"},
            "items": [{"code": "X", "name": "项目", "amount": "120.50", "category": "B", "selfpay_ratio": "0.10"}],
        }
    )
    settled = engine.settle(case, load_region("guangxi").at(case.date))
    # The tuple's own __new__ takes any length: the parser's items and the engine's splits have every field.
    assert len(case.items[0]) == len(Item._fields) and len(settled.items[0]) == len(ItemSplit._fields)
    if added_up:
        assert settled.fund_total >= 0
    further = settled.explained_further(tuple(lines))
    assert further == dataclasses.replace(settled, explanation=(*settled.explanation, *lines))
    assert further.fund_total == settled.fund_total and further.explanation[: len(settled.explanation)] == (
        settled.explanation
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        further.total = Decimal("0")
