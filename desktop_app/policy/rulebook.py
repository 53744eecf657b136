"""Rules as data: the schema of a region's parameters, strict validation, dated resolution.

A region's rules are a set of *parameters*.  Each parameter has a fixed unit and
a list of dated *versions* (``from`` / ``to`` inclusive, ``to: null`` open), each
with a value and a ``reference`` to a document and article.  :func:`build_rulebook`
validates parsed YAML (plain dicts: this module does no I/O) and raises
:class:`RulesError` naming the file, the key and the problem.
:meth:`RuleBook.at` resolves the version in force on a date, and refuses a date
that a parameter the region declares does not cover.

A figure that a document leaves to a yearly publication is written in a value
as ``{published: NAME, year_offset: N, times: R}``: the engine takes it from the
case's published figures of the visit's year plus ``year_offset`` (Yunfu's cap is
2 % of the average wage two years before: ``{published: avg_wage, year_offset: -2,
times: "0.02"}``).  Such figures are declared in ``region.yaml`` with a unit, a
meaning and a reference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..domain.errors import NoRulesInForce, RulesError
from ..domain.vocabulary import (
    CATEGORIES, FACILITY_KINDS, GRADES, ITEM_KINDS, LEVELS, PROGRAMMES, RELATION_NAMES, SCHEMES, STATUSES, TIERS,
)
from ..domain.money import MoneyError, parse_amount, parse_ratio

DEDUCTIBLE_KINDS = ("annual", "per_visit", "none")
RELATIONS = tuple(RELATION_NAMES)
VISIT_EXCEPTIONS = ("emergency", "referral")
UNITS = ("CNY", "ratio", "enum", "facility_kinds", "bool", "relations", "item_kinds", "categories", "rule")
DOCUMENT_STATUSES = ("in_force", "draft", "framework")


@dataclass(frozen=True)
class Document:
    key: str
    cite_as: str  # how a citation names it: "桂政办发〔2021〕137号"
    title: str
    status: str
    source: str


@dataclass(frozen=True)
class Reference:
    document: Document
    article: str
    note: str | None = None

    def cite(self) -> str:
        return f"{self.document.cite_as} {self.article}"


@dataclass(frozen=True)
class Published:
    """A figure a document leaves to publication, referenced from a value."""

    name: str
    year_offset: int = 0
    times: Decimal | None = None


@dataclass(frozen=True)
class PublishedFigure:
    """The declaration of a published figure in ``region.yaml``."""

    name: str
    unit: str
    meaning: str
    reference: Reference


@dataclass(frozen=True)
class ParameterVersion:
    start: dt.date
    end: dt.date | None
    value: Any
    reference: Reference

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Parameter:
    name: str
    description: str
    unit: str
    versions: tuple[ParameterVersion, ...]

    def at(self, day: dt.date) -> ParameterVersion | None:
        for version in self.versions:
            if version.covers(day):
                return version
        return None


@dataclass(frozen=True)
class Resolved:
    """One parameter's value in force, with its citation."""

    value: Any
    reference: Reference
    start: dt.date

    def cite(self) -> str:
        return self.reference.cite()


@dataclass(frozen=True)
class RuleVersion:
    """All parameters of a region in force on one date."""

    region: str
    region_name: str
    date: dt.date
    params: Mapping[str, Resolved]
    published: Mapping[str, PublishedFigure]
    documents: tuple[Document, ...]

    @property
    def label(self) -> str:
        latest = max(p.start for p in self.params.values())
        return f"{self.region}@{latest.isoformat()}"

    def get(self, name: str) -> Resolved | None:
        return self.params.get(name)

    def __getitem__(self, name: str) -> Resolved:
        return self.params[name]


@dataclass(frozen=True)
class RuleBook:
    region: str
    name: str
    documents: Mapping[str, Document]
    parameters: Mapping[str, Parameter]
    published: Mapping[str, PublishedFigure]

    def at(self, day: dt.date) -> RuleVersion:
        """The rule version in force on ``day``; :class:`NoRulesInForce` if none is."""
        resolved: dict[str, Resolved] = {}
        missing: list[str] = []
        for name, parameter in self.parameters.items():
            version = parameter.at(day)
            if version is None:
                missing.append(name)
            else:
                resolved[name] = Resolved(version.value, version.reference, version.start)
        if missing:
            raise NoRulesInForce(self.region, day.isoformat(), self._gap_detail(missing))
        used = {r.reference.document.key for r in resolved.values()}
        documents = tuple(d for k, d in self.documents.items() if k in used)
        return RuleVersion(self.region, self.name, day, resolved, self.published, documents)

    def _gap_detail(self, missing: list[str]) -> str:
        spans = sorted(
            {(v.start, v.end) for p in self.parameters.values() for v in p.versions},
            key=lambda span: span[0],
        )
        first = spans[0][0].isoformat()
        ends = [end for _, end in spans]
        last = "长期" if any(end is None for end in ends) else max(e for e in ends if e).isoformat()
        if len(missing) == len(self.parameters):
            return (f"{self.name}的规则有效期为 {first} 至 {last}，该日期不在任何规则版本内；"
                    f"请待新的政策文件生效后添加新版本规则")
        return f"{self.name}的以下参数在该日期没有有效版本：{', '.join(missing)}"


# --------------------------------------------------------------------------- schema

Checker = Callable[[Any, str], Any]


@dataclass(frozen=True)
class Spec:
    unit: str
    check: Checker
    required: bool = True


class _Ctx:
    """Carries the file name so every error names file, key and problem."""

    def __init__(self, file: str, published: Mapping[str, PublishedFigure] | None = None) -> None:
        self.file = file
        self.published = published or {}

    def fail(self, key: str, problem: str) -> RulesError:
        return RulesError(self.file, key, problem)


def build_rulebook(region_folder: str, region_doc: Any, region_file: str,
                   params_doc: Any, params_file: str) -> RuleBook:
    """Validate a region's parsed ``region.yaml`` and ``parameters.yaml`` into a :class:`RuleBook`."""
    ctx = _Ctx(region_file)
    region_doc = _expect_mapping(ctx, region_doc, "(top)", {"region", "name", "documents", "published_figures"},
                                 required={"region", "name", "documents"})
    if region_doc["region"] != region_folder:
        raise ctx.fail("region", f"是 {region_doc['region']!r}，但所在文件夹是 {region_folder!r}")
    name = _expect_text(ctx, region_doc["name"], "name")
    documents = _documents(ctx, region_doc["documents"])
    published = _published_figures(ctx, region_doc.get("published_figures") or {}, documents)

    pctx = _Ctx(params_file, published)
    params_doc = _expect_mapping(pctx, params_doc, "(top)", set(SCHEMA), required=set())
    parameters: dict[str, Parameter] = {}
    for pname, spec in SCHEMA.items():
        if pname not in params_doc:
            if spec.required:
                raise pctx.fail(pname, "缺少必需的参数")
            continue
        parameters[pname] = _parameter(pctx, pname, spec, params_doc[pname], documents)
    _cross_checks(pctx, parameters)
    return RuleBook(region_folder, name, documents, parameters, published)


def _documents(ctx: _Ctx, raw: Any) -> dict[str, Document]:
    raw = _expect_mapping(ctx, raw, "documents", None, required=set())
    if not raw:
        raise ctx.fail("documents", "至少需要一份政策文件")
    result = {}
    for key, doc in raw.items():
        path = f"documents.{key}"
        doc = _expect_mapping(ctx, doc, path, {"cite_as", "title", "status", "source", "issued"},
                              required={"cite_as", "title", "status", "source"})
        status = doc["status"]
        if status not in DOCUMENT_STATUSES:
            raise ctx.fail(f"{path}.status", f"{status!r} 不是 {' / '.join(DOCUMENT_STATUSES)} 之一")
        result[key] = Document(key, _expect_text(ctx, doc["cite_as"], f"{path}.cite_as"),
                               _expect_text(ctx, doc["title"], f"{path}.title"), status,
                               _expect_text(ctx, doc["source"], f"{path}.source"))
    return result


def _reference(ctx: _Ctx, raw: Any, path: str, documents: Mapping[str, Document]) -> Reference:
    raw = _expect_mapping(ctx, raw, path, {"document", "article", "note"}, required={"document", "article"})
    if raw["document"] not in documents:
        raise ctx.fail(f"{path}.document", f"{raw['document']!r} 不在 region.yaml 的 documents 中")
    note = raw.get("note")
    return Reference(documents[raw["document"]], _expect_text(ctx, raw["article"], f"{path}.article"),
                     None if note is None else _expect_text(ctx, note, f"{path}.note"))


def _published_figures(ctx: _Ctx, raw: Any, documents: Mapping[str, Document]) -> dict[str, PublishedFigure]:
    raw = _expect_mapping(ctx, raw, "published_figures", None, required=set())
    result = {}
    for name, fig in raw.items():
        path = f"published_figures.{name}"
        fig = _expect_mapping(ctx, fig, path, {"unit", "meaning", "reference"}, required={"unit", "meaning", "reference"})
        if fig["unit"] not in ("CNY", "ratio"):
            raise ctx.fail(f"{path}.unit", f"{fig['unit']!r} 须为 CNY 或 ratio")
        result[name] = PublishedFigure(name, fig["unit"], _expect_text(ctx, fig["meaning"], f"{path}.meaning"),
                                       _reference(ctx, fig["reference"], f"{path}.reference", documents))
    return result


def _parameter(ctx: _Ctx, name: str, spec: Spec, raw: Any, documents: Mapping[str, Document]) -> Parameter:
    raw = _expect_mapping(ctx, raw, name, {"description", "unit", "values"}, required={"description", "unit", "values"})
    if raw["unit"] != spec.unit:
        raise ctx.fail(f"{name}.unit", f"是 {raw['unit']!r}，此参数的单位须为 {spec.unit!r}")
    values = raw["values"]
    if not isinstance(values, list) or not values:
        raise ctx.fail(f"{name}.values", "须为非空列表，每项含 from、to、value、reference")
    versions = []
    for i, entry in enumerate(values):
        path = f"{name}.values[{i}]"
        entry = _expect_mapping(ctx, entry, path, {"from", "to", "value", "reference"},
                                required={"from", "value", "reference"})
        if "to" not in entry:
            raise ctx.fail(f"{path}.to", "缺少 to（长期有效写 to: null）")
        start = _expect_date(ctx, entry["from"], f"{path}.from")
        end = None if entry["to"] is None else _expect_date(ctx, entry["to"], f"{path}.to")
        if end is not None and end < start:
            raise ctx.fail(f"{path}.to", f"{end} 早于 from {start}")
        value = spec.check(_Field(ctx, f"{path}.value"), entry["value"])
        versions.append(ParameterVersion(start, end, value, _reference(ctx, entry["reference"], f"{path}.reference", documents)))
    versions.sort(key=lambda v: v.start)
    for earlier, later in zip(versions, versions[1:]):
        if earlier.end is None or earlier.end >= later.start:
            raise ctx.fail(f"{name}.values", f"版本 {earlier.start} 与 {later.start} 的有效期重叠")
    return Parameter(name, _expect_text(ctx, raw["description"], f"{name}.description"), spec.unit, tuple(versions))


# --------------------------------------------------------------------------- value checkers


class _Field:
    def __init__(self, ctx: _Ctx, path: str) -> None:
        self.ctx = ctx
        self.path = path

    def sub(self, key: object) -> "_Field":
        suffix = f"[{key}]" if isinstance(key, int) else f".{key}"
        return _Field(self.ctx, self.path + suffix)

    def fail(self, problem: str) -> RulesError:
        return self.ctx.fail(self.path, problem)


def _choice_list(choices: tuple) -> Checker:
    def check(f: _Field, raw: Any) -> tuple:
        if not isinstance(raw, list):
            raise f.fail(f"须为列表，取值为 {' / '.join(map(str, choices))}")
        for i, item in enumerate(raw):
            if item not in choices:
                raise f.sub(i).fail(f"{item!r} 不是 {' / '.join(map(str, choices))} 之一")
        return tuple(raw)
    return check


def _enum(choices: tuple) -> Checker:
    def check(f: _Field, raw: Any) -> str:
        if raw not in choices:
            raise f.fail(f"{raw!r} 不是 {' / '.join(choices)} 之一")
        return raw
    return check


def _bool(f: _Field, raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise f.fail("须为 true 或 false")
    return raw


def _figure(unit: str) -> Checker:
    """A literal amount / ratio, or a reference to a published figure."""
    def check(f: _Field, raw: Any) -> Decimal | Published:
        if isinstance(raw, Mapping):
            keys = set(raw)
            if "published" not in keys or keys - {"published", "year_offset", "times"}:
                raise f.fail("公布数值引用须为 {published: 名称, year_offset: 整数, times: 比例}")
            name = raw["published"]
            figure = f.ctx.published.get(name)
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
    def check(f: _Field, raw: Any) -> Decimal:
        if isinstance(raw, (float, bool)) or not isinstance(raw, (str, int)):
            raise f.fail(f"须写成带引号的数字字符串，如 \"600.00\"，而不是 {raw!r}")
        try:
            return parse_amount(raw) if unit == "CNY" else parse_ratio(raw)
        except MoneyError as exc:
            raise f.fail(f"{raw!r}：{exc.reason}") from None
    return check


def _by_status(unit: str) -> Checker:
    figure = _figure(unit)

    def check(f: _Field, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, Mapping) or set(raw) != set(STATUSES):
            raise f.fail("须分别给出 employed 与 retired")
        return {s: figure(f.sub(s), raw[s]) for s in STATUSES}
    return check


def _annual_cap(f: _Field, raw: Any) -> dict[str, dict[str, Any]]:
    allowed = set(SCHEMES) | {"any"}
    if not isinstance(raw, Mapping) or not raw or set(raw) - allowed:
        raise f.fail("须按参保方式给出：combined / pooling_only，或 any（不分参保方式）")
    if "any" in raw and len(raw) > 1:
        raise f.fail("any 不能与 combined / pooling_only 同时出现")
    by_status = _by_status("CNY")
    return {scheme: by_status(f.sub(scheme), value) for scheme, value in raw.items()}


def _fund_share(f: _Field, raw: Any) -> tuple[dict[str, Any], ...]:
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
        rows.append({
            "kinds": _choice_list(FACILITY_KINDS)(rf.sub("kinds"), row["kinds"]),
            "levels": _choice_list(LEVELS)(rf.sub("levels"), row["levels"]) if "levels" in row else None,
            "grades": _choice_list(GRADES)(rf.sub("grades"), row["grades"]) if "grades" in row else None,
            "tiers": _choice_list(TIERS)(rf.sub("tiers"), row["tiers"]) if "tiers" in row else None,
            "label": row["label"],
            "employed": ratio(rf.sub("employed"), row["employed"]),
            "retired": ratio(rf.sub("retired"), row["retired"]) if "retired" in row else None,
        })
    return tuple(rows)


def _programme_caps(f: _Field, raw: Any) -> tuple[tuple[frozenset[str], Decimal], ...]:
    if not isinstance(raw, list) or not raw:
        raise f.fail("须为非空列表：每行 {programmes: [...], cap: \"200.00\"}")
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


def _scope(f: _Field, raw: Any) -> dict[str, tuple]:
    keys = {"in_scope", "selfpay_first", "out_of_scope"}
    if not isinstance(raw, Mapping) or set(raw) != keys:
        raise f.fail(f"须给出 {', '.join(sorted(keys))}")
    result = {k: _choice_list(CATEGORIES)(f.sub(k), raw[k]) for k in keys}
    if set(result["in_scope"]) | set(result["out_of_scope"]) != set(CATEGORIES) or \
            set(result["in_scope"]) & set(result["out_of_scope"]):
        raise f.fail("in_scope 与 out_of_scope 须恰好分完 A / B / C")
    if not set(result["selfpay_first"]) <= set(result["in_scope"]):
        raise f.sub("selfpay_first").fail("先行自付的类别须在 in_scope 中")
    return result


def _chosen_institution(f: _Field, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or set(raw) != {"required", "exceptions"}:
        raise f.fail("须为 {required: true/false, exceptions: [emergency, referral]}")
    return {"required": _bool(f.sub("required"), raw["required"]),
            "exceptions": _choice_list(VISIT_EXCEPTIONS)(f.sub("exceptions"), raw["exceptions"])}


def _framework(f: _Field, raw: Any) -> dict[str, Any]:
    keys = {"min_fund_share", "retired_not_below_employed", "grassroots_not_below_higher"}
    if not isinstance(raw, Mapping) or set(raw) != keys:
        raise f.fail(f"须给出 {', '.join(sorted(keys))}")
    return {"min_fund_share": _literal("ratio")(f.sub("min_fund_share"), raw["min_fund_share"]),
            "retired_not_below_employed": _bool(f.sub("retired_not_below_employed"), raw["retired_not_below_employed"]),
            "grassroots_not_below_higher": _bool(f.sub("grassroots_not_below_higher"), raw["grassroots_not_below_higher"])}


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
    "framework": Spec("rule", _framework, required=False),
    "account_relations": Spec("relations", _choice_list(RELATIONS)),
    "account_excluded_item_kinds": Spec("item_kinds", _choice_list(ITEM_KINDS)),
    "prescription_facility_kinds": Spec("facility_kinds", _choice_list(FACILITY_KINDS), required=False),
}


def _cross_checks(ctx: _Ctx, params: Mapping[str, Parameter]) -> None:
    """Rules that tie parameters together, checked on every date a version starts."""
    programme_set = {"programme_facility_kinds", "programme_share", "programme_caps"}
    present = programme_set & set(params)
    if present and present != programme_set:
        raise ctx.fail(", ".join(sorted(programme_set - present)), "两病参数须同时给出 programme_facility_kinds、programme_share、programme_caps")
    boundaries = sorted({v.start for p in params.values() for v in p.versions})
    for day in boundaries:
        def at(name: str) -> Any:
            p = params.get(name)
            v = p.at(day) if p else None
            return None if v is None else v.value
        kind = at("deductible_kind")
        if kind in ("annual", "per_visit") and "deductible_amount" in params and at("deductible_amount") is None:
            raise ctx.fail("deductible_amount", f"{day} 起起付线类型为 {kind}，但没有有效的起付线金额")
        if kind in ("annual", "per_visit") and "deductible_amount" not in params:
            raise ctx.fail("deductible_amount", f"起付线类型为 {kind}，须给出起付线金额")
        rows = at("fund_share") or ()
        if any(row["retired"] is None for row in rows) and at("retired_increase") is None \
                and "retired_increase" in params:
            raise ctx.fail("retired_increase", f"{day} 起有比例行未给出 retired，须有有效的 retired_increase")
        if any(row["retired"] is None for row in rows) and "retired_increase" not in params:
            raise ctx.fail("fund_share", "有比例行未给出 retired，且未定义 retired_increase")


# --------------------------------------------------------------------------- small helpers


def _expect_mapping(ctx: _Ctx, raw: Any, path: str, keys: set[str] | None, required: set[str]) -> Mapping:
    if not isinstance(raw, Mapping):
        raise ctx.fail(path, "须为映射（YAML mapping）")
    if keys is not None:
        unknown = [k for k in raw if k not in keys]
        if unknown:
            where = unknown[0] if path == "(top)" else f"{path}.{unknown[0]}"
            raise ctx.fail(where, f"未知键；允许的键：{', '.join(sorted(keys))}")
    for key in sorted(required):
        if key not in raw:
            raise ctx.fail(key if path == "(top)" else f"{path}.{key}", "缺少此键")
    return raw


def _expect_text(ctx: _Ctx, raw: Any, path: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ctx.fail(path, "须为非空字符串")
    return raw.strip()


def _expect_date(ctx: _Ctx, raw: Any, path: str) -> dt.date:
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise ctx.fail(path, f"{raw!r} 不是日期 YYYY-MM-DD")
