"""Local settings (this desk's region and facility) and published figures per region and year."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from ..domain.case import Facility
from ..domain.errors import InputError

FACILITY_KEYS = ("facility.kind", "facility.level", "facility.grade", "facility.tier", "facility.id", "facility.name")


def get(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def put(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO settings VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value)
    )


_NO_REGION = "本机尚未设置所属统筹地区，请主管在设置中录入"


def region(conn: sqlite3.Connection) -> str:
    value = get(conn, "region")
    if value is None:
        raise InputError("settings.region", None, _NO_REGION)
    return value


_FACILITY_KEYS = ("facility.kind", "facility.level", "facility.grade", "facility.tier", "facility.id")
_FACILITY = f"SELECT key, value FROM settings WHERE key IN ({', '.join('?' * len(_FACILITY_KEYS))})"
_SITE_KEYS = ("region", *_FACILITY_KEYS)
_SITE = f"SELECT key, value FROM settings WHERE key IN ({', '.join('?' * len(_SITE_KEYS))})"


def facility(conn: sqlite3.Connection) -> Facility:
    """The facility's settings, in one read."""
    return _facility(dict(conn.execute(_FACILITY, _FACILITY_KEYS).fetchall()))


def site(conn: sqlite3.Connection) -> tuple[str, Facility]:
    """The region and the facility, in one read (every quote and settlement reads both)."""
    found = dict(conn.execute(_SITE, _SITE_KEYS).fetchall())
    if found.get("region") is None:
        raise InputError("settings.region", None, _NO_REGION)
    return found["region"], _facility(found)


def _facility(found: dict) -> Facility:
    kind = found.get("facility.kind")
    if kind is None:
        raise InputError("settings.facility.kind", None, "本机尚未设置机构信息，请主管在设置中录入")
    level = found.get("facility.level")
    return Facility(
        kind=kind,
        level=int(level) if level else None,
        grade=found.get("facility.grade") or None,
        tier=found.get("facility.tier") or None,
        id=found.get("facility.id") or None,
    )


def published(conn: sqlite3.Connection, region_name: str) -> dict[str, dict[str, Decimal]]:
    result: dict[str, dict[str, Decimal]] = {}
    for name, year, value in conn.execute(
        "SELECT name, year, value FROM published_figures WHERE region = ?", (region_name,)
    ):
        result.setdefault(name, {})[year] = Decimal(value)
    return result


def put_published(conn: sqlite3.Connection, region_name: str, name: str, year: str, value: Decimal) -> None:
    conn.execute(
        "INSERT INTO published_figures VALUES (?, ?, ?, ?) ON CONFLICT(region, name, year) "
        "DO UPDATE SET value = excluded.value",
        (region_name, name, year, str(value)),
    )
