"""The books' commands: verify, sync, reconcile, backup."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import CommandError, hub_token, open_db, print_json
from .exit_codes import EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from ..services.verify import verify

    db = open_db(args.db)
    problems = verify(db.conn)
    if args.hub:
        from ..sync.reconcile import audit_matches_hub

        problems += audit_matches_hub(db, args.hub, args.token or hub_token())
    print_json({"ok": not problems, "problems": problems})
    for problem in problems:
        print(f"verify: {problem}", file=sys.stderr)
    return EXIT_OK if not problems else 1


def cmd_sync(args: argparse.Namespace) -> int:
    from ..sync.client import sync

    db = open_db(args.db)
    report = sync(db, args.hub, args.token or hub_token())
    print_json(report.as_dict())
    for warning in report.warnings:
        print(f"sync: {warning}", file=sys.stderr)
    return EXIT_OK


def cmd_reconcile(args: argparse.Namespace) -> int:
    from ..sync.reconcile import reconcile

    result = reconcile(open_db(args.db), args.hub, args.token or hub_token(), args.day)
    print_json(result)
    return EXIT_OK if result["ok"] else 1


def cmd_backup(args: argparse.Namespace) -> int:
    from ..store.migrations import backup

    target = Path(args.out)
    if target.exists():
        raise CommandError(f"{target} 已存在：请换一个文件名，备份不覆盖旧备份")
    target.parent.mkdir(parents=True, exist_ok=True)
    db = open_db(args.db)
    backup(db.conn, target)
    print_json({"backup": str(target), "bytes": target.stat().st_size})
    return EXIT_OK
