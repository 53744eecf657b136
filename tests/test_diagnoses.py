"""Diagnoses (issue 18, point 6): the catalogue and its search, its import, and the visit that needs one.

Real SQLite desks copied from the demo template; the import reads real CSV files as the platform's 1307
download gives them; the window is driven by keyboard.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop_app.domain.case import parse_diagnoses
from desktop_app.domain.diagnosis import Diagnosis
from desktop_app.domain.errors import InputError
from desktop_app.services import checkout, imports
from desktop_app.services.imports import ImportRefused
from desktop_app.store import config, diagnoses
from tests.store_fixtures import DX, TODAY, copy_db
from tests.test_window import diagnose, key, member_and_item


@pytest.fixture
def db(templates, tmp_path):
    db = copy_db(templates, "sichuan-provincial", tmp_path / "desk.db")
    yield db
    db.conn.close()


def test_a_diagnosis_is_found_by_code_initials_or_name(db):
    conn = db.conn
    assert [d.code for d in diagnoses.search(conn, "I10.x00")][0] == "I10.x00"  # the exact code first
    assert {d.code[:3] for d in diagnoses.search(conn, "i1")} == {"I10", "I11", "I12", "I13", "I15"}
    assert "I10.x00" in [d.code for d in diagnoses.search(conn, "yfxgxy")]  # 原发性高血压
    names = [d.name for d in diagnoses.search(conn, "高血压")]
    assert names[0].startswith("高血压") and "原发性高血压" in names  # starting so first, then containing
    assert len(diagnoses.search(conn, "i", limit=3)) == 3 and diagnoses.search(conn, "  ") == []
    assert diagnoses.search(conn, "%") == [] and diagnoses.search(conn, "qqqq") == []


def test_the_platforms_1307_download_is_imported_and_a_bad_row_writes_nothing(db, tmp_path):
    good = tmp_path / "1307.csv"
    good.write_text(
        "diag_list_id,cate_name,diag_code,diag_name,vali_flag\n"
        "1,肠道传染病,A00.000,古典型霍乱,1\n2,循环系统,i10.x00,原发性高血压（新）,1\n",
        encoding="utf-8",
    )
    preview = imports.preview(db, "diagnoses", good, lambda *_: None)
    assert preview.ok and (preview.new, preview.updated) == (1, 1) and "cate_name" in preview.ignored
    done = imports.run(db, "diagnoses", good, "admin", "admin123", lambda *_: None)
    assert (done.total, done.new) == (2, 1)
    assert diagnoses.get(db.conn, "I10.x00").name == "原发性高血压（新）"
    assert diagnoses.get(db.conn, "A00.000").initials == "gdxhl"
    bad = tmp_path / "bad.csv"
    bad.write_text("诊断代码,诊断名称\nB01.900,水痘\n10X,坏编码\nB02.900,\n", encoding="gb18030")
    before = diagnoses.count(db.conn)
    with pytest.raises(ImportRefused) as refused:
        imports.run(db, "diagnoses", bad, "admin", "admin123", lambda *_: None)
    assert [(b.row, b.column) for b in refused.value.preview.bad] == [(3, "诊断代码"), (4, "诊断名称")]
    assert diagnoses.count(db.conn) == before and diagnoses.get(db.conn, "B01.900") is None


def visit(db, **extra) -> dict:
    psn = db.conn.execute("SELECT psn_no FROM members ORDER BY psn_no LIMIT 1").fetchone()[0]
    return {"member": {"psn_no": psn}, "date": TODAY.isoformat(), "items": [{"code": "FW000"}], **extra}


def written(db) -> int:
    return db.conn.execute("SELECT count(*) FROM settlements").fetchone()[0]


def test_a_clinic_visit_without_a_diagnosis_is_refused_with_its_message(db):
    before = written(db)
    assert checkout.build_quote(db.conn, visit(db), TODAY).diagnoses == ()  # quoted while it is being entered
    for data, field, words in (
        (visit(db), "diagnoses", "门诊结算须录入诊断"),
        (visit(db, diagnoses=[]), "diagnoses", "门诊结算须录入诊断"),
        (visit(db, diagnoses=["Z99.999"]), "diagnoses[0]", "诊断目录中没有该编码"),
        (visit(db, diagnoses=["x"]), "diagnoses[0]", "不是诊断编码"),
        (visit(db, diagnoses=DX + DX), "diagnoses[1]", "录入了两次"),
    ):
        with pytest.raises(InputError) as refused:
            checkout.confirm(db, data, "shouyin", today=TODAY)
        assert refused.value.field == field and words in str(refused.value)
    assert written(db) == before
    out = checkout.confirm(db, visit(db, diagnoses=["i10.x00", "J06.900"]), "shouyin", today=TODAY)
    assert [(d["diag_srt_no"], d["diag_code"]) for d in out["diseinfo"]] == [(1, "I10.x00"), (2, "J06.900")]
    stored = db.conn.execute("SELECT seq, code, name FROM visit_diagnoses WHERE settlement_uuid = ?", (out["uuid"],))
    assert stored.fetchall() == [(0, "I10.x00", "原发性高血压"), (1, "J06.900", "急性上呼吸道感染")]


def test_a_pharmacy_takes_the_diagnosis_from_the_prescription(db):
    with db.conn:
        for k, v in (("facility.kind", "pharmacy"), ("facility.level", ""), ("facility.id", "P51010500001")):
            config.put(db.conn, k, v)
    rx = {"institution": "四川省人民医院", "doctor": "李医生", "number": "RX1", "issued": TODAY.isoformat()}
    named = checkout.confirm(db, visit(db, prescription={**rx, "diagnosis": "原发性高血压"}), "shouyin", today=TODAY)
    assert named["diseinfo"] == [{"diag_srt_no": 1, "diag_code": "I10.x00", "diag_name": "原发性高血压"}]
    worded = checkout.confirm(
        db, visit(db, prescription={**rx, "number": "RX2", "diagnosis": "咽痛"}), "shouyin", today=TODAY
    )
    assert worded["diseinfo"] == [{"diag_srt_no": 1, "diag_code": "", "diag_name": "咽痛"}]


def test_a_two_disease_drug_without_its_diagnosis_is_settled_as_ordinary_and_says_why(db):
    psn, code = db.conn.execute(
        "SELECT m.psn_no, c.code FROM members m, catalogue c WHERE m.programmes LIKE '%hypertension%' "
        "AND c.programme = 'hypertension' AND c.trac_required = 0 ORDER BY m.psn_no, c.code LIMIT 1"
    ).fetchone()
    case = {"member": {"psn_no": psn}, "date": TODAY.isoformat(), "items": [{"code": code}]}
    with_it = checkout.build_quote(db.conn, {**case, "diagnoses": ["I10.x00"]}, TODAY).settlement
    without = checkout.build_quote(db.conn, {**case, "diagnoses": DX}, TODAY).settlement
    assert with_it.fund_by_programme.get("hypertension", 0) > 0 and not without.fund_by_programme
    assert any("没有高血压诊断（I10–I15）" in line and "第十条" in line for line in without.explanation)


@given(st.lists(st.one_of(st.text(max_size=12), st.integers(), st.none()), max_size=12))
def test_any_list_of_diagnoses_is_read_or_refused_naming_the_entry(value):
    try:
        codes = parse_diagnoses(value)
    except InputError as exc:
        assert exc.field == "diagnoses" or exc.field.startswith("diagnoses[")
    else:
        assert len(codes) == len(value) and all(code[0].isupper() for code in codes)


def test_the_window_refuses_a_clinic_visit_without_a_diagnosis_then_settles_it(desk, qtbot):
    window, db = desk
    psn = db.conn.execute("SELECT psn_no FROM members ORDER BY psn_no LIMIT 1").fetchone()[0]
    member_and_item(qtbot, window, psn, "FW000")
    before = written(db)
    key(qtbot, window, Qt.Key_F12)
    qtbot.waitUntil(lambda: "请先录入诊断" in window.payment.message.text())
    assert window.confirming is None and written(db) == before
    qtbot.keyClick(window, Qt.Key_D, Qt.ControlModifier)
    qtbot.keyClicks(window.diagnosis.entry, "gxy")  # pinyin initials: several match, listed
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.diagnosis.matches)
    assert window.diagnosis.matches.count() >= 2 and window.cart.diagnoses == []
    key(qtbot, window, Qt.Key_Return)  # the first one listed
    qtbot.waitUntil(lambda: len(window.cart.diagnoses) == 1)
    assert window.cart.diagnoses[0].name.startswith("高血压")
    assert QApplication.focusWidget() is window.visit.entry  # on to the items
    window.diagnosis.entry.setFocus()
    assert "已录入" in window.diagnosis.chosen.text()
    key(qtbot, window, Qt.Key_Backspace)  # in the empty box, Backspace takes the last one off
    qtbot.waitUntil(lambda: window.cart.diagnoses == [])
    diagnose(qtbot, window, "J06.900")
    assert window.cart.diagnoses == [Diagnosis("J06.900", "急性上呼吸道感染", "jxshxdgr")]
