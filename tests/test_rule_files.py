"""The rule files: every parameter dated, with a unit and a citation; a strict loader."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_app.domain.errors import NoRulesInForce, RulesError
from desktop_app.policy.rule_schema import SCHEMA, UNITS
from desktop_app.resources import rules_dir
from desktop_app.rule_files import load_all, load_region, region_names

REGIONS = ["guangxi", "henan-city-draft", "sichuan-provincial", "xian", "yunfu"]
POLICIES = Path(__file__).resolve().parents[2] / "shared" / "policies"


def test_the_five_regions_ship():
    assert region_names() == REGIONS


@pytest.mark.parametrize("region", REGIONS)
def test_every_parameter_has_dates_a_unit_and_a_citation(region):
    """Read the raw YAML (not the loader) so that this test fails on its own if the loader got lax."""
    raw = yaml.safe_load((rules_dir() / region / "parameters.yaml").read_text(encoding="utf-8"))
    documents = yaml.safe_load((rules_dir() / region / "region.yaml").read_text(encoding="utf-8"))["documents"]
    assert raw, region
    for name, param in raw.items():
        assert param.get("unit") in UNITS, f"{region}/{name}: unit {param.get('unit')!r}"
        assert param.get("description"), f"{region}/{name}: no description"
        assert param.get("values"), f"{region}/{name}: no dated values"
        for i, version in enumerate(param["values"]):
            where = f"{region}/{name}.values[{i}]"
            assert isinstance(version.get("from"), dt.date), f"{where}: no from date"
            assert "to" in version, f"{where}: no to (null when open)"
            ref = version.get("reference") or {}
            assert ref.get("document") in documents, f"{where}: cites no known document"
            assert str(ref.get("article", "")).strip(), f"{where}: cites no article"


@pytest.mark.parametrize("region", REGIONS)
def test_every_cited_document_is_one_of_the_five(region):
    documents = yaml.safe_load((rules_dir() / region / "region.yaml").read_text(encoding="utf-8"))["documents"]
    for key, doc in documents.items():
        source = Path(doc["source"]).name
        if POLICIES.is_dir():  # shared/ sits beside the clone in CI and on developer machines
            assert (POLICIES / source).is_file(), f"{region}: {key} cites {source}, not in shared/policies"


def test_all_regions_load_and_cover_their_own_examples():
    books = load_all()
    assert set(books) == set(REGIONS)
    for book in books.values():
        assert set(book.parameters) >= {n for n, s in SCHEMA.items() if s.required}


def test_yunfu_expires_and_says_so():
    book = load_region("yunfu")
    assert book.at(dt.date(2025, 12, 31)).label == "yunfu@2022-09-01"
    with pytest.raises(NoRulesInForce) as info:
        book.at(dt.date(2026, 1, 1))
    assert "2025-12-31" in str(info.value)


def test_henan_version_changes_on_2023_01_01():
    book = load_region("henan-city-draft")
    assert book.at(dt.date(2022, 12, 31))["annual_cap_factor"].value == 0.5
    assert book.at(dt.date(2023, 1, 1))["annual_cap_factor"].value == 1
    assert book.at(dt.date(2023, 1, 1)).label == "henan-city-draft@2023-01-01"


# ---------------------------------------------------------------- the loader names file, key, problem


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(rules_dir(), root)
    return root


def _edit(root: Path, region: str, file: str, change) -> None:
    path = root / region / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _load_error(root: Path, region: str) -> RulesError:
    with pytest.raises(RulesError) as info:
        load_region(region, root)
    return info.value


BROKEN = [
    ("no unit", "parameters.yaml", lambda d: d["deductible_amount"].pop("unit"), "deductible_amount.unit"),
    ("wrong unit", "parameters.yaml", lambda d: d["annual_cap"].update(unit="ratio"), "annual_cap.unit"),
    (
        "no reference",
        "parameters.yaml",
        lambda d: d["fund_share"]["values"][0].pop("reference"),
        "fund_share.values[0].reference",
    ),
    (
        "no article",
        "parameters.yaml",
        lambda d: d["fund_share"]["values"][0]["reference"].pop("article"),
        "fund_share.values[0].reference.article",
    ),
    (
        "unknown document",
        "parameters.yaml",
        lambda d: d["fund_share"]["values"][0]["reference"].update(document="nope"),
        "fund_share.values[0].reference.document",
    ),
    ("no from date", "parameters.yaml", lambda d: d["scope"]["values"][0].pop("from"), "scope.values[0].from"),
    ("no to", "parameters.yaml", lambda d: d["scope"]["values"][0].pop("to"), "scope.values[0].to"),
    (
        "bad date",
        "parameters.yaml",
        lambda d: d["scope"]["values"][0].update({"from": "2022-02-30"}),
        "scope.values[0].from",
    ),
    (
        "float money",
        "parameters.yaml",
        lambda d: d["deductible_amount"]["values"][0]["value"].update(employed=600.5),
        "deductible_amount.values[0].value.employed",
    ),
    (
        "ratio above one",
        "parameters.yaml",
        lambda d: d["fund_share"]["values"][0]["value"][0].update(employed="1.5"),
        "fund_share.values[0].value[0].employed",
    ),
    (
        "unknown facility kind",
        "parameters.yaml",
        lambda d: d["pooling_facility_kinds"]["values"][0]["value"].append("spa"),
        "pooling_facility_kinds.values[0].value[4]",
    ),
    ("unknown parameter", "parameters.yaml", lambda d: d.update(deductable={}), "deductable"),
    ("missing required parameter", "parameters.yaml", lambda d: d.pop("annual_cap"), "annual_cap"),
    (
        "overlapping versions",
        "parameters.yaml",
        lambda d: d["scope"]["values"].append(dict(d["scope"]["values"][0], **{"from": dt.date(2023, 1, 1)})),
        "scope.values",
    ),
    (
        "to before from",
        "parameters.yaml",
        lambda d: d["scope"]["values"][0].update(to=dt.date(2020, 1, 1)),
        "scope.values[0].to",
    ),
    ("region name differs from folder", "region.yaml", lambda d: d.update(region="guangdong"), "region"),
    (
        "document as a list",
        "parameters.yaml",
        lambda d: d["fund_share"]["values"][0]["reference"].update(document=["nhsa-2021-14"]),
        "fund_share.values[0].reference.document",
    ),
]


@pytest.mark.parametrize("label, file, change, key", BROKEN, ids=[b[0] for b in BROKEN])
def test_loader_names_file_and_key(rules_copy, label, file, change, key):
    _edit(rules_copy, "guangxi", file, change)
    error = _load_error(rules_copy, "guangxi")
    assert error.file == f"rules/guangxi/{file}"
    assert error.key == key, str(error)
    assert error.problem


def test_published_reference_must_be_declared(rules_copy):
    _edit(rules_copy, "yunfu", "region.yaml", lambda d: d.pop("published_figures"))
    error = _load_error(rules_copy, "yunfu")
    assert error.file == "rules/yunfu/parameters.yaml"
    assert error.key == "annual_cap.values[0].value.any.employed.published"


def test_yaml_syntax_error_names_the_line(rules_copy):
    path = rules_copy / "guangxi" / "parameters.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n  bad: [unclosed\n", encoding="utf-8")
    error = _load_error(rules_copy, "guangxi")
    assert error.file == "rules/guangxi/parameters.yaml"
    assert error.key.startswith("line ")


def test_a_gap_between_versions_is_refused_on_the_gap(rules_copy):
    def close_early(d):
        d["annual_cap"]["values"][0]["to"] = dt.date(2023, 12, 31)
        d["annual_cap"]["values"].append({**d["annual_cap"]["values"][0], "from": dt.date(2024, 2, 1), "to": None})

    _edit(rules_copy, "guangxi", "parameters.yaml", close_early)
    book = load_region("guangxi", rules_copy)
    assert book.at(dt.date(2024, 2, 1))
    with pytest.raises(NoRulesInForce) as info:
        book.at(dt.date(2024, 1, 15))
    assert "annual_cap" in str(info.value)


def test_a_published_name_that_is_not_text_is_refused(rules_copy):
    def as_mapping(d):
        d["annual_cap"]["values"][0]["value"]["any"]["employed"]["published"] = {"avg_wage": 1}

    _edit(rules_copy, "yunfu", "parameters.yaml", as_mapping)
    error = _load_error(rules_copy, "yunfu")
    assert error.key == "annual_cap.values[0].value.any.employed.published"


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    if path:
        yield path


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_value_of_any_shape_anywhere_is_a_rules_error_or_loads(data):
    """Whatever a rules file holds at whatever key, loading answers with a rule book or a RulesError naming it."""
    import tempfile

    file = data.draw(st.sampled_from(["parameters.yaml", "region.yaml"]))
    region = data.draw(st.sampled_from(["guangxi", "yunfu"]))
    original = yaml.safe_load((rules_dir() / region / file).read_text(encoding="utf-8"))
    path = data.draw(st.sampled_from(list(_leaves(original))))
    replacement = data.draw(
        st.sampled_from([[], ["x"], {"a": 1}, {"published": ["x"]}, None, 1.5, True, "x", 10**30, "2022-02-30"])
    )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "rules"
        shutil.copytree(rules_dir(), root)

        def change(d):
            target = d
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = replacement

        _edit(root, region, file, change)
        try:
            load_region(region, root)
        except RulesError as error:
            assert error.file and error.key
