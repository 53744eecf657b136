"""First-run set-up of a desk (the wizard's work, without Qt): region, facility, hub, first supervisor.

The first run needs no password (there is no supervisor yet) and must create
one; a later run is a supervisor's act.  Everything is checked before anything
is written, and all of it is one transaction with an audit entry.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from ..domain.clock import now_iso
from ..domain.errors import GongjiError, InputError
from ..domain.vocabulary import FACILITY_KIND_NAMES, GRADE_NAMES, LEVEL_NAMES, TIER_NAMES
from ..resources import rules_dir
from ..rule_files import cached_region, region_names
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


def check_facility(a: Answers) -> None:
    """The first page: the facility's kind, level, grade, tier, code and name."""
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


def check_hub(a: Answers) -> None:
    """The second page: the central server's address and this desk's token, unless offline only."""
    if not a.offline_only:
        if not a.hub.startswith(("http://", "https://")):
            raise InputError("医保中心地址", a.hub, "须以 http:// 或 https:// 开头；没有中心请选“仅离线使用”")
        if not a.token.strip():
            raise InputError("收款台令牌", "", "联网使用须录入中心登记收款台时给出的令牌")


def check_people(a: Answers, first: bool) -> None:
    """The last page: the first supervisor (or a new one on a re-run)."""
    if first or a.supervisor:
        if not a.supervisor.strip():
            raise InputError("主管用户名", a.supervisor, "首次设置须建立一个主管账户")
        if len(a.password) < 6:
            raise InputError("主管密码", "******", "至少 6 位")
        if a.password != a.password_again:
            raise InputError("确认密码", "******", "两次输入的密码不一致")


def _check(a: Answers, first: bool, today: dt.date) -> None:
    if a.region not in region_names(rules_dir()):
        raise InputError("统筹地区", a.region, f"须为 {' / '.join(region_names(rules_dir()))} 之一")
    problem = region_validity(a.region, today).problem
    if problem:
        raise InputError("统筹地区", a.region, problem)
    check_facility(a)
    check_hub(a)
    check_people(a, first)


def apply(
    db: sqlite_utils.Database,
    a: Answers,
    operator: str | None = None,
    password: str | None = None,
    today: dt.date | None = None,
) -> None:
    """Write the answers; a re-run needs ``operator``/``password`` of a supervisor.  The region's rules must be
    in force ``today`` (a desk set up on rules that ended, or have not begun, could settle nothing)."""
    with transaction(db) as conn:
        first = not has_supervisor(conn)
        if not first:
            operators.require_supervisor(conn, operator or "", password or "", "重新运行设置向导")
        _check(a, first, today or dt.date.today())
        config.put(conn, "region", a.region)
        for key in ("kind", "level", "grade", "tier", "id", "name"):
            config.put(conn, f"facility.{key}", str(a.facility.get(key) or "").strip())
        config.put(conn, "sync.hub", "" if a.offline_only else a.hub.strip())
        if not a.offline_only:
            config.put(conn, "sync.token", a.token.strip())
        if config.get(conn, "device.id") is None:
            config.put(conn, "device.id", f"DESK-{uuidlib.uuid4().hex[:8].upper()}")
        if a.supervisor.strip():
            if operators.exists(conn, a.supervisor.strip()):
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


# ---------------------------------------------------------------- which regions a desk can be set up in


@dataclass(frozen=True)
class RegionValidity:
    """A region's rule book as the wizard shows it: when it is valid, whether a draft, and why not today."""

    region: str
    name: str
    start: dt.date | None  # the first day every parameter has a version (None: the rules do not load)
    end: dt.date | None  # the last such day; None while open-ended
    draft: bool  # a 征求意见稿: figures may still change
    framework: bool  # figures published yearly, entered by a supervisor (Xi'an)
    problem: str  # why it cannot be chosen today; empty when it can

    @property
    def span(self) -> str:
        if self.start is None:
            return "规则文件有误"
        return f"{self.start} 起长期有效" if self.end is None else f"{self.start} 至 {self.end}"

    @property
    def warning(self) -> str:
        """What a supervisor must know before choosing it (a draft, a framework), if anything."""
        if self.draft:
            return "⚠ 注意：这是征求意见稿，正式文件发布后数值可能变化，以经办机构核定为准"
        if self.framework:
            return "注意：文件只定框架，年度数值须由主管在设置中录入后才能结算"
        return ""


def region_validity(region: str, today: dt.date) -> RegionValidity:
    """When ``region``'s rules are in force, and whether they are today (the rule files are read once, cached)."""
    try:
        book = cached_region(region, str(rules_dir()))
    except GongjiError as exc:
        return RegionValidity(region, region, None, None, False, False, f"规则文件有误，不能选用：{exc}")
    starts = [min(v.start for v in p.versions) for p in book.parameters.values()]
    ends = [
        None if any(v.end is None for v in p.versions) else max(v.end for v in p.versions)
        for p in book.parameters.values()
    ]
    start = max(starts)
    end = min((e for e in ends if e is not None), default=None)
    statuses = {d.status for d in book.documents.values()}
    problem = ""
    if today < start:
        problem = f"{book.name}的规则 {start} 起才生效，今天（{today}）不能按它结算：请选择现行有效的地区"
    elif end is not None and today > end:
        problem = f"{book.name}的规则已于 {end} 失效，今天（{today}）不能按它结算：待新文件加入新版本规则后再选"
    else:
        try:
            book.at(today)
        except GongjiError as exc:
            problem = f"今天没有完整的有效规则：{exc}"
    return RegionValidity(region, book.name, start, end, "draft" in statuses, "framework" in statuses, problem)


def regions_validity(today: dt.date) -> dict[str, RegionValidity]:
    return {name: region_validity(name, today) for name in region_names(rules_dir())}


# ---------------------------------------------------------------- what a new desk still lacks


@dataclass(frozen=True)
class Readiness:
    """After set-up: what a desk still needs before it can settle (the checklist the window shows)."""

    members: int
    catalogue: int
    cashiers: int  # enabled cashiers (the supervisor alone does not staff a counter)
    rules: str  # why no rules are in force today; empty when they are

    @property
    def complete(self) -> bool:
        return bool(self.members and self.catalogue and self.cashiers)


def readiness(conn, today: dt.date) -> Readiness:
    count = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    rules = ""
    try:
        cached_region(config.region(conn), str(rules_dir())).at(today)
    except GongjiError as exc:
        rules = str(exc)
    return Readiness(
        count("SELECT count(*) FROM members"),
        count("SELECT count(*) FROM catalogue"),
        count("SELECT count(*) FROM operators WHERE role = 'cashier' AND NOT disabled"),
        rules,
    )


def default_db_path() -> Path:
    """The app's own database, in the user's data folder (platformdirs)."""
    from platformdirs import user_data_path

    return user_data_path("gongji-front-desk", appauthor=False) / "front-desk.db"
