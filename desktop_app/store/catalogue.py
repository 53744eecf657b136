"""The item catalogue (医保目录): lookup by code, barcode or name, and CSV import."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

from ..domain.catalogue import CatalogueItem
from ..domain.errors import InputError
from ..domain.money import MoneyError, parse_amount, parse_ratio, to_fen
from ..domain.vocabulary import CATALOGUE_COLUMNS as COLUMNS
from ..domain.vocabulary import ITEM_KINDS


def _item(row) -> CatalogueItem:
    return CatalogueItem.from_row(dict(zip(COLUMNS, row)))


_SELECT = f"SELECT {', '.join(COLUMNS)} FROM catalogue"


def get(conn: sqlite3.Connection, code: str) -> CatalogueItem | None:
    row = conn.execute(f"{_SELECT} WHERE code = ? OR barcode = ? LIMIT 1", (code, code)).fetchone()
    return _item(row) if row else None


def search(conn: sqlite3.Connection, text: str, limit: int = 20) -> list[CatalogueItem]:
    rows = conn.execute(
        f"{_SELECT} WHERE name >= ? AND name < ? OR code = ? OR barcode = ? ORDER BY name LIMIT ?",
        (text, text + "\U0010ffff", text, text, limit),
    ).fetchall()
    return [_item(r) for r in rows]


def upsert(conn: sqlite3.Connection, item: CatalogueItem) -> None:
    conn.execute(
        f"INSERT OR REPLACE INTO catalogue ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        (
            item.code,
            item.name,
            item.category,
            str(item.selfpay_ratio),
            to_fen(item.price),
            None if item.price_cap is None else to_fen(item.price_cap),
            item.unit,
            item.programme,
            item.item_kind,
            int(item.account_payable),
            item.barcode,
        ),
    )


def parse_row(row: dict[str, str], line: int) -> CatalogueItem:
    """One CSV row; the header names :data:`CATALOGUE_COLUMNS` (code,name,category,selfpay_ratio,price,… barcode)."""

    def field(name: str) -> str:
        return (row.get(name) or "").strip()

    where = f"catalogue.csv 第 {line} 行"
    try:
        category = field("category")
        if category not in ("A", "B", "C"):
            raise InputError(f"{where} category", category, "须为 A / B / C")
        kind = field("item_kind") or "drug"
        if kind not in ITEM_KINDS:
            raise InputError(f"{where} item_kind", kind, f"须为 {' / '.join(ITEM_KINDS)} 之一")
        programme = field("programme") or None
        if programme not in (None, "hypertension", "diabetes"):
            raise InputError(f"{where} programme", programme, "须为 hypertension / diabetes 或留空")
        payable = field("account_payable") or "1"
        if payable not in ("0", "1"):
            raise InputError(f"{where} account_payable", payable, "须为 0 或 1")
        return CatalogueItem(
            code=field("code") or _missing(where, "code"),
            name=field("name") or _missing(where, "name"),
            category=category,
            selfpay_ratio=parse_ratio(field("selfpay_ratio") or "0"),
            price=parse_amount(field("price")),
            price_cap=parse_amount(field("price_cap")) if field("price_cap") else None,
            unit=field("unit"),
            programme=programme,
            item_kind=kind,
            account_payable=payable
            == "1",  # the region's excluded kinds apply at settlement (account_excluded_item_kinds)
            barcode=field("barcode") or None,
        )
    except MoneyError as exc:
        raise InputError(where, exc.value, exc.reason) from None


def _missing(where: str, name: str) -> str:
    raise InputError(f"{where} {name}", None, "必填")


def read_csv(path: Path) -> list[CatalogueItem]:
    """Parse every row of a catalogue CSV (UTF-8, with or without BOM); a bad row names its line."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in ("code", "name", "category", "price") if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(f"{path.name} 表头", ",".join(reader.fieldnames or []), f"缺少列 {', '.join(missing)}")
            return [parse_row(row, i + 2) for i, row in enumerate(reader)]
    except UnicodeDecodeError:
        raise InputError(path.name, None, "不是 UTF-8 编码的 CSV，请另存为 UTF-8") from None


def import_items(conn: sqlite3.Connection, items: list[CatalogueItem]) -> int:
    """Write already-parsed items (inside the caller's transaction)."""
    for item in items:
        upsert(conn, item)
    return len(items)
