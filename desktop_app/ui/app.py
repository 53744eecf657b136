"""Start the window: the bundled font, the database (created with demo data on first run), login, then the desk."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QProgressDialog

from .. import log
from ..domain.errors import GongjiError
from .backend import Backend
from .common import apply_font_scale, message_of, setup_app
from .dialogs import LoginDialog
from .main_window import MainWindow
from .screen_fit import show_for_screen


def wait_for(backend: Backend, fn):
    """Run ``fn(desk)`` in the worker and wait, keeping the event loop turning (start-up only)."""
    box: dict = {}
    backend.submit(fn, lambda r: box.setdefault("ok", r), lambda e: box.setdefault("error", e))
    while not box:
        QApplication.processEvents()
        backend.wait(20)
    if "error" in box:
        raise box["error"]
    return box["ok"]


def prepare_database(backend: Backend, fresh: bool, members: int) -> None:
    """First run: make the demo database in the worker while a progress dialog shows (the window never freezes)."""
    if not fresh:
        return
    progress = QProgressDialog("首次运行：正在创建演示数据库……", None, 0, 0)
    progress.setWindowTitle("共济前台")
    progress.setWindowModality(Qt.ApplicationModal)
    progress.show()
    errors = []
    backend.submit(
        lambda desk: desk.make_demo(members),
        lambda _: progress.close(),
        lambda exc: (errors.append(exc), progress.close()),
    )
    while progress.isVisible():
        QApplication.processEvents()
        backend.wait(50)
    if errors:
        raise errors[0]


def self_test(backend: Backend) -> int:
    """Open the database and the window as the installed app would, report, and quit (for installers and tests)."""
    import json
    import time

    window = MainWindow(backend, "self-test")
    window.show()
    deadline = time.monotonic() + 30
    while not window.state and not window.message.text() and time.monotonic() < deadline:
        QApplication.processEvents()
        backend.wait(20)
    ok = bool(window.state)
    import PySide6
    from PySide6.QtCore import QCoreApplication

    print(
        json.dumps(
            {
                "ok": ok,
                "database": str(backend.path),
                "rules": window.rules_label.text(),
                "qt": PySide6.__version__,
                "font": QApplication.font().family(),
                "qt_in_chinese": QCoreApplication.translate("QPlatformTheme", "Cancel") == "取消",
                "problem": window.message.text() or None,
            },
            ensure_ascii=False,
        )
    )
    window.shutdown()
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="desktop-app window", description="共济前台收款窗口")
    parser.add_argument("--db", help="本地数据库文件（默认：用户数据目录中的本机数据库）")
    parser.add_argument("--demo", action="store_true", help="数据库不存在时创建演示数据（否则运行设置向导）")
    parser.add_argument(
        "--self-test", action="store_true", help="安装后自检：打开数据库与收款窗口（不需登录），输出规则版本后退出"
    )
    args = parser.parse_args(argv)
    from ..services.demo import DEFAULT_DEMO_MEMBERS
    from ..services.setup import default_db_path

    path = Path(args.db) if args.db else default_db_path()
    fresh = not path.exists() and args.demo
    log.setup("app", path.parent / "logs")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("共济前台")
    setup_app(app)
    backend = Backend(path)
    try:
        prepare_database(backend, fresh, DEFAULT_DEMO_MEMBERS)
    except Exception as exc:  # noqa: BLE001 - one line for the user; ours (not a GongjiError) logged whole
        if not isinstance(exc, GongjiError):
            logging.getLogger("gongji.ui").exception("the database could not be prepared")
        print(f"desktop-app window: {message_of(exc)}", file=sys.stderr)
        return 2
    if args.self_test:
        return self_test(backend)
    apply_font_scale(app, wait_for(backend, lambda desk: desk.font_scale()))  # the wizard and login too
    if wait_for(backend, lambda desk: desk.needs_setup()):
        from .wizard import SetupWizard

        first = not wait_for(backend, lambda desk: desk.has_supervisor())
        regions = wait_for(backend, lambda desk: desk.region_choices())
        if SetupWizard(backend, first, regions=regions).exec() != QDialog.Accepted:
            backend.close()
            return 0
    backend.submit(lambda desk: desk.warm_receipts())  # in the worker, while the cashier types a password
    login = LoginDialog(backend)
    if login.exec() != QDialog.Accepted:
        backend.close()
        return 0
    window = MainWindow(backend, login.operator)
    show_for_screen(window)  # maximised on a small screen
    return app.exec()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
