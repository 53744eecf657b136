"""Changing this desk's settings and published figures: a supervisor's act, audited."""

from __future__ import annotations

from dataclasses import dataclass
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
        if operators.exists(conn, name.strip()):
            raise InputError("name", name, "该操作员已存在（已停用的可在后台重新启用，或换一个名字）")
        operators.add(conn, name.strip(), role, new_password, now_iso())
        audit.record_state(conn, now_iso(), operator, "operator-add", name.strip(), {"role": role})


# ---------------------------------------------------------------- the back office's operator acts


@dataclass(frozen=True)
class OperatorRow:
    """One operator as the back office lists them."""

    name: str
    role: str
    disabled: bool
    created_at: str

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)


ROLE_NAMES = {"cashier": "收款员", "supervisor": "主管"}


def operator_rows(conn) -> list[OperatorRow]:
    return [OperatorRow(*row) for row in operators.listing(conn)]


def same_password(new_password: str, again: str) -> None:
    if new_password != again:
        raise InputError("确认密码", "******", "两次输入的密码不一致，请重新输入")


def _known(conn, name: str) -> str:
    name = name.strip()
    if not name or not operators.exists(conn, name):
        raise InputError("操作员", name, "没有这个操作员，请在列表中选择")
    return name


def set_operator_disabled(db: sqlite_utils.Database, operator: str, password: str, name: str, disabled: bool) -> None:
    """Disable (or enable again) an operator: a disabled one can neither sign in nor settle.  Audited."""
    act = "停用操作员" if disabled else "启用操作员"
    with transaction(db) as conn:
        operators.require_supervisor(conn, operator, password, act)
        name = _known(conn, name)
        if disabled and name == operator:
            raise InputError("操作员", name, "不能停用自己；请由另一位主管停用")
        operators.set_disabled(conn, name, disabled)
        if operators.active_supervisors(conn) == 0:
            raise InputError("操作员", name, "至少须保留一位启用的主管")
        audit.record_state(conn, now_iso(), operator, "operator-disable" if disabled else "operator-enable", name, {})


def reset_password(db: sqlite_utils.Database, operator: str, password: str, name: str, new_password: str) -> None:
    """A supervisor sets a new password for an operator who forgot theirs; audited, the password never logged."""
    with transaction(db) as conn:
        operators.require_supervisor(conn, operator, password, "重置密码")
        name = _known(conn, name)
        operators.set_password(conn, name, new_password)
        audit.record_state(conn, now_iso(), operator, "operator-reset", name, {})


def show(conn) -> dict[str, object]:
    """This desk's settings and published figures, for display."""
    values = registry.shown(conn)
    figures: dict[str, dict[str, dict[str, str]]] = {}
    for region, name, year, value in conn.execute(
        "SELECT region, name, year, value FROM published_figures ORDER BY region, name, year"
    ):
        figures.setdefault(region, {}).setdefault(name, {})[year] = value
    return {"settings": values, "published_figures": figures}
