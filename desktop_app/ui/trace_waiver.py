"""Ctrl+T: a supervisor lets the traced lines that are short of their codes be settled, with a reason from a list.

The reason goes with each such line into the settlement; the supervisor's password is checked now and again in
the settlement's own transaction, which audits each waived line (``trace_waiver``) for the day-end report.
"""

from __future__ import annotations

from PySide6.QtGui import QKeySequence, QShortcut

from ..services.checkout import Approval
from ..services.tracing import WAIVER_REASONS
from .common import message_of
from .dialogs import SupervisorDialog

WAIVER_KEY = "Ctrl+T"


def install(window) -> None:
    QShortcut(QKeySequence(WAIVER_KEY), window, activated=lambda: waive(window))


def waive(window) -> None:
    """Ask a supervisor to let the short lines go without (all of) their codes."""
    short = [line for line in window.cart.lines if line.short]
    if not short:
        window.visit.message.error("没有缺追溯码的药品，无需主管放行")
        return
    details = [("缺追溯码", "；".join(f"{line.name} 已扫 {line.trace_shown}" for line in short))]
    dialog = SupervisorDialog("无追溯码结算", window, reasons=WAIVER_REASONS, details=details, reason_first=True)
    window.waiver_dialog = dialog

    def check() -> None:
        approval = Approval(dialog.name.text().strip(), dialog.password.text(), dialog.reason_text())
        if approval.reason not in WAIVER_REASONS:
            window.visit.message.error(f"未放行：原因须从列表中选择（{'、'.join(WAIVER_REASONS)}）")
            return
        window.backend.submit(
            lambda desk: desk.authorise(approval, "无追溯码结算"),
            lambda ok: _waived(window, short, ok),
            lambda exc: window.visit.message.error(f"未放行：{message_of(exc)}"),
        )

    dialog.accepted.connect(check)
    window._open(dialog)


def _waived(window, lines, approval: Approval) -> None:
    for line in lines:
        line.waiver = approval.reason
    window.cart.approval = approval  # checked again, and audited, when the visit is settled
    names = "、".join(line.name for line in lines)
    window.visit.message.ok(f"{names}：主管 {approval.supervisor} 放行无追溯码结算（{approval.reason}）")
    window.visit.refresh()
    window.request_quote()
