"""`desktop-app checkout` as a real process: who settles, on what day, where, at what price, and only once."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store_fixtures import DX, copy_db

ROOT = Path(__file__).resolve().parents[1]


def run(
    db: Path,
    case: dict | None,
    *args: str,
    password: str | None = "123456",
    supervisor_password: str | None = None,
    stdout=subprocess.PIPE,
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGJI_")}
    if password is not None:
        env["GONGJI_PASSWORD"] = password
    if supervisor_password is not None:
        env["GONGJI_SUPERVISOR_PASSWORD"] = supervisor_password
    case_file = db.parent / "case.json"
    case_file.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", "checkout", "--db", str(db), *args, str(case_file)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def desk(templates, tmp_path):
    db = copy_db(templates, "guangxi", tmp_path / "desk.db")
    psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' ORDER BY psn_no LIMIT 1").fetchone()[0]
    code, fen = db.conn.execute(
        "SELECT code, price FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 AND price_cap IS NULL "
        "ORDER BY code LIMIT 1"
    ).fetchone()
    db.conn.close()
    return tmp_path / "desk.db", psn, code, fen


def rows(db: Path, table: str = "settlements") -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def refused(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert all(w in line for w in words), line


def test_checkout_needs_the_operators_password(desk):
    db, psn, code, _ = desk
    case = {"member": {"psn_no": psn}, "diagnoses": DX, "items": [{"code": code, "quantity": 1}]}
    before = rows(db)
    refused(run(db, case, "--operator", "shouyin", password="wrong1"), "shouyin", "密码不正确")
    refused(run(db, case, "--operator", "ghost", password="123456"), "ghost")
    refused(run(db, case, "--operator", "", password="123456"))
    refused(run(db, case, "--operator", "shouyin", password=None), "GONGJI_PASSWORD")
    assert rows(db) == before
    ok = run(db, case, "--operator", "shouyin")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["operator"] == "shouyin" and rows(db) == before + 1


def test_a_foreign_date_or_facility_is_refused(desk):
    db, psn, code, _ = desk
    base = {"member": {"psn_no": psn}, "diagnoses": DX, "items": [{"code": code, "quantity": 1}]}
    before = rows(db)
    refused(run(db, {**base, "date": "2099-06-01"}, "--operator", "shouyin"), "date", "2099-06-01", "晚于今天")
    refused(
        run(
            db,
            {**base, "date": "2020-01-01"},
            "--operator",
            "shouyin",
            "--supervisor",
            "admin",
            "--reason",
            "补录",
            supervisor_password="admin123",
        ),
        "date",
        "补结算期限",
    )
    refused(
        run(db, {**base, "facility": {"kind": "hospital", "level": 3, "id": "H1"}}, "--operator", "shouyin"),
        "facility",
        "本机设置",
    )
    refused(run(db, {**base, "region": "sichuan-provincial"}, "--operator", "shouyin"), "region", "本机设置")
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    if dt.date.fromisoformat(yesterday).year == dt.date.today().year:  # (on 1 January, yesterday is last year's)
        refused(run(db, {**base, "date": yesterday}, "--operator", "shouyin"), "补结算", "主管")
        late = run(
            db,
            {**base, "date": yesterday},
            "--operator",
            "shouyin",
            "--supervisor",
            "admin",
            "--reason",
            "昨日断电未结算",
            supervisor_password="admin123",
        )
        assert late.returncode == 0, late.stderr
        assert any("昨日断电未结算" in w for w in json.loads(late.stdout)["warnings"])
        assert rows(db) == before + 1
    else:
        assert rows(db) == before


def test_a_price_above_the_catalogue_needs_a_supervisor(desk):
    db, psn, code, fen = desk
    case = {
        "member": {"psn_no": psn},
        "diagnoses": DX,
        "items": [{"code": code, "quantity": 2, "unit_price": f"{fen / 100 + 10:.2f}"}],
    }
    before = rows(db), rows(db, "audit_log")
    refused(run(db, case, "--operator", "shouyin"), "高于目录价", "主管")
    refused(
        run(
            db, case, "--operator", "shouyin", "--supervisor", "shouyin", "--reason", "x", supervisor_password="123456"
        ),
        "不是主管",
    )
    refused(
        run(
            db, case, "--operator", "shouyin", "--supervisor", "admin", "--reason", " ", supervisor_password="admin123"
        ),
        "reason",
    )
    refused(
        run(
            db,
            {**case, "items": [{"code": code, "quantity": 2, "unit_price": "99999999"}]},
            "--operator",
            "shouyin",
            "--supervisor",
            "admin",
            "--reason",
            "x",
            supervisor_password="admin123",
        ),
        "unit_price",
        "超过",
    )
    refused(run(db, {**case, "items": [{"code": code, "quantity": 100000}]}, "--operator", "shouyin"), "quantity")
    assert (rows(db), rows(db, "audit_log")) == before
    ok = run(
        db,
        case,
        "--operator",
        "shouyin",
        "--supervisor",
        "admin",
        "--reason",
        "目录价未及时更新",
        supervisor_password="admin123",
    )
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["items"][0]["catalogue_pric"] == f"{fen / 100:.2f}"
    assert any("主管 admin 授权" in w and "目录价未及时更新" in w for w in out["warnings"])
    import sqlite3

    with sqlite3.connect(db) as conn:
        who, detail = conn.execute(
            "SELECT operator, detail FROM audit_log WHERE action = 'price_override' AND subject = ?", (out["uuid"],)
        ).fetchone()
    assert who == "admin" and "目录价未及时更新" in detail


def test_a_retried_request_id_settles_once(desk):
    db, psn, code, _ = desk
    case = {
        "member": {"psn_no": psn},
        "diagnoses": DX,
        "items": [{"code": code, "quantity": 1}],
        "request_id": "HIS-20261123-0001",
    }
    before = rows(db)
    first, again = run(db, case, "--operator", "shouyin"), run(db, case, "--operator", "shouyin")
    assert first.returncode == again.returncode == 0, (first.stderr, again.stderr)
    assert json.loads(first.stdout)["uuid"] == json.loads(again.stdout)["uuid"] and json.loads(again.stdout)["repeated"]
    assert rows(db) == before + 1
    refused(run(db, {**case, "items": [{"code": code, "quantity": 2}]}, "--operator", "shouyin"), "request_id")
    assert rows(db) == before + 1


def test_a_commit_whose_output_fails_says_so_and_a_retry_returns_it(desk):
    db, psn, code, _ = desk
    case = {
        "member": {"psn_no": psn},
        "diagnoses": DX,
        "items": [{"code": code, "quantity": 1}],
        "request_id": "HIS-full-disk",
    }
    with open("/dev/full", "w") as full:
        result = run(db, case, "--operator", "shouyin", stdout=full)
    assert result.returncode == 4, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "已结算并写入" in line and "请勿重新结算" in line
    uuid = line.split("结算号 ")[1].split("）")[0]
    retry = run(db, case, "--operator", "shouyin")
    assert retry.returncode == 0 and json.loads(retry.stdout)["uuid"] == uuid
    assert rows(db) >= 1


def test_the_journal_never_keeps_the_full_id_number(desk, templates):
    import sqlite3

    db, _, code, _ = desk
    with sqlite3.connect(db) as conn:
        certno = conn.execute(
            "SELECT certno FROM members WHERE scheme = 'combined' ORDER BY psn_no LIMIT 1"
        ).fetchone()[0]
    ok = run(
        db,
        {"member": {"certno": certno}, "diagnoses": DX, "items": [{"code": code, "quantity": 1}]},
        "--operator",
        "shouyin",
    )
    assert ok.returncode == 0, ok.stderr
    with sqlite3.connect(db) as conn:
        stored = conn.execute(
            "SELECT input_json, output_json FROM settlements WHERE uuid = ?", (json.loads(ok.stdout)["uuid"],)
        ).fetchone()
    assert certno not in stored[0] and certno not in stored[1] and certno[:6] + "********" + certno[-4:] in stored[0]
