"""The command line's arguments: one sub-command per command, each pointing at its ``cmd_*`` function."""

from __future__ import annotations

import argparse

from . import _Parser
from .admin import cmd_catalogue_import, cmd_demo_data, cmd_operator_add, cmd_settings
from .books import cmd_backup, cmd_reconcile, cmd_sync, cmd_verify
from .counter import cmd_checkout, cmd_quote, cmd_receipt, cmd_refund, cmd_usage
from .hub import cmd_hub
from .window import cmd_window


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="本地数据库文件（默认：用户数据目录中的本机数据库）")


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
