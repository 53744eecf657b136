"""The fund's share of ordinary pooling (统筹支付比例): one row of the region's ratio table.

``fund_share`` is a table: each row names the facilities it covers (kinds, and
where it matters levels, grades, tiers) and the ratio for employed and retired
members; the first row that fits the facility is used.  A row without a retired
ratio takes the employed one plus ``retired_increase``.  Where a document only
frames the ratios (``framework``, Xi'an), the whole table, once its published
figures are resolved, must keep within that framework.
"""

from __future__ import annotations

from decimal import Decimal

from ..domain.case import Case, Facility
from ..domain.errors import FrameworkViolation, InputError
from ..domain.money import percent
from ..domain.vocabulary import FACILITY_KIND_NAMES
from .lines import Lines
from .published import PublishedFigures
from .rulebook import Published, Resolved, RuleVersion


def fund_ratio(case: Case, rules: RuleVersion, figures: PublishedFigures, lines: Lines) -> Decimal:
    """The ratio the fund pays for this member at this facility, with its explanation line."""
    facility = case.facility
    key = ("fund_ratio", facility.kind, facility.level, facility.grade, facility.tier, case.member.status)
    known = rules.memo.get(key)
    if known is None:
        known = _ratio_and_line(case, rules, figures)
        if "fund_share" in rules.memo:  # a table of literal ratios: the same row for every such visit
            rules.memo[key] = known
    ratio, line = known
    if lines.on:
        lines.append(line)
    return ratio


def _ratio_and_line(case: Case, rules: RuleVersion, figures: PublishedFigures) -> tuple[Decimal, str]:
    """The first row of the table that fits the facility: the member's ratio, and the line that explains it."""
    share = rules["fund_share"]
    increase = rules.get("retired_increase")
    table = _table(rules, share, increase, figures)
    facility = case.facility
    for row, resolved in zip(share.value, table):
        if _matches(row, facility, share.citation):
            employed, retired = resolved
            if case.member.status == "employed":
                return employed, f"统筹支付比例：{row['label']}，在职 {percent(employed)}（{share.citation}）"
            if row["retired"] is not None:
                return retired, f"统筹支付比例：{row['label']}，退休 {percent(retired)}（{share.citation}）"
            return retired, (
                f"统筹支付比例：{row['label']}，在职 {percent(employed)}，退休人员提高 "
                f"{percent(increase.value)} 即 {percent(retired)}（{share.citation}；{increase.citation}）"
            )
    raise InputError(
        "facility", _describe_facility(facility), f"本地区支付比例表中没有与之对应的一行（{share.citation}）"
    )


def _table(
    rules: RuleVersion, share: Resolved, increase: Resolved | None, figures: PublishedFigures
) -> list[tuple[Decimal, Decimal]]:
    """Each row's (employed, retired) ratio, checked against the framework where there is one.

    A table of literal ratios is the same for every visit under these rules: worked out once.  One that
    takes a published figure is worked out from this visit's figures each time.
    """
    if "fund_share" in rules.memo:
        return rules.memo["fund_share"]
    table = [_resolve_row(row, share, increase, figures) for row in share.value]
    framework = rules.get("framework")
    if framework is not None:
        _check_framework(table, framework)
    if not any(isinstance(row[k], Published) for row in share.value for k in ("employed", "retired")):
        rules.memo["fund_share"] = table
    return table


def _resolve_row(
    row: dict, share: Resolved, increase: Resolved | None, figures: PublishedFigures
) -> tuple[Decimal, Decimal]:
    employed = figures.ratio(row["employed"], share, f"{row['label']} 在职支付比例")
    if row["retired"] is not None:
        retired = figures.ratio(row["retired"], share, f"{row['label']} 退休支付比例")
    else:
        retired = min(Decimal("1"), employed + increase.value)
    return employed, retired


def _check_framework(table: list[tuple[Decimal, Decimal]], framework: Resolved) -> None:
    rules = framework.value
    cite = framework.citation
    for i, (employed, retired) in enumerate(table):
        for status, ratio in (("employed", employed), ("retired", retired)):
            if ratio < rules["min_fund_share"]:
                raise FrameworkViolation(
                    f"fund_share[{i}].{status}",
                    str(ratio),
                    f"统筹基金支付比例不低于 {percent(rules['min_fund_share'])}（{cite}）",
                )
        if rules["retired_not_below_employed"] and retired < employed:
            raise FrameworkViolation(
                f"fund_share[{i}].retired", str(retired), f"待遇向退休人员倾斜，退休比例不得低于在职（{cite}）"
            )
    if rules["grassroots_not_below_higher"]:
        for i in range(1, len(table)):
            for s, status in enumerate(("employed", "retired")):
                if table[i][s] > table[i - 1][s]:
                    raise FrameworkViolation(
                        f"fund_share[{i}].{status}",
                        str(table[i][s]),
                        f"基层（较低级别）医疗机构比例不得低于较高级别（{cite}）",
                    )


def _matches(row: dict, facility: Facility, cite: str) -> bool:
    if facility.kind not in row["kinds"]:
        return False
    if row["levels"] is not None and facility.level not in row["levels"]:
        return False
    # A row that depends on the grade or tier must not be passed over for lack of
    # them: that would silently pick the next row's ratio.  The tier is read first: a
    # city or county hospital is not a provincial one, whatever its grade.
    for key, wanted, have in (("tier", row["tiers"], facility.tier), ("grade", row["grades"], facility.grade)):
        if wanted is None:
            continue
        if have is None:
            what = "等次（甲等 A / 乙等 B / 丙等 C）" if key == "grade" else "隶属层级（provincial / city / county）"
            raise InputError(f"facility.{key}", None, f"须注明机构{what}，才能确定支付比例（{row['label']}，{cite}）")
        if have not in wanted:
            return False
    return True


def _describe_facility(facility: Facility) -> str:
    parts = [FACILITY_KIND_NAMES[facility.kind]]
    if facility.level:
        parts.append(f"level={facility.level}")
    if facility.grade:
        parts.append(f"grade={facility.grade}")
    if facility.tier:
        parts.append(f"tier={facility.tier}")
    return " ".join(parts)
