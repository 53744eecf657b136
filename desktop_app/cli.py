"""The ``desktop-app`` command line.

Every command prints its result as JSON on stdout and exits 0.  On bad input it
prints nothing on stdout, one message on stderr naming the field and the value,
and exits 2; a broken rules file exits 3.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from .domain.errors import GongjiError, RulesError

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_RULES = 3
EXIT_INTERNAL = 5  # a fault of ours: logged, never a traceback on the terminal
EXIT_COMMITTED = 4  # written and committed, but the result could not be printed: do not run it again


MAX_CASE_BYTES = 5_000_000


class CommandError(GongjiError):
    """A command's own argument or file problem."""


def read_json(path: str) -> object:
    """Read a JSON file (``-`` for stdin) with exact decimals: no float ever."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path}：不是 UTF-8 文本（第 {exc.start} 字节）；请以 UTF-8 保存") from None
    except OSError as exc:
        raise CommandError(f"无法读取 {path}：{exc.strerror or exc}") from None
    if len(text) > MAX_CASE_BYTES:
        raise CommandError(f"{path}：文件过大（{len(text)} 字符，上限 {MAX_CASE_BYTES}）")
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path} 第 {exc.lineno} 行第 {exc.colno} 列：JSON 格式错误（{exc.msg}）") from None
    except RecursionError:
        raise CommandError(f"{path}：JSON 嵌套过深，不是结算单") from None


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def cmd_quote(args: argparse.Namespace) -> int:
    from .services.quote import quote

    _print_json(quote(read_json(args.case)))
    return EXIT_OK


def _db(path: str | None):
    """Open ``path``, or the default database, which the first run creates with demo data."""
    from .services.demo import DEFAULT_DEMO_MEMBERS, generate
    from .services.setup import default_db_path
    from .store.db import connect

    target = Path(path) if path else default_db_path()
    fresh = not target.exists()
    db = connect(target)
    if fresh and path is None:
        print(f"desktop-app: 首次运行，在 {target} 创建演示数据库", file=sys.stderr)
        generate(db, DEFAULT_DEMO_MEMBERS)
    return db


def cmd_checkout(args: argparse.Namespace) -> int:
    from .services.checkout import Approval, confirm

    case = read_json(args.case)
    password = _secret("GONGJI_PASSWORD", f"操作员 {args.operator} 的密码：", f"操作员 {args.operator} 的密码")
    approval = None
    if args.supervisor:
        approval = Approval(args.supervisor, _secret("GONGJI_SUPERVISOR_PASSWORD", f"主管 {args.supervisor} 的密码：",
                                                     f"主管 {args.supervisor} 的密码"), args.reason or "")
    out = confirm(_db(args.db), case, args.operator, password=password, approval=approval)
    return _print_committed(out)


def _print_committed(out: dict) -> int:
    """Print a committed result; if that fails, say it was committed, so a script does not settle twice."""
    try:
        _print_json(out)
        sys.stdout.flush()
    except (OSError, ValueError) as exc:
        print(f"desktop-app: 已结算并写入（结算号 {out['uuid']}），但结果无法输出（{exc}）。请勿重新结算："
              f"用同一 request_id 重试可取回结果，或在当日结算中查看。", file=sys.stderr)
        return EXIT_COMMITTED
    return EXIT_OK


def _secret(variable: str, prompt: str, what: str) -> str:
    """A password from the environment (scripts) or typed at the terminal, never an argument (shell history)."""
    value = os.environ.get(variable)
    if value is None and sys.stdin.isatty():
        value = getpass.getpass(prompt)
    if not value:
        raise CommandError(f"需要{what}：在终端输入，或由环境变量 {variable} 提供")
    return value


def _password(args: argparse.Namespace) -> str:
    return _secret("GONGJI_PASSWORD", f"主管 {args.operator} 的密码：", "主管密码")


def cmd_refund(args: argparse.Namespace) -> int:
    from .services.checkout import refund

    _print_json(refund(_db(args.db), args.uuid, args.operator, _password(args)))
    return EXIT_OK


def cmd_usage(args: argparse.Namespace) -> int:
    from .domain.money import fmt
    from .services.checkout import find_member
    from .store import journal

    db = _db(args.db)
    member = find_member(db.conn, {"psn_no": args.member}, "member")
    usage = journal.usage(db.conn, member.psn_no, args.year)
    _print_json({"psn_no": member.psn_no, "year": args.year, "deductible_paid": fmt(usage.deductible_paid),
                 "pool_paid": fmt(usage.pool_paid),
                 "programme_paid": {k: fmt(v) for k, v in usage.programme_paid.items()}})
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from .services.verify import verify

    db = _db(args.db)
    problems = verify(db.conn)
    if args.hub:
        from .sync.client import audit_matches_hub

        problems += audit_matches_hub(db, args.hub, args.token or _token(db))
    _print_json({"ok": not problems, "problems": problems})
    for problem in problems:
        print(f"verify: {problem}", file=sys.stderr)
    return EXIT_OK if not problems else 1


def cmd_receipt(args: argparse.Namespace) -> int:
    from .services import receipts

    out = receipts.write(_db(args.db).conn, args.uuid, args.layout, Path(args.out),
                         copy_note="补打" if args.reprint else None)
    _print_json({"uuid": args.uuid, "layout": args.layout, "out": str(out), "bytes": out.stat().st_size})
    return EXIT_OK


def cmd_window(args: argparse.Namespace) -> int:
    from .ui.app import main as window_main

    return window_main((["--db", args.db] if args.db else []) + (["--demo"] if args.demo else [])
                       + (["--self-test"] if args.self_test else []))


def cmd_hub(args: argparse.Namespace) -> int:
    from .hub import checks, desks, importer, schema

    if args.action == "serve":
        from .hub.app import serve

        serve(args.db, args.host, args.port)
        return EXIT_OK
    engine = schema.engine_for(args.db)
    if args.action == "register-desk":
        if not (args.desk and args.facility and args.region):
            raise CommandError("register-desk 需要 --desk、--facility、--region（以及 --kind 等机构属性）")
        facility = {k: v for k, v in (("kind", args.kind), ("level", args.level), ("grade", args.grade),
                                      ("tier", args.tier), ("id", args.facility)) if v is not None}
        token = desks.register_desk(engine, args.desk, args.facility, args.region, facility)
        _print_json({"desk_id": args.desk, "token": token, "note": "令牌只显示这一次，请在收款台设置中录入"})
    elif args.action == "revoke-desk":
        if not args.desk:
            raise CommandError("revoke-desk 需要 --desk")
        desks.revoke_desk(engine, args.desk)
        _print_json({"revoked": args.desk})
    elif args.action == "import":
        if not args.source:
            raise CommandError("import 需要 --from 本地数据库文件")
        counts = importer.import_desk_database(engine, args.source)
        from .resources import rules_dir
        from .rule_files import region_digest, region_names

        for region in region_names(rules_dir()):
            importer.put_rules_digest(engine, region, region_digest(region), region)
        _print_json(counts)
    elif args.action == "check":
        problems = checks.check(engine)
        _print_json({"ok": not problems, "problems": problems, **checks.for_review(engine)})
        return EXIT_OK if not problems else 1
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    from .sync.client import sync

    db = _db(args.db)
    report = sync(db, args.hub, args.token or _token(db))
    _print_json(report.as_dict())
    for warning in report.warnings:
        print(f"sync: {warning}", file=sys.stderr)
    return EXIT_OK


def _token(db) -> str:
    token = os.environ.get("GONGJI_HUB_TOKEN")
    if not token:
        raise CommandError("需要收款台令牌：--token 或环境变量 GONGJI_HUB_TOKEN")
    return token


def cmd_reconcile(args: argparse.Namespace) -> int:
    from .sync.client import reconcile

    result = reconcile(_db(args.db), args.hub, args.token or _token(None), args.day)
    _print_json(result)
    return EXIT_OK if result["ok"] else 1


def cmd_backup(args: argparse.Namespace) -> int:
    from .store.migrations import backup

    target = Path(args.out)
    if target.exists():
        raise CommandError(f"{target} 已存在：请换一个文件名，备份不覆盖旧备份")
    target.parent.mkdir(parents=True, exist_ok=True)
    db = _db(args.db)
    backup(db.conn, target)
    _print_json({"backup": str(target), "bytes": target.stat().st_size})
    return EXIT_OK


def cmd_operator_add(args: argparse.Namespace) -> int:
    from .services.settings import add_operator

    new_password = _secret("GONGJI_NEW_PASSWORD", f"新操作员 {args.name} 的密码：", "新操作员的密码")
    add_operator(_db(args.db), args.operator, _password(args), args.name, args.role, new_password)
    _print_json({"added": args.name, "role": args.role})
    return EXIT_OK


def cmd_catalogue_import(args: argparse.Namespace) -> int:
    from .services.settings import import_catalogue

    db = _db(args.db)
    count = import_catalogue(db, args.operator, _password(args), Path(args.csv))
    _print_json({"imported": count, "file": args.csv})
    return EXIT_OK


def _pairs(texts: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise CommandError(f"{option} {text!r}：应写成 键=值")
        pairs[key.strip()] = value.strip()
    return pairs


def cmd_settings(args: argparse.Namespace) -> int:
    from .domain.case import parse_amount_field
    from .services import settings

    db = _db(args.db)
    changes = _pairs(args.set or [], "--set")
    figures = _pairs(args.publish or [], "--publish")
    if changes or figures:
        if not args.operator:
            raise CommandError("修改设置需要 --operator（主管）")
        password = _password(args)
        if changes:
            settings.change(db, args.operator, password, changes)
        for key, value in figures.items():
            parts = key.split("/")
            if len(parts) != 3:
                raise CommandError(f"--publish {key!r}：应写成 地区/名称/年份=数值")
            settings.publish(db, args.operator, password, *parts, parse_amount_field(value, f"published.{key}"))
    _print_json(settings.show(db.conn))
    return EXIT_OK


def cmd_demo_data(args: argparse.Namespace) -> int:
    from .domain.errors import InputError
    from .services.demo import DEMO_REGIONS, generate

    if args.region not in DEMO_REGIONS:  # before any file is made
        raise InputError("--region", args.region, f"演示数据只有 {', '.join(DEMO_REGIONS)}")
    _print_json(generate(_db(args.db), args.members, args.seed, args.region))
    return EXIT_OK


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="本地数据库文件（默认：用户数据目录中的本机数据库）")


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (which argument, what is wrong) and exit 2."""

    def error(self, message: str):  # noqa: D102
        from .domain.errors import one_line

        self.exit(EXIT_INPUT, f"{self.prog}: {one_line(message)}（--help 查看用法）\n")


def _int_in(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} 不是整数") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} 须在 {low} 到 {high} 之间")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="desktop-app", description="共济前台：职工医保门诊共济结算")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    quote = sub.add_parser("quote", help="按规则试算一次门诊结算，输出 JSON（不写入任何数据）",
                           description="读取一个结算案例（JSON），按就诊日期有效的地区规则试算，输出结算 JSON。")
    quote.add_argument("case", metavar="CASE.json", help="案例文件；- 表示标准输入")
    quote.set_defaults(func=cmd_quote)

    checkout = sub.add_parser("checkout", help="从本地数据库取参保人与本年累计，结算并写入（一次事务），输出 JSON",
                              description="案例同 quote，但 member 为 {\"psn_no\": …} 或 {\"certno\": …}，items 为目录编码与数量；"
                                          "可选 payment: {use_account, family_payer}，药店统筹结算须有 prescription。")
    _db_arg(checkout)
    checkout.add_argument("--operator", required=True, help="收款员（密码在终端输入，或由环境变量 GONGJI_PASSWORD 提供）")
    checkout.add_argument("--supervisor", help="改价或补结算时当场授权的主管（密码由 GONGJI_SUPERVISOR_PASSWORD 提供或在终端输入）")
    checkout.add_argument("--reason", help="主管授权的原因")
    checkout.add_argument("case", metavar="CASE.json", help="案例文件；- 表示标准输入。可含 request_id：重试时返回第一次的结算")
    checkout.set_defaults(func=cmd_checkout)

    refund = sub.add_parser("refund", help="退费（冲销一笔结算，需主管密码），输出 JSON",
                            description="主管密码在终端输入，或由环境变量 GONGJI_PASSWORD 提供。")
    _db_arg(refund)
    refund.add_argument("--operator", required=True, help="授权退费的主管")
    refund.add_argument("uuid", metavar="UUID", help="原结算的 UUID")
    refund.set_defaults(func=cmd_refund)

    usage = sub.add_parser("usage", help="参保人本年度累计（起付线、统筹、两病），输出 JSON")
    _db_arg(usage)
    usage.add_argument("--member", required=True, metavar="PSN_NO")
    usage.add_argument("--year", required=True, type=_int_in(2000, 2100))
    usage.set_defaults(func=cmd_usage)

    verify = sub.add_parser("verify", help="校验数据库：完整性、累计=流水、支付拆分、退费、账户、审计链；全部通过才返回 0")
    _db_arg(verify)
    verify.add_argument("--hub", help="医保中心地址：同时核对本机审计链与中心保存的链头（发现被重写的审计记录）")
    verify.add_argument("--token", help="收款台令牌（或环境变量 GONGJI_HUB_TOKEN）")
    verify.set_defaults(func=cmd_verify)

    window = sub.add_parser("window", help="打开收款窗口（首次运行先走设置向导；--demo 则创建演示数据库，演示账号 shouyin / 123456）")
    _db_arg(window)
    window.add_argument("--demo", action="store_true", help="数据库不存在时创建演示数据，而不是运行设置向导")
    window.add_argument("--self-test", action="store_true", help="安装后自检：打开数据库与窗口，输出规则版本后退出")
    window.set_defaults(func=cmd_window)

    receipt = sub.add_parser("receipt", help="把一笔结算或退费打成 PDF 小票（80 毫米卷纸）或 A5 结算单",
                             description="票面有机构、结算号、收款员、参保人（证件号只显示前 6 后 4 位）、项目、"
                                         "统筹 / 账户 / 共济 / 现金、本年累计，以及结算号二维码。")
    _db_arg(receipt)
    receipt.add_argument("--layout", choices=("roll", "a5"), default="roll", help="roll：80 毫米卷纸；a5：A5 结算单")
    receipt.add_argument("--out", required=True, metavar="FILE.pdf")
    receipt.add_argument("--reprint", action="store_true", help="补打：票面注明【补打】")
    receipt.add_argument("uuid", metavar="UUID")
    receipt.set_defaults(func=cmd_receipt)

    hub = sub.add_parser("hub", help="医保中心服务：serve 启动（默认）、register-desk 登记收款台、revoke-desk 注销、"
                                     "import 导入参保人、check 校验",
                         description="--db 为 SQLite 文件或 postgresql://用户@主机:端口/库。")
    hub.add_argument("action", nargs="?", default="serve",
                     choices=("serve", "register-desk", "revoke-desk", "import", "check"))
    hub.add_argument("--db", required=True, metavar="URL")
    hub.add_argument("--host", default="127.0.0.1")
    hub.add_argument("--port", type=int, default=8700)
    hub.add_argument("--desk", help="register-desk：收款台编号")
    hub.add_argument("--facility", help="register-desk：机构编码")
    hub.add_argument("--region", help="register-desk：统筹地区")
    hub.add_argument("--kind", help="register-desk：机构类别（hospital、pharmacy …）")
    hub.add_argument("--level", type=int)
    hub.add_argument("--grade")
    hub.add_argument("--tier")
    hub.add_argument("--from", dest="source", metavar="DESK.db", help="import：从本地格式数据库导入")
    hub.set_defaults(func=cmd_hub)

    sync_cmd = sub.add_parser("sync", help="与医保中心同步：上传待传结算，下载参保人、目录、年度累计变更")
    _db_arg(sync_cmd)
    sync_cmd.add_argument("--hub", required=True, metavar="URL")
    sync_cmd.add_argument("--token", help="收款台令牌（或环境变量 GONGJI_HUB_TOKEN）")
    sync_cmd.set_defaults(func=cmd_sync)

    rec = sub.add_parser("reconcile", help="对账：本机某日已上传结算的笔数与金额，和中心逐项比对")
    _db_arg(rec)
    rec.add_argument("--hub", required=True, metavar="URL")
    rec.add_argument("--token", help="收款台令牌（或环境变量 GONGJI_HUB_TOKEN）")
    rec.add_argument("--day", required=True, metavar="YYYY-MM-DD")
    rec.set_defaults(func=cmd_reconcile)

    back = sub.add_parser("backup", help="备份数据库（SQLite 在线备份，程序开着也安全）",
                          description="把本机数据库完整复制到 --out 指定的新文件，可在营业中执行。")
    _db_arg(back)
    back.add_argument("--out", required=True, metavar="FILE.db")
    back.set_defaults(func=cmd_backup)

    op = sub.add_parser("operator-add", help="新增收款员或主管（需主管密码）",
                        description="主管密码在终端输入或由 GONGJI_PASSWORD 提供；新密码由 GONGJI_NEW_PASSWORD 提供或在终端输入。")
    _db_arg(op)
    op.add_argument("--operator", required=True, help="授权的主管")
    op.add_argument("--name", required=True, help="新操作员名")
    op.add_argument("--role", choices=("cashier", "supervisor"), default="cashier")
    op.set_defaults(func=cmd_operator_add)

    cat = sub.add_parser("catalogue-import", help="从 CSV 导入医保目录（需主管密码；任一行有误则不写入）",
                         description="CSV 为 UTF-8，表头：code,name,category,selfpay_ratio,price,price_cap,unit,"
                                     "programme,item_kind,account_payable,barcode。主管密码在终端输入或由 GONGJI_PASSWORD 提供。")
    _db_arg(cat)
    cat.add_argument("--operator", required=True, help="导入目录的主管")
    cat.add_argument("csv", metavar="FILE.csv")
    cat.set_defaults(func=cmd_catalogue_import)

    conf = sub.add_parser("settings", help="查看本机设置与公布数值；--set / --publish 修改（需主管密码）",
                          description="例：settings --operator admin --set facility.level=2 "
                                      "--publish yunfu/avg_wage/2022=90000")
    _db_arg(conf)
    conf.add_argument("--operator", help="修改时的主管")
    conf.add_argument("--set", action="append", metavar="KEY=VALUE")
    conf.add_argument("--publish", action="append", metavar="REGION/NAME/YEAR=VALUE")
    conf.set_defaults(func=cmd_settings)

    demo = sub.add_parser("demo-data", help="生成演示数据库（机构、参保人与家庭、目录、一年结算）")
    demo.add_argument("--db", required=True)
    demo.add_argument("--members", required=True, type=_int_in(1, 2_000_000), metavar="N")
    demo.add_argument("--seed", type=_int_in(0, 2**31), default=1, metavar="S")
    demo.add_argument("--region", default="guangxi")
    demo.set_defaults(func=cmd_demo_data)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RulesError as exc:
        return _fail(args, str(exc), EXIT_RULES)
    except GongjiError as exc:
        return _fail(args, str(exc), EXIT_INPUT)
    except sqlite3.Error as exc:  # a full disk, a locked or read-only file: the transaction rolled back
        return _fail(args, f"数据库无法完成操作（{exc}），没有写入任何数据；请检查磁盘空间、文件权限，或稍后重试", EXIT_INPUT)
    except OSError as exc:  # a folder or file the command had to write
        where = f"：{exc.filename}" if exc.filename else ""
        return _fail(args, f"无法读写文件{where}（{exc.strerror or exc}）；请检查磁盘空间与权限", EXIT_INPUT)
    except Exception as exc:  # noqa: BLE001 - ours to fix: logged whole, one line for the user
        log = _log_unexpected(args)
        return _fail(args, f"内部错误 {type(exc).__name__}：{exc}（详情已记入 {log}，请联系技术支持）", EXIT_INTERNAL)


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    """One line on stderr, the ID number never whole in it (it may come from a file or a database)."""
    from .domain.errors import one_line

    try:
        print(f"desktop-app {args.command}: {one_line(message)}", file=sys.stderr)
    except OSError:
        pass
    return code


def _log_unexpected(args: argparse.Namespace) -> Path:
    import logging
    import traceback

    from platformdirs import user_log_path

    path = user_log_path("gongji-front-desk", appauthor=False) / "cli.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(f"--- desktop-app {args.command}\n{traceback.format_exc()}\n")
    except OSError:
        logging.getLogger("gongji.cli").exception("unexpected error")
    return path


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
