"""The settings registry: every key this desk stores in its ``settings`` table, stated once.

Each :class:`Setting` names its key, Chinese label, default, kind of value, validator, whether it
is secret (shown as 已设置, audited as ******) and who may change it: ``supervisor`` (the settings
dialog, ``desktop-app settings --set``, the wizard) or ``desk`` (written by the program itself:
the device's ID, the sync cursor).  The CLI, the settings dialog, the wizard and the offline limits
all read this table; :func:`check` is the one validator for every way a value comes in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ..domain.errors import InputError
from ..domain.vocabulary import FACILITY_KIND_NAMES, GRADE_NAMES, LEVEL_NAMES, TIER_NAMES
from . import config

LAYOUT_NAMES = {"roll": "80 毫米卷纸小票", "a5": "A5 结算单"}
# The window's text size, in percent of the standard (11 pt): larger on a 1920×1080 screen seen from a step back.
FONT_SCALES = {
    "90": "较小（90%）",
    "100": "标准（100%）",
    "115": "较大（115%）",
    "130": "大（130%）",
    "150": "特大（150%）",
}


def _non_negative(value: str) -> str | None:
    try:
        number = Decimal(value)
    except InvalidOperation:
        return "须为非负数"
    return None if number.is_finite() and number >= 0 else "须为非负数"


def _font_scale(value: str) -> str | None:
    return None if value in FONT_SCALES else f"须为 {'、'.join(FONT_SCALES)} 之一（百分比）"


def _url(value: str) -> str | None:
    return (
        None if not value or value.startswith(("http://", "https://")) else "医保中心地址须以 http:// 或 https:// 开头"
    )


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    default: str = ""
    choices: dict[str, str] = field(default_factory=dict)  # value -> Chinese name, for a picker
    validate: Callable[[str], str | None] | None = None  # the problem with a value, or None
    secret: bool = False
    changed_by: str = "supervisor"  # or "desk": kept by the program, never typed
    required: bool = False  # a picker without a blank choice

    def check(self, value: str) -> str:
        """``value`` if valid; :class:`InputError` naming ``settings.<key>`` and the value otherwise."""
        problem = self.validate(value) if self.validate else None
        if problem:
            raise InputError(f"settings.{self.key}", value, problem)
        return value


SETTINGS = (
    Setting("region", "统筹地区", required=True),
    Setting("facility.kind", "机构类别", choices=FACILITY_KIND_NAMES, required=True),
    Setting("facility.level", "机构级别", choices={str(k): v for k, v in LEVEL_NAMES.items()}),
    Setting("facility.grade", "等级", choices=GRADE_NAMES),
    Setting("facility.tier", "层级", choices=TIER_NAMES),
    Setting("facility.id", "机构编码"),
    Setting("facility.name", "机构名称"),
    Setting("printer.name", "打印机"),
    Setting("printer.layout", "票据版式", "roll", LAYOUT_NAMES, required=True),
    Setting("ui.font_scale", "字号", "100", FONT_SCALES, validate=_font_scale, required=True),
    Setting("sync.hub", "医保中心地址", validate=_url),
    Setting("sync.token", "收款台令牌", secret=True),
    Setting("offline.grace_minutes", "离线宽限（分钟）", "15", validate=_non_negative),
    Setting("offline.per_visit_fund", "离线每次统筹上限", "200.00", validate=_non_negative),
    Setting("offline.per_member_fund", "离线每人累计上限", "500.00", validate=_non_negative),
    Setting("offline.max_hours", "离线最长（小时）", "72", validate=_non_negative),
    Setting("device.id", "设备编号", changed_by="desk"),
    Setting("sync.last_ok", "上次同步成功", changed_by="desk"),
    Setting("sync.cursor", "已下载到的变更号", changed_by="desk"),
    Setting("sync.audit_acked", "中心已确认的审计链位置", changed_by="desk"),
    Setting("sync.clock_skew_seconds", "与中心的时钟差（秒）", changed_by="desk"),
)
REGISTRY = {s.key: s for s in SETTINGS}
EDITABLE = tuple(s.key for s in SETTINGS if s.changed_by == "supervisor")
OFFLINE_LIMITS = tuple(s.key for s in SETTINGS if s.key.startswith("offline."))


def setting(key: str, value: object = None) -> Setting:
    """The registry's entry for ``key``; :class:`InputError` (naming the value) for a key nobody may change."""
    entry = REGISTRY.get(key)
    if entry is None or entry.changed_by != "supervisor":
        raise InputError(f"settings.{key}", value, f"不可修改的设置；可修改：{', '.join(sorted(EDITABLE))}")
    return entry


def value(conn: sqlite3.Connection, key: str) -> str:
    """The stored value, or the registry's default."""
    stored = config.get(conn, key)
    return stored or REGISTRY[key].default


def shown(conn: sqlite3.Connection) -> dict[str, str]:
    """Every stored setting for display: a secret as 已设置, never its value."""
    return {
        key: ("已设置" if key in REGISTRY and REGISTRY[key].secret and stored else stored)
        for key, stored in conn.execute("SELECT key, value FROM settings ORDER BY key")
    }
