"""The front desk window: member, visit and payment side by side, F-keys for everything, a status bar."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QPushButton, QVBoxLayout, QWidget

from ..domain.errors import InputError
from ..services.cart import Cart, change_due
from ..services.checkout import Approval
from ..services.desk import DeskState, Settled, Shown
from . import checklist, printing
from .backend import Backend
from .common import MessageLine, message_of, yuan
from .dialogs import DayEndDialog, HistoryDialog, SettingsDialog, SupervisorDialog
from .hub_sync import HubSync
from .member_panel import MemberPanel
from .payment_panel import ExplanationDialog, PaymentPanel
from .status_bar import DeskStatusBar
from .visit_panel import PrescriptionPanel, VisitPanel

KEYS = (
    ("F1", "参保人"),
    ("F2", "项目"),
    ("F3", "个人账户"),
    ("F4", "共济"),
    ("F5", "同步"),
    ("F6", "当日结算"),
    ("F7", "日结"),
    ("F8", "设置"),
    ("F9", "处方"),
    ("F10", "说明"),
    ("F11", "实收"),
    ("F12", "结算"),
    ("Esc", "下一位"),
)


class MainWindow(QMainWindow):
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
        self.resize(1366, 740)
        self._build_panels()
        self._build_status_bar()
        self._connect()
        self.hub_sync = HubSync(backend.path, lambda: (self.state.hub, self.state.token) if self.state else ("", ""))
        self.hub_sync.flagged.connect(self.message.error)
        self.hub_sync.finished.connect(self.refresh_status)
        self.hub_sync.failed.connect(self.status.show_offline)
        self.sync_backend = self.hub_sync.backend  # the day-end's reconcile goes through it too
        self.print_backend = Backend(backend.path)  # and printing has its own: a slow printer holds up nothing
        self.refresh_status()
        checklist.install(self)  # Ctrl+B: the back office; an empty database shows what it still lacks
        self.member.lookup.setFocus()

    def _build_panels(self) -> None:
        """Keys across the top; member, visit (and prescription) and payment side by side; the message line."""
        self.member = MemberPanel(self.backend, self.today)
        self.visit = VisitPanel(self.backend, self.cart)
        self.prescription = PrescriptionPanel(self.today)
        self.prescription.hide()
        self.payment = PaymentPanel()
        self.message = MessageLine()
        self.message.setObjectName("window_message")
        keys = QHBoxLayout()
        for key, text in KEYS:
            button = QPushButton(f"{key} {text}")
            button.setFocusPolicy(Qt.NoFocus)
            button.clicked.connect(lambda _=False, k=key: self.key(k))
            keys.addWidget(button)
        centre = QVBoxLayout()
        centre.addWidget(self.visit, 1)
        centre.addWidget(self.prescription)
        body = QHBoxLayout()
        body.addWidget(self.member, 3)
        body.addLayout(centre, 5)
        body.addWidget(self.payment, 3)
        root = QVBoxLayout()
        root.addLayout(keys)
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
        self.member.chosen.connect(self._member_chosen)
        self.visit.changed.connect(self.request_quote)
        self.visit.override_requested.connect(self.approve_price)
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

    def escape(self) -> None:
        """Esc backs out: close a suggestion list, else clear the field, else start the next member."""
        for widget in (self.visit.suggestions, self.member.results):
            if widget.isVisible():
                widget.hide()
                return
        focused = self.focusWidget()
        if hasattr(focused, "text") and hasattr(focused, "clear") and focused.text():
            focused.clear()
            return
        self.reset()

    # ---------------------------------------------------------------- state

    def refresh_status(self) -> None:
        self.backend.submit(
            lambda desk: desk.state(self.today), self._show_state, lambda exc: self.message.error(message_of(exc))
        )

    def _show_state(self, state: DeskState) -> None:
        self.state = state
        self.prescription.setVisible(state.pharmacy)
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
        self.cart.psn_no = card.psn_no
        self.cart.family_payer = None
        self.payment.set_member(card)
        self.visit.entry.setFocus()
        self.request_quote()

    def _sync_cart(self) -> None:
        self.cart.use_account = self.payment.use_account.isChecked()
        self.cart.family_payer = self.payment.family_payer
        self.cart.prescription = self.prescription.data() if self.prescription.filled() else None

    def request_quote(self) -> None:
        self.quote_timer.start()

    def _quote_now(self) -> None:
        self._sync_cart()
        self._quote_seq += 1
        seq = self._quote_seq
        if not self.cart.ready:
            self.payment.show_quote(None)
            return
        data = self.cart.case(self.today)
        self.backend.submit(
            lambda desk: desk.quote(data, self.today),
            lambda q: self._quoted(seq, q),
            lambda exc: self._quote_failed(seq, exc),
        )

    def _quoted(self, seq: int, quote: Shown) -> None:
        if seq == self._quote_seq:
            self.payment.message.clear()
            self.payment.show_quote(quote)

    def _quote_failed(self, seq: int, exc: BaseException) -> None:
        if seq == self._quote_seq:
            self.payment.show_quote(None)
            self.payment.message.error(message_of(exc))

    # ---------------------------------------------------------------- confirm

    def confirm(self) -> None:
        self.quote_timer.stop()
        self._sync_cart()
        if not self.cart.psn_no:
            self.payment.message.error("请先查找参保人（F1）")
            return
        if not self.cart.lines:
            self.payment.message.error("请先录入项目（F2）")
            return
        if self.payment.shown is not None:
            try:
                change_due(self.payment.cash(), self.payment.tendered.text())
            except InputError as exc:
                self.payment.message.error(message_of(exc))
                return
        data, today = self.cart.case(self.today), self.today
        operator, layout, approval = self.operator, self.layout_name, self.cart.approval
        tendered = self.payment.tendered.text().strip() or None  # 实收 and 找零 on the receipt
        self.payment.confirm.setEnabled(False)
        self.backend.submit(
            lambda desk: desk.confirm(data, operator, today, layout, approval, tendered=tendered),
            self._confirmed,
            self._confirm_failed,
        )

    def _confirmed(self, done: Settled) -> None:
        self.payment.confirm.setEnabled(True)
        self.last_receipt = done.receipt
        tendered = self.payment.tendered.text().strip()
        change = ""
        if tendered:
            change = f"，找零 {yuan(Decimal(tendered) - done.cash)}"
        self.message.ok(
            f"结算成功：{done.name} 统筹 {yuan(done.fund)}，个人账户 {yuan(done.own_account)}，"
            f"共济 {yuan(done.family_account)}，现金 {yuan(done.cash)}{change}。结算号 {done.uuid[:8]}"
        )
        self.print_receipt(done.receipt)
        self.settled.emit(done.record)
        self.reset(keep_message=True)
        self.refresh_status()

    def _confirm_failed(self, exc: BaseException) -> None:
        self.payment.confirm.setEnabled(True)
        self.payment.message.error(f"未结算（没有写入任何数据）：{message_of(exc)}")

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
            dialog.accepted.connect(lambda: (self.message.ok("设置已保存"), self.refresh_status()))
            self._open(dialog)

        self.backend.submit(lambda desk: desk.settings(), show, lambda exc: self.message.error(message_of(exc)))
