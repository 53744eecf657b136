"""The ``desktop-app`` command line.

Every command prints its result as JSON on stdout and exits 0.  On bad input it
prints nothing on stdout, one message on stderr naming the field and the value,
and exits 2; a broken rules file exits 3.  A fault of ours is one line too, and
exit 5; its traceback goes to the log file (desktop_app/log.py says where).

This module is the front door: ``main`` and the one-line failures; the exit codes are in exit_codes.py.
The commands are in counter.py, books.py, admin.py, hub.py and window.py, what
they share in common.py, and their arguments in parser.py.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import log
from ..domain.errors import GongjiError, RulesError
from .exit_codes import EXIT_INPUT, EXIT_INTERNAL, EXIT_RULES


def main(argv: Sequence[str] | None = None) -> int:
    from .parser import build_parser

    args = build_parser().parse_args(argv)
    serving = args.command == "hub" and args.action == "serve"  # a server: its own file, its warnings on stderr too
    log.setup("hub" if serving else "cli", echo="gongji.hub" if serving else None)
    try:
        return args.func(args)
    except RulesError as exc:
        return _fail(args, str(exc), EXIT_RULES)
    except GongjiError as exc:
        return _fail(args, str(exc), EXIT_INPUT)
    except sqlite3.Error as exc:  # a full disk, a locked or read-only file: the transaction rolled back
        return _fail(
            args, f"数据库无法完成操作（{exc}），没有写入任何数据；请检查磁盘空间、文件权限，或稍后重试", EXIT_INPUT
        )
    except OSError as exc:  # a folder or file the command had to write
        where = f"：{exc.filename}" if exc.filename else ""
        return _fail(args, f"无法读写文件{where}（{exc.strerror or exc}）；请检查磁盘空间与权限", EXIT_INPUT)
    except Exception as exc:  # noqa: BLE001 - ours to fix: logged whole, one line for the user
        where = _log_unexpected(args)
        return _fail(args, f"内部错误 {type(exc).__name__}：{exc}（详情已记入 {where}，请联系技术支持）", EXIT_INTERNAL)


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    """One line on stderr, the ID number never whole in it (it may come from a file or a database)."""
    from ..domain.errors import one_line

    try:
        print(f"desktop-app {args.command}: {one_line(message)}", file=sys.stderr)
    except OSError:
        pass
    return code


def _log_unexpected(args: argparse.Namespace) -> Path | None:
    """The whole traceback into the log file (see desktop_app/log.py), for whoever fixes it; return that file."""
    import logging

    logging.getLogger("gongji.cli").exception("desktop-app %s: unexpected error", args.command)
    return log.current_file()
