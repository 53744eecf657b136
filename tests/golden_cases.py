"""Golden cases: YAML files under ``tests/golden/``, collected by pytest.

A file has ``defaults`` (a partial case deep-merged under every case's input)
and ``cases``.  Each case has a ``name``, the ``article`` it checks, an ``input``
and either ``expect`` (output fields that must be equal, plus
``explanation_contains``: text that must appear in the explanation) or ``error``
(``type``: the exception class name, ``field`` and/or ``contains``).  ``replace``
lists top-level input keys taken whole rather than merged over the defaults.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from desktop_app.domain import errors
from desktop_app.domain.errors import GongjiError
from desktop_app.services.quote import quote

GOLDEN_DIR = Path(__file__).parent / "golden"
CASE_KEYS = {"name", "article", "input", "expect", "error", "replace"}


def collect_golden(parent, file_path: Path):
    if file_path.suffix == ".yaml" and file_path.parent == GOLDEN_DIR:
        return GoldenFile.from_parent(parent, path=file_path)
    return None


def deep_merge(base: dict, override: dict) -> dict:
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def load_cases(path: Path) -> list[dict]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    defaults = data.get("defaults", {})
    cases = []
    for i, case in enumerate(data["cases"]):
        unknown = set(case) - CASE_KEYS
        assert not unknown, f"{path.name} case {i}: unknown keys {unknown}"
        assert case.get("article"), f"{path.name} case {i} ({case.get('name')}): names no article"
        assert ("expect" in case) != ("error" in case), f"{path.name} case {i}: needs exactly one of expect / error"
        own = case.get("input", {})
        merged = deep_merge({k: v for k, v in defaults.items() if k not in case.get("replace", ())}, own)
        cases.append({**case, "input": merged})
    return cases


class GoldenFile(pytest.File):
    def collect(self):
        for case in load_cases(self.path):
            yield GoldenCase.from_parent(self, name=case["name"], case=case)


class GoldenCase(pytest.Item):
    def __init__(self, *, case: dict, **kwargs) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        check_case(self.case)

    def reportinfo(self):
        return self.path, 0, f"golden: {self.name} [{self.case['article']}]"

    def repr_failure(self, excinfo):
        return f"{self.path.name} :: {self.name} ({self.case['article']})\n{excinfo.getrepr(style='short')}"


def check_case(case: dict) -> None:
    if "error" in case:
        expected = case["error"]
        cls = getattr(errors, expected["type"])
        with pytest.raises(GongjiError) as info:
            quote(case["input"])
        assert isinstance(info.value, cls), f"raised {type(info.value).__name__}: {info.value}"
        if "field" in expected:
            assert getattr(info.value, "field", None) == expected["field"], str(info.value)
        if "contains" in expected:
            assert expected["contains"] in str(info.value), str(info.value)
        return
    out = quote(case["input"])
    expect = dict(case["expect"])
    for text in expect.pop("explanation_contains", []):
        assert any(text in line for line in out["explanation"]), f"{text!r} not in:\n" + "\n".join(out["explanation"])
    for key, value in expect.items():
        assert key in out, f"output has no {key!r}"
        assert out[key] == value, f"{key}: got {out[key]!r}, expected {value!r}\n" + "\n".join(out["explanation"])
