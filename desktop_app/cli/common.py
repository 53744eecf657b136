"""What the commands share: reading a case file, printing JSON, opening the database, asking for a secret."""

from __future__ import annotations

import getpass
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

from ..domain.errors import GongjiError
from .exit_codes import EXIT_COMMITTED, EXIT_OK

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


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def print_committed(out: dict) -> int:
    """Print a committed result; if that fails, say it was committed, so a script does not settle twice."""
    try:
        print_json(out)
        sys.stdout.flush()
    except (OSError, ValueError) as exc:
        print(
            f"desktop-app: 已结算并写入（结算号 {out['uuid']}），但结果无法输出（{exc}）。请勿重新结算："
            f"用同一 request_id 重试可取回结果，或在当日结算中查看。",
            file=sys.stderr,
        )
        return EXIT_COMMITTED
    return EXIT_OK


def open_db(path: str | None):
    """Open ``path``, or the default database, which the first run creates with demo data."""
    from ..services.demo import DEFAULT_DEMO_MEMBERS, generate
    from ..services.setup import default_db_path
    from ..store.db import connect

    target = Path(path) if path else default_db_path()
    fresh = not target.exists()
    db = connect(target)
    if fresh and path is None:
        print(f"desktop-app: 首次运行，在 {target} 创建演示数据库", file=sys.stderr)
        generate(db, DEFAULT_DEMO_MEMBERS)
    return db


def secret(variable: str, prompt: str, what: str) -> str:
    """A password from the environment (scripts) or typed at the terminal, never an argument (shell history)."""
    value = os.environ.get(variable)
    if value is None and sys.stdin.isatty():
        value = getpass.getpass(prompt)
    if not value:
        raise CommandError(f"需要{what}：在终端输入，或由环境变量 {variable} 提供")
    return value


def supervisor_password(args) -> str:
    """The password of ``--operator``, who must be a supervisor."""
    return secret("GONGJI_PASSWORD", f"主管 {args.operator} 的密码：", "主管密码")


def hub_token() -> str:
    """The desk's hub token when ``--token`` is not given."""
    token = os.environ.get("GONGJI_HUB_TOKEN")
    if not token:
        raise CommandError("需要收款台令牌：--token 或环境变量 GONGJI_HUB_TOKEN")
    return token
