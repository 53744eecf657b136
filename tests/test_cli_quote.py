"""`desktop-app quote` as a real process: JSON on stdout, or one clear message on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "resources" / "examples" / "guangxi-visit.json"


def run(*args: str, stdin: str | None = None, script: bool = False) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "desktop-app")] if script else [sys.executable, "-m", "desktop_app"]
    return subprocess.run([*command, *args], input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=60)


def write_case(tmp_path: Path, **changes) -> Path:
    case = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        target = case
        *path, last = dotted.split("__")
        for key in path:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    return path


def test_quote_prints_the_settlement():
    result = run("quote", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    for key in (
        "medfee_sumamt",
        "fulamt_ownpay_amt",
        "preselfpay_amt",
        "inscp_scp_amt",
        "act_pay_dedc",
        "hifp_pay",
        "psn_part_amt",
        "pool_prop_selfpay",
        "programme_pay",
        "rule_version",
        "explanation",
    ):
        assert key in out
    assert out["hifp_pay"] == "93.50"
    assert (
        "起付线 600.00（年度累计，在职）：本年已累计 500.00，本次计入 100.00（桂政办发〔2021〕137号 第十条）"
        in out["explanation"]
    )
    assert result.stderr == ""


def test_console_script_is_installed():
    result = run("quote", str(EXAMPLE), script=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["hifp_pay"] == "93.50"


def test_stdin_and_json_numbers_are_exact(tmp_path):
    case = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    text = json.dumps(case, ensure_ascii=False).replace('"300.00"', "300.10")  # a JSON number, not a string
    result = run("quote", "-", stdin=text)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["medfee_sumamt"] == "300.10"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"items__0__amount": "-1"}, "items[0].amount"),
        ({"items__0__amount": "abc"}, "items[0].amount"),
        ({"facility__kind": "spa"}, "facility.kind"),
        ({"member__status": "student"}, "member.status"),
        ({"date": "2024-02-30"}, "date"),
        ({"region": "atlantis"}, "region"),
    ],
)
def test_bad_input_prints_nothing_and_names_the_field(tmp_path, changes, field):
    result = run("quote", str(write_case(tmp_path, **changes)))
    assert result.returncode == 2
    assert result.stdout == ""
    assert field in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_rules_in_force_is_refused(tmp_path):
    path = write_case(tmp_path, region="yunfu", date="2026-01-05", member__designated_facility="H001")
    result = run("quote", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "2026-01-05" in result.stderr and "2025-12-31" in result.stderr


def test_missing_published_figure_is_named(tmp_path):
    path = write_case(tmp_path, region="xian")
    result = run("quote", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert "published.deductible_employed.2024" in result.stderr


def test_broken_json_names_the_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"region": "guangxi",\n "date": }', encoding="utf-8")
    result = run("quote", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert "第 2 行" in result.stderr


def test_missing_file(tmp_path):
    result = run("quote", str(tmp_path / "nope.json"))
    assert result.returncode == 2 and result.stdout == ""
    assert "nope.json" in result.stderr


def test_broken_rules_file_exits_3(tmp_path):
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "guangxi" / "parameters.yaml").write_text("scope: [", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "desktop_app", "quote", str(EXAMPLE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**__import__("os").environ, "GONGJI_RULES_DIR": str(rules)},
    )
    assert result.returncode == 3 and result.stdout == ""
    assert "rules/guangxi/parameters.yaml" in result.stderr
