"""The ``desktop-app`` command line.

Every command prints its result as JSON on stdout and exits 0.  On bad input it
prints nothing on stdout, one message on stderr naming the field and the value,
and exits 2; a broken rules file exits 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from .domain.errors import GongjiError, RulesError

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_RULES = 3


class CommandError(GongjiError):
    """A command's own argument or file problem."""


def read_json(path: str) -> object:
    """Read a JSON file (``-`` for stdin) with exact decimals: no float ever."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"无法读取 {path}：{exc.strerror}") from None
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path} 第 {exc.lineno} 行第 {exc.colno} 列：JSON 格式错误（{exc.msg}）") from None


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def cmd_quote(args: argparse.Namespace) -> int:
    from .services.quote import quote

    _print_json(quote(read_json(args.case)))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="desktop-app", description="共济前台：职工医保门诊共济结算")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    quote = sub.add_parser("quote", help="按规则试算一次门诊结算，输出 JSON（不写入任何数据）",
                           description="读取一个结算案例（JSON），按就诊日期有效的地区规则试算，输出结算 JSON。")
    quote.add_argument("case", metavar="CASE.json", help="案例文件；- 表示标准输入")
    quote.set_defaults(func=cmd_quote)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RulesError as exc:
        print(f"desktop-app {args.command}: {exc}", file=sys.stderr)
        return EXIT_RULES
    except GongjiError as exc:
        print(f"desktop-app {args.command}: {exc}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
