"""Importing members and the catalogue from CSV or Excel: read, preview, name every bad row, then write once.

:func:`preview` reads the whole file and checks every row (and each against the database: an ID number
already another member's, a number twice in the file) and writes nothing.  :func:`run` checks again,
inside the one transaction that writes, so a file changed since its preview cannot slip a bad row in;
a supervisor's act, audited.  Both report progress through ``progress(stage, done, total)`` (``total``
0 while still unknown), called from the worker's thread: the window marshals it to its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from ..domain.clock import now_iso
from ..domain.errors import GongjiError, InputError
from ..domain.vocabulary import CATALOGUE_COLUMNS, MEMBER_COLUMNS
from ..store import audit, catalogue, config, diagnoses, members, operators
from ..store.db import transaction
from . import import_rows as rows
from .import_rows import BadRow, LongNumber

Progress = Callable[[str, int, int], None]
KINDS = {"members": "参保人", "catalogue": "医保目录", "diagnoses": "诊断目录"}
PREVIEW_ROWS = 20
STEP = 500  # progress is reported every STEP rows (and at the end of each stage)


@dataclass(frozen=True)
class Preview:
    """What an import would do: the first rows as they would be stored, and every bad row."""

    kind: str
    file: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total: int
    bad: tuple[BadRow, ...]
    new: int
    updated: int
    ignored: tuple[str, ...]  # headings not recognised: their columns are not imported

    @property
    def ok(self) -> bool:
        return self.total > 0 and not self.bad


@dataclass(frozen=True)
class Imported:
    kind: str
    file: str
    total: int
    new: int
    updated: int


class ImportRefused(GongjiError):
    """The file has bad rows: nothing was written.  ``preview`` lists them all."""

    def __init__(self, preview: Preview) -> None:
        self.preview = preview
        first = preview.bad[0].text() if preview.bad else "文件中没有数据行"
        super().__init__(f"{preview.file} 有 {len(preview.bad)} 处错误，未写入任何数据。{first}")


# ---------------------------------------------------------------- reading a file


@dataclass
class Table:
    headings: list[str]
    rows: list[tuple[int, list[str]]]  # (row number as the spreadsheet shows it, cells as text)


def read_table(path: Path, progress: Progress) -> Table:
    """A CSV (UTF-8, or the GB18030 that Chinese Excel saves) or an .xlsx workbook's first sheet, as text."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise InputError(path.name, None, "是旧版 Excel 文件（.xls）：请在 Excel 中另存为 .xlsx 或 CSV 后再导入")
    if suffix not in (".csv", ".txt", ".xlsx", ".xlsm"):
        raise InputError(path.name, None, "只能导入 .csv 或 .xlsx 文件")
    if not path.is_file():
        raise InputError(path.name, str(path), "文件不存在：请检查路径，或按“选择文件”重新选择")
    lines = _xlsx_rows(path) if suffix in (".xlsx", ".xlsm") else _csv_rows(path)
    table = Table([], [])
    for number, cells in lines:
        if not any(cells):
            continue
        if not table.headings:
            table.headings = cells
            continue
        table.rows.append((number, cells))
        if len(table.rows) % STEP == 0:
            progress("读取", len(table.rows), 0)
    progress("读取", len(table.rows), len(table.rows))
    return table


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError(path.name, None, "不是 UTF-8 或 GBK 编码的文本，请在 Excel 中另存为“CSV UTF-8”")
    for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        yield number, [cell.strip() for cell in cells]


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from zipfile import BadZipFile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(
            path.name, None, f"不是可读的 Excel 文件（{type(exc).__name__}）：请用 Excel 打开后另存为 .xlsx"
        ) from None
    try:
        for number, values in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            yield number, [_cell(value) for value in values]
    finally:
        book.close()


def _cell(value: object) -> str:
    """An Excel cell as the text a person typed: dates as 2024-06-15, whole numbers without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer():
            text = str(int(value))
            return LongNumber(text) if len(text) > 15 else text  # beyond a double's 15 digits: already rounded
        return repr(value)
    return str(value).strip()


# ---------------------------------------------------------------- checking every row


@dataclass
class Checked:
    """A file read and checked: the values to store, the bad rows, the columns."""

    file: str
    total: int  # data rows in the file
    records: list
    numbers: list[int]  # the row number of each record
    bad: list[BadRow]
    ignored: tuple[str, ...]


@dataclass(frozen=True)
class Kind:
    """What a kind of file holds: its columns and headings, how a row is read, shown, keyed and written."""

    headings: dict[str, tuple[str, ...]]
    columns: tuple[str, ...]
    required: tuple[str, ...]
    unique: tuple[str, ...]  # each may appear once in a file
    cells: Callable  # a record as the preview shows it
    preview: tuple[str, ...]
    action: str  # the audit entry's


SPECS = {
    "members": Kind(
        rows.MEMBER_HEADINGS,
        MEMBER_COLUMNS,
        rows.MEMBER_REQUIRED,
        ("psn_no", "certno"),
        rows.member_cells,
        rows.MEMBER_PREVIEW,
        "member-import",
    ),
    "catalogue": Kind(
        rows.CATALOGUE_HEADINGS,
        CATALOGUE_COLUMNS,
        rows.CATALOGUE_REQUIRED,
        ("code",),
        rows.item_cells,
        rows.CATALOGUE_PREVIEW,
        "catalogue-import",
    ),
    "diagnoses": Kind(
        rows.DIAGNOSIS_HEADINGS,
        rows.DIAGNOSIS_COLUMNS,
        rows.DIAGNOSIS_COLUMNS,
        ("code",),
        rows.diagnosis_cells,
        rows.DIAGNOSIS_PREVIEW,
        "diagnosis-import",
    ),
}


def _columns(kind: str, table: Table, name: str) -> tuple[dict[int, str], list[BadRow], tuple[str, ...]]:
    """Which cell holds which column; a missing required heading is a bad row 1."""
    headings, columns, required = SPECS[kind].headings, SPECS[kind].columns, SPECS[kind].required
    where: dict[int, str] = {}
    ignored = []
    for index, text in enumerate(table.headings):
        key = rows.heading_key(headings, columns, text)
        if key is None or key in where.values():
            ignored.append(text)
        else:
            where[index] = key
    bad = [
        BadRow(1, rows.label(headings, key), "", f"表头缺少这一列：请在第一行加上“{rows.label(headings, key)}”")
        for key in required
        if key not in where.values()
    ]
    if not table.rows and not bad:
        bad.append(BadRow(2, "（整行）", "", f"{name} 只有表头，没有数据行"))
    return where, bad, tuple(t for t in ignored if t)


def check(conn, kind: str, path: Path, progress: Progress) -> Checked:
    """Read ``path`` and check every row, alone and against the database; writes nothing."""
    if kind not in KINDS:
        raise InputError("kind", kind, f"须为 {' / '.join(KINDS)} 之一")
    table = read_table(path, progress)
    where, bad, ignored = _columns(kind, table, path.name)
    out = Checked(path.name, len(table.rows), [], [], bad, ignored)
    if bad:
        return out
    region = config.region(conn) if kind == "members" else ""
    total = len(table.rows)
    for done, (number, cells) in enumerate(table.rows, start=1):
        values = {key: cells[index] if index < len(cells) else "" for index, key in where.items()}
        record, wrong = _read_row(kind, values, number, region)
        out.bad.extend(wrong)
        if record is not None:
            out.records.append(record)
            out.numbers.append(number)
        if done % STEP == 0 or done == total:
            progress("检查", done, total)
    out.bad.extend(_duplicates(conn, kind, out))
    out.bad.sort(key=lambda b: b.row)
    return out


def _read_row(kind: str, values: dict[str, str], number: int, region: str) -> tuple[object, list[BadRow]]:
    if kind == "members":
        return rows.member(values, number, region)
    if kind == "catalogue":
        return rows.catalogue_item(values, number)
    return rows.diagnosis(values, number)


def _duplicates(conn, kind: str, checked: Checked) -> list[BadRow]:
    """A number twice in the file, or an ID number that is already another member's."""
    bad = []
    headings = SPECS[kind].headings
    for key in SPECS[kind].unique:
        first: dict[str, int] = {}
        for record, number in zip(checked.records, checked.numbers):
            value = getattr(record, key)
            if value in first:
                todo = f"与第 {first[value]} 行重复：同一{rows.label(headings, key)}只能出现一次"
                bad.append(BadRow(number, rows.label(headings, key), rows.shown(key, value), todo))
            else:
                first[value] = number
    if kind == "members":
        owners = members.certno_owners(conn, [r.certno for r in checked.records])
        for record, number in zip(checked.records, checked.numbers):
            owner = owners.get(record.certno)
            if owner is not None and owner != record.psn_no:
                todo = f"已是参保人 {owner} 的身份证号：请核对人员编号或身份证号"
                bad.append(BadRow(number, "身份证号", rows.shown("certno", record.certno), todo))
    return bad


def _stored(conn, kind: str, records: list) -> set[str]:
    if kind == "members":
        return members.stored(conn, [r.psn_no for r in records])
    table = "catalogue" if kind == "catalogue" else "diagnoses"
    return {row[0] for row in conn.execute(f"SELECT code FROM {table}")}


def _key(kind: str, record) -> str:
    return record.psn_no if kind == "members" else record.code


def preview(db: sqlite_utils.Database, kind: str, path: Path, progress: Progress) -> Preview:
    """Read and check the whole file; the first rows as they would be stored, and every bad row.  Writes nothing."""
    conn = db.conn
    checked = check(conn, kind, Path(path), progress)
    stored = _stored(conn, kind, checked.records)
    updated = sum(1 for r in checked.records if _key(kind, r) in stored)
    return _preview(kind, checked, len(checked.records) - updated, updated)


def _preview(kind: str, checked: Checked, new: int, updated: int) -> Preview:
    cells, columns = SPECS[kind].cells, SPECS[kind].preview
    shown = tuple(
        (str(number), *cells(record))
        for record, number in zip(checked.records[:PREVIEW_ROWS], checked.numbers[:PREVIEW_ROWS])
    )
    return Preview(
        kind, checked.file, ("行", *columns), shown, checked.total, tuple(checked.bad), new, updated, checked.ignored
    )


# ---------------------------------------------------------------- writing, once


def run(db: sqlite_utils.Database, kind: str, path: Path, operator: str, password: str, progress: Progress) -> Imported:
    """Check every row again and write them all in one transaction, audited; a bad row writes nothing."""
    path = Path(path)
    with transaction(db) as conn:
        operators.require_supervisor(conn, operator, password, f"导入{KINDS.get(kind, kind)}")
        checked = check(conn, kind, path, progress)
        if checked.bad:
            raise ImportRefused(_preview(kind, checked, 0, 0))
        stored = _stored(conn, kind, checked.records)
        fresh = [r for r in checked.records if _key(kind, r) not in stored]
        again = [r for r in checked.records if _key(kind, r) in stored]
        now, total = now_iso(), len(checked.records)
        write = {"members": _write_members, "catalogue": _write_items, "diagnoses": _write_diagnoses}[kind]
        write(conn, fresh, again, now, lambda done: progress("写入", done, total))
        detail = {"rows": total, "new": len(fresh), "updated": len(again), "sha256": _digest(path)}
        audit.record_state(conn, now, operator, SPECS[kind].action, path.name, detail)
    progress("完成", total, total)
    return Imported(kind, path.name, total, len(fresh), len(again))


def _digest(path: Path) -> str:
    """Which file was imported, as the audit entry records it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_members(conn, fresh: list, again: list, now: str, done: Callable[[int], None]) -> None:
    """New members with their opening balances; known ones updated (their balance is the ledger's, unchanged)."""
    for start in range(0, len(fresh), STEP):
        members.insert_new(conn, fresh[start : start + STEP], now)
        done(min(start + STEP, len(fresh)))
    for count, record in enumerate(again, start=1):
        members.upsert(conn, record, now)
        if count % STEP == 0 or count == len(again):
            done(len(fresh) + count)


def _write_diagnoses(conn, fresh: list, again: list, now: str, done: Callable[[int], None]) -> None:
    everything = [*fresh, *again]
    for start in range(0, len(everything), STEP):
        diagnoses.replace_all(conn, everything[start : start + STEP])
        done(min(start + STEP, len(everything)))


def _write_items(conn, fresh: list, again: list, now: str, done: Callable[[int], None]) -> None:
    for count, item in enumerate([*fresh, *again], start=1):
        catalogue.upsert(conn, item)
        if count % STEP == 0 or count == len(fresh) + len(again):
            done(count)
