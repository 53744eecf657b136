"""The errors every layer raises, each naming what was wrong and where."""

from __future__ import annotations

import json


class GongjiError(Exception):
    """Base of every error this application raises on purpose."""


class InputError(GongjiError):
    """A field of the input has a bad value; nothing was settled or written."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"输入错误 {one_line(str(field))} = {_show(value)}：{reason}")


class RulesError(GongjiError):
    """A rules file is malformed: names the file, the key and the problem."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        super().__init__(f"规则文件错误 {file} [{key}]：{problem}")


class NoRulesInForce(GongjiError):
    """No rule version covers the visit's date: never settle on a guess."""

    def __init__(self, region: str, date: object, detail: str) -> None:
        self.region = region
        self.date = date
        self.detail = detail
        super().__init__(f"无有效规则 region = {region!r}, date = {date}：{detail}")


class MissingPublishedFigure(GongjiError):
    """A figure the document leaves to a yearly publication has not been supplied."""

    def __init__(self, field: str, meaning: str, citation: str) -> None:
        self.field = field
        self.meaning = meaning
        self.citation = citation
        super().__init__(f"缺少公布数值 {field}（{meaning}，{citation}）：请由操作员在设置中录入后再结算")


class FrameworkViolation(GongjiError):
    """A supplied figure breaks the framework the document fixes (Xi'an)."""

    def __init__(self, field: str, value: object, rule: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(f"公布数值不符合政策框架 {field} = {_show(value)}：{rule}")


def _show(value: object) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(type(value))
    return one_line(text if len(text) <= 200 else text[:200] + "…")


def one_line(text: str) -> str:
    """Text as one printable line: a control character (a CR or LF from a file, say) is shown escaped; the
    ideographic space that Chinese text uses between phrases is kept as it is."""
    return "".join(c if c.isprintable() or c == "\u3000" else c.encode("unicode_escape").decode("ascii") for c in text)
