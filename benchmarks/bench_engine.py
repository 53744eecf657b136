"""The quote of a 20-item visit against its floor: a minimal Decimal split of the same case.

Paths: ``settle`` (the engine, with its explanation, on a parsed case and the rule version in force) and
``quote()`` (what the ``quote`` command and the window do: parse the case's JSON, find the rules, settle,
make the answer's dict).  Floor: the same 20 amounts split by hand in Decimal (fully self-paid, paid first,
in scope, the deductible, the fund at the same ratio within the same cap, rounded half up once): the
arithmetic any implementation must do.  Goal (issue 16): ≤ 50 µs and ≤ 4x the floor.
Run: ``make bench`` or ``.venv/bin/python benchmarks/bench_engine.py``.
"""

from __future__ import annotations

import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Figure, alternate, report  # noqa: E402

from desktop_app.domain.case import parse_case  # noqa: E402
from desktop_app.policy.engine import settle  # noqa: E402
from desktop_app.rule_files import load_region  # noqa: E402
from desktop_app.services.quote import quote  # noqa: E402

GOAL = 50e-6
CENT = Decimal("0.01")


def visit(region: str, date: str, **extra) -> dict:
    items = []
    for i in range(20):
        category = "ABC"[i % 3]
        item = {"code": f"X{i:03d}", "name": f"项目{i}", "amount": f"{10 + i * 3}.{i % 10}5", "category": category}
        if category == "B":
            item["selfpay_ratio"] = "0.10"
        if i % 7 == 0:
            item["programme"] = "hypertension"
        items.append(item)
    return {
        "region": region,
        "date": date,
        "facility": {"kind": "hospital", "level": 2, "id": "H001"},
        "member": {"status": "retired", "programmes": ["hypertension"], "designated_facility": "H001"},
        "usage": {"deductible_paid": "100.00", "pool_paid": "300.00"},
        "items": items,
        **extra,
    }


def floor_split(items: list[tuple[Decimal, str, Decimal]], deductible_left: Decimal, ratio: Decimal, cap: Decimal):
    """The least a quote must compute: each item's split (as the receipt lists it), the sums, the deductible and
    the fund within the cap, rounded half up once."""
    splits = []
    total = fully = first = Decimal(0)
    for amount, category, selfpay in items:
        own = amount if category == "C" else (amount * selfpay).quantize(CENT, ROUND_HALF_UP) if category == "B" else 0
        splits.append((amount, own if category == "C" else 0, own if category == "B" else 0, amount - own))
        total += amount
        if category == "C":
            fully += own
        else:
            first += own
    in_scope = total - fully - first
    deductible = min(deductible_left, in_scope)
    fund = min(((in_scope - deductible) * ratio).quantize(CENT, ROUND_HALF_UP), cap)
    return splits, total, fully, first, in_scope, deductible, fund, total - fund


def main() -> None:
    cases = {
        "guangxi": visit("guangxi", "2024-05-10"),
        "sichuan-provincial": visit("sichuan-provincial", "2024-05-10"),
        "yunfu": visit("yunfu", "2024-05-10", published={"avg_wage": {"2022": "90000.00"}}),
    }
    figures = []
    for label, data in cases.items():
        case = parse_case(data)
        rules = load_region(data["region"]).at(case.date)
        done = settle(case, rules)
        items = [(i.amount, i.category, i.selfpay_ratio) for i in case.items]
        ratio = done.fund_ratio or Decimal(0)
        cap = done.annual_cap if done.annual_cap is not None else Decimal("1e9")
        deductible = done.deductible_this_visit

        def least(items=items, deductible=deductible, ratio=ratio, cap=cap):
            return floor_split(items, deductible, ratio, cap)

        path, base = alternate(lambda case=case, rules=rules: settle(case, rules), least, number=500)
        figures.append(Figure(f"settle: {label}", path, base, "a Decimal split of the same items", GOAL))
        path, base = alternate(lambda data=data: quote(data), least, number=200)
        figures.append(Figure(f"quote(): {label}", path, base, "a Decimal split of the same items", GOAL))
    report("the quote of a 20-item visit (explained), per call", figures)


if __name__ == "__main__":
    main()
