"""An item of a case is parsed the quick way when it is a plain dict (what JSON gives), and the general way when it
is any other mapping: both must give the same item, or refuse with the same field path, value and message."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop_app.domain.case import Item, parse_case
from desktop_app.domain.errors import InputError

FIELD_VALUES = {
    "code": st.one_of(st.just("X001"), st.just("  Y2 "), st.just(""), st.integers(), st.none()),
    "name": st.one_of(st.just("阿莫西林"), st.just(" "), st.booleans(), st.none()),
    "category": st.one_of(st.sampled_from(["A", "B", "C", "D", ""]), st.booleans(), st.integers(0, 2), st.none()),
    "amount": st.one_of(
        st.sampled_from(["12.30", " 5 ", "0.001", "-1", "1e9", "NaN", "abc", "100000000.01"]),
        st.integers(-5, 10**9),
        st.floats(allow_nan=False),
        st.none(),
    ),
    "quantity": st.one_of(st.sampled_from(["2", "0.5", "0", "-1", "x"]), st.integers(-1, 3), st.floats(), st.none()),
    "unit_price": st.one_of(st.sampled_from(["6.15", "0.333", "-2"]), st.integers(0, 9), st.none()),
    "selfpay_ratio": st.one_of(st.sampled_from(["0.10", "0", "0.00", "1.5", "-0.1"]), st.integers(0, 1), st.none()),
    "programme": st.one_of(st.sampled_from(["hypertension", "diabetes", "asthma"]), st.booleans(), st.none()),
    "price_cap": st.one_of(st.sampled_from(["5.00", "0.005", "-1"]), st.none()),
    "item_kind": st.one_of(st.sampled_from(["drug", "service", ""]), st.integers(), st.none()),
    "account_payable": st.one_of(st.booleans(), st.integers(0, 1), st.none()),
    "unknown_key": st.just("?"),
}


@st.composite
def items(draw) -> dict:
    keys = draw(st.sets(st.sampled_from(sorted(FIELD_VALUES))))
    item = {key: draw(FIELD_VALUES[key]) for key in sorted(keys)}
    return {k: v for k, v in item.items() if v is not None or draw(st.booleans())}


def outcome(item) -> object:
    case = {
        "region": "guangxi",
        "date": "2024-05-10",
        "facility": {"kind": "clinic", "level": 1},
        "member": {"status": "employed"},
        "items": [{"code": "OK1", "name": "首项", "amount": "1.00", "category": "A"}, item],
    }
    try:
        return parse_case(case).items[1]
    except InputError as exc:
        return (exc.field, repr(exc.value), exc.reason)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(item=items())
def test_a_dict_and_any_other_mapping_give_the_same_item_or_the_same_refusal(item):
    quick, general = outcome(item), outcome(MappingProxyType(item))
    assert quick == general
    if not isinstance(quick, Item):  # a refusal (an Item is a named tuple too: tell them apart by type)
        assert quick[0] == "items[1]" or quick[0].startswith("items[1].")  # the second item, named by its path
