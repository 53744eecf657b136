"""Settings and published figures change only by a supervisor, and leave an audit entry."""

from decimal import Decimal

import pytest

from desktop_app.domain.errors import InputError
from desktop_app.services import settings
from desktop_app.services.verify import verify
from desktop_app.store import config
from desktop_app.store.operators import AuthError
from tests.store_fixtures import copy_db


@pytest.fixture
def db(templates, tmp_path):
    return copy_db(templates, "guangxi", tmp_path / "desk.db")


def audit_rows(db):
    return db.conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]


def test_cashier_cannot_change_settings(db):
    before = (config.get(db.conn, "facility.level"), audit_rows(db))
    with pytest.raises(AuthError, match="主管"):
        settings.change(db, "shouyin", "123456", {"facility.level": "2"})
    assert (config.get(db.conn, "facility.level"), audit_rows(db)) == before


def test_supervisor_changes_settings_with_an_audit_entry(db):
    n = audit_rows(db)
    settings.change(db, "admin", "admin123", {"facility.level": "2"})
    assert config.get(db.conn, "facility.level") == "2"
    assert audit_rows(db) == n + 1 and verify(db.conn) == []


def test_unknown_setting_writes_nothing(db):
    n = audit_rows(db)
    with pytest.raises(InputError) as info:
        settings.change(db, "admin", "admin123", {"facility.level": "3", "device.id": "X"})
    assert info.value.field == "settings.device.id"
    assert config.get(db.conn, "facility.level") == "1" and audit_rows(db) == n


def test_publish_a_figure(db):
    settings.publish(db, "admin", "admin123", "yunfu", "avg_wage", "2022", Decimal("90000.00"))
    assert config.published(db.conn, "yunfu") == {"avg_wage": {"2022": Decimal("90000.00")}}
    with pytest.raises(AuthError):
        settings.publish(db, "shouyin", "123456", "yunfu", "avg_wage", "2023", Decimal("1"))
