"""Database work off the UI thread, Anki-style: ``submit(fn, on_ok, on_err)``.

One worker thread owns the :class:`~desktop_app.services.desk.Desk` (and its SQLite
connection) and runs tasks in order, so the window never waits on the disk or the
network and two tasks never use the connection at once.  A task is a function of
the desk; its result comes back to the UI thread through a queued signal and is
handed to the callbacks there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..domain.errors import GongjiError
from ..services.desk import Desk

log = logging.getLogger("gongji.ui")


class _Relay(QObject):
    finished = Signal(object, object, bool)  # callback, result or exception, ok


class _Task(QRunnable):
    def __init__(
        self, backend: Backend, fn: Callable, on_ok: Callable | None, on_err: Callable | None, with_desk: bool = True
    ) -> None:
        super().__init__()
        self.backend, self.fn, self.on_ok, self.on_err, self.with_desk = backend, fn, on_ok, on_err, with_desk

    def run(self) -> None:  # in the worker thread
        try:
            result = self.fn(self.backend.desk()) if self.with_desk else self.fn()
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the UI, which says why
            if not isinstance(exc, GongjiError):  # our own errors are the user's to fix; anything else is ours
                log.exception("background task failed")
            self.backend.relay.finished.emit(self.on_err, exc, False)
        else:
            self.backend.relay.finished.emit(self.on_ok, result, True)


class Backend(QObject):
    """The window's only way to the desk's data: ``submit(lambda desk: desk.quote(…), on_ok, on_err)``."""

    busy = Signal(int)  # tasks queued or running
    failed = Signal(object)  # an exception nobody asked to handle

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._desk: Desk | None = None
        self._pending = 0
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(1)
        self.pool.setExpiryTimeout(-1)  # keep the one thread (and its connection) alive
        self.relay = _Relay()
        self.relay.finished.connect(self._deliver)

    def desk(self) -> Desk:
        """The desk, opened in (and only used from) the worker thread."""
        if self._desk is None:
            self._desk = Desk.open(self.path)
        return self._desk

    def submit(self, fn: Callable, on_ok: Callable | None = None, on_err: Callable | None = None) -> None:
        """Run ``fn(desk)`` in the worker; then ``on_ok(result)`` or ``on_err(exception)`` in the UI thread."""
        self._pending += 1
        self.busy.emit(self._pending)
        self.pool.start(_Task(self, fn, on_ok, on_err))

    def run(self, fn: Callable, on_ok: Callable | None = None, on_err: Callable | None = None) -> None:
        """Run ``fn()`` in the worker, without the desk (printing: Qt paints on a QPrinter from any thread)."""
        self._pending += 1
        self.busy.emit(self._pending)
        self.pool.start(_Task(self, fn, on_ok, on_err, with_desk=False))

    def _deliver(self, callback, value, ok: bool) -> None:
        self._pending -= 1
        self.busy.emit(self._pending)
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, QObject) and not shiboken6.isValid(owner):
            log.info("result for a closed screen dropped: %s", getattr(callback, "__qualname__", callback))
            return  # the dialog that asked was closed (and deleted) before the worker answered
        if callback is not None:
            try:
                callback(value)
            except RuntimeError as exc:  # a lambda into a deleted widget: the same closed screen
                if "already deleted" not in str(exc):
                    raise
                log.info("result for a closed screen dropped: %s", exc)
        elif not ok:
            self.failed.emit(value)

    def wait(self, msecs: int = 30000) -> bool:
        return self.pool.waitForDone(msecs)

    def close(self) -> None:
        self.pool.waitForDone(30000)
        if self._desk is not None:
            self.submit(lambda desk: desk.close())
            self.pool.waitForDone(30000)
            self._desk = None
