"""The counter's commands: quote, checkout, refund, usage, receipt."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import open_db, print_committed, print_json, read_json, secret, supervisor_password
from .exit_codes import EXIT_OK


def cmd_quote(args: argparse.Namespace) -> int:
    from ..services.quote import quote

    print_json(quote(read_json(args.case)))
    return EXIT_OK


def cmd_checkout(args: argparse.Namespace) -> int:
    from ..services.checkout import Approval, confirm

    case = read_json(args.case)
    password = secret("GONGJI_PASSWORD", f"操作员 {args.operator} 的密码：", f"操作员 {args.operator} 的密码")
    approval = None
    if args.supervisor:
        approval = Approval(
            args.supervisor,
            secret("GONGJI_SUPERVISOR_PASSWORD", f"主管 {args.supervisor} 的密码：", f"主管 {args.supervisor} 的密码"),
            args.reason or "",
        )
    out = confirm(open_db(args.db), case, args.operator, password=password, approval=approval)
    return print_committed(out)


def cmd_refund(args: argparse.Namespace) -> int:
    from ..services.checkout import refund
    from ..services.partial_refund import partial_refund

    db, password = open_db(args.db), supervisor_password(args)
    if args.keep:
        keep = [line - 1 for line in args.keep]
        print_json(partial_refund(db, args.uuid, keep, args.operator, password, args.reason))
    else:
        print_json(refund(db, args.uuid, args.operator, password, reason=args.reason))
    return EXIT_OK


def cmd_usage(args: argparse.Namespace) -> int:
    from ..domain.money import fmt
    from ..services.checkout import find_member
    from ..store import journal

    db = open_db(args.db)
    member = find_member(db.conn, {"psn_no": args.member}, "member")
    usage = journal.usage(db.conn, member.psn_no, args.year)
    print_json(
        {
            "psn_no": member.psn_no,
            "year": args.year,
            "deductible_paid": fmt(usage.deductible_paid),
            "pool_paid": fmt(usage.pool_paid),
            "programme_paid": {k: fmt(v) for k, v in usage.programme_paid.items()},
        }
    )
    return EXIT_OK


def cmd_receipt(args: argparse.Namespace) -> int:
    from ..services import receipts

    out = receipts.write(
        open_db(args.db).conn, args.uuid, args.layout, Path(args.out), copy_note="补打" if args.reprint else None
    )
    print_json({"uuid": args.uuid, "layout": args.layout, "out": str(out), "bytes": out.stat().st_size})
    return EXIT_OK
