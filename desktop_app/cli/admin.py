"""The supervisor's commands: operator-add, catalogue-import, diagnosis-import, settings, and demo-data."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import CommandError, open_db, print_json, secret, supervisor_password
from .exit_codes import EXIT_OK


def cmd_operator_add(args: argparse.Namespace) -> int:
    from ..services.settings import add_operator

    new_password = secret("GONGJI_NEW_PASSWORD", f"新操作员 {args.name} 的密码：", "新操作员的密码")
    add_operator(open_db(args.db), args.operator, supervisor_password(args), args.name, args.role, new_password)
    print_json({"added": args.name, "role": args.role})
    return EXIT_OK


def cmd_catalogue_import(args: argparse.Namespace) -> int:
    from ..services.settings import import_catalogue

    db = open_db(args.db)
    count = import_catalogue(db, args.operator, supervisor_password(args), Path(args.csv))
    print_json({"imported": count, "file": args.csv})
    return EXIT_OK


def cmd_diagnosis_import(args: argparse.Namespace) -> int:
    """The platform's diagnosis catalogue (1307), as the back office imports it: every bad row named, or all written."""
    from ..services import imports

    done = imports.run(open_db(args.db), "diagnoses", Path(args.file), args.operator, supervisor_password(args), _quiet)
    print_json({"imported": done.total, "new": done.new, "updated": done.updated, "file": done.file})
    return EXIT_OK


def _quiet(_stage: str, _done: int, _total: int) -> None:
    """Progress is the window's to show; the command line prints the result."""


def _pairs(texts: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise CommandError(f"{option} {text!r}：应写成 键=值")
        pairs[key.strip()] = value.strip()
    return pairs


def cmd_settings(args: argparse.Namespace) -> int:
    from ..services import settings

    db = open_db(args.db)
    changes = _pairs(args.set or [], "--set")
    figures = [settings.parse_published(text) for text in args.publish or []]  # all read before anything is written
    if changes or figures:
        if not args.operator:
            raise CommandError("修改设置需要 --operator（主管）")
        password = supervisor_password(args)
        if changes:
            settings.change(db, args.operator, password, changes)
        for figure in figures:
            settings.publish(db, args.operator, password, *figure)
    print_json(settings.show(db.conn))
    return EXIT_OK


def cmd_demo_data(args: argparse.Namespace) -> int:
    from ..domain.errors import InputError
    from ..services.demo import DEMO_REGIONS, generate

    if args.region not in DEMO_REGIONS:  # before any file is made
        raise InputError("--region", args.region, f"演示数据只有 {', '.join(DEMO_REGIONS)}")
    print_json(generate(open_db(args.db), args.members, args.seed, args.region))
    return EXIT_OK
