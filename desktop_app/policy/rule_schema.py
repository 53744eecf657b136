"""The schema of a region's rule files: every parameter, its unit, and the check its values pass.

:data:`SCHEMA` names each parameter a region may declare, with its unit, the
checker its values must pass and whether it is required.  A checker takes a
:class:`Field` (where in which file the value stands) and the parsed value, and
returns the value as the engine reads it, or raises :class:`RulesError` naming
the file, the key and the problem.  The files' structure around the values
(documents, references, dated versions) is checked by
:func:`desktop_app.policy.rule_loader.build_rulebook`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..domain.errors import RulesError
from ..domain.money import MoneyError, parse_amount, parse_ratio
from ..domain.vocabulary import (
    CATEGORIES,
    FACILITY_KINDS,
    GRADES,
    ITEM_KINDS,
    LEVELS,
    PROGRAMMES,
    RELATION_NAMES,
    SCHEMES,
    STATUSES,
    TIERS,
)
from .rulebook import Published, PublishedFigure

DEDUCTIBLE_KINDS = ("annual", "per_visit", "none")
RELATIONS = tuple(RELATION_NAMES)
VISIT_EXCEPTIONS = ("emergency", "referral")
UNITS = ("CNY", "ratio", "enum", "facility_kinds", "bool", "relations", "item_kinds", "categories", "rule", "icd10")
DOCUMENT_STATUSES = ("in_force", "draft", "framework")


class RuleFile:
    """The rule file being checked (and the published figures its values may name): errors name it."""

    def __init__(self, file: str, published: Mapping[str, PublishedFigure] | None = None) -> None:
        self.file = file
        self.published = published or {}

    def fail(self, key: str, problem: str) -> RulesError:
        return RulesError(self.file, key, problem)


class Field:
    """A key in a rule file, as a dotted path: ``fund_share.values[0].value[2].employed``."""

    def __init__(self, ctx: RuleFile, path: str) -> None:
        self.ctx = ctx
        self.path = path

    def sub(self, key: object) -> Field:
        suffix = f"[{key}]" if isinstance(key, int) else f".{key}"
        return Field(self.ctx, self.path + suffix)

    def fail(self, problem: str) -> RulesError:
        return self.ctx.fail(self.path, problem)


Checker = Callable[[Field, Any], Any]


@dataclass(frozen=True)
class Spec:
    """One parameter of the schema: its unit in the file, the checker of each version's value, whether required."""

    unit: str
    check: Checker
    required: bool = True


# --------------------------------------------------------------------------- value checkers (SCHEMA, below, uses them)


def _choice_list(choices: tuple) -> Checker:
    def check(f: Field, raw: Any) -> tuple:
        if not isinstance(raw, list):
            raise f.fail(f"须为列表，取值为 {' / '.join(map(str, choices))}")
        for i, item in enumerate(raw):
            if item not in choices:
                raise f.sub(i).fail(f"{item!r} 不是 {' / '.join(map(str, choices))} 之一")
        return tuple(raw)

    return check


def _enum(choices: tuple) -> Checker:
    def check(f: Field, raw: Any) -> str:
        if raw not in choices:
            raise f.fail(f"{raw!r} 不是 {' / '.join(choices)} 之一")
        return raw

    return check


def _bool(f: Field, raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise f.fail("须为 true 或 false")
    return raw


def _figure(unit: str) -> Checker:
    """A literal amount / ratio, or a reference to a published figure."""

    def check(f: Field, raw: Any) -> Decimal | Published:
        if isinstance(raw, Mapping):
            keys = set(raw)
            if "published" not in keys or keys - {"published", "year_offset", "times"}:
                raise f.fail("公布数值引用须为 {published: 名称, year_offset: 整数, times: 比例}")
            name = raw["published"]
            figure = f.ctx.published.get(name) if isinstance(name, str) else None
            if figure is None:
                raise f.sub("published").fail(f"{name!r} 未在 region.yaml 的 published_figures 中声明")
            offset = raw.get("year_offset", 0)
            if not isinstance(offset, int) or isinstance(offset, bool):
                raise f.sub("year_offset").fail("须为整数")
            times = None
            if "times" in raw:
                times = _literal("ratio")(f.sub("times"), raw["times"])
            result_unit = "CNY" if (figure.unit == "CNY") else "ratio"
            if result_unit != unit:
                raise f.sub("published").fail(f"{name!r} 的单位是 {figure.unit}，此处需要 {unit}")
            return Published(name, offset, times)
        return _literal(unit)(f, raw)

    return check


def _literal(unit: str) -> Checker:
    def check(f: Field, raw: Any) -> Decimal:
        if isinstance(raw, (float, bool)) or not isinstance(raw, (str, int)):
            raise f.fail(f'须写成带引号的数字字符串，如 "600.00"，而不是 {raw!r}')
        try:
            return parse_amount(raw) if unit == "CNY" else parse_ratio(raw)
        except MoneyError as exc:
            raise f.fail(f"{raw!r}：{exc.reason}") from None

    return check


def _by_status(unit: str) -> Checker:
    figure = _figure(unit)

    def check(f: Field, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, Mapping) or set(raw) != set(STATUSES):
            raise f.fail("须分别给出 employed 与 retired")
        return {s: figure(f.sub(s), raw[s]) for s in STATUSES}

    return check


def _annual_cap(f: Field, raw: Any) -> dict[str, dict[str, Any]]:
    allowed = set(SCHEMES) | {"any"}
    if not isinstance(raw, Mapping) or not raw or set(raw) - allowed:
        raise f.fail("须按参保方式给出：combined / pooling_only，或 any（不分参保方式）")
    if "any" in raw and len(raw) > 1:
        raise f.fail("any 不能与 combined / pooling_only 同时出现")
    by_status = _by_status("CNY")
    return {scheme: by_status(f.sub(scheme), value) for scheme, value in raw.items()}


def _fund_share(f: Field, raw: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(raw, list) or not raw:
        raise f.fail("须为非空列表：每行 {kinds, levels?, grades?, tiers?, label, employed, retired?}")
    rows = []
    ratio = _figure("ratio")
    for i, row in enumerate(raw):
        rf = f.sub(i)
        if not isinstance(row, Mapping):
            raise rf.fail("须为对象")
        extra = set(row) - {"kinds", "levels", "grades", "tiers", "label", "employed", "retired"}
        if extra:
            raise rf.fail(f"未知键 {', '.join(sorted(extra))}")
        for key in ("kinds", "label", "employed"):
            if key not in row:
                raise rf.sub(key).fail("缺少此键")
        if not isinstance(row["label"], str) or not row["label"].strip():
            raise rf.sub("label").fail("须为非空字符串（用于说明，如 “二级医疗机构”）")
        rows.append(
            {
                "kinds": _choice_list(FACILITY_KINDS)(rf.sub("kinds"), row["kinds"]),
                "levels": _choice_list(LEVELS)(rf.sub("levels"), row["levels"]) if "levels" in row else None,
                "grades": _choice_list(GRADES)(rf.sub("grades"), row["grades"]) if "grades" in row else None,
                "tiers": _choice_list(TIERS)(rf.sub("tiers"), row["tiers"]) if "tiers" in row else None,
                "label": row["label"],
                "employed": ratio(rf.sub("employed"), row["employed"]),
                "retired": ratio(rf.sub("retired"), row["retired"]) if "retired" in row else None,
            }
        )
    return tuple(rows)


def _programme_caps(f: Field, raw: Any) -> tuple[tuple[frozenset[str], Decimal], ...]:
    if not isinstance(raw, list) or not raw:
        raise f.fail('须为非空列表：每行 {programmes: [...], cap: "200.00"}')
    result = []
    seen = set()
    for i, row in enumerate(raw):
        rf = f.sub(i)
        if not isinstance(row, Mapping) or set(row) != {"programmes", "cap"}:
            raise rf.fail("须为 {programmes: [...], cap: 金额}")
        progs = frozenset(_choice_list(PROGRAMMES)(rf.sub("programmes"), row["programmes"]))
        if not progs or progs in seen:
            raise rf.sub("programmes").fail("须为非空且不重复的病种组合")
        seen.add(progs)
        result.append((progs, _literal("CNY")(rf.sub("cap"), row["cap"])))
    return tuple(result)


def _programme_diagnoses(f: Field, raw: Any) -> dict[str, frozenset[str]]:
    """{hypertension: ["I10-I15"], diabetes: ["E10-E14"]}: each programme's ICD-10 categories (ranges or one)."""
    if not isinstance(raw, Mapping) or not raw:
        raise f.fail('须为 {病种: ["I10-I15"]}，每个“两病”病种对应的诊断类目')
    result = {}
    for programme, ranges in raw.items():
        pf = f.sub(programme)
        if programme not in PROGRAMMES:
            raise pf.fail(f"须为 {' / '.join(PROGRAMMES)} 之一")
        if not isinstance(ranges, list) or not ranges:
            raise pf.fail('须为非空列表，如 ["I10-I15"]')
        categories: set[str] = set()
        for i, text in enumerate(ranges):
            categories |= _icd_range(pf.sub(i), text)
        result[programme] = frozenset(categories)
    return result


def _icd_range(f: Field, text: Any) -> set[str]:
    """ "I10-I15" -> {I10, I11, …, I15}; "E11" -> {E11}."""
    match = re.fullmatch(r"([A-Z])(\d{2})(?:-([A-Z])(\d{2}))?", text) if isinstance(text, str) else None
    if match is None or (match[3] is not None and (match[3] != match[1] or int(match[4]) < int(match[2]))):
        raise f.fail("须为 ICD-10 类目或同一字母的类目范围，如 I10 或 I10-I15")
    last = int(match[4]) if match[4] is not None else int(match[2])
    return {f"{match[1]}{n:02d}" for n in range(int(match[2]), last + 1)}


def _scope(f: Field, raw: Any) -> dict[str, tuple]:
    keys = {"in_scope", "selfpay_first", "out_of_scope"}
    if not isinstance(raw, Mapping) or set(raw) != keys:
        raise f.fail(f"须给出 {', '.join(sorted(keys))}")
    result = {k: _choice_list(CATEGORIES)(f.sub(k), raw[k]) for k in keys}
    if set(result["in_scope"]) | set(result["out_of_scope"]) != set(CATEGORIES) or set(result["in_scope"]) & set(
        result["out_of_scope"]
    ):
        raise f.fail("in_scope 与 out_of_scope 须恰好分完 A / B / C")
    if not set(result["selfpay_first"]) <= set(result["in_scope"]):
        raise f.sub("selfpay_first").fail("先行自付的类别须在 in_scope 中")
    return result


def _chosen_institution(f: Field, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or set(raw) != {"required", "exceptions"}:
        raise f.fail("须为 {required: true/false, exceptions: [emergency, referral]}")
    return {
        "required": _bool(f.sub("required"), raw["required"]),
        "exceptions": _choice_list(VISIT_EXCEPTIONS)(f.sub("exceptions"), raw["exceptions"]),
    }


def _framework(f: Field, raw: Any) -> dict[str, Any]:
    keys = {"min_fund_share", "retired_not_below_employed", "grassroots_not_below_higher"}
    if not isinstance(raw, Mapping) or set(raw) != keys:
        raise f.fail(f"须给出 {', '.join(sorted(keys))}")
    return {
        "min_fund_share": _literal("ratio")(f.sub("min_fund_share"), raw["min_fund_share"]),
        "retired_not_below_employed": _bool(f.sub("retired_not_below_employed"), raw["retired_not_below_employed"]),
        "grassroots_not_below_higher": _bool(f.sub("grassroots_not_below_higher"), raw["grassroots_not_below_higher"]),
    }


SCHEMA: dict[str, Spec] = {
    "pooling_facility_kinds": Spec("facility_kinds", _choice_list(FACILITY_KINDS)),
    "scope": Spec("categories", _scope),
    "deductible_kind": Spec("enum", _enum(DEDUCTIBLE_KINDS)),
    "deductible_amount": Spec("CNY", _by_status("CNY"), required=False),
    "deductible_exempt_facility_kinds": Spec("facility_kinds", _choice_list(FACILITY_KINDS), required=False),
    "fund_share": Spec("ratio", _fund_share),
    "retired_increase": Spec("ratio", _literal("ratio"), required=False),
    "annual_cap": Spec("CNY", _annual_cap),
    "annual_cap_factor": Spec("ratio", _literal("ratio"), required=False),
    "inpatient_excluded": Spec("bool", _bool, required=False),
    "chosen_institution": Spec("rule", _chosen_institution, required=False),
    "programme_facility_kinds": Spec("facility_kinds", _choice_list(FACILITY_KINDS), required=False),
    "programme_share": Spec("ratio", _literal("ratio"), required=False),
    "programme_caps": Spec("CNY", _programme_caps, required=False),
    "programme_diagnoses": Spec("icd10", _programme_diagnoses, required=False),
    "framework": Spec("rule", _framework, required=False),
    "account_relations": Spec("relations", _choice_list(RELATIONS)),
    "account_excluded_item_kinds": Spec("item_kinds", _choice_list(ITEM_KINDS)),
    "prescription_facility_kinds": Spec("facility_kinds", _choice_list(FACILITY_KINDS), required=False),
}
