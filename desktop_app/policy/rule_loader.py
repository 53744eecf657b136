"""The strict loader: a region's parsed rule files into a :class:`~desktop_app.policy.rulebook.RuleBook`.

:func:`build_rulebook` takes the parsed ``region.yaml`` and ``parameters.yaml``
(plain dicts: this module does no I/O) and checks their structure — documents,
references, published figures, each parameter's dated versions, and the rules
that tie parameters together — and each value against :data:`~desktop_app.policy.rule_schema.SCHEMA`.
Nothing is guessed or defaulted: the first problem raises :class:`RulesError`
naming the file, the key and the problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .rule_schema import DOCUMENT_STATUSES, SCHEMA, Field, RuleFile, Spec
from .rulebook import Document, Parameter, ParameterVersion, PublishedFigure, Reference, RuleBook


def build_rulebook(
    region_folder: str, region_doc: Any, region_file: str, params_doc: Any, params_file: str
) -> RuleBook:
    """Validate a region's parsed ``region.yaml`` and ``parameters.yaml`` into a :class:`RuleBook`."""
    ctx = RuleFile(region_file)
    region_doc = _expect_mapping(
        ctx,
        region_doc,
        "(top)",
        {"region", "name", "documents", "published_figures"},
        required={"region", "name", "documents"},
    )
    if region_doc["region"] != region_folder:
        raise ctx.fail("region", f"是 {region_doc['region']!r}，但所在文件夹是 {region_folder!r}")
    name = _expect_text(ctx, region_doc["name"], "name")
    documents = _documents(ctx, region_doc["documents"])
    published = _published_figures(ctx, region_doc.get("published_figures") or {}, documents)

    pctx = RuleFile(params_file, published)
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


def _documents(ctx: RuleFile, raw: Any) -> dict[str, Document]:
    raw = _expect_mapping(ctx, raw, "documents", None, required=set())
    if not raw:
        raise ctx.fail("documents", "至少需要一份政策文件")
    result = {}
    for key, doc in raw.items():
        path = f"documents.{key}"
        doc = _expect_mapping(
            ctx,
            doc,
            path,
            {"cite_as", "title", "status", "source", "issued"},
            required={"cite_as", "title", "status", "source"},
        )
        status = doc["status"]
        if status not in DOCUMENT_STATUSES:
            raise ctx.fail(f"{path}.status", f"{status!r} 不是 {' / '.join(DOCUMENT_STATUSES)} 之一")
        result[key] = Document(
            key,
            _expect_text(ctx, doc["cite_as"], f"{path}.cite_as"),
            _expect_text(ctx, doc["title"], f"{path}.title"),
            status,
            _expect_text(ctx, doc["source"], f"{path}.source"),
        )
    return result


def _reference(ctx: RuleFile, raw: Any, path: str, documents: Mapping[str, Document]) -> Reference:
    raw = _expect_mapping(ctx, raw, path, {"document", "article", "note"}, required={"document", "article"})
    if not isinstance(raw["document"], str) or raw["document"] not in documents:
        raise ctx.fail(f"{path}.document", f"{raw['document']!r} 不在 region.yaml 的 documents 中")
    note = raw.get("note")
    return Reference(
        documents[raw["document"]],
        _expect_text(ctx, raw["article"], f"{path}.article"),
        None if note is None else _expect_text(ctx, note, f"{path}.note"),
    )


def _published_figures(ctx: RuleFile, raw: Any, documents: Mapping[str, Document]) -> dict[str, PublishedFigure]:
    raw = _expect_mapping(ctx, raw, "published_figures", None, required=set())
    result = {}
    for name, fig in raw.items():
        path = f"published_figures.{name}"
        keys = {"unit", "meaning", "reference"}
        fig = _expect_mapping(ctx, fig, path, keys, required=keys)
        if fig["unit"] not in ("CNY", "ratio"):
            raise ctx.fail(f"{path}.unit", f"{fig['unit']!r} 须为 CNY 或 ratio")
        result[name] = PublishedFigure(
            name,
            fig["unit"],
            _expect_text(ctx, fig["meaning"], f"{path}.meaning"),
            _reference(ctx, fig["reference"], f"{path}.reference", documents),
        )
    return result


def _parameter(ctx: RuleFile, name: str, spec: Spec, raw: Any, documents: Mapping[str, Document]) -> Parameter:
    raw = _expect_mapping(ctx, raw, name, {"description", "unit", "values"}, required={"description", "unit", "values"})
    if raw["unit"] != spec.unit:
        raise ctx.fail(f"{name}.unit", f"是 {raw['unit']!r}，此参数的单位须为 {spec.unit!r}")
    values = raw["values"]
    if not isinstance(values, list) or not values:
        raise ctx.fail(f"{name}.values", "须为非空列表，每项含 from、to、value、reference")
    versions = []
    for i, entry in enumerate(values):
        path = f"{name}.values[{i}]"
        entry = _expect_mapping(
            ctx, entry, path, {"from", "to", "value", "reference"}, required={"from", "value", "reference"}
        )
        if "to" not in entry:
            raise ctx.fail(f"{path}.to", "缺少 to（长期有效写 to: null）")
        start = _expect_date(ctx, entry["from"], f"{path}.from")
        end = None if entry["to"] is None else _expect_date(ctx, entry["to"], f"{path}.to")
        if end is not None and end < start:
            raise ctx.fail(f"{path}.to", f"{end} 早于 from {start}")
        value = spec.check(Field(ctx, f"{path}.value"), entry["value"])
        reference = _reference(ctx, entry["reference"], f"{path}.reference", documents)
        versions.append(ParameterVersion(start, end, value, reference))
    versions.sort(key=lambda v: v.start)
    for earlier, later in zip(versions, versions[1:]):
        if earlier.end is None or earlier.end >= later.start:
            raise ctx.fail(f"{name}.values", f"版本 {earlier.start} 与 {later.start} 的有效期重叠")
    return Parameter(name, _expect_text(ctx, raw["description"], f"{name}.description"), spec.unit, tuple(versions))


def _cross_checks(ctx: RuleFile, params: Mapping[str, Parameter]) -> None:
    """Rules that tie parameters together, checked on every date a version starts."""
    programme_set = {"programme_facility_kinds", "programme_share", "programme_caps"}
    present = programme_set & set(params)
    if present and present != programme_set:
        raise ctx.fail(
            ", ".join(sorted(programme_set - present)),
            "两病参数须同时给出 programme_facility_kinds、programme_share、programme_caps",
        )
    boundaries = sorted({v.start for p in params.values() for v in p.versions})
    for day in boundaries:

        def at(name: str, day=day) -> Any:  # the boundary of this round, bound now
            p = params.get(name)
            v = p.at(day) if p else None
            return None if v is None else v.value

        kind = at("deductible_kind")
        if kind in ("annual", "per_visit") and "deductible_amount" in params and at("deductible_amount") is None:
            raise ctx.fail("deductible_amount", f"{day} 起起付线类型为 {kind}，但没有有效的起付线金额")
        if kind in ("annual", "per_visit") and "deductible_amount" not in params:
            raise ctx.fail("deductible_amount", f"起付线类型为 {kind}，须给出起付线金额")
        rows = at("fund_share") or ()
        if (
            any(row["retired"] is None for row in rows)
            and at("retired_increase") is None
            and "retired_increase" in params
        ):
            raise ctx.fail("retired_increase", f"{day} 起有比例行未给出 retired，须有有效的 retired_increase")
        if any(row["retired"] is None for row in rows) and "retired_increase" not in params:
            raise ctx.fail("fund_share", "有比例行未给出 retired，且未定义 retired_increase")


# --------------------------------------------------------------------------- small helpers


def _expect_mapping(ctx: RuleFile, raw: Any, path: str, keys: set[str] | None, required: set[str]) -> Mapping:
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


def _expect_text(ctx: RuleFile, raw: Any, path: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ctx.fail(path, "须为非空字符串")
    return raw.strip()


def _expect_date(ctx: RuleFile, raw: Any, path: str) -> dt.date:
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise ctx.fail(path, f"{raw!r} 不是日期 YYYY-MM-DD")
