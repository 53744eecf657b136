"""Changing this desk's settings and published figures: a supervisor's act, audited."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import sqlite_utils

from ..domain.case import parse_amount_field
from ..domain.clock import now_iso
from ..domain.errors import InputError
from ..store import audit, catalogue, config, operators
from ..store import settings as registry
from ..store.db import transaction


def change(db: sqlite_utils.Database, operator: str, password: str, changes: dict[str, str]) -> None:
    """Apply ``changes`` if ``operator`` is a supervisor; all or nothing, with an audit entry."""
    with transaction(db) as conn:
        operators.require_supervisor(conn, operator, password, "修改设置")
        for key, value in changes.items():
            config.put(conn, key, registry.setting(key, value).check(str(value)))
        shown = {k: ("******" if registry.REGISTRY[k].secret else v) for k, v in changes.items()}
        audit.record_state(conn, now_iso(), operator, "settings", ",".join(sorted(changes)), shown)


def parse_published(text: str) -> tuple[str, str, str, Decimal]:
    """``REGION/NAME/YEAR=VALUE`` (how the settings dialog and ``settings --publish`` take a published figure)."""
    key, sep, value = text.partition("=")
    parts = [part.strip() for part in key.strip().split("/")]
    if not sep or len(parts) != 3:
        raise InputError("公布数值", text, "应写成 地区/名称/年份=数值")
    return parts[0], parts[1], parts[2], parse_amount_field(value.strip(), f"published.{key.strip()}")


def publish(
    db: sqlite_utils.Database, operator: str, password: str, region: str, name: str, year: str, value: Decimal
) -> None:
    """Record a figure a document leaves to yearly publication (Yunfu's wage, Xi'an's figures)."""
    with transaction(db) as conn:
        operators.require_supervisor(conn, operator, password, "录入公布数值")
        if value < 0:
            raise InputError(f"published.{name}.{year}", str(value), "不能为负数")
        config.put_published(conn, region, name, year, value)
        audit.record_state(conn, now_iso(), operator, "publish", f"{region}/{name}/{year}", {"value": str(value)})


def import_catalogue(db: sqlite_utils.Database, operator: str, password: str, path: Path) -> int:
    """Import a catalogue CSV: every row parsed first, then one transaction, audited; a bad row writes nothing."""
    items = catalogue.read_csv(path)
    with transaction(db) as conn:
        operators.require_supervisor(conn, operator, password, "导入医保目录")
        count = catalogue.import_items(conn, items)
        audit.record_state(conn, now_iso(), operator, "catalogue-import", path.name, {"items": count})
    return count


def add_operator(
    db: sqlite_utils.Database, operator: str, password: str, name: str, role: str, new_password: str
) -> None:
    """A supervisor adds a cashier or another supervisor; audited, the password never logged."""
    with transaction(db) as conn:
        operators.require_supervisor(conn, operator, password, "新增操作员")
        if not name.strip():
            raise InputError("name", name, "操作员名不能为空")
        if operators.role_of(conn, name.strip()) is not None:
            raise InputError("name", name, "该操作员已存在")
        operators.add(conn, name.strip(), role, new_password, now_iso())
        audit.record_state(conn, now_iso(), operator, "operator-add", name.strip(), {"role": role})


def show(conn) -> dict[str, object]:
    """This desk's settings and published figures, for display."""
    values = registry.shown(conn)
    figures: dict[str, dict[str, dict[str, str]]] = {}
    for region, name, year, value in conn.execute(
        "SELECT region, name, year, value FROM published_figures ORDER BY region, name, year"
    ):
        figures.setdefault(region, {}).setdefault(name, {})[year] = value
    return {"settings": values, "published_figures": figures}
