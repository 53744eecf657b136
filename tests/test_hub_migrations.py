"""The hub's schema revisions (desktop_app/hub/migrations), on SQLite and on PostgreSQL alike.

* Head is what ``schema.metadata.create_all`` makes: the same tables, columns, keys, indexes and
  constraints, and Alembic's own comparison finds nothing to change.
* A hub database made as the hub made it before revisions (``create_all`` at every start), with a desk
  registered, members imported and settlements and a refund pushed by the hub's own code, is upgraded
  by ``hub upgrade``: every row intact, ``hub check`` clean, and the real hub serves it (the desk's
  retry is answered from the old journal).  Upgrading again changes nothing.
* The hub and every other hub command refuse a database at an older or unknown revision, naming
  ``desktop-app hub upgrade --db URL``, and write nothing; a new empty database is created at head.
* An upgrade that fails leaves the database as it was; one that succeeds moves an older revision on.
"""

from __future__ import annotations

import itertools
import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from desktop_app.cli import main
from desktop_app.domain.clock import now_iso
from desktop_app.hub import checks, desks, importer, migrations, push, schema
from desktop_app.services import checkout
from desktop_app.services.verify import verify
from desktop_app.store.db import connect
from desktop_app.sync.client import sync
from desktop_app.sync.outbox import unsent
from tests.hub_fixtures import Hub
from tests.store_fixtures import DX

FACILITY = {"kind": "community_health_centre", "level": 1, "id": "H45010300001"}


@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request, tmp_path):
    """Makes the URL of a new, empty hub database each call, on SQLite or on PostgreSQL."""
    if request.param == "sqlite":
        names = itertools.count()
        return lambda: f"sqlite:///{tmp_path / f'hub{next(names)}.db'}"
    return request.getfixturevalue("postgres").new_database


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def hub_cli(capsys):
    """``desktop-app hub ARGS`` as the command line runs it (``cli.main``, in this process: a new one costs seconds)."""

    def run(*args: str) -> Ran:
        capsys.readouterr()
        code = main(["hub", *args])
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


def made_by_create_all(url: str):
    """The engine and this version's tables as ``metadata.create_all`` makes them, with no version record."""
    engine = schema.engine_for(url, as_is=True)
    schema.metadata.create_all(engine)
    return engine


def made_by_old_code(url: str):
    """The engine and tables exactly as ``engine_for`` made them before revisions: create_all, no version record.

    That code's tables are revision 0001's: create_all of those of schema.metadata.  Later revisions only add
    tables (0002: the traceability codes' two), so each of 0001's is still as that code made it; the
    columns are checked against 0001 itself, so a revision that changes one of them fails here first.
    """
    engine = schema.engine_for(url, as_is=True)
    baseline = migrations.baseline_columns()
    tables = [schema.metadata.tables[name] for name in sorted(baseline)]
    assert {t.name: {c.name for c in t.columns} for t in tables} == baseline
    schema.metadata.create_all(engine, tables=tables)
    return engine


def describe(engine) -> dict:
    """Everything the schema is made of, as the database itself reports it (the version record left out)."""
    with engine.connect() as conn:
        found = inspect(conn)
        tables = sorted(set(found.get_table_names()) - {migrations.VERSION_TABLE})
        shape = {
            t: {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], c["default"], c.get("autoincrement"))
                    for c in found.get_columns(t)
                ],
                "key": found.get_pk_constraint(t),
                "indexes": sorted(found.get_indexes(t), key=lambda i: i["name"]),
                "unique": sorted(found.get_unique_constraints(t), key=lambda u: u["column_names"]),
                "foreign": found.get_foreign_keys(t),
                "checks": found.get_check_constraints(t),
            }
            for t in tables
        }
        if conn.dialect.name == "sqlite":  # the DDL itself, as SQLite keeps it
            rows = conn.execute(text("SELECT type, name, sql FROM sqlite_master WHERE tbl_name != 'alembic_version'"))
            shape["ddl"] = sorted((kind, name, " ".join((sql or "").split())) for kind, name, sql in rows)
        else:  # PostgreSQL's own definitions of every index, constraint and sequence
            shape["ddl"] = sorted(
                conn.execute(
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
                        " AND tablename != 'alembic_version'"
                        " UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                        " WHERE connamespace = 'public'::regnamespace AND conname != 'alembic_version_pkc'"
                        " UNION ALL SELECT sequencename, data_type::text FROM pg_sequences"
                    )
                ).all()
            )
    return shape


def contents(engine) -> dict[str, list[tuple]]:
    """Every row of every hub table the database has, in key order."""
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in schema.metadata.sorted_tables
            if t.name in present
        }


def kept(engine, rows: dict[str, list[tuple]]) -> bool:
    """The old tables hold the rows they held, and every table a later revision added is empty."""
    now = contents(engine)
    return {k: v for k, v in now.items() if k in rows} == rows and not any(v for k, v in now.items() if k not in rows)


def version_of(engine) -> str | None:
    with engine.connect() as conn:
        if migrations.VERSION_TABLE not in inspect(conn).get_table_names():
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def refused_with(result: Ran, url: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert f"desktop-app hub upgrade --db {url}" in line, line
    return line


# --------------------------------------------------------------------------- head is what create_all makes


def test_head_is_the_schema_create_all_makes(new_url, hub_cli):
    old, new = new_url(), new_url()
    by_create_all = made_by_create_all(old)
    done = hub_cli("upgrade", "--db", new)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"database": new, "from": "空库", "to": migrations.head(), "upgraded": True}
    migrated = schema.engine_for(new)
    try:
        assert describe(migrated) == describe(by_create_all)
        assert len(describe(migrated)) == len(schema.metadata.tables) + 1  # every table, and their DDL
        with migrated.connect() as conn:  # Alembic's own comparison: head needs nothing of schema.py's tables
            assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
        assert version_of(migrated) == migrations.head()
    finally:
        by_create_all.dispose()
        migrated.dispose()


# --------------------------------------------------------------------------- a hub of the old code, upgraded


class OldHub:
    """A hub database the old code made and filled: members imported, a desk registered, its settlements pushed.

    This version's push fills it (the old code is gone): for records without traceability codes it writes
    nothing in the tables later revisions added, which are then dropped, empty, leaving 0001's tables alone.
    """

    def __init__(self, url: str, templates, folder: Path) -> None:
        self.url, self.folder = url, folder
        engine = made_by_create_all(url)
        importer.import_desk_database(engine, str(templates["guangxi"]))
        self.token = desks.register_desk(engine, "desk-A", FACILITY["id"], "guangxi", FACILITY)
        shutil.copy(templates["guangxi"], folder / "A.db")
        self.desk = connect(folder / "A.db")
        members = [
            r[0]
            for r in self.desk.conn.execute(
                "SELECT psn_no FROM members WHERE scheme = 'combined' ORDER BY psn_no LIMIT 3"
            )
        ]
        code = self.desk.conn.execute(
            "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 AND category = 'A' "
            "ORDER BY price DESC LIMIT 1"
        ).fetchone()[0]
        settled = [
            checkout.confirm(
                self.desk,
                {"member": {"psn_no": p}, "diagnoses": DX, "items": [{"code": code, "quantity": 2}]},
                "shouyin",
            )
            for p in members
        ]
        checkout.refund(self.desk, settled[0]["uuid"], "admin", "admin123")
        self.records = unsent(self.desk.conn, 100)
        results = push.push(engine, desks.desk_for_token(engine, self.token), self.records, now_iso(), None)
        assert [r.status for r in results] == ["applied"] * 4
        assert checks.check(engine) == []
        later = [t for name, t in schema.metadata.tables.items() if name not in migrations.baseline_columns()]
        assert all(not rows for name, rows in contents(engine).items() if name in {t.name for t in later})
        schema.metadata.drop_all(engine, tables=later)
        self.rows = contents(engine)
        assert set(self.rows) == set(migrations.baseline_columns())
        engine.dispose()


def test_a_hub_made_by_create_all_is_upgraded_with_its_data(new_url, hub_cli, templates, tmp_path):
    old = OldHub(new_url(), templates, tmp_path)
    assert len(old.rows["settlements"]) == 4 and old.rows["desks"] and old.rows["members"] and old.rows["changes"]

    done = hub_cli("upgrade", "--db", old.url)
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said == {"database": old.url, "from": said["from"], "to": migrations.head(), "upgraded": True}
    assert said["from"].startswith("create_all")
    engine = schema.engine_for(old.url)  # at head: opened without complaint
    assert version_of(engine) == migrations.head()
    assert kept(engine, old.rows)

    checked = hub_cli("check", "--db", old.url)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["ok"] is True

    again = hub_cli("upgrade", "--db", old.url)  # idempotent: the same schema, the same rows
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {
        "database": old.url,
        "from": migrations.head(),
        "to": migrations.head(),
        "upgraded": False,
    }
    assert kept(engine, old.rows) and version_of(engine) == migrations.head()

    hub = Hub(old.url, tmp_path / "hub.log").start()  # the real hub serves it
    try:
        report = sync(old.desk, hub.url, old.token)  # the desk never heard back: its retry meets the old journal
    finally:
        hub.stop()
    assert (report.pushed, report.duplicates) == (4, 4)
    assert checks.check(engine) == [] and verify(old.desk.conn) == []
    with engine.connect() as conn:
        assert conn.execute(select(schema.settlements.c.uuid).order_by(schema.settlements.c.uuid)).scalars().all() == [
            r[0] for r in old.rows["settlements"]
        ]
    engine.dispose()
    old.desk.conn.close()


# --------------------------------------------------------------------------- refusals


def test_the_hub_refuses_a_database_of_the_old_code_until_upgraded(new_url, hub_cli, tmp_path):
    url = new_url()
    made_by_old_code(url).dispose()
    with pytest.raises(RuntimeError) as exited:
        Hub(url, tmp_path / "hub.log").start()
    assert f"desktop-app hub upgrade --db {url}" in str(exited.value)
    assert "create_all" in str(exited.value)
    for args in (
        ("check",),
        ("register-desk", "--desk", "d1", "--facility", "F1", "--region", "guangxi", "--kind", "pharmacy"),
        ("revoke-desk", "--desk", "d1"),
    ):
        refused_with(hub_cli(*args, "--db", url), url)
    with pytest.raises(migrations.SchemaVersionError, match="hub upgrade --db"):
        schema.engine_for(url)
    engine = schema.engine_for(url, as_is=True)
    assert version_of(engine) is None and contents(engine)["desks"] == []  # nothing written
    engine.dispose()


def test_the_hub_refuses_a_revision_it_does_not_know(new_url, hub_cli, tmp_path, templates):
    url = new_url()
    engine = schema.engine_for(url)  # new and empty: created at head
    assert version_of(engine) == migrations.head()
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    with pytest.raises(RuntimeError) as exited:
        Hub(url, tmp_path / "hub.log").start()
    assert f"desktop-app hub upgrade --db {url}" in str(exited.value) and "f00dfeed" in str(exited.value)
    for args in (("check",), ("import", "--from", str(templates["guangxi"])), ("upgrade",)):
        assert "f00dfeed" in refused_with(hub_cli(*args, "--db", url), url)
    assert version_of(engine) == "f00dfeed" and contents(engine)["members"] == []  # nothing written
    engine.dispose()


def test_another_programs_database_is_left_alone(hub_cli, tmp_path, templates):
    desk_file = tmp_path / "desk.db"
    shutil.copy(templates["guangxi"], desk_file)
    before = desk_file.read_bytes()
    for action in ("upgrade", "check"):
        result = hub_cli(action, "--db", str(desk_file))
        assert result.returncode == 2 and "不是本程序的中心数据库" in result.stderr, result.stderr
    assert desk_file.read_bytes() == before


def test_a_new_database_is_created_at_head_once_by_commands_starting_together(new_url, hub_cli):
    url = new_url()
    errors, engines = [], []

    def open_it() -> None:
        try:
            engines.append(schema.engine_for(url))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(engines) == 4
    registered = hub_cli(
        "register-desk", "--db", url, "--desk", "d1", "--facility", "F1", "--region", "guangxi", "--kind", "pharmacy"
    )
    assert registered.returncode == 0, registered.stderr
    assert version_of(engines[0]) == migrations.head() and len(contents(engines[0])["desks"]) == 1
    for engine in engines:
        engine.dispose()


# --------------------------------------------------------------------------- a later revision


NEXT = """
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("desks", sa.Column("note", sa.Text(), nullable=True))
    op.execute("UPDATE desks SET note = 'moved'")
    if {fail}:
        raise RuntimeError("revision {revision} failed half-way")
"""


@pytest.mark.parametrize("fails", [False, True], ids=["succeeds", "fails"])
def test_an_older_revision_is_refused_then_upgraded_whole_or_not_at_all(new_url, tmp_path, monkeypatch, fails):
    """A next revision, as a later version would ship it: the hub at head is refused, then upgraded in one piece."""
    url = new_url()
    engine = schema.engine_for(url)
    desks.register_desk(engine, "d1", "F1", "guangxi", {"kind": "pharmacy", "id": "F1"})
    now = migrations.head()
    nxt = f"{int(now) + 1:04d}"
    later = tmp_path / "later"
    shutil.copytree(migrations.FOLDER, later, ignore=shutil.ignore_patterns("__pycache__"))
    (later / "versions" / f"r{nxt}_note.py").write_text(
        NEXT.format(revision=nxt, down=now, fail=fails), encoding="utf-8"
    )
    monkeypatch.setattr(migrations, "FOLDER", later)
    migrations._scripts.cache_clear()
    try:
        assert migrations.head() == nxt
        with pytest.raises(migrations.SchemaVersionError) as refused:
            schema.engine_for(url)
        assert now in str(refused.value) and nxt in str(refused.value)
        assert f"desktop-app hub upgrade --db {url}" in str(refused.value)
        if fails:
            with pytest.raises(RuntimeError, match="half-way"):
                migrations.upgrade(engine, url)
            with engine.connect() as conn:  # rolled back whole: no column, the same revision
                assert "note" not in {c["name"] for c in inspect(conn).get_columns("desks")}
            assert version_of(engine) == now
        else:
            assert migrations.upgrade(engine, url)["from"] == now
            assert version_of(engine) == nxt
            with engine.connect() as conn:
                assert conn.execute(text("SELECT desk_id, note FROM desks")).all() == [("d1", "moved")]
            schema.engine_for(url).dispose()  # now at head
    finally:
        migrations._scripts.cache_clear()
        engine.dispose()
