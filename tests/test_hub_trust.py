"""A desk's token must not move money: every attack pushed to the real hub, on SQLite and on PostgreSQL.

Each batch is [crafted record(s) …, an honest record].  After each push the hub is checked
from the outside:

* the honest record was applied, with exactly the figures its desk computed;
* each crafted record was set aside (or rejected) with a reason, or applied with the hub's
  own figures (those an honest desk computes for the same facts) and a review naming the gap;
* every balance and usage counter that moved, moved by exactly the stored figures of the
  rows applied in this batch, and nothing else did;
* every feed entry published since is for a member those rows touched, in the desk's region,
  and carries the hub's figures;
* ``hub check`` finds nothing wrong, and lists each set-aside and review.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import uuid as uuidlib
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import func, select

from desktop_app.domain.vocabulary import AMOUNTS, COUNTERS
from desktop_app.hub import checks, desks, importer, schema
from desktop_app.services import checkout
from desktop_app.store import config
from desktop_app.store.db import connect
from desktop_app.sync.outbox import unsent
from tests.hub_fixtures import Hub
from tests.store_fixtures import DX

FIGURES = (*AMOUNTS, *COUNTERS)
GUANGXI_B = {"kind": "community_health_centre", "level": 1, "id": "H45010300002"}


def now_iso(delta: dt.timedelta = dt.timedelta()) -> str:
    return (dt.datetime.now().astimezone() + delta).isoformat(timespec="seconds")


class Arena:
    """One hub (SQLite or PostgreSQL) seeded with Guangxi and Henan, and three honest desks."""

    def __init__(self, url: str, templates, folder) -> None:
        self.engine = schema.engine_for(url)
        for region in ("guangxi", "henan-city-draft"):
            importer.import_desk_database(self.engine, str(templates[region]))
        self.desks, self.tokens = {}, {}
        for name, region, facility in (
            ("A", "guangxi", None),
            ("B", "guangxi", GUANGXI_B),
            ("H", "henan-city-draft", None),
        ):
            shutil.copy(templates[region], folder / f"{name}.db")
            db = connect(folder / f"{name}.db")
            if facility:
                with db.conn:
                    config.put(db.conn, "facility.id", facility["id"])
            self.desks[name] = db
            own = config.facility(db.conn)
            self.tokens[name] = desks.register_desk(
                self.engine, f"desk-{name}", own.id, region, {k: v for k, v in vars(own).items() if v is not None}
            )
        self.hub = Hub(url, folder / "hub.log").start()
        self.used: set[str] = set()

    def close(self) -> None:
        self.hub.stop()
        self.engine.dispose()
        for db in self.desks.values():
            db.conn.close()

    # ------------------------------------------------------------------ honest records

    def fresh(self, desk: str = "A", where: str = "m.account_balance >= 20000") -> str:
        """A member no other test has touched (so the hub's and the desk's data agree on them)."""
        for (psn,) in self.desks[desk].conn.execute(
            f"SELECT m.psn_no FROM members m WHERE m.scheme = 'combined' AND {where} ORDER BY m.psn_no"
        ):
            if psn not in self.used:
                self.used.add(psn)
                return psn
        raise AssertionError("no fresh member left")

    def honest(self, desk: str = "A", psn: str | None = None, quantity: int = 2, payment: dict | None = None) -> dict:
        """A settlement as the desk makes it now, as the record it sends (a dict, to be tampered with)."""
        db = self.desks[desk]
        psn = psn or self.fresh(desk)
        code = db.conn.execute(
            "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 AND category = 'A' "
            "ORDER BY price DESC LIMIT 1"
        ).fetchone()[0]
        case = {"member": {"psn_no": psn}, "diagnoses": DX, "items": [{"code": code, "quantity": quantity}]}
        if payment:
            case["payment"] = payment
        out = checkout.confirm(db, case, "shouyin")
        return self.record_of(desk, out["uuid"])

    def honest_refund(self, desk: str, original: str) -> dict:
        out = checkout.refund(self.desks[desk], original, "admin", "admin123")
        return self.record_of(desk, out["uuid"])

    def record_of(self, desk: str, uuid: str) -> dict:
        [record] = [r for r in unsent(self.desks[desk].conn, 100_000) if r.uuid == uuid]
        with self.desks[desk].conn:
            self.desks[desk].conn.execute("UPDATE outbox SET sent_at = ? WHERE uuid = ?", (now_iso(), uuid))
        return record.model_dump()

    # ------------------------------------------------------------------ the hub, from outside

    def push(self, desk: str, records: list, desk_clock: str | None = None) -> list[dict]:
        response = httpx.post(
            f"{self.hub.url}/v1/push",
            timeout=60,
            json={"protocol": 1, "desk_clock": desk_clock or now_iso(), "records": records},
            headers={"Authorization": f"Bearer {self.tokens[desk]}"},
        )
        assert response.status_code == 200, response.text  # never a 500, never the whole batch refused
        return response.json()["results"]

    def state(self) -> State:
        with self.engine.connect() as conn:
            return State(
                balances=dict(conn.execute(select(schema.members.c.psn_no, schema.members.c.account_balance)).all()),
                usage={(r.psn_no, r.year, r.counter): r.amount for r in conn.execute(select(schema.usage))},
                seq=conn.execute(select(func.coalesce(func.max(schema.changes.c.seq), 0))).scalar_one(),
                rows={r.uuid: r._asdict() for r in conn.execute(select(schema.settlements))},
            )

    def feed_since(self, seq: int) -> list:
        with self.engine.connect() as conn:
            return conn.execute(
                select(schema.changes).where(schema.changes.c.seq > seq).order_by(schema.changes.c.seq)
            ).all()


@dataclass
class State:
    balances: dict
    usage: dict
    seq: int
    rows: dict = field(default_factory=dict)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def arena(request, templates, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"trust-{request.param}")
    url = (
        f"sqlite:///{folder / 'hub.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres").new_database()
    )
    a = Arena(url, templates, folder)
    yield a
    assert checks.check(a.engine) == []  # green after every attack
    a.close()


def figures(record: dict) -> dict:
    return {k: record[k] for k in FIGURES}


def run(arena: Arena, desk: str, records: list, expect: dict, desk_clock: str | None = None) -> list[dict]:
    """Push, then prove every expectation and that nothing moved but by the applied rows' own figures.

    ``expect`` maps a UUID (or the position in ``records``) to ("applied", figures, review) or
    ("set_aside", words the reason must contain).
    """
    before = arena.state()
    results = arena.push(desk, records, desk_clock)
    after = arena.state()
    assert len(results) == len(records)
    applied = set()
    for i, record in enumerate(records):
        key = record.get("uuid") if isinstance(record, dict) and record.get("uuid") in expect else i
        want, result = expect[key], results[i]
        if want[0] == "applied":
            _, hub_figures, review = want
            assert result["status"] == "applied", result
            assert figures(after.rows[result["uuid"]]) == hub_figures  # the hub's own computation, not the claim
            assert result["review"] == review, result
            if review:
                assert (
                    result["review_reason"] and after.rows[result["uuid"]]["review_reason"] == result["review_reason"]
                )
            if not result.get("duplicate"):
                applied.add(result["uuid"])
        else:
            assert result["status"] == "set_aside", result
            assert all(word in result["reason"] for word in want[1:]), result["reason"]
    new = {u: r for u, r in after.rows.items() if u not in before.rows}
    assert set(new) == applied
    balances, usage = dict(before.balances), dict(before.usage)
    for row in new.values():
        balances[row["psn_no"]] -= row["acct_pay"]
        if row["family_payer"]:
            balances[row["family_payer"]] -= row["acct_mulaid_pay"]
        for counter in COUNTERS:
            if row[counter]:
                k = (row["psn_no"], row["year"], counter)
                usage[k] = usage.get(k, 0) + row[counter]
    assert after.balances == balances
    assert after.usage == usage
    touched = {r["psn_no"] for r in new.values()} | {r["family_payer"] for r in new.values() if r["family_payer"]}
    region = "henan-city-draft" if desk == "H" else "guangxi"
    published_balance, published_usage = {}, {}
    for change in arena.feed_since(before.seq):
        data = json.loads(change.data)
        assert change.region == region and data["psn_no"] in touched, change
        assert change.kind in ("member", "usage"), change
        if change.kind == "member":
            published_balance[data["psn_no"]] = data["account_balance"]
        else:
            published_usage[(data["psn_no"], data["year"])] = data["counters"]
    assert published_balance == {p: after.balances[p] for p in published_balance}  # the last word is the hub's figure
    assert {p for p in balances if balances[p] != before.balances.get(p)} <= set(published_balance)
    for (psn, year), counters in published_usage.items():
        assert counters == {c: a for (p, y, c), a in after.usage.items() if (p, y) == (psn, year)}
    assert checks.check(arena.engine) == []
    listed = checks.for_review(arena.engine)
    for result in results:
        if result["status"] == "set_aside" and not result["reason"].startswith(("收款台", "记录无效")):
            assert any(s["uuid"] == result["uuid"] for s in listed["set_aside"]) or "其他收款台" in result["reason"]
        if result.get("review"):
            kind = "clawbacks" if result["review"] == "clawback" else "differences"
            assert any(r["uuid"] == result["uuid"] for r in listed[kind])
    return results


def honest_ok(record: dict) -> tuple:
    return ("applied", figures(record), None)


# --------------------------------------------------------------------------- the attacks, as the issue saw them


def test_an_empty_settlement_crediting_an_account_is_set_aside(arena):
    honest = arena.honest()
    victim = arena.fresh()
    attack = {
        **copy.deepcopy(honest),
        "uuid": str(uuidlib.uuid4()),
        "psn_no": victim,
        "items": [],
        "medfee_sumamt": 0,
        "hifp_pay": 0,
        "acct_pay": -500000,
        "psn_cash_pay": 500000,
        "deductible": 0,
        "pool": 0,
    }
    negative_usage = {**copy.deepcopy(honest), "uuid": str(uuidlib.uuid4()), "psn_no": victim, "pool": -100000}
    run(
        arena,
        "A",
        [attack, negative_usage, honest],
        {
            attack["uuid"]: ("set_aside", "acct_pay"),
            negative_usage["uuid"]: ("set_aside", "pool"),
            honest["uuid"]: honest_ok(honest),
        },
    )


def test_a_fund_payment_without_items_is_set_aside(arena):
    honest = arena.honest()
    attack = {
        **copy.deepcopy(honest),
        "uuid": str(uuidlib.uuid4()),
        "psn_no": arena.fresh(),
        "items": [],
        "medfee_sumamt": 100_000_000,
        "hifp_pay": 100_000_000,
        "acct_pay": 0,
        "acct_mulaid_pay": 0,
        "psn_cash_pay": 0,
    }
    run(arena, "A", [attack, honest], {attack["uuid"]: ("set_aside", "items"), honest["uuid"]: honest_ok(honest)})


def test_records_the_hub_cannot_recompute_are_set_aside_not_applied_as_no_difference(arena):
    honest = arena.honest()
    base = arena.honest()  # applied below only as crafted copies: its own UUID is never sent
    unknown = {**copy.deepcopy(base), "uuid": str(uuidlib.uuid4())}
    unknown["items"][0]["code"] = "NO-SUCH-CODE"
    nan = {**copy.deepcopy(base), "uuid": str(uuidlib.uuid4())}
    nan["items"][0]["quantity"] = "NaN"
    infinite = {**copy.deepcopy(base), "uuid": str(uuidlib.uuid4())}
    infinite["items"][0]["quantity"] = "Infinity"
    junk_date = {**copy.deepcopy(base), "uuid": str(uuidlib.uuid4()), "visit_date": "2026-13-45"}
    huge_price = {**copy.deepcopy(base), "uuid": str(uuidlib.uuid4())}
    huge_price["items"][0]["unit_price"] = "1e20"
    extra_field = {**copy.deepcopy(base), "uuid": str(uuidlib.uuid4()), "hifp_override": 1}
    run(
        arena,
        "A",
        [unknown, nan, infinite, junk_date, huge_price, extra_field, honest],
        {
            unknown["uuid"]: ("set_aside", "中心目录没有项目", "NO-SUCH-CODE"),
            nan["uuid"]: ("set_aside", "quantity"),
            infinite["uuid"]: ("set_aside", "quantity"),
            junk_date["uuid"]: ("set_aside", "visit_date"),
            huge_price["uuid"]: ("set_aside", "unit_price"),
            extra_field["uuid"]: ("set_aside", "hifp_override"),
            honest["uuid"]: honest_ok(honest),
        },
    )


def test_inflated_claims_are_applied_at_the_hubs_figures_and_reviewed(arena):
    honest = arena.honest()
    fund = arena.honest(payment={"use_account": False})  # computed honestly (cash > 0); then the claim is inflated
    inflated_fund = {
        **copy.deepcopy(fund),
        "hifp_pay": fund["hifp_pay"] + fund["psn_cash_pay"],
        "psn_cash_pay": 0,
        "pool": fund["pool"] + fund["psn_cash_pay"],
    }
    account = arena.honest(payment={"use_account": False})  # the payer chose cash; the claim says the account paid
    inflated_account = {**copy.deepcopy(account), "acct_pay": account["psn_cash_pay"], "psn_cash_pay": 0}
    total = arena.honest()
    wrong_total = {
        **copy.deepcopy(total),
        "medfee_sumamt": total["medfee_sumamt"] + 100,
        "psn_cash_pay": total["psn_cash_pay"] + 100,
    }
    results = run(
        arena,
        "A",
        [inflated_fund, inflated_account, wrong_total, honest],
        {
            fund["uuid"]: ("applied", figures(fund), "clawback"),
            account["uuid"]: ("applied", figures(account), "clawback"),
            total["uuid"]: ("applied", figures(total), "difference"),
            honest["uuid"]: honest_ok(honest),
        },
    )
    assert results[0]["review_amount"] == fund["psn_cash_pay"] and "统筹基金" in results[0]["review_reason"]


def test_a_desk_cannot_settle_another_regions_member_or_claim_another_region(arena):
    honest = arena.honest()
    henan_member = arena.fresh("H")
    other_member = {**copy.deepcopy(honest), "uuid": str(uuidlib.uuid4()), "psn_no": henan_member}
    other_region = {**copy.deepcopy(arena.honest()), "uuid": str(uuidlib.uuid4()), "region": "henan-city-draft"}
    other_facility = {**copy.deepcopy(arena.honest()), "uuid": str(uuidlib.uuid4()), "facility_id": "H45019900009"}
    run(
        arena,
        "A",
        [other_member, other_region, other_facility, honest],
        {
            other_member["uuid"]: ("set_aside", henan_member, "henan-city-draft"),
            other_region["uuid"]: ("set_aside", "只能上传本机构"),
            other_facility["uuid"]: ("set_aside", "只能上传本机构"),
            honest["uuid"]: honest_ok(honest),
        },
    )


def test_a_refund_is_only_the_same_facilitys_for_the_same_member_and_negates_the_hubs_figures(arena):
    original = arena.honest("A")
    run(arena, "A", [original], {original["uuid"]: honest_ok(original)})
    other = arena.fresh()
    theft = {**copy.deepcopy(arena.honest_refund("A", original["uuid"])), "uuid": str(uuidlib.uuid4())}
    from_b = {
        **copy.deepcopy(theft),
        "uuid": str(uuidlib.uuid4()),
        "psn_no": other,
        "acct_pay": -900000,
        "medfee_sumamt": theft["medfee_sumamt"] - 900000 - theft["acct_pay"],
    }
    from_b["facility_id"] = GUANGXI_B["id"]
    from_b["region"] = "guangxi"
    honest_b = arena.honest("B")
    run(
        arena,
        "B",
        [from_b, honest_b],
        {from_b["uuid"]: ("set_aside", "不是本机构"), honest_b["uuid"]: honest_ok(honest_b)},
    )
    another_member = {**copy.deepcopy(theft), "uuid": str(uuidlib.uuid4()), "psn_no": other}
    no_original = {**copy.deepcopy(theft), "uuid": str(uuidlib.uuid4()), "original_uuid": str(uuidlib.uuid4())}
    inflated = {**copy.deepcopy(theft), "uuid": str(uuidlib.uuid4()), **{k: theft[k] * 10 for k in FIGURES}}
    hub_refund = {k: -original[k] for k in FIGURES}
    honest = arena.honest()
    results = run(
        arena,
        "A",
        [another_member, no_original, inflated, honest],
        {
            another_member["uuid"]: ("set_aside", "参保人"),
            no_original["uuid"]: ("set_aside", "尚未入账"),
            inflated["uuid"]: ("applied", hub_refund, "difference"),
            honest["uuid"]: honest_ok(honest),
        },
    )
    assert "退费金额与中心原结算不符" in results[2]["review_reason"]
    refund_of_refund = {**copy.deepcopy(theft), "uuid": str(uuidlib.uuid4()), "original_uuid": inflated["uuid"]}
    again = {**copy.deepcopy(theft), "uuid": str(uuidlib.uuid4())}
    honest = arena.honest()
    run(
        arena,
        "A",
        [refund_of_refund, again, honest],
        {
            refund_of_refund["uuid"]: ("set_aside", "退费记录"),
            again["uuid"]: ("set_aside", "已有退费"),
            honest["uuid"]: honest_ok(honest),
        },
    )


def test_another_desks_refund_does_not_block_the_real_one(arena):
    original = arena.honest("A")
    run(arena, "A", [original], {original["uuid"]: honest_ok(original)})
    real = arena.honest_refund("A", original["uuid"])
    forged = {**copy.deepcopy(real), "uuid": str(uuidlib.uuid4()), "facility_id": GUANGXI_B["id"]}
    honest_b = arena.honest("B")
    run(
        arena,
        "B",
        [forged, honest_b],
        {forged["uuid"]: ("set_aside", "不是本机构"), honest_b["uuid"]: honest_ok(honest_b)},
    )
    run(arena, "A", [real], {real["uuid"]: ("applied", {k: -original[k] for k in FIGURES}, None)})


def test_a_family_payer_needs_a_relation_the_region_allows(arena):
    honest = arena.honest()
    stranger = arena.fresh()
    no_relation = {**copy.deepcopy(arena.honest()), "uuid": str(uuidlib.uuid4()), "family_payer": stranger}
    henan_payer = {**copy.deepcopy(arena.honest()), "uuid": str(uuidlib.uuid4()), "family_payer": arena.fresh("H")}
    run(
        arena,
        "A",
        [no_relation, henan_payer, honest],
        {
            no_relation["uuid"]: ("set_aside", "家庭共济范围"),
            henan_payer["uuid"]: ("set_aside", "共济"),
            honest["uuid"]: honest_ok(honest),
        },
    )
    assert (
        arena.state().balances[stranger]
        == arena.desks["A"]
        .conn.execute("SELECT account_balance FROM members WHERE psn_no = ?", (stranger,))
        .fetchone()[0]
    )


def test_huge_amounts_never_reach_the_counters(arena):
    honest = arena.honest()
    big = 2**62
    records = []
    for _ in range(2):
        r = {**copy.deepcopy(arena.honest()), "uuid": str(uuidlib.uuid4())}
        r.update(medfee_sumamt=big, hifp_pay=big, acct_pay=0, acct_mulaid_pay=0, psn_cash_pay=0, pool=big)
        records.append(r)
    run(
        arena,
        "A",
        [*records, honest],
        {
            records[0]["uuid"]: ("set_aside", "medfee_sumamt"),
            records[1]["uuid"]: ("set_aside", "medfee_sumamt"),
            honest["uuid"]: honest_ok(honest),
        },
    )
    with arena.engine.connect() as conn:
        assert max(conn.execute(select(schema.usage.c.amount)).scalars()) < 10**10


def test_a_visit_in_another_year_is_set_aside_for_review(arena):
    honest = arena.honest()
    base = arena.honest()
    future = {**copy.deepcopy(base), "uuid": str(uuidlib.uuid4()), "visit_date": "2099-06-01", "year": 2099}
    stamped = {
        **copy.deepcopy(base),
        "uuid": str(uuidlib.uuid4()),
        "visit_date": "2099-06-01",
        "year": 2099,
        "desk_created_at": "2099-06-01T10:00:00+08:00",
    }
    run(
        arena,
        "A",
        [future, stamped, honest],
        {
            future["uuid"]: ("set_aside", "需人工复核"),
            stamped["uuid"]: ("set_aside", "中心时间"),
            honest["uuid"]: honest_ok(honest),
        },
    )
    skewed_clock = {
        **copy.deepcopy(arena.honest()),
        "uuid": str(uuidlib.uuid4()),
        "visit_date": "2099-06-01",
        "year": 2099,
        "desk_created_at": "2099-06-01T10:00:00+08:00",
    }
    run(
        arena,
        "A",
        [skewed_clock],
        {skewed_clock["uuid"]: ("set_aside", "时钟偏差")},
        desk_clock=now_iso(dt.timedelta(days=365 * 73)),
    )


def test_one_bad_time_or_a_naive_clock_never_fails_the_batch(arena):
    honest = arena.honest()
    bad_time = {**copy.deepcopy(arena.honest()), "uuid": str(uuidlib.uuid4()), "desk_created_at": "yesterday"}
    naive_time = {
        **copy.deepcopy(arena.honest()),
        "uuid": str(uuidlib.uuid4()),
        "desk_created_at": "2026-01-01T10:00:00",
    }
    not_a_uuid = {**copy.deepcopy(arena.honest()), "uuid": "not-a-uuid"}
    not_a_record = ["not", "a", "record"]
    results = run(
        arena,
        "A",
        [bad_time, naive_time, not_a_uuid, not_a_record, honest],
        {
            bad_time["uuid"]: ("set_aside", "desk_created_at"),
            naive_time["uuid"]: ("set_aside", "desk_created_at"),
            2: ("set_aside", "uuid"),
            3: ("set_aside", "记录无效"),
            honest["uuid"]: honest_ok(honest),
        },
        desk_clock="2026-11-23T10:00:00",
    )  # naive: the skew is unknown, the records are judged by the hub's clock
    with arena.engine.connect() as conn:
        reasons = list(conn.execute(select(schema.rejected.c.reason)).scalars())
    assert any("uuid" in r for r in reasons) and results[2]["status"] == "set_aside"


def test_a_retry_is_answered_before_any_computation_and_only_to_its_desk(arena):
    honest = arena.honest()
    run(arena, "A", [honest], {honest["uuid"]: honest_ok(honest)})
    replay = {
        **copy.deepcopy(honest),
        "hifp_pay": honest["hifp_pay"] + 1000,
        "psn_cash_pay": honest["psn_cash_pay"] - 1000,
    }
    replay["items"][0]["code"] = "NO-SUCH-CODE"  # would be set aside if it were computed again
    stolen = copy.deepcopy(honest)
    stolen.update(facility_id=GUANGXI_B["id"])
    honest_b = arena.honest("B")
    results = run(arena, "A", [replay], {honest["uuid"]: honest_ok(honest)})
    assert results[0]["duplicate"]
    run(
        arena,
        "B",
        [stolen, honest_b],
        {honest["uuid"]: ("set_aside", "其他收款台"), honest_b["uuid"]: honest_ok(honest_b)},
    )
