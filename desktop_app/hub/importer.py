"""Seeding a hub (``hub import``): a county's export, in the desk's file format, becomes the hub's opening figures.

Members with their account balances (which become the opening balances), family links, hospital
stays, the catalogue, published figures and yearly usage (which becomes the opening usage) are
loaded in bulk, each with its change-feed entry so that desks pull them.  Then each region's
rule digest is published (:func:`put_rules_digest`), so a desk can tell whether its rules are the hub's.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection, Engine

from ..domain.clock import now_iso
from ..domain.vocabulary import CATALOGUE_COLUMNS, MEMBER_COLUMNS
from .schema import (
    catalogue,
    changes,
    family_links,
    inpatient_episodes,
    insert_for,
    lock_feed,
    members,
    opening_balances,
    opening_usage,
    publish,
    published,
    usage,
    writing,
)


def import_desk_database(engine: Engine, path: str, batch: int = 5000) -> dict:
    """Load members, families, catalogue, published figures and usage (as opening figures) from a desk-format file.

    This is how a county seeds its hub from the platform's export (here: a demo database).
    Returns how many rows of each kind were read.
    """
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    counts = dict.fromkeys(("members", "family_links", "catalogue", "published", "usage"), 0)
    counts["members"] = _import_members(engine, source, batch)
    export = _Export.read(source)
    _import_the_rest(engine, export, batch)
    counts.update(
        family_links=len(export.links),
        catalogue=len(export.items),
        published=len(export.figures),
        usage=len(export.usage),
    )
    source.close()
    return counts


def put_rules_digest(engine: Engine, region: str, digest: str, label: str) -> None:
    """Publish the digest of a region's rule files: a desk whose own rules differ warns at its next sync."""
    with writing(engine) as conn:
        publish(conn, "rules", region, region, {"region": region, "digest": digest, "label": label})


# --------------------------------------------------------------------------- members, in batches


def _import_members(engine: Engine, source: sqlite3.Connection, batch: int) -> int:
    """Members and their opening balances, one transaction per batch: an export holds hundreds of thousands."""
    fields = [c for c in MEMBER_COLUMNS if c != "account_balance"]
    cursor = source.execute(f"SELECT {', '.join(fields)}, account_balance FROM members ORDER BY psn_no")
    count = 0
    while rows := cursor.fetchmany(batch):
        people, feed = _member_rows(fields, rows, now_iso())
        with writing(engine) as conn:
            _upsert_many(conn, members, people)
            _upsert_many(
                conn, opening_balances, [{"psn_no": p["psn_no"], "amount": p["account_balance"]} for p in people]
            )
            lock_feed(conn)  # the rows first, the feed last (see schema.writing)
            conn.execute(insert(changes), feed)
        count += len(rows)
    return count


def _member_rows(fields: list[str], rows: list[tuple], at: str) -> tuple[list[dict], list[dict]]:
    """The hub's member rows and their feed entries, from the export's rows (the balance last)."""
    people, feed = [], []
    for *values, balance in rows:
        data = dict(zip(fields, values))
        data["programmes"] = json.loads(data["programmes"])
        data["civil_servant"] = bool(data["civil_servant"])
        people.append(
            {
                "psn_no": data["psn_no"],
                "region": data["region"],
                "data": json.dumps(data, ensure_ascii=False),
                "account_balance": balance,
            }
        )
        feed.append(_change("member", data["psn_no"], data["region"], at, {**data, "account_balance": balance}))
    return people, feed


# --------------------------------------------------------------------------- the rest, in one transaction


@dataclass(frozen=True)
class _Export:
    """What the export holds besides the members' own rows, as tuples in its column order."""

    region_of: dict[str, str]  # each member's region: where their family links and usage are published
    links: list[tuple]  # owner, relative, relation
    stays: list[tuple]  # member, admitted, discharged
    items: list[dict]  # catalogue items, by CATALOGUE_COLUMNS
    figures: list[tuple]  # region, name, year, value
    usage: list[tuple]  # member, year, counter, amount: the opening usage

    @classmethod
    def read(cls, source: sqlite3.Connection) -> _Export:
        return cls(
            region_of=dict(source.execute("SELECT psn_no, region FROM members")),
            links=source.execute("SELECT owner_psn_no, relative_psn_no, relation FROM family_links").fetchall(),
            stays=source.execute("SELECT psn_no, admitted, discharged FROM inpatient_episodes").fetchall(),
            items=_catalogue_items(source),
            figures=source.execute("SELECT region, name, year, value FROM published_figures").fetchall(),
            usage=source.execute("SELECT psn_no, year, counter, amount FROM usage").fetchall(),
        )


def _catalogue_items(source: sqlite3.Connection) -> list[dict]:
    """The export's catalogue by CATALOGUE_COLUMNS: a file from before spec and manufacturer just lacks them."""
    present = {row[1] for row in source.execute("PRAGMA table_info(catalogue)")}
    columns = [c for c in CATALOGUE_COLUMNS if c in present]
    return [dict(zip(columns, row)) for row in source.execute(f"SELECT {', '.join(columns)} FROM catalogue")]


def _import_the_rest(engine: Engine, export: _Export, batch: int) -> None:
    """Families, hospital stays, catalogue, published figures and usage (also as opening usage), with their feed."""
    usage_rows = [{"psn_no": p, "year": y, "counter": c, "amount": a} for p, y, c, a in export.usage]
    feed = _feed_of_the_rest(export, now_iso())
    with writing(engine) as conn:
        _upsert_many(
            conn,
            family_links,
            [{"owner_psn_no": o, "relative_psn_no": r, "relation": rel} for o, r, rel in export.links],
        )
        _upsert_many(
            conn, inpatient_episodes, [{"psn_no": p, "admitted": a, "discharged": d} for p, a, d in export.stays]
        )
        _upsert_many(
            conn, catalogue, [{"code": d["code"], "data": json.dumps(d, ensure_ascii=False)} for d in export.items]
        )
        _upsert_many(
            conn, published, [{"region": r, "name": n, "year": y, "value": v} for r, n, y, v in export.figures]
        )
        _upsert_many(conn, opening_usage, usage_rows)
        _upsert_many(conn, usage, usage_rows)
        lock_feed(conn)
        for start in range(0, len(feed), batch):
            conn.execute(insert(changes), feed[start : start + batch])


def _feed_of_the_rest(export: _Export, at: str) -> list[dict]:
    """The feed entries for everything but the members: one per link, item and figure, one per member and year."""
    totals: dict[tuple[str, int], dict[str, int]] = {}
    for psn_no, year, counter, amount in export.usage:
        totals.setdefault((psn_no, year), {})[counter] = amount
    region_of = export.region_of
    rows = [
        _change(
            "family_link",
            f"{o}/{r}",
            region_of.get(r, "*"),
            at,
            {"owner_psn_no": o, "relative_psn_no": r, "relation": rel},
        )
        for o, r, rel in export.links
    ]
    rows += [_change("catalogue_item", d["code"], "*", at, d) for d in export.items]
    rows += [
        _change("published_figure", f"{r}/{n}/{y}", r, at, {"region": r, "name": n, "year": y, "value": v})
        for r, n, y, v in export.figures
    ]
    rows += [
        _change("usage", f"{p}/{y}", region_of.get(p, "*"), at, {"psn_no": p, "year": y, "counters": c})
        for (p, y), c in totals.items()
    ]
    return rows


# --------------------------------------------------------------------------- bulk writes


def _change(kind: str, key: str, region: str, at: str, data: dict) -> dict:
    """One row of the change feed, for a bulk insert (``schema.publish`` adds one at a time)."""
    return {"kind": kind, "key": key, "region": region, "at": at, "data": json.dumps(data, ensure_ascii=False)}


def _upsert_many(conn: Connection, table: Table, rows: list[dict]) -> None:
    """Insert the rows, or where a key is already there, replace its other columns (one statement, many rows)."""
    if rows:
        keys = [c.name for c in table.primary_key.columns]
        stmt = insert_for(conn, table)
        others = {k: stmt.excluded[k] for k in rows[0] if k not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=others), rows)
