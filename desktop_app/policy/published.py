"""Figures a document leaves to a yearly publication, taken from the case and explained.

A rule value may be a :class:`~desktop_app.policy.rulebook.Published` reference
instead of a literal (Yunfu's cap is 2 % of the average wage two years before).
:class:`PublishedFigures` turns such a reference into a number from the case's
published figures of the right year, checks it, and adds a line to the
explanation; a literal passes through unchanged.
"""

from __future__ import annotations

from decimal import Decimal

from ..domain.case import Case
from ..domain.errors import InputError, MissingPublishedFigure
from ..domain.money import STEP_CAP, fmt, percent, round_fen
from ..domain.vocabulary import STATUS_NAMES
from .lines import Lines
from .rulebook import Published, Resolved, RuleVersion


class PublishedFigures:
    """Resolves values that reference a published figure, naming what is missing."""

    def __init__(self, case: Case, rules: RuleVersion, lines: Lines) -> None:
        self.case = case
        self.rules = rules
        self.lines = lines

    def amount(self, value: Decimal | Published, param: Resolved, meaning: str, status: str | None = None) -> Decimal:
        """``value``, or the published figure it references; ``meaning`` (of a member ``status``, when given) names
        it in the explanation and in an error.  A literal is returned as it is, before any text is made."""
        if not isinstance(value, Published):
            return value
        if status is not None:
            meaning = f"{meaning}（{STATUS_NAMES[status]}）"
        return self._resolve(value, param, meaning, "CNY")

    def ratio(self, value: Decimal | Published, param: Resolved, meaning: str) -> Decimal:
        # A ratio table is resolved whole (the framework checks all rows); the
        # ratio line of the explanation names the one row used.
        return self._resolve(value, param, meaning, "ratio", explain=False)

    def _resolve(
        self, value: Decimal | Published, param: Resolved, meaning: str, unit: str, explain: bool = True
    ) -> Decimal:
        if not isinstance(value, Published):
            return value
        figure = self.rules.published[value.name]
        year = str(self.case.date.year + value.year_offset)
        field = f"published.{value.name}.{year}"
        number = self.case.published.get(value.name, {}).get(year)
        if number is None:
            raise MissingPublishedFigure(field, f"{figure.meaning}，{year} 年；用于{meaning}", figure.reference.cite())
        if figure.unit == "CNY" and number != number.quantize(Decimal("0.01")):
            raise InputError(field, str(number), "金额最多两位小数（到分）")
        if figure.unit == "ratio" and number > 1:
            raise InputError(field, str(number), "比例须在 0 到 1 之间")
        if value.times is None:
            if explain and self.lines.on:
                self.lines.append(
                    f"公布数值：{figure.meaning}（{year} 年）{_show(number, unit)}，"
                    f"用于{meaning}（{figure.reference.cite()}）"
                )
            return number
        result = round_fen(number * value.times, STEP_CAP)
        if self.lines.on:
            self.lines.append(
                f"公布数值：{figure.meaning}（{year} 年）{fmt(number)} × {percent(value.times)} = {fmt(result)}，"
                f"即{meaning}（{figure.reference.cite()}）"
            )
        return result


def _show(number: Decimal, unit: str) -> str:
    return percent(number) if unit == "ratio" else fmt(number)
