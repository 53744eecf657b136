"""Local settings (this desk's region and facility) and published figures per region and year."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
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
_SITE_KEYS = ("region", *_FACILITY_KEYS, "device.id", "sync.hub", "sync.last_ok")
_SITE = f"SELECT key, value FROM settings WHERE key IN ({', '.join('?' * len(_SITE_KEYS))})"


@dataclass(frozen=True)
class Site:
    """What a settlement needs of this desk's settings: read together, once a checkout."""

    region: str
    facility: Facility
    device: str | None  # device.id (None: the database was never set up)
    hub: str | None  # sync.hub (None or empty: an offline-only desk)
    last_sync: str | None  # sync.last_ok


def facility(conn: sqlite3.Connection) -> Facility:
    """The facility's settings, in one read."""
    return _facility(dict(conn.execute(_FACILITY, _FACILITY_KEYS).fetchall()))


def site(conn: sqlite3.Connection) -> Site:
    """The region, the facility, the device and the hub, in one read (every quote and settlement reads them)."""
    found = dict(conn.execute(_SITE, _SITE_KEYS).fetchall())
    if found.get("region") is None:
        raise InputError("settings.region", None, _NO_REGION)
    return Site(
        found["region"], _facility(found), found.get("device.id"), found.get("sync.hub"), found.get("sync.last_ok")
    )


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
