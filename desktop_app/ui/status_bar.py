"""The window's status bar: the operator, the rules in force, the hub (connected, unsent, what it flagged), busy."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from ..services.desk import DeskState
from .common import ERROR_STYLE, message_of, yuan

NOTICE_NAMES = {"set_aside": "中心搁置", "clawback": "待追回", "difference": "待补付"}


def sync_status(state: DeskState) -> str:
    """The status bar's words for sync: connected or not, unsent entries, what the hub flagged."""
    if not state.hub:
        text = "单机模式（未设置医保中心）"
    elif state.last_sync:
        text = f"医保中心 上次同步 {state.last_sync[11:16]}"
    else:
        text = "医保中心 尚未同步"
    text += f"，未上传 {state.unsynced} 笔"
    if state.notices:
        text += f"，中心通知 {len(state.notices)} 条"
    return text


class DeskStatusBar(QStatusBar):
    def __init__(self, operator: str) -> None:
        super().__init__()
        self.operator_label = QLabel(f"操作员 {operator}")
        self.rules_label = QLabel()
        self.sync_label = QLabel()
        self.busy = QProgressBar(maximumWidth=120, maximum=0)  # a busy indicator while the worker has tasks
        self.busy.hide()
        for widget in (self.operator_label, self.rules_label, self.sync_label):
            self.addPermanentWidget(widget)
        self.addPermanentWidget(self.busy)

    def show_busy(self, pending: int) -> None:
        self.busy.setVisible(pending > 0)

    def show_state(self, state: DeskState) -> None:
        """The rules in force; none (a desk that can settle nothing) in red, the whole reason on hover."""
        missing = state.rules.startswith("无有效规则")
        self.rules_label.setText("今天没有有效的结算规则，不能结算（详情见提示）" if missing else f"规则 {state.rules}")
        self.rules_label.setToolTip(state.rules)
        self.rules_label.setStyleSheet(ERROR_STYLE if missing else "")
        self.sync_label.setText(sync_status(state))
        self.sync_label.setToolTip(
            "\n".join(
                f"{NOTICE_NAMES[n.kind]} {yuan(n.amount)}：{n.reason}（{n.uuid[:8]}）" for n in state.notices[:10]
            )
        )

    def show_offline(self, exc: BaseException) -> None:
        self.sync_label.setText(f"医保中心连接失败，离线结算中（{message_of(exc)[:40]}…）")
        self.sync_label.setToolTip(message_of(exc))
