"""How long the engine takes to settle a 20-item visit, against a baseline in the same run.

Baseline: parsing the same case into domain objects (the work any caller does first).
Run: ``make bench`` or ``.venv/bin/python benchmarks/bench_engine.py``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.domain.case import parse_case  # noqa: E402
from desktop_app.policy.engine import settle  # noqa: E402
from desktop_app.rule_files import load_region  # noqa: E402


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


def per_call(fn, rounds: int = 7, number: int = 2000) -> float:
    """Median seconds per call over ``rounds`` of ``number`` calls."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def main() -> None:
    cases = {
        "guangxi": visit("guangxi", "2024-05-10"),
        "sichuan-provincial (两病)": visit("sichuan-provincial", "2024-05-10"),
        "yunfu (published wage)": visit("yunfu", "2024-05-10", published={"avg_wage": {"2022": "90000.00"}}),
    }
    print(f"{'case':28} {'settle µs':>10} {'parse µs':>10} {'ratio':>7}")
    for label, data in cases.items():
        parsed = parse_case(data)
        rules = load_region(data["region"]).at(parsed.date)
        engine = per_call(lambda parsed=parsed, rules=rules: settle(parsed, rules))
        baseline = per_call(lambda data=data: parse_case(data))
        print(f"{label:28} {engine * 1e6:10.1f} {baseline * 1e6:10.1f} {engine / baseline:7.2f}")
    print(
        "settle: the engine on a parsed 20-item case and a resolved rule version; "
        "parse: validating the same case (baseline)."
    )


if __name__ == "__main__":
    main()
