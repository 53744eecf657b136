"""The command line's arguments: one small function per command adds its sub-command, pointing at its ``cmd_*``.

The functions stand in groups by noun, as the command modules do (counter, books, hub, admin, window);
``build_parser`` adds them in the order ``desktop-app --help`` lists them.
"""

from __future__ import annotations

import argparse

from ..domain.errors import one_line
from ..store.settings import EDITABLE
from .admin import cmd_catalogue_import, cmd_demo_data, cmd_diagnosis_import, cmd_operator_add, cmd_settings
from .books import cmd_backup, cmd_reconcile, cmd_sync, cmd_verify
from .counter import cmd_checkout, cmd_quote, cmd_receipt, cmd_refund, cmd_usage
from .exit_codes import EXIT_INPUT
from .hub import cmd_hub
from .window import cmd_window


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (which argument, what is wrong) and exit 2."""

    def error(self, message: str):  # noqa: D102
        self.exit(EXIT_INPUT, f"{self.prog}: {one_line(message)}（--help 查看用法）\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="desktop-app", description="共济前台：职工医保门诊共济结算")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for add in (
        _quote,
        _checkout,
        _refund,
        _usage,
        _verify,
        _window,
        _receipt,
        _hub,
        _sync,
        _reconcile,
        _backup,
        _operator_add,
        _catalogue_import,
        _diagnosis_import,
        _settings,
        _demo_data,
    ):
        add(sub)
    return parser


def _command(
    sub,
    name: str,
    func,
    help: str,
    description: str | None = None,
    *,
    local_db: bool = True,
    operator: str | None = None,
) -> argparse.ArgumentParser:
    """Sub-command ``name`` running ``func``.

    It takes ``--db`` (the local database) unless ``local_db`` is false, and a required ``--operator`` (whose
    password the command asks for) when ``operator`` gives that option's help.
    """
    command = sub.add_parser(name, help=help, description=description)
    command.set_defaults(func=func)
    if local_db:
        command.add_argument("--db", help="本地数据库文件（默认：用户数据目录中的本机数据库）")
    if operator:
        command.add_argument("--operator", required=True, help=operator)
    return command


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


def _lines(text: str) -> list[int]:
    """Line numbers as typed, ``1,3``: each 1 to 500."""
    return [_int_in(1, 500)(part.strip()) for part in text.split(",")]


# The counter: quote, checkout, refund, usage, receipt


def _case(command: argparse.ArgumentParser, more: str = "") -> None:
    """The case file, as quote and checkout read it."""
    command.add_argument("case", metavar="CASE.json", help="案例文件；- 表示标准输入" + more)


def _quote(sub) -> None:
    quote = _command(
        sub,
        "quote",
        cmd_quote,
        "按规则试算一次门诊结算，输出 JSON（不写入任何数据）",
        "读取一个结算案例（JSON），按就诊日期有效的地区规则试算，输出结算 JSON。",
        local_db=False,
    )
    _case(quote)


def _checkout(sub) -> None:
    checkout = _command(
        sub,
        "checkout",
        cmd_checkout,
        "从本地数据库取参保人与本年累计，结算并写入（一次事务），输出 JSON",
        '案例同 quote，但 member 为 {"psn_no": …} 或 {"certno": …}，items 为目录编码与数量；'
        "可选 payment: {use_account, family_payer}，药店统筹结算须有 prescription。",
        operator="收款员（密码在终端输入，或由环境变量 GONGJI_PASSWORD 提供）",
    )
    _case(checkout, "。可含 request_id：重试时返回第一次的结算")
    checkout.add_argument(
        "--supervisor", help="改价或补结算时当场授权的主管（密码由 GONGJI_SUPERVISOR_PASSWORD 提供或在终端输入）"
    )
    checkout.add_argument("--reason", help="主管授权的原因")


def _refund(sub) -> None:
    refund = _command(
        sub,
        "refund",
        cmd_refund,
        "退费（冲销一笔结算，或部分退费，需主管密码与原因），输出 JSON",
        "主管密码在终端输入，或由环境变量 GONGJI_PASSWORD 提供。",
        operator="授权退费的主管",
    )
    refund.add_argument("uuid", metavar="UUID", help="原结算的 UUID")
    refund.add_argument("--reason", required=True, help="退费原因（审计并打印在退费单上）")
    refund.add_argument(
        "--keep",
        type=_lines,
        metavar="LINE,LINE",
        help="部分退费：保留的项目行号，逗号分隔（从 1 起，如 1,3）；原结算全部冲销，保留项目按现行规则重新结算",
    )


def _usage(sub) -> None:
    usage = _command(sub, "usage", cmd_usage, "参保人本年度累计（起付线、统筹、两病），输出 JSON")
    usage.add_argument("--member", required=True, metavar="PSN_NO")
    usage.add_argument("--year", required=True, type=_int_in(2000, 2100))


def _receipt(sub) -> None:
    receipt = _command(
        sub,
        "receipt",
        cmd_receipt,
        "把一笔结算或退费打成 PDF 小票（80 毫米卷纸）或 A5 结算单",
        "票面有机构、结算号、收款员、参保人（证件号只显示前 6 后 4 位）、项目、"
        "统筹 / 账户 / 共济 / 现金、本年累计，以及结算号二维码。",
    )
    receipt.add_argument("--layout", choices=("roll", "a5"), default="roll", help="roll：80 毫米卷纸；a5：A5 结算单")
    receipt.add_argument("--out", required=True, metavar="FILE.pdf")
    receipt.add_argument("--reprint", action="store_true", help="补打：票面注明【补打】")
    receipt.add_argument("uuid", metavar="UUID")


# The books: verify, sync, reconcile, backup


def _hub_address(command: argparse.ArgumentParser, **hub) -> None:
    """``--hub`` (the central server) and ``--token`` (this desk's token there)."""
    command.add_argument("--hub", **hub)
    command.add_argument("--token", help="收款台令牌（或环境变量 GONGJI_HUB_TOKEN）")


def _verify(sub) -> None:
    verify = _command(
        sub, "verify", cmd_verify, "校验数据库：完整性、累计=流水、支付拆分、退费、账户、审计链；全部通过才返回 0"
    )
    _hub_address(verify, help="医保中心地址：同时核对本机审计链与中心保存的链头（发现被重写的审计记录）")


def _sync(sub) -> None:
    sync = _command(sub, "sync", cmd_sync, "与医保中心同步：上传待传结算，下载参保人、目录、年度累计变更")
    _hub_address(sync, required=True, metavar="URL")


def _reconcile(sub) -> None:
    reconcile = _command(sub, "reconcile", cmd_reconcile, "对账：本机某日已上传结算的笔数与金额，和中心逐项比对")
    _hub_address(reconcile, required=True, metavar="URL")
    reconcile.add_argument("--day", required=True, metavar="YYYY-MM-DD")


def _backup(sub) -> None:
    backup = _command(
        sub,
        "backup",
        cmd_backup,
        "备份数据库（SQLite 在线备份，程序开着也安全）",
        "把本机数据库完整复制到 --out 指定的新文件，可在营业中执行。",
    )
    backup.add_argument("--out", required=True, metavar="FILE.db")


# The hub


def _hub(sub) -> None:
    hub = _command(
        sub,
        "hub",
        cmd_hub,
        "医保中心服务：serve 启动（默认）、upgrade 升级数据库表结构、register-desk 登记收款台、revoke-desk 注销、"
        "import 导入参保人、check 校验",
        "--db 为 SQLite 文件或 postgresql://用户@主机:端口/库。新版本程序先运行 upgrade（先备份），中心才会启动。",
        local_db=False,
    )
    hub.add_argument(
        "action",
        nargs="?",
        default="serve",
        choices=("serve", "upgrade", "register-desk", "revoke-desk", "import", "check"),
    )
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


# The supervisor's: operator-add, catalogue-import, settings; and demo-data


def _operator_add(sub) -> None:
    operator = _command(
        sub,
        "operator-add",
        cmd_operator_add,
        "新增收款员或主管（需主管密码）",
        "主管密码在终端输入或由 GONGJI_PASSWORD 提供；新密码由 GONGJI_NEW_PASSWORD 提供或在终端输入。",
        operator="授权的主管",
    )
    operator.add_argument("--name", required=True, help="新操作员名")
    operator.add_argument("--role", choices=("cashier", "supervisor"), default="cashier")


def _catalogue_import(sub) -> None:
    catalogue = _command(
        sub,
        "catalogue-import",
        cmd_catalogue_import,
        "从 CSV 导入医保目录（需主管密码；任一行有误则不写入）",
        "CSV 为 UTF-8，表头：code,name,category,selfpay_ratio,price,price_cap,unit,"
        "programme,item_kind,account_payable,barcode。主管密码在终端输入或由 GONGJI_PASSWORD 提供。",
        operator="导入目录的主管",
    )
    catalogue.add_argument("csv", metavar="FILE.csv")


def _diagnosis_import(sub) -> None:
    command = _command(
        sub,
        "diagnosis-import",
        cmd_diagnosis_import,
        "导入诊断目录（医保平台 1307 下载的 CSV 或 Excel；需主管密码；任一行有误则不写入）",
        "表头需有 诊断代码 与 诊断名称（或 diag_code、diag_name），其余列不导入。"
        "主管密码在终端输入或由 GONGJI_PASSWORD 提供。",
        operator="导入目录的主管",
    )
    command.add_argument("file", metavar="FILE.csv")


def _settings(sub) -> None:
    settings = _command(
        sub,
        "settings",
        cmd_settings,
        "查看本机设置与公布数值；--set / --publish 修改（需主管密码）",
        "例：settings --operator admin --set facility.level=2 --publish yunfu/avg_wage/2022=90000",
    )
    settings.add_argument("--operator", help="修改时的主管")
    settings.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help=f"可修改的设置（见设置登记表）：{', '.join(EDITABLE)}"
    )
    settings.add_argument("--publish", action="append", metavar="REGION/NAME/YEAR=VALUE")


def _demo_data(sub) -> None:
    demo = _command(
        sub, "demo-data", cmd_demo_data, "生成演示数据库（机构、参保人与家庭、目录、一年结算）", local_db=False
    )
    demo.add_argument("--db", required=True)
    demo.add_argument("--members", required=True, type=_int_in(1, 2_000_000), metavar="N")
    demo.add_argument("--seed", type=_int_in(0, 2**31), default=1, metavar="S")
    demo.add_argument("--region", default="guangxi")


# The window


def _window(sub) -> None:
    window = _command(
        sub,
        "window",
        cmd_window,
        "打开收款窗口（首次运行先走设置向导；--demo 则创建演示数据库，演示账号 shouyin / 123456）",
    )
    window.add_argument("--demo", action="store_true", help="数据库不存在时创建演示数据，而不是运行设置向导")
    window.add_argument("--self-test", action="store_true", help="安装后自检：打开数据库与窗口，输出规则版本后退出")
