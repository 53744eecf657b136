"""The front desk window: member, visit and payment side by side, F-keys for everything, a status bar.

The quote and F12 are in :mod:`.settle_flow`, Esc and Ctrl+Z in :mod:`.step_back`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import shiboken6
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QHBoxLayout, QMainWindow, QVBoxLayout, QWidget

from ..services.cart import Cart
from ..services.checkout import Approval
from ..services.desk import DeskState
from . import checklist, printing, trace_waiver
from .backend import Backend
from .common import MessageLine, apply_font_scale, message_of, yuan
from .diagnosis_box import DIAGNOSIS_KEY, DiagnosisBox
from .dialogs import DayEndDialog, HistoryDialog, SettingsDialog, SupervisorDialog
from .hub_sync import HubSync
from .key_bar import KEYS, KeyBar
from .member_panel import MemberPanel
from .payment_panel import ExplanationDialog, PaymentPanel
from .prescription_panel import PrescriptionPanel
from .screen_fit import available, window_size
from .settle_flow import SettleFlow
from .status_bar import DeskStatusBar
from .step_back import StepBack
from .visit_panel import VisitPanel


class MainWindow(SettleFlow, StepBack, QMainWindow):
    settled = Signal(dict)  # the confirmed settlement as journalled and printed (for tests and for the status bar)

    def __init__(self, backend: Backend, operator: str, today: dt.date | None = None) -> None:
        super().__init__()
        self.backend, self.operator = backend, operator
        self.today = today or dt.date.today()
        self.cart = Cart()
        self.state: DeskState | None = None
        self.last_receipt: Path | None = None
        self.dialog = None
        self._quote_seq = 0
        self.receipt_folder = backend.path.parent / "receipts"  # where Desk writes them (tests look there)
        self.export_folder = backend.path.parent / "exports"
        self.setWindowTitle("共济前台 — 职工医保门诊结算")
        self.resize(*window_size(available()))  # app.py shows it maximised on a small screen
        self._build_panels()
        self._build_status_bar()
        self._connect()
        self.watch_undo_keys()
        self.hub_sync = HubSync(backend.path, lambda: (self.state.hub, self.state.token) if self.state else ("", ""))
        self.hub_sync.flagged.connect(self.message.error)
        self.hub_sync.finished.connect(self.refresh_status)
        self.hub_sync.failed.connect(self.status.show_offline)
        self.sync_backend = self.hub_sync.backend  # the day-end's reconcile goes through it too
        self.print_backend = Backend(backend.path)  # and printing has its own: a slow printer holds up nothing
        self.refresh_status()
        checklist.install(self)  # Ctrl+B: the back office; an empty database shows what it still lacks
        trace_waiver.install(self)  # Ctrl+T: a supervisor lets traced lines short of their codes be settled
        self.member.lookup.setFocus()

    def _build_panels(self) -> None:
        """Keys across the top; member, visit (and prescription) and payment side by side; the message line."""
        self.member = MemberPanel(self.backend, self.today)
        self.visit = VisitPanel(self.backend, self.cart, self.today)
        self.diagnosis = DiagnosisBox(self.backend, self.cart)
        self.prescription = PrescriptionPanel(self.today)
        self.prescription.hide()
        self.payment = PaymentPanel()
        self.message = MessageLine()
        self.message.setObjectName("window_message")
        centre = QVBoxLayout()
        centre.addWidget(self.diagnosis)
        centre.addWidget(self.visit, 1)
        centre.addWidget(self.prescription)
        body = QHBoxLayout()  # the items' panel has the most to show (names, 规格, 厂家): the sides give it room
        body.addWidget(self.member, 2)
        body.addLayout(centre, 5)
        body.addWidget(self.payment, 2)
        root = QVBoxLayout()
        self.key_bar = KeyBar(self.key)
        root.addWidget(self.key_bar)
        root.addLayout(body, 1)
        root.addWidget(self.message)
        holder = QWidget()
        holder.setLayout(root)
        self.setCentralWidget(holder)

    def _build_status_bar(self) -> None:
        self.status = DeskStatusBar(self.operator)
        self.setStatusBar(self.status)
        self.rules_label, self.sync_label = self.status.rules_label, self.status.sync_label

    def _connect(self) -> None:
        self.backend.busy.connect(self.status.show_busy)
        self.backend.failed.connect(lambda exc: self.message.error(message_of(exc)))
        for key, _ in KEYS:
            QShortcut(QKeySequence(key), self, activated=lambda k=key: self.key(k))
        QShortcut(QKeySequence.StandardKey.Undo, self, activated=self.undo_clear)
        self.member.chosen.connect(self._member_chosen)
        self.visit.changed.connect(self._visit_changed)
        self.visit.override_requested.connect(self.approve_price)
        self.diagnosis.changed.connect(self.request_quote)
        self.diagnosis.chosen_one.connect(lambda: self._focus(self.visit.entry))
        QShortcut(QKeySequence(DIAGNOSIS_KEY), self, activated=lambda: self._focus(self.diagnosis.entry))
        self.prescription.changed.connect(self.request_quote)
        self.payment.changed.connect(self.request_quote)
        self.payment.confirm_requested.connect(self.confirm)
        self.payment.explain_requested.connect(self.explain)
        self.quote_timer = QTimer(self, singleShot=True, interval=120)
        self.quote_timer.timeout.connect(self._quote_now)

    # ---------------------------------------------------------------- keys

    def key(self, key: str) -> None:
        actions = {
            "F1": lambda: self._focus(self.member.lookup),
            "F2": lambda: self._focus(self.visit.entry),
            "F3": self.payment.use_account.toggle,
            "F4": self._focus_family,
            "F5": lambda: self.sync_now(manual=True),
            "F6": self.history,
            "F7": self.day_end,
            "F8": self.open_settings,
            "F9": lambda: self._focus(self.prescription.first()),
            "F10": self.explain,
            "F11": lambda: self._focus(self.payment.tendered),
            "F12": self.confirm,
            "Esc": self.escape,
        }
        actions[key]()

    def _focus(self, widget) -> None:
        if widget.isVisible():
            widget.setFocus()
            if hasattr(widget, "selectAll"):
                widget.selectAll()

    def _focus_family(self) -> None:
        """Focus the payer list; the arrow keys choose (no popup to dismiss)."""
        self.payment.family.setFocus()

    # ---------------------------------------------------------------- state

    def refresh_status(self) -> None:
        self.backend.submit(
            lambda desk: desk.state(self.today), self._show_state, lambda exc: self.message.error(message_of(exc))
        )

    def _show_state(self, state: DeskState) -> None:
        self.state = state
        self.prescription.setVisible(state.pharmacy)
        self.diagnosis.setVisible(not state.pharmacy)  # a pharmacy takes the diagnosis from the 外配处方
        self.setWindowTitle(f"共济前台 — {state.facility_name}（{state.region}）")
        self.status.show_state(state)

    def shutdown(self) -> None:
        """Stop the timers and let both workers finish (a confirmed settlement is already committed)."""
        self.hub_sync.stop()
        self.print_backend.close()
        self.backend.close()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    def sync_now(self, manual: bool = False) -> None:
        """Push and pull in the background (F5); says what the hub flagged."""
        if not self.hub_sync.start(manual) and manual:
            self.message.error("未设置医保中心地址或收款台令牌：请主管在设置（F8）中录入")

    @property
    def layout_name(self) -> str:
        return self.state.layout if self.state else "roll"

    def _member_chosen(self, card) -> None:
        self.next_started()
        self.cart.psn_no = card.psn_no
        self.cart.family_payer = None
        self.payment.set_member(card)
        self.visit.entry.setFocus()
        self.request_quote()

    def _sync_cart(self) -> None:
        self.cart.use_account = self.payment.use_account.isChecked()
        self.cart.family_payer = self.payment.family_payer
        self.cart.prescription = self.prescription.data() if self.prescription.filled() else None

    def _visit_changed(self) -> None:
        if self.cart.lines:
            self.next_started()
        self.request_quote()

    # ---------------------------------------------------------------- a price above the catalogue's

    PRICE_REASONS = ("目录价未及时更新", "规格或包装不同", "其他（请在此填写）")

    def approve_price(self, line, price) -> None:
        """A price above the catalogue's: a supervisor's name, password and reason, at this moment."""
        dialog = SupervisorDialog(
            f"{line.name} 改价为 {yuan(price)}（目录价 {yuan(line.ceiling)}）", self, reasons=self.PRICE_REASONS
        )
        self.price_dialog = dialog

        def check() -> None:
            approval = Approval(dialog.name.text().strip(), dialog.password.text(), dialog.reason_text())
            self.backend.submit(
                lambda desk: desk.authorise(approval, "改价"),
                lambda ok: self._price_approved(line, price, ok),
                lambda exc: self.visit.message.error(f"未改价：{message_of(exc)}"),
            )

        dialog.accepted.connect(check)
        self._open(dialog)

    def _price_approved(self, line, price, approval) -> None:
        line.unit_price = price
        self.cart.approval = approval
        self.visit.message.ok(
            f"{line.name} 单价改为 {yuan(price)}：主管 {approval.supervisor} 授权（{approval.reason}）"
        )
        self.visit.refresh()
        self.request_quote()

    def reset(self, keep_message: bool = False) -> None:
        self.cart.approval = None
        self.cart.psn_no, self.cart.lines[:], self.cart.family_payer = None, [], None
        self.cart.visit_kind = "ordinary"
        self.member.reset()
        self.visit.reset()
        self.prescription.reset()
        self.cart.diagnoses.clear()
        self.diagnosis.reset()
        self.payment.reset()
        if not keep_message:
            self.message.clear()
        self.member.lookup.setFocus()

    # ---------------------------------------------------------------- receipts

    def receipt_for(self, uuid: str, note: str | None, then, preview: bool = False) -> None:
        """The PDF under receipts/ (a reprint marked by ``note``), or a ``preview``: a temporary file, unmarked."""
        layout = self.layout_name
        make = (lambda desk: desk.preview(uuid, layout)) if preview else (lambda desk: desk.receipt(uuid, layout, note))
        self.backend.submit(make, then, lambda exc: self.message.error(message_of(exc)))

    def print_receipt(self, path: Path) -> None:
        """Send to the remembered printer; with none set, the PDF is kept and its place shown."""
        name = self.state.printer if self.state else ""
        if not name:
            self.message.ok(f"{self.message.text()}　小票已存为 PDF（未设置打印机）")
            self.message.setToolTip(str(path))
            return
        self.print_backend.run(
            lambda: printing.print_pdf(path, printing.printer_named(name)),
            None,
            lambda exc: self._print_failed(path, exc),
        )

    def _print_failed(self, path: Path, exc: BaseException) -> None:
        why = exc if isinstance(exc, OSError) else message_of(exc)
        self.message.error(f"打印失败：{why}。小票已保存在 {path}，可在当日结算中补打")

    def _open(self, dialog) -> None:
        """Dialogs open window-modal without blocking, so the worker's results keep arriving.

        When one closes, the keyboard is back where it was (or in the member box): a cashier
        presses Esc and goes on typing, never reaching for the mouse.
        A closed dialog is deleted (its rows and widgets with it): a cashier opens F6 and F7 many
        times a day, and each kept dialog would hold its table for the rest of the shift.
        """
        self.dialog = dialog
        back_to = self.focusWidget()
        dialog.finished.connect(lambda _result: self._closed(dialog, back_to))
        dialog.open()

    def _closed(self, dialog, back_to) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()
        self.activateWindow()
        target = (
            back_to
            if back_to is not None and shiboken6.isValid(back_to) and back_to.isVisible() and back_to.isEnabled()
            else self.member.lookup
        )
        target.setFocus()

    def preview(self, path: Path) -> None:
        self._open(printing.PreviewDialog(path, self, on_print=self.print_receipt))

    # ---------------------------------------------------------------- dialogs

    def explain(self) -> None:
        if self.payment.shown:
            self._open(ExplanationDialog(list(self.payment.shown.explanation), self))

    def history(self) -> None:
        self._open(HistoryDialog(self, self.today))

    def day_end(self) -> None:
        self._open(DayEndDialog(self, self.today))

    def open_settings(self) -> None:
        def show(current) -> None:
            dialog = SettingsDialog(self, current, printing.printer_names())
            dialog.accepted.connect(
                lambda: (self.message.ok("设置已保存"), self.refresh_status(), self.load_font_scale())
            )
            self._open(dialog)

        self.backend.submit(lambda desk: desk.settings(), show, lambda exc: self.message.error(message_of(exc)))

    def load_font_scale(self) -> None:
        """The 字号 setting, applied to the whole application (at start app.py does it before the login)."""
        self.backend.submit(
            lambda desk: desk.font_scale(),
            lambda percent: apply_font_scale(QApplication.instance(), percent),
            lambda exc: self.message.error(message_of(exc)),
        )
