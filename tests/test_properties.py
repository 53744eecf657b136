"""Invariants of the engine on random visits (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop_app.domain.case import parse_case
from desktop_app.domain.money import ZERO
from desktop_app.policy.payment import Accounts, PayerChoice
from desktop_app.policy.visit import settle_visit
from desktop_app.resources import rules_dir
from desktop_app.rule_files import cached_region
from desktop_app.services.quote import quote_case

PUBLISHED_XIAN = {
    "deductible_employed": "300.00",
    "deductible_retired": "200.00",
    "fund_share_level1_employed": "0.70",
    "fund_share_level1_retired": "0.75",
    "fund_share_level2_employed": "0.60",
    "fund_share_level2_retired": "0.65",
    "fund_share_level3_employed": "0.50",
    "fund_share_level3_retired": "0.55",
    "annual_cap_employed": "2000.00",
    "annual_cap_retired": "2500.00",
}

money = st.integers(min_value=0, max_value=300_000).map(lambda fen: f"{Decimal(fen) / 100:.2f}")
ratio = st.sampled_from(["0.05", "0.10", "0.15", "0.2", "0.333"])

item = st.fixed_dictionaries(
    {"code": st.just("X"), "name": st.just("项目"), "amount": money, "category": st.sampled_from(["A", "B", "C"])},
    optional={"programme": st.sampled_from(["hypertension", "diabetes"])},
)


@st.composite
def cases(draw):
    region = draw(st.sampled_from(["guangxi", "yunfu", "sichuan-provincial", "xian", "henan-city-draft"]))
    year = {"guangxi": 2024, "yunfu": 2024, "sichuan-provincial": 2024, "xian": 2024, "henan-city-draft": 2022}[region]
    date = f"{year}-{draw(st.integers(8, 12)):02d}-{draw(st.integers(1, 28)):02d}"
    kind = draw(
        st.sampled_from(["hospital", "township_health_centre", "community_health_centre", "clinic", "pharmacy"])
    )
    facility = {"kind": kind, "id": "H001"}
    if kind != "pharmacy":
        facility["level"] = draw(st.sampled_from([1, 2, 3]))
        facility["grade"] = draw(st.sampled_from(["A", "B"]))
        facility["tier"] = draw(st.sampled_from(["provincial", "city", "county"]))
    items = draw(st.lists(item, min_size=1, max_size=6))
    for it in items:
        if it["category"] == "B":
            it["selfpay_ratio"] = draw(ratio)
    member = {
        "status": draw(st.sampled_from(["employed", "retired"])),
        "scheme": draw(st.sampled_from(["combined", "pooling_only"])),
        "programmes": draw(st.lists(st.sampled_from(["hypertension", "diabetes"]), unique=True, max_size=2)),
        "inpatient": draw(st.booleans()),
        "designated_facility": draw(st.sampled_from(["H001", "H002"])),
    }
    usage = {
        "deductible_paid": draw(money),
        "pool_paid": draw(money),
        "programme_paid": {"hypertension": draw(money), "diabetes": draw(money)},
    }
    published = {"avg_wage": {"2022": "90000.00"}}
    published.update({k: {str(year): v} for k, v in PUBLISHED_XIAN.items()})
    return {
        "region": region,
        "date": date,
        "facility": facility,
        "member": member,
        "usage": usage,
        "visit": {"emergency": draw(st.booleans()), "referral": draw(st.booleans())},
        "published": published,
        "items": items,
    }


def settle(data):
    return quote_case(parse_case(data))


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cases())
def test_amounts_add_up_and_are_never_negative(data):
    s = settle(data)
    amounts = [
        s.total,
        s.fully_self_paid,
        s.self_pay_first,
        s.in_scope,
        s.deductible_this_visit,
        s.fund_ordinary,
        s.fund_total,
        s.member_share,
        *s.fund_by_programme.values(),
    ]
    assert all(a >= ZERO for a in amounts)
    assert all(a == a.quantize(Decimal("0.01")) for a in amounts)
    assert s.fund_total + s.member_share == s.total
    assert s.fully_self_paid + s.self_pay_first + s.in_scope == s.total
    assert s.fund_total <= s.in_scope
    assert s.deductible_this_visit + s.fund_ordinary <= s.in_scope


@SETTINGS
@given(cases())
def test_fund_never_exceeds_the_cap_left(data):
    s = settle(data)
    if s.annual_cap is not None:
        left = max(ZERO, s.annual_cap - Decimal(data["usage"]["pool_paid"]))
        assert s.fund_ordinary <= left
        assert s.cap_left_after >= ZERO


@SETTINGS
@given(cases(), money, money)
def test_more_fund_used_never_raises_the_fund_share(data, extra_pool, extra_programme):
    before = settle(data)
    data["usage"]["pool_paid"] = str(Decimal(data["usage"]["pool_paid"]) + Decimal(extra_pool))
    for name in ("hypertension", "diabetes"):
        data["usage"]["programme_paid"][name] = str(
            Decimal(data["usage"]["programme_paid"][name]) + Decimal(extra_programme)
        )
    after = settle(data)
    assert after.fund_total <= before.fund_total


@SETTINGS
@given(cases(), money)
def test_more_deductible_met_never_lowers_the_fund_share(data, extra):
    # The mirror image: the member who has met more of the deductible pays no more.
    before = settle(data)
    data["usage"]["deductible_paid"] = str(Decimal(data["usage"]["deductible_paid"]) + Decimal(extra))
    after = settle(data)
    assert after.fund_total >= before.fund_total
    assert after.deductible_this_visit <= before.deductible_this_visit


@SETTINGS
@given(cases(), money, st.booleans())
def test_the_figures_are_the_same_without_the_explanation(data, balance, use_account):
    # The hub settles with explain=False: it must store exactly what the desk, explaining, settled.
    case = parse_case(data)
    rules = cached_region(case.region, str(rules_dir())).at(case.date)
    accounts = Accounts("本人", case.member.scheme, Decimal(balance))
    args = (case, rules, case.items, accounts, PayerChoice(use_account))
    explained, bare = settle_visit(*args), settle_visit(*args, explain=False)
    assert explained.settlement.explanation and not bare.settlement.explanation
    assert not bare.payment.explanation
    assert bare.settlement == replace(explained.settlement, explanation=())
    assert bare.payment == replace(explained.payment, explanation=())
