"""``desktop-app hub ACTION``: run the central server (serve), or look after its database (upgrade, desks, check)."""

from __future__ import annotations

import argparse

from .common import CommandError, print_json
from .exit_codes import EXIT_OK


def cmd_hub(args: argparse.Namespace) -> int:
    from ..hub import schema

    if args.action == "serve":
        from ..hub.app import serve

        serve(args.db, args.host, args.port)
        return EXIT_OK
    if args.action == "upgrade":
        return _upgrade(schema.engine_for(args.db, as_is=True), args)
    return _ACTIONS[args.action](schema.engine_for(args.db), args)


def _upgrade(engine, args: argparse.Namespace) -> int:
    from ..hub import migrations

    try:
        print_json(migrations.upgrade(engine, args.db))
    finally:
        engine.dispose()
    return EXIT_OK


def _register_desk(engine, args: argparse.Namespace) -> int:
    from ..hub import desks

    if not (args.desk and args.facility and args.region):
        raise CommandError("register-desk 需要 --desk、--facility、--region（以及 --kind 等机构属性）")
    facility = {
        k: v
        for k, v in (
            ("kind", args.kind),
            ("level", args.level),
            ("grade", args.grade),
            ("tier", args.tier),
            ("id", args.facility),
        )
        if v is not None
    }
    token = desks.register_desk(engine, args.desk, args.facility, args.region, facility)
    print_json({"desk_id": args.desk, "token": token, "note": "令牌只显示这一次，请在收款台设置中录入"})
    return EXIT_OK


def _revoke_desk(engine, args: argparse.Namespace) -> int:
    from ..hub import desks

    if not args.desk:
        raise CommandError("revoke-desk 需要 --desk")
    desks.revoke_desk(engine, args.desk)
    print_json({"revoked": args.desk})
    return EXIT_OK


def _import(engine, args: argparse.Namespace) -> int:
    from ..hub import importer
    from ..resources import rules_dir
    from ..rule_files import region_digest, region_names

    if not args.source:
        raise CommandError("import 需要 --from 本地数据库文件")
    counts = importer.import_desk_database(engine, args.source)
    for region in region_names(rules_dir()):
        importer.put_rules_digest(engine, region, region_digest(region), region)
    print_json(counts)
    return EXIT_OK


def _check(engine, args: argparse.Namespace) -> int:
    from ..hub import checks

    problems = checks.check(engine)
    print_json({"ok": not problems, "problems": problems, **checks.for_review(engine)})
    return EXIT_OK if not problems else 1


_ACTIONS = {"register-desk": _register_desk, "revoke-desk": _revoke_desk, "import": _import, "check": _check}
