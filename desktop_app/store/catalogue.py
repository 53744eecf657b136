"""The item catalogue (医保目录): lookup by code, barcode, name or pinyin initials (助记码), and CSV import."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from ..domain.catalogue import CatalogueItem
from ..domain.errors import InputError
from ..domain.money import MoneyError, parse_amount, parse_ratio, to_fen
from ..domain.vocabulary import CATALOGUE_COLUMNS as COLUMNS
from ..domain.vocabulary import ITEM_KINDS


@lru_cache(maxsize=4096)
def name_initials(name: str) -> str:
    """The 助记码 a cashier types: 阿莫西林胶囊 -> amxljn, 维生素C片 -> wsscp (letters and digits kept, in lower case).

    The whole name goes to pypinyin at once, so a word's reading decides a polyphone (重组 -> cz).
    Stored with the item (``name_initials``) whenever a row is written: import, demo data, the hub's feed.
    pypinyin is imported here, on first use, not with the module: it takes 0.4 s and 56 MB, which a window
    that only looks members up never needs.
    """
    from pypinyin import Style, lazy_pinyin

    parts = lazy_pinyin(name, style=Style.FIRST_LETTER)
    return "".join(c for c in "".join(parts).lower() if c.isascii() and c.isalnum())


MAX_PACKS = 1000  # smallest packages in one sold unit: a 件 of 1,000 boxes is the most a catalogue names


def _item(row) -> CatalogueItem:
    return CatalogueItem.from_row(dict(zip(COLUMNS, row)))


_SELECT = f"SELECT {', '.join(COLUMNS)} FROM catalogue"


def get(conn: sqlite3.Connection, code: str) -> CatalogueItem | None:
    """The item whose code is ``code``, or else one whose barcode is (see :func:`get_many`)."""
    return get_many(conn, [code]).get(code)


def get_many(conn: sqlite3.Connection, codes: Iterable[str]) -> dict[str, CatalogueItem]:
    """Each of ``codes`` that is an item's code, or else a barcode, to its item: one statement for a whole visit
    (a line each took a statement of its own).  A code wins over a barcode; where several items share a barcode,
    the one of the lowest code is taken."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return {}
    marks = ", ".join("?" * len(wanted))
    rows = conn.execute(
        f"{_SELECT} WHERE code IN ({marks}) OR barcode IN ({marks}) ORDER BY code", (*wanted, *wanted)
    ).fetchall()
    by_code: dict[str, CatalogueItem] = {}
    by_barcode: dict[str, CatalogueItem] = {}
    for row in rows:
        item = _item(row)
        by_code[item.code] = item
        if item.barcode is not None:
            by_barcode.setdefault(item.barcode, item)
    found = {code: by_code.get(code) or by_barcode.get(code) for code in wanted}
    return {code: item for code, item in found.items() if item is not None}


def search(conn: sqlite3.Connection, text: str, limit: int = 20) -> list[CatalogueItem]:
    """Items whose name starts with ``text``, or (typed in letters) whose 助记码 or code starts with it."""
    text = text.strip()
    if not text:
        return []
    if text.isascii():  # amxl -> 阿莫西林胶囊; xa001 -> XA00101 …
        where, keys = "name_initials >= ? AND name_initials < ? OR code >= ? AND code < ?", (text.lower(), text.upper())
    else:
        where, keys = "name >= ? AND name < ?", (text,)
    ranges = [bound for key in keys for bound in (key, key + "\U0010ffff")]  # index ranges: LIKE cannot use them
    rows = conn.execute(
        f"{_SELECT} WHERE {where} OR code = ? OR barcode = ? ORDER BY name, spec, code LIMIT ?",
        (*ranges, text, text, limit),
    ).fetchall()
    return [_item(r) for r in rows]


def upsert(conn: sqlite3.Connection, item: CatalogueItem) -> None:
    """Write one item, with its 助记码 computed from its name."""
    conn.execute(
        f"INSERT OR REPLACE INTO catalogue ({', '.join(COLUMNS)}, name_initials) "
        f"VALUES ({', '.join('?' * (len(COLUMNS) + 1))})",
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
            item.spec,
            item.manufacturer,
            int(item.trac_required),
            item.packs_per_unit,
            name_initials(item.name),
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
        traced = field("trac_required") or "0"
        if traced not in ("0", "1"):
            raise InputError(f"{where} trac_required", traced, "须为 0 或 1（1：销售时须逐盒扫追溯码）")
        packs = field("packs_per_unit") or "1"
        if not packs.isdigit() or not 1 <= int(packs) <= MAX_PACKS:
            raise InputError(
                f"{where} packs_per_unit", packs, f"须为 1 到 {MAX_PACKS} 的整数（一个销售单位含几个最小包装）"
            )
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
            spec=field("spec"),  # optional columns: a file without them imports as before
            manufacturer=field("manufacturer"),
            trac_required=traced == "1",
            packs_per_unit=int(packs),
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
