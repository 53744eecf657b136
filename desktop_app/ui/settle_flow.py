"""The quote as the cart changes, and F12: a current quote, the confirm step, then one transaction.

The confirm step always shows the quote of exactly the case it will settle: when the panel's quote
is current, F12 opens the step at once; when the cart has changed since, the quote is asked for
again and the step opens when it arrives.  Nothing is written until the cashier presses Enter there.
"""

from __future__ import annotations

from decimal import Decimal

from ..services.desk import Settled, Shown
from .common import message_of, yuan
from .confirm_step import ConfirmStep

NOT_SETTLED = "未结算（没有写入任何数据）："


class SettleFlow:
    """The main window's quote and F12 (a mixin: ``self`` is the MainWindow)."""

    confirming: ConfirmStep | None = None
    committing = False
    shown_case: dict | None = None  # the case the panel's quote was made for

    def line_names(self) -> list[str]:
        """The cart's lines by name, in the case's order (an error about items[1] names the second)."""
        return [line.name for line in self.cart.lines]

    # ---------------------------------------------------------------- the quote

    def request_quote(self) -> None:
        self.quote_timer.start()

    def _quote_now(self) -> None:
        self._sync_cart()
        self._quote_seq += 1
        seq = self._quote_seq
        if not self.cart.ready:
            self.shown_case = None
            self.payment.show_quote(None)
            return
        self._ask_quote(seq, self.cart.case(self.today))

    def _ask_quote(self, seq: int, data: dict, then=None) -> None:
        self.backend.submit(
            lambda desk: desk.quote(data, self.today),
            lambda q: self._quoted(seq, data, q, then),
            lambda exc: self._quote_failed(seq, exc, NOT_SETTLED if then else ""),
        )

    def _quoted(self, seq: int, data: dict, quote: Shown, then=None) -> None:
        if seq != self._quote_seq:
            return  # the cart changed again: a newer quote is on its way (and F12 must be pressed on it)
        self.shown_case = data
        self.payment.message.clear()
        self.payment.show_quote(quote)
        if then is not None:
            then(data, quote)

    def _quote_failed(self, seq: int, exc: BaseException, prefix: str = "") -> None:
        if seq == self._quote_seq:
            self.shown_case = None
            self.payment.show_quote(None)
            self.payment.message.error(prefix + message_of(exc, self.line_names()))

    # ---------------------------------------------------------------- F12

    def confirm(self) -> None:
        """F12 (or Enter in 实收): the confirm step on a current quote; a second F12 there settles."""
        if self.committing:
            return
        if self.confirming is not None:
            self.confirming.settle()
            return
        self.quote_timer.stop()
        self._sync_cart()
        if not self.cart.psn_no:
            self.payment.message.error("请先查找参保人（F1）")
            return
        if not self.cart.lines:
            self.payment.message.error("请先录入项目（F2）")
            return
        if self.diagnosis.isVisible() and not self.cart.diagnoses:  # a clinic settles a visit with its diagnosis
            self.payment.message.error("请先录入诊断（Ctrl+D）：输入诊断编码、名称或拼音首字母，回车")
            self.diagnosis.entry.setFocus()
            return
        short = [line for line in self.cart.lines if line.short]
        if short:  # the count mismatch is refused here, before the confirm step, and said line by line
            self.payment.message.error(
                "追溯码与数量不符，不能结算："
                + "；".join(
                    f"{line.name} 应扫 {line.packages.normalize():f} 个，已扫 {len(line.codes)} 个" for line in short
                )
                + "。请逐盒扫码（F2 框中扫），确实无法扫码时按 Ctrl+T 由主管选择原因放行"
            )
            return
        data = self.cart.case(self.today)
        if self.payment.shown is not None and data == self.shown_case:
            self._open_step(data, self.payment.shown)
            return
        self._quote_seq += 1
        self._ask_quote(self._quote_seq, data, then=self._open_step)

    def _open_step(self, data: dict, shown: Shown) -> None:
        card = self.member.card
        payer = next((p.name for p in card.family if p.psn_no == shown.family_payer), "") if card else ""
        step = ConfirmStep(self, card.name if card else "", shown, payer, self.payment.tendered.text())
        self.confirming = step
        step.accepted.connect(lambda: self._commit(data, step.tendered.text().strip()))
        step.finished.connect(lambda _result: setattr(self, "confirming", None))
        self._open(step)

    def _commit(self, data: dict, tendered: str) -> None:
        self.payment.tendered.setText(tendered)  # what the step held is what was handed over
        self.committing = True
        self.payment.confirm.setEnabled(False)
        today, operator, layout, approval = self.today, self.operator, self.layout_name, self.cart.approval
        self.backend.submit(
            lambda desk: desk.confirm(data, operator, today, layout, approval, tendered=tendered or None),
            lambda done: self._confirmed(done, Decimal(tendered) if tendered else None),
            self._confirm_failed,
        )

    def _confirmed(self, done: Settled, tendered: Decimal | None) -> None:
        self.committing = False
        self.payment.confirm.setEnabled(True)
        self.last_receipt = done.receipt
        change = f"，实收 {yuan(tendered)}，找零 {yuan(tendered - done.cash)}" if tendered is not None else ""
        self.message.ok(
            f"结算成功：{done.name} 统筹 {yuan(done.fund)}，个人账户 {yuan(done.own_account)}，"
            f"共济 {yuan(done.family_account)}，现金 {yuan(done.cash)}{change}。结算号 {done.uuid[:8]}"
        )
        self.print_receipt(done.receipt)
        self.settled.emit(done.record)
        self.reset(keep_message=True)
        self.payment.show_settled(done.name, done.cash, tendered)
        self.refresh_status()

    def _confirm_failed(self, exc: BaseException) -> None:
        self.committing = False
        self.payment.confirm.setEnabled(True)
        self.payment.message.error(NOT_SETTLED + message_of(exc, self.line_names()))
