"""Test set-up shared by the suite: the golden-case collector, and Qt offscreen."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.golden_cases import collect_golden  # noqa: E402


def pytest_collect_file(parent, file_path):
    return collect_golden(parent, file_path)


# Session fixtures are defined here, once: a session fixture imported into two test modules would be two
# fixtures, and two PostgreSQL clusters would share (and delete) one folder.
from tests.hub_fixtures import hub_url, postgres  # noqa: E402,F401
from tests.store_fixtures import templates  # noqa: E402,F401  (a session fixture: the demo template files)


@pytest.fixture
def desk(templates, tmp_path, qtbot):  # noqa: F811 - templates is the session fixture imported above
    """The counter's window open on a copy of the guangxi demo desk: (window, the desk's database)."""
    from tests.store_fixtures import copy_db
    from tests.test_window import open_window

    db = copy_db(templates, "guangxi", tmp_path / "desk.db")
    window = open_window(qtbot, tmp_path / "desk.db")
    yield window, db
    window.shutdown()
    db.conn.close()
