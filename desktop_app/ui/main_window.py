"""The front desk window: member, visit and payment side by side, F-keys for everything, a status bar."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QProgressBar, QPushButton, QVBoxLayout, QWidget

from ..resources import rules_dir
from ..services import checkout, receipts, settings
from ..services.cart import Cart, change_due
from ..store import config
from ..rule_files import cached_region
from . import printing
from .backend import Backend
from .common import MessageLine, message_of, yuan
from .dialogs import DayEndDialog, HistoryDialog, SettingsDialog, SupervisorDialog
from .member_panel import MemberPanel
from .payment_panel import ExplanationDialog, PaymentPanel
from .visit_panel import PrescriptionPanel, VisitPanel

KEYS = (("F1", "参保人"), ("F2", "项目"), ("F3", "个人账户"), ("F4", "共济"), ("F5", "同步"), ("F6", "当日结算"), ("F7", "日结"),
        ("F8", "设置"), ("F9", "处方"), ("F10", "说明"), ("F11", "实收"), ("F12", "结算"), ("Esc", "下一位"))


def desk_state(db, today: dt.date) -> dict:
    """What the window needs to know about this desk (runs in the worker)."""
    conn = db.conn
    region = config.region(conn)
    facility = config.facility(conn)
    try:
        rules = cached_region(region, str(rules_dir())).at(today).label
    except Exception as exc:  # noqa: BLE001 - shown in the status bar
        rules = f"无有效规则（{exc}）"
    unsynced = conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
    notices = conn.execute("SELECT kind, amount, reason, uuid FROM sync_notices ORDER BY at DESC").fetchall()
    return {"region": region, "facility": facility, "facility_name": config.get(conn, "facility.name") or "",
            "rules": rules, "unsynced": unsynced, "printer": config.get(conn, "printer.name") or "",
            "layout": config.get(conn, "printer.layout") or "roll", "hub": config.get(conn, "sync.hub") or "",
            "token": config.get(conn, "sync.token") or "", "last_sync": config.get(conn, "sync.last_ok") or "",
            "notices": notices}


NOTICE_NAMES = {"set_aside": "中心搁置", "clawback": "待追回", "difference": "待补付"}


def sync_status(state: dict) -> str:
    """The status bar's words for sync: connected or not, unsent entries, what the hub flagged."""
    if not state["hub"]:
        text = "单机模式（未设置医保中心）"
    elif state["last_sync"]:
        text = f"医保中心 上次同步 {state['last_sync'][11:16]}"
    else:
        text = "医保中心 尚未同步"
    text += f"，未上传 {state['unsynced']} 笔"
    if state["notices"]:
        text += f"，中心通知 {len(state['notices'])} 条"
    return text


class MainWindow(QMainWindow):
    settled = Signal(dict)  # the confirmed settlement (for tests and for the status bar)

    def __init__(self, backend: Backend, operator: str, today: dt.date | None = None) -> None:
        super().__init__()
        self.backend, self.operator = backend, operator
        self.today = today or dt.date.today()
        self.cart = Cart()
        self.state: dict = {}
        self.last_receipt: Path | None = None
        self.dialog = None
        self._quote_seq = 0
        self.receipt_folder = backend.path.parent / "receipts"
        self.export_folder = backend.path.parent / "exports"
        self.setWindowTitle("共济前台 — 职工医保门诊结算")
        self.resize(1366, 740)

        self.member = MemberPanel(backend, self.today)
        self.visit = VisitPanel(backend, self.cart)
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

        self.operator_label = QLabel(f"操作员 {operator}")
        self.rules_label = QLabel()
        self.sync_label = QLabel()
        self.busy = QProgressBar(maximumWidth=120, maximum=0)
        self.busy.hide()
        bar = self.statusBar()
        for widget in (self.operator_label, self.rules_label, self.sync_label):
            bar.addPermanentWidget(widget)
        bar.addPermanentWidget(self.busy)
        backend.busy.connect(lambda n: self.busy.setVisible(n > 0))
        backend.failed.connect(lambda exc: self.message.error(message_of(exc)))

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
        # Sync has its own worker and connection: a slow network never holds up a quote.
        self.sync_backend = Backend(backend.path)
        self.sync_timer = QTimer(self, interval=60_000)
        self.sync_timer.timeout.connect(self.sync_now)
        self.sync_timer.start()
        self._syncing = False
        self.refresh_status()
        self.member.lookup.setFocus()

    # ---------------------------------------------------------------- keys

    def key(self, key: str) -> None:
        actions = {
            "F1": lambda: self._focus(self.member.lookup), "F2": lambda: self._focus(self.visit.entry),
            "F3": self.payment.use_account.toggle, "F4": self._focus_family, "F5": lambda: self.sync_now(manual=True),
            "F6": self.history, "F7": self.day_end,
            "F8": self.open_settings, "F9": lambda: self._focus(self.prescription.first()), "F10": self.explain,
            "F11": lambda: self._focus(self.payment.tendered), "F12": self.confirm, "Esc": self.escape,
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
        self.backend.submit(lambda db: desk_state(db, self.today), self._show_state,
                            lambda exc: self.message.error(message_of(exc)))

    def _show_state(self, state: dict) -> None:
        self.state = state
        pharmacy = state["facility"].kind == "pharmacy"
        self.prescription.setVisible(pharmacy)
        self.setWindowTitle(f"共济前台 — {state['facility_name']}（{state['region']}）")
        self.rules_label.setText(f"规则 {state['rules']}")
        self.sync_label.setText(sync_status(state))
        self.sync_label.setToolTip("\n".join(f"{NOTICE_NAMES[k]} {yuan(Decimal(a) / 100)}：{r}（{u[:8]}）"
                                             for k, a, r, u in state["notices"][:10]))

    def shutdown(self) -> None:
        """Stop the timers and let both workers finish (a confirmed settlement is already committed)."""
        self.sync_timer.stop()
        self.sync_backend.close()
        self.backend.close()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    def sync_now(self, manual: bool = False) -> None:
        """Push and pull in the background; says what the hub flagged."""
        hub, token = self.state.get("hub"), self.state.get("token")
        if not hub or not token:
            if manual:
                self.message.error("未设置医保中心地址或收款台令牌：请主管在设置（F8）中录入")
            return
        if self._syncing:
            return
        self._syncing = True
        from ..sync.client import sync

        self.sync_backend.submit(lambda db: sync(db, hub, token), self._synced, self._sync_failed)

    def _synced(self, report) -> None:
        self._syncing = False
        flagged = [f"搁置 {s['uuid'][:8]}：{s['reason']}" for s in report.set_aside]
        flagged += [f"{NOTICE_NAMES[r['review']]} {r['amount']}（{r['uuid'][:8]}）：{r['reason']}" for r in report.reviews]
        if flagged or report.warnings:
            self.message.error("同步完成，中心提示：" + "；".join(flagged + report.warnings))
        self.refresh_status()

    def _sync_failed(self, exc: BaseException) -> None:
        self._syncing = False
        self.sync_label.setText(f"医保中心连接失败，离线结算中（{message_of(exc)[:40]}…）")
        self.sync_label.setToolTip(message_of(exc))

    @property
    def layout_name(self) -> str:
        return self.state.get("layout", "roll")

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
        self.backend.submit(lambda db: checkout.quote_dict(checkout.build_quote(db.conn, data, self.today)),
                            lambda q: self._quoted(seq, q), lambda exc: self._quote_failed(seq, exc))

    def _quoted(self, seq: int, quote: dict) -> None:
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
        if self.payment.quote is not None:
            try:
                change_due(self.payment.cash(), self.payment.tendered.text())
            except Exception as exc:  # noqa: BLE001
                self.payment.message.error(message_of(exc))
                return
        data = self.cart.case(self.today)
        operator, layout, folder, approval = self.operator, self.layout_name, self.receipt_folder, self.cart.approval
        self.payment.confirm.setEnabled(False)

        def work(db):
            out = checkout.confirm(db, data, operator, today=self.today, approval=approval)
            path = receipts.write(db.conn, out["uuid"], layout, folder / f"{out['uuid']}.pdf")
            return out, path

        self.backend.submit(work, self._confirmed, self._confirm_failed)

    def _confirmed(self, result) -> None:
        out, path = result
        self.payment.confirm.setEnabled(True)
        self.last_receipt = path
        tendered = self.payment.tendered.text().strip()
        change = ""
        if tendered:
            change = f"，找零 {yuan(Decimal(tendered) - Decimal(out['psn_cash_pay']))}"
        self.message.ok(f"结算成功：{out['psn_name']} 统筹 {out['hifp_pay']}，个人账户 {out['acct_pay']}，"
                        f"共济 {out['acct_mulaid_pay']}，现金 {out['psn_cash_pay']}{change}。结算号 {out['uuid'][:8]}")
        self.print_receipt(path)
        self.settled.emit(out)
        self.reset(keep_message=True)
        self.refresh_status()

    def _confirm_failed(self, exc: BaseException) -> None:
        self.payment.confirm.setEnabled(True)
        self.payment.message.error(f"未结算（没有写入任何数据）：{message_of(exc)}")

    PRICE_REASONS = ("目录价未及时更新", "规格或包装不同", "其他（请在此填写）")

    def approve_price(self, line, price) -> None:
        """A price above the catalogue's: a supervisor's name, password and reason, at this moment."""
        dialog = SupervisorDialog(f"{line.name} 改价为 {yuan(price)}（目录价 {yuan(line.ceiling)}）", self,
                                  reasons=self.PRICE_REASONS)
        self.price_dialog = dialog

        def check() -> None:
            approval = checkout.Approval(dialog.name.text().strip(), dialog.password.text(), dialog.reason_text())

            self.backend.submit(lambda db: checkout.authorise(db.conn, approval, "改价"), lambda ok: self._price_approved(line, price, ok),
                                lambda exc: self.visit.message.error(f"未改价：{message_of(exc)}"))

        dialog.accepted.connect(check)
        self._open(dialog)

    def _price_approved(self, line, price, approval) -> None:
        line.unit_price = price
        self.cart.approval = approval
        self.visit.message.ok(f"{line.name} 单价改为 {yuan(price)}：主管 {approval.supervisor} 授权（{approval.reason}）")
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

    def receipt_for(self, uuid: str, note: str | None, then) -> None:
        layout, folder = self.layout_name, self.receipt_folder
        self.backend.submit(lambda db: receipts.write(db.conn, uuid, layout, folder / f"{uuid}-补打.pdf", note),
                            then, lambda exc: self.message.error(message_of(exc)))

    def print_receipt(self, path: Path) -> None:
        """Send to the remembered printer; with none set, the PDF is kept and its place shown."""
        name = self.state.get("printer", "")
        if not name:
            self.message.ok(f"{self.message.text()}　小票已存为 PDF（未设置打印机）")
            self.message.setToolTip(str(path))
            return
        try:
            printing.print_pdf(path, printing.printer_named(name))
        except OSError as exc:
            self.message.error(f"打印失败：{exc}。小票已保存在 {path}，可在当日结算中补打")

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
        target = back_to if back_to is not None and shiboken6.isValid(back_to) and back_to.isVisible() \
            and back_to.isEnabled() else self.member.lookup
        target.setFocus()

    def preview(self, path: Path) -> None:
        self._open(printing.PreviewDialog(path, self, on_print=self.print_receipt))

    # ---------------------------------------------------------------- dialogs

    def explain(self) -> None:
        if self.payment.quote:
            self._open(ExplanationDialog(self.payment.quote["explanation"], self))

    def history(self) -> None:
        self._open(HistoryDialog(self, self.today))

    def day_end(self) -> None:
        self._open(DayEndDialog(self, self.today))

    def open_settings(self) -> None:
        def work(db):
            return settings.show(db.conn)

        def show(current):
            dialog = SettingsDialog(self, current, printing.printer_names())
            dialog.accepted.connect(lambda: (self.message.ok("设置已保存"), self.refresh_status()))
            self._open(dialog)

        self.backend.submit(work, show, lambda exc: self.message.error(message_of(exc)))
