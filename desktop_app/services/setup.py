"""First-run set-up of a desk (the wizard's work, without Qt): region, facility, hub, first supervisor.

The first run needs no password (there is no supervisor yet) and must create
one; a later run is a supervisor's act.  Everything is checked before anything
is written, and all of it is one transaction with an audit entry.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from ..domain.clock import now_iso
from ..domain.errors import InputError
from ..domain.vocabulary import FACILITY_KIND_NAMES, GRADE_NAMES, LEVEL_NAMES, TIER_NAMES
from ..resources import rules_dir
from ..rule_files import region_names
from ..store import audit, config, operators
from ..store.db import transaction


@dataclass
class Answers:
    region: str
    facility: dict[str, str] = field(default_factory=dict)  # kind, level, grade, tier, id, name
    hub: str = ""
    token: str = ""
    offline_only: bool = True
    supervisor: str = ""
    password: str = ""
    password_again: str = ""


def needs_setup(conn) -> bool:
    return config.get(conn, "region") is None or config.get(conn, "facility.kind") is None


def has_supervisor(conn) -> bool:
    return conn.execute("SELECT count(*) FROM operators WHERE role = 'supervisor'").fetchone()[0] > 0


def _check(a: Answers, first: bool) -> None:
    if a.region not in region_names(rules_dir()):
        raise InputError("统筹地区", a.region, f"须为 {' / '.join(region_names(rules_dir()))} 之一")
    f = a.facility
    if f.get("kind") not in FACILITY_KIND_NAMES:
        raise InputError("机构类别", f.get("kind"), "请选择机构类别")
    if f.get("level") and int(f["level"]) not in LEVEL_NAMES:
        raise InputError("机构级别", f.get("level"), "须为 1、2、3 或留空")
    if f.get("grade") and f["grade"] not in GRADE_NAMES:
        raise InputError("等级", f.get("grade"), "须为 A、B、C 或留空")
    if f.get("tier") and f["tier"] not in TIER_NAMES:
        raise InputError("层级", f.get("tier"), "须为 provincial、city、county 或留空")
    for key, name in (("id", "机构编码"), ("name", "机构名称")):
        if not f.get(key, "").strip():
            raise InputError(name, f.get(key), "必填")
    if not a.offline_only:
        if not a.hub.startswith(("http://", "https://")):
            raise InputError("医保中心地址", a.hub, "须以 http:// 或 https:// 开头；没有中心请选“仅离线使用”")
        if not a.token.strip():
            raise InputError("收款台令牌", "", "联网使用须录入中心登记收款台时给出的令牌")
    if first or a.supervisor:
        if not a.supervisor.strip():
            raise InputError("主管用户名", a.supervisor, "首次设置须建立一个主管账户")
        if len(a.password) < 6:
            raise InputError("主管密码", "******", "至少 6 位")
        if a.password != a.password_again:
            raise InputError("确认密码", "******", "两次输入的密码不一致")


def apply(db: sqlite_utils.Database, a: Answers, operator: str | None = None, password: str | None = None) -> None:
    """Write the answers; a re-run needs ``operator``/``password`` of a supervisor."""
    with transaction(db) as conn:
        first = not has_supervisor(conn)
        if not first:
            operators.require_supervisor(conn, operator or "", password or "", "重新运行设置向导")
        _check(a, first)
        config.put(conn, "region", a.region)
        for key in ("kind", "level", "grade", "tier", "id", "name"):
            config.put(conn, f"facility.{key}", str(a.facility.get(key) or "").strip())
        config.put(conn, "sync.hub", "" if a.offline_only else a.hub.strip())
        if not a.offline_only:
            config.put(conn, "sync.token", a.token.strip())
        if config.get(conn, "device.id") is None:
            config.put(conn, "device.id", f"DESK-{uuidlib.uuid4().hex[:8].upper()}")
        if a.supervisor.strip():
            if operators.role_of(conn, a.supervisor.strip()) is not None:
                raise InputError("主管用户名", a.supervisor, "该操作员已存在")
            operators.add(conn, a.supervisor.strip(), "supervisor", a.password, now_iso())
        audit.record_state(
            conn,
            now_iso(),
            operator or a.supervisor.strip(),
            "setup",
            a.region,
            {"facility": a.facility, "hub": "" if a.offline_only else a.hub, "supervisor": a.supervisor},
        )


def default_db_path() -> Path:
    """The app's own database, in the user's data folder (platformdirs)."""
    from platformdirs import user_data_path

    return user_data_path("gongji-front-desk", appauthor=False) / "front-desk.db"
