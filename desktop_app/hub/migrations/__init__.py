"""The hub's schema history: Alembic revisions run from code (no alembic.ini), frozen builds included.

``versions/`` holds one file per revision; ``0001`` is the schema as ``metadata.create_all`` made it
before revisions existed.  A hub database is in one of these states (:func:`state`):

* empty: every hub command creates it by upgrading to head (the same path as ``hub upgrade``);
* at head: the hub serves it;
* older (a known revision before head, or made by that old create_all: its tables and columns, no
  ``alembic_version``), or at a revision this program does not know: refused, saying what to run;
* anything else (another program's tables): refused, nothing written.

:func:`upgrade` (``desktop-app hub upgrade``) brings an older database to head in one transaction
under a lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so two processes
starting on one new database create it once.  A create_all database is stamped 0001 first.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url

from ...domain.errors import GongjiError

FOLDER = Path(__file__).resolve().parent  # frozen too: the spec ships env.py and versions/ beside this module
BASELINE = "0001"  # the schema create_all made before there were revisions
VERSION_TABLE = "alembic_version"
MIGRATION_LOCK = 72_41_2025  # PostgreSQL advisory-lock key: one upgrade at a time


class SchemaVersionError(GongjiError):
    """The hub's database is not at this program's revision (or is not a hub database); says what to run."""


@dataclass(frozen=True)
class State:
    """``kind`` is "empty", "create_all" (made before revisions), "revision" or "foreign"."""

    kind: str
    revision: str | None = None
    detail: str = ""

    def shown(self) -> str:
        return {"empty": "空库", "create_all": "create_all（无版本记录）"}.get(self.kind, str(self.revision))


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(FOLDER))


def head() -> str:
    """The newest revision this program knows."""
    return _scripts().get_current_head()


def known() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def _config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(FOLDER))
    config.attributes["connection"] = conn  # env.py runs every revision on it
    return config


@functools.cache
def baseline_columns() -> dict[str, set[str]]:
    """Each table of revision 0001 and its columns, as revision 0001 itself makes them (in memory)."""
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        command.upgrade(_config(conn), BASELINE)
        columns = _columns(conn)
    engine.dispose()
    columns.pop(VERSION_TABLE)
    return columns


def _columns(conn: Connection) -> dict[str, set[str]]:
    found = inspect(conn)
    return {table: {c["name"] for c in found.get_columns(table)} for table in found.get_table_names()}


def state(conn: Connection) -> State:
    """Which revision the database is at, read without writing anything."""
    tables = set(inspect(conn).get_table_names())
    if not tables:
        return State("empty")
    if VERSION_TABLE in tables:
        heads = MigrationContext.configure(conn).get_current_heads()
        return State("revision", ",".join(heads)) if heads else State("foreign", detail="版本记录为空")
    columns, baseline = _columns(conn), baseline_columns()
    differs = sorted(t for t in baseline.keys() | columns.keys() if columns.get(t) != baseline.get(t))
    if not differs:
        return State("create_all")
    return State("foreign", detail=f"表 {', '.join(differs[:8])} 与中心的表结构不符")


def shown_url(url: str) -> str:
    """The database as the user named it, its password (if any) hidden."""
    return make_url(url).render_as_string(hide_password=True) if "://" in url else url


def refusal(current: State, url: str) -> str:
    """What is wrong with the database at ``url`` and what to run."""
    where, run = shown_url(url), f"desktop-app hub upgrade --db {shown_url(url)}"
    if current.kind == "foreign":
        return f"{where} 不是本程序的中心数据库（{current.detail}）；请检查 --db，未写入任何数据"
    if current.kind == "revision" and current.revision not in known():
        return (
            f"中心数据库 {where} 的表结构版本 {current.revision} 本程序不认识（本程序最高 {head()}），"
            f"应是更新版本的程序升级过：请换用该版本或更新的程序（需要时运行 {run}）"
        )
    return f"中心数据库 {where} 的表结构版本为 {current.shown()}，本程序需要 {head()}：请先备份，再运行 {run}"


def require_head(engine: Engine, url: str) -> None:
    """Return when the database is at head; create an empty one at head; refuse any other (SchemaVersionError)."""
    with engine.connect() as conn:
        current = state(conn)
    if current == State("revision", head()):
        return
    if current.kind != "empty":
        raise SchemaVersionError(refusal(current, url))
    upgrade(engine, url, only_empty=True)


def upgrade(engine: Engine, url: str, only_empty: bool = False) -> dict:
    """Bring the database to head in one locked transaction; says from which revision.  At head: nothing to do."""
    with engine.connect() as conn:
        conn.info["writer"] = True  # schema.engine_for's SQLite engine begins a writer with BEGIN IMMEDIATE
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                before = state(conn)  # again, under the lock: another process may have been first
                at_head = before == State("revision", head())
                if before.kind == "foreign" or (before.kind == "revision" and before.revision not in known()):
                    raise SchemaVersionError(refusal(before, url))
                if only_empty and before.kind != "empty" and not at_head:
                    raise SchemaVersionError(refusal(before, url))
                if before.kind == "create_all":
                    command.stamp(_config(conn), BASELINE)
                command.upgrade(_config(conn), "head")
        finally:
            conn.info.pop("writer", None)
    return {"database": shown_url(url), "from": before.shown(), "to": head(), "upgraded": not at_head}
