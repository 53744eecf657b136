"""Journal entries' UUIDs are version 7: time-ordered (each new entry goes at the end of the indexes keyed by it)."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.domain.journal_id import new_entry_uuid
from desktop_app.services import checkout
from desktop_app.sync.protocol import UUID
from tests.store_fixtures import DX, TODAY, copy_db

moments = st.integers(min_value=0, max_value=(1 << 48) - 1)


@given(moments)
def test_a_version_7_uuid_the_protocol_takes(ms):
    text = new_entry_uuid(ms)
    value = uuid.UUID(text)
    assert (value.version, value.variant) == (7, uuid.RFC_4122)
    assert re.fullmatch(UUID, text) and str(value) == text
    assert value.int >> 80 == ms


@given(moments, moments)
def test_a_later_millisecond_sorts_later(a, b):
    if a != b:
        assert (new_entry_uuid(a) < new_entry_uuid(b)) == (a < b)


def test_unique_within_one_millisecond():
    made = {new_entry_uuid(1_700_000_000_000) for _ in range(10_000)}
    assert len(made) == 10_000


@pytest.mark.parametrize("ms", [-1, 1 << 48])
def test_a_time_outside_48_bits_is_refused(ms):
    with pytest.raises(ValueError, match="48 bits"):
        new_entry_uuid(ms)


def test_settlements_and_refunds_carry_them_in_the_order_made(templates, tmp_path):
    db = copy_db(templates, "guangxi", tmp_path / "desk.db")
    psn = db.conn.execute("SELECT psn_no FROM members LIMIT 1").fetchone()[0]
    request = {"member": {"psn_no": psn}, "date": TODAY.isoformat(), "diagnoses": DX, "items": [{"code": "FW000"}]}
    first = checkout.confirm(db, request, "shouyin", today=TODAY)["uuid"]
    second = checkout.confirm(db, request, "shouyin", today=TODAY)["uuid"]
    back = checkout.refund(db, first, "admin", "admin123")["uuid"]
    assert [uuid.UUID(u).version for u in (first, second, back)] == [7, 7, 7]
    stamped = [uuid.UUID(u).int >> 80 for u in (first, second, back)]  # within one millisecond: any order
    assert stamped == sorted(stamped)
