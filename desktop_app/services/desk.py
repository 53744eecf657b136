"""The desk, as the window sees it: one façade over the services, in the spirit of Anki's collection operations.

The window never opens a cursor and never reads a national-platform field name: it hands a function of a
:class:`Desk` to its worker (``ui/backend.py``), and each method here returns plain dataclasses.  Dicts with
platform names (``psn_cash_pay`` …) stay where data leaves the program: receipts, the CLI, the sync protocol.
A :class:`Desk` owns one SQLite connection and is used from one thread (the worker's).
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import sqlite_utils

from ..domain.diagnosis import Diagnosis
from ..domain.errors import GongjiError
from ..domain.money import from_fen
from ..domain.report import DayReport
from ..domain.trace_code import TraceCode
from ..resources import rules_dir
from ..rule_files import cached_region, load_region, region_names
from ..store import catalogue, config, diagnoses, operators
from ..store import settings as registry
from ..store.db import connect
from . import checkout, daybook, imports, partial_refund, receipts, reversal, settings, setup, tracing
from .card import MemberCard, MemberMatches, find_members, member_card
from .daybook import HistoryRow
from .reversal import RefundSummary
from .views import DeskState, ItemMatches, Notice, SettingsView, Settled, Shown

log = logging.getLogger("gongji.desk")


SETTINGS_BY_KEY = registry.REGISTRY  # the registry, as the dialogs and the wizard read it


def region_choices() -> dict[str, str]:
    """Region folder -> "广西壮族自治区（guangxi）" (a broken rules folder still shows, by its name)."""
    choices = {}
    for name in region_names():
        try:
            choices[name] = f"{load_region(name).name}（{name}）"
        except GongjiError as exc:  # shown in the picker, and logged for the clinic's IT person
            log.warning("rules of %s do not load: %s", name, exc)
            choices[name] = f"{name}（规则文件有误：{exc}）"
    return choices


def region_folders() -> list[str]:
    """The regions' folder names alone (no YAML read): what a picker shows until the names arrive."""
    return region_names()


class Desk:
    """Everything the counter's window does, one method per act; run from the window's worker thread."""

    def __init__(self, db: sqlite_utils.Database, folder: Path) -> None:
        self.db, self.folder = db, Path(folder)
        self.receipts, self.exports = self.folder / "receipts", self.folder / "exports"
        self._previews: Path | None = None  # a temporary folder for receipt previews, made on first use

    @classmethod
    def open(cls, path: Path) -> Desk:
        """Open (or create) the database at ``path``; receipts and exports go beside it."""
        return cls(connect(path), Path(path).parent)

    @property
    def conn(self):
        return self.db.conn

    def close(self) -> None:
        self.db.conn.close()
        if self._previews is not None:
            shutil.rmtree(self._previews, ignore_errors=True)
            self._previews = None

    # ---------------------------------------------------------------- start-up

    def make_demo(self, members: int) -> None:
        from .demo import generate

        generate(self.db, members)

    def warm_receipts(self) -> None:
        """Read the receipt font now (reportlab and the font take 0.1–0.2 s), while the cashier logs in, so that
        the first receipt of the day prints as fast as the rest."""
        from ..receipts.font import register_font

        register_font()

    def region_choices(self) -> dict[str, str]:
        return region_choices()

    def needs_setup(self) -> bool:
        return setup.needs_setup(self.conn)

    def has_supervisor(self) -> bool:
        return setup.has_supervisor(self.conn)

    def set_up(
        self, answers: setup.Answers, operator: str | None, password: str | None, today: dt.date | None = None
    ) -> None:
        setup.apply(self.db, answers, operator, password, today)

    def sign_in(self, name: str, password: str) -> str:
        """The operator's role; :class:`operators.AuthError` for a wrong name or password."""
        return operators.authenticate(self.conn, name, password)

    def state(self, today: dt.date) -> DeskState:
        """What the status bar and the window's title say about this desk."""
        conn = self.conn
        region = config.region(conn)
        try:
            rules = cached_region(region, str(rules_dir())).at(today).label
        except GongjiError as exc:  # shown in the status bar: the cashier calls the clinic's IT person
            rules = f"无有效规则（{exc}）"
        unsynced = conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        notices = tuple(
            Notice(kind, from_fen(amount), reason, uuid)
            for kind, amount, reason, uuid in conn.execute(
                "SELECT kind, amount, reason, uuid FROM sync_notices ORDER BY at DESC"
            )
        )
        get = lambda key: registry.value(conn, key)  # noqa: E731
        return DeskState(
            region=region,
            pharmacy=config.facility(conn).kind == "pharmacy",
            facility_name=get("facility.name"),
            rules=rules,
            unsynced=unsynced,
            printer=get("printer.name"),
            layout=get("printer.layout"),
            hub=get("sync.hub"),
            token=get("sync.token"),
            last_sync=get("sync.last_ok"),
            notices=notices,
        )

    # ---------------------------------------------------------------- the visit

    def find_members(self, text: str, today: dt.date) -> MemberMatches:
        """An ID number or psn_no names one member (exact); a name or its initials lists every match, with age."""
        return find_members(self.conn, text, today)

    def member_card(self, psn_no: str, today: dt.date) -> MemberCard:
        return member_card(self.conn, psn_no, today)

    def find_items(self, text: str) -> ItemMatches:
        item = catalogue.get(self.conn, text)
        if item is not None:
            return ItemMatches(True, (item,))
        return ItemMatches(False, tuple(catalogue.search(self.conn, text, 30)))

    def find_diagnoses(self, text: str) -> list[Diagnosis]:
        """The diagnosis box: by code, pinyin initials or name (the first 20)."""
        return diagnoses.search(self.conn, text, 20)

    def scan_trace(self, code: TraceCode) -> tracing.Scanned:
        """A scanned traceability code: the item it is sold as, and whether this desk sold it already."""
        return tracing.scanned(self.conn, code)

    def quote(self, case: dict, today: dt.date) -> Shown:
        return Shown.of(checkout.build_quote(self.conn, case, today))

    def authorise(self, approval: checkout.Approval, action: str) -> checkout.Approval:
        return checkout.authorise(self.conn, approval, action)

    def confirm(
        self,
        case: dict,
        operator: str,
        today: dt.date,
        layout: str,
        approval: checkout.Approval | None = None,
        tendered: str | Decimal | None = None,
    ) -> Settled:
        """Settle and commit, then write its receipt (the settlement stands even if the receipt fails).

        ``tendered``: the cash the member handed over, as typed (none: exact money); the receipt shows 实收 and 找零.
        """
        out = checkout.confirm(self.db, case, operator, today=today, approval=approval, tendered=tendered)
        return Settled.of(out, self.receipt(out["uuid"], layout))

    def refund(self, uuid: str, supervisor: str, password: str, layout: str, reason: str | None = None) -> Settled:
        """The whole settlement reversed, authorised by ``supervisor`` for ``reason``; booked to its cashier."""
        out = checkout.refund(self.db, uuid, supervisor, password, reason=reason)
        return Settled.of(out, self.receipt(out["uuid"], layout))

    def partial_refund(
        self, uuid: str, keep: list[int], supervisor: str, password: str, layout: str, reason: str, today: dt.date
    ) -> tuple[Settled, Settled]:
        """部分退费: the whole reversed, the lines at ``keep`` settled again (:mod:`.partial_refund`); both receipts."""
        out = partial_refund.partial_refund(self.db, uuid, keep, supervisor, password, reason, today=today)
        return tuple(Settled.of(out[k], self.receipt(out[k]["uuid"], layout)) for k in ("refund", "settlement"))

    def receipt(self, uuid: str, layout: str, note: str | None = None) -> Path:
        """The receipt's PDF in ``receipts/`` (a copy is marked by ``note``, e.g. 补打)."""
        name = f"{uuid}-{note}.pdf" if note else f"{uuid}.pdf"
        return receipts.write(self.conn, uuid, layout, self.receipts / name, note)

    # ---------------------------------------------------------------- refunds and previews (issue 17, points 6 and 8)

    def refund_summary(self, uuid: str) -> RefundSummary:
        """What the refund prompt shows: whose settlement, its items, what goes back where, the cashier of record."""
        return reversal.summary(self.conn, uuid)

    def preview(self, uuid: str, layout: str) -> Path:
        """The receipt as stored, for the screen: no 补打 mark, nothing under ``receipts/`` (a temporary PDF)."""
        if self._previews is None:
            self._previews = Path(tempfile.mkdtemp(prefix="gongji-preview-"))
        return receipts.write(self.conn, uuid, layout, self._previews / f"{uuid}-预览.pdf")

    # ---------------------------------------------------------------- the day

    def history(self, day: dt.date, text: str = "") -> list[HistoryRow]:
        return daybook.history(self.conn, day, text)

    def day_report(self, day: dt.date) -> DayReport:
        return daybook.day_report(self.conn, day)

    def export_day(self, day: dt.date, printed_at: str) -> tuple[Path, Path]:
        return daybook.export_day(self.conn, day, self.exports, printed_at)

    # ---------------------------------------------------------------- settings and the hub

    def settings(self) -> SettingsView:
        return SettingsView(registry.shown(self.conn), region_choices())

    def change_settings(self, supervisor: str, password: str, changes: dict[str, str], figure: str = "") -> None:
        """Apply the dialog's changes (and one published figure, if typed); each a supervisor's audited act."""
        parsed = settings.parse_published(figure) if figure else None
        settings.change(self.db, supervisor, password, changes)
        if parsed:
            settings.publish(self.db, supervisor, password, *parsed)

    def sync(self, hub: str, token: str):
        from ..sync.client import sync

        return sync(self.db, hub, token)

    def reconcile(self, hub: str, token: str, day: dt.date) -> dict:
        from ..sync.reconcile import reconcile

        return reconcile(self.db, hub, token, day.isoformat())

    # ---------------------------------------------------------------- the back office (issue 17, point 7)
    # Imports, operators, the wizard's region validity and the checklist of what a new desk lacks.  Each act
    # is a supervisor's, with the name and password given at that moment, audited in its own transaction.

    def region_validity(self, today: dt.date) -> dict[str, setup.RegionValidity]:
        return setup.regions_validity(today)

    def readiness(self, today: dt.date) -> setup.Readiness:
        return setup.readiness(self.conn, today)

    def preview_import(self, kind: str, path: Path, progress: imports.Progress) -> imports.Preview:
        """Read and check every row of a members or catalogue file (CSV or .xlsx); writes nothing."""
        return imports.preview(self.db, kind, Path(path), progress)

    def run_import(
        self, kind: str, path: Path, supervisor: str, password: str, progress: imports.Progress
    ) -> imports.Imported:
        """Check again and write every row in one audited transaction; :class:`imports.ImportRefused` if any is bad."""
        return imports.run(self.db, kind, Path(path), supervisor, password, progress)

    def operators(self) -> list[settings.OperatorRow]:
        return settings.operator_rows(self.conn)

    def add_operator(self, supervisor: str, password: str, name: str, role: str, new_password: str, again: str) -> None:
        settings.same_password(new_password, again)
        settings.add_operator(self.db, supervisor, password, name, role, new_password)

    def set_operator_disabled(self, supervisor: str, password: str, name: str, disabled: bool) -> None:
        settings.set_operator_disabled(self.db, supervisor, password, name, disabled)

    def reset_password(self, supervisor: str, password: str, name: str, new_password: str, again: str) -> None:
        settings.same_password(new_password, again)
        settings.reset_password(self.db, supervisor, password, name, new_password)

    # ---------------------------------------------------------------- the window's text size (issue 17)

    def font_scale(self) -> str:
        """The 字号 setting (percent of the standard size): read when the window starts and after the settings save."""
        return registry.value(self.conn, "ui.font_scale")
