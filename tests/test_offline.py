"""Offline limits: a desk with a hub that has not reached it pays the fund less, then nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from desktop_app.domain.errors import InputError
from desktop_app.services import checkout, settings
from desktop_app.services.verify import verify
from desktop_app.store import config
from tests.store_fixtures import DX, TODAY, copy_db


@pytest.fixture
def db(templates, tmp_path):
    return copy_db(templates, "guangxi", tmp_path / "desk.db")


def offline_for(db, hours: float | None) -> None:
    from desktop_app.services import settings

    settings.change(db, "admin", "admin123", {"sync.hub": "http://127.0.0.1:9"})  # as a supervisor sets it up
    with db.conn:  # what the last sync left (sync's own state, not a setting)
        if hours is None:
            db.conn.execute("DELETE FROM settings WHERE key = 'sync.last_ok'")
        else:
            when = dt.datetime.now().astimezone() - dt.timedelta(hours=hours)
            config.put(db.conn, "sync.last_ok", when.isoformat(timespec="seconds"))


def visit(db, psn: str) -> dict:
    code = db.conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 AND category = 'A' "
        "ORDER BY price DESC LIMIT 1"
    ).fetchone()[0]
    return checkout.confirm(
        db,
        {
            "member": {"psn_no": psn},
            "diagnoses": DX,
            "date": TODAY.isoformat(),
            "items": [{"code": code, "quantity": 12}],
        },
        "shouyin",
        today=TODAY,
    )


def fresh_member(db) -> str:
    """A member whose deductible is met and whose cap is far from used, so the fund would pay a lot."""
    return db.conn.execute(
        "SELECT m.psn_no FROM members m WHERE m.scheme = 'combined' AND NOT EXISTS "
        "(SELECT 1 FROM usage u WHERE u.psn_no = m.psn_no AND u.year = ? AND u.counter = 'pool') "
        "ORDER BY psn_no LIMIT 1",
        (TODAY.year,),
    ).fetchone()[0]


def test_an_offline_only_desk_has_no_limits(db):
    out = visit(db, fresh_member(db))
    assert Decimal(out["hifp_pay"]) > Decimal("200.00")


def test_within_the_grace_period_nothing_is_limited(db):
    offline_for(db, 0.05)
    assert Decimal(visit(db, fresh_member(db))["hifp_pay"]) > Decimal("200.00")


def test_per_visit_ceiling_and_per_member_allowance(db):
    offline_for(db, 2)
    psn = fresh_member(db)
    paid = [Decimal(visit(db, psn)["hifp_pay"]) for _ in range(4)]
    assert paid == [Decimal("200.00"), Decimal("200.00"), Decimal("100.00"), Decimal("0.00")]
    out = visit(db, psn)
    assert any("离线结算" in w for w in out["warnings"])
    note = next(i for i, line in enumerate(out["explanation"]) if "先行支付" in line)
    assert "现金支付" in out["explanation"][note + 1 :][-1]  # the cut comes before who pays the rest
    assert Decimal(out["hifp_pay"]) + Decimal(out["acct_pay"]) + Decimal(out["psn_cash_pay"]) == Decimal(
        out["medfee_sumamt"]
    )
    assert verify(db.conn) == []


def test_past_the_maximum_offline_age_the_fund_pays_nothing(db):
    offline_for(db, 100)
    assert visit(db, fresh_member(db))["hifp_pay"] == "0.00"
    offline_for(db, None)  # a hub, but never reached
    assert visit(db, fresh_member(db))["hifp_pay"] == "0.00"


def test_limits_are_settings_a_supervisor_changes(db):
    settings.change(db, "admin", "admin123", {"offline.per_visit_fund": "50", "offline.per_member_fund": "80"})
    offline_for(db, 2)
    psn = fresh_member(db)
    assert [visit(db, psn)["hifp_pay"] for _ in range(3)] == ["50.00", "30.00", "0.00"]
    with pytest.raises(InputError) as info:
        settings.change(db, "admin", "admin123", {"offline.max_hours": "-1"})
    assert info.value.field == "settings.offline.max_hours"
    assert settings.show(db.conn)["settings"].get("sync.token") is None
    settings.change(db, "admin", "admin123", {"sync.token": "secret-token"})
    assert settings.show(db.conn)["settings"]["sync.token"] == "已设置"
    assert "secret-token" not in str(db.conn.execute("SELECT detail FROM audit_log").fetchall())
