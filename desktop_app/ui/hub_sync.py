"""Sync with the hub from the window: every minute and on F5, in a worker of its own, never holding up a quote."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from .backend import Backend
from .status_bar import NOTICE_NAMES


class HubSync(QObject):
    """Push and pull in the background; what the hub flagged comes back as one line for the cashier."""

    flagged = Signal(str)  # what the hub set aside or put up for review, or a warning
    finished = Signal()  # a sync ended (the status bar refreshes)
    failed = Signal(object)  # the hub could not be reached: the desk settles offline

    def __init__(self, path: Path, hub_and_token: Callable[[], tuple[str, str]], parent=None) -> None:
        super().__init__(parent)
        self.hub_and_token = hub_and_token
        self.backend = Backend(path)  # its own connection: a slow network never holds the counter's worker
        self.timer = QTimer(self, interval=60_000)
        self.timer.timeout.connect(lambda: self.start(manual=False))
        self.timer.start()
        self._running = False

    def start(self, manual: bool) -> bool:
        """Start a sync; False (nothing started) when no hub is set or one is already running."""
        hub, token = self.hub_and_token()
        if not hub or not token or self._running:
            return bool(hub and token)
        self._running = True
        self.backend.submit(lambda desk: desk.sync(hub, token), self._synced, self._failed)
        return True

    def _synced(self, report) -> None:
        self._running = False
        flagged = [f"搁置 {s['uuid'][:8]}：{s['reason']}" for s in report.set_aside]
        flagged += [
            f"{NOTICE_NAMES[r['review']]} {r['amount']}（{r['uuid'][:8]}）：{r['reason']}" for r in report.reviews
        ]
        flagged += [
            f"追溯码 {d['drug_trac_codg']} 已于 {d['first_sold_at'][:10]} 由收款台 {d['first_desk']} 售出且未退费"
            f"（本单 {d['uuid'][:8]}），疑似回流药，已提交中心复核"
            for d in report.trace_duplicates
        ]
        if flagged or report.warnings:
            self.flagged.emit("同步完成，中心提示：" + "；".join(flagged + report.warnings))
        self.finished.emit()

    def _failed(self, exc: BaseException) -> None:
        self._running = False
        self.failed.emit(exc)

    def stop(self) -> None:
        self.timer.stop()
        self.backend.close()
