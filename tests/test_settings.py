"""Settings and published figures change only by a supervisor, and leave an audit entry."""

from decimal import Decimal

import pytest

from desktop_app.domain.errors import InputError
from desktop_app.services import settings
from desktop_app.services.verify import verify
from desktop_app.store import config
from desktop_app.store.operators import AuthError
from tests.store_fixtures import DX, copy_db


@pytest.fixture
def db(templates, tmp_path):
    return copy_db(templates, "guangxi", tmp_path / "desk.db")


def audit_rows(db):
    return db.conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]


def test_cashier_cannot_change_settings(db):
    before = (config.get(db.conn, "facility.level"), audit_rows(db))
    with pytest.raises(AuthError, match="主管"):
        settings.change(db, "shouyin", "123456", {"facility.level": "2"})
    assert (config.get(db.conn, "facility.level"), audit_rows(db)) == before


def test_supervisor_changes_settings_with_an_audit_entry(db):
    n = audit_rows(db)
    settings.change(db, "admin", "admin123", {"facility.level": "2"})
    assert config.get(db.conn, "facility.level") == "2"
    assert audit_rows(db) == n + 1 and verify(db.conn) == []


def test_unknown_setting_writes_nothing(db):
    n = audit_rows(db)
    with pytest.raises(InputError) as info:
        settings.change(db, "admin", "admin123", {"facility.level": "3", "device.id": "X"})
    assert info.value.field == "settings.device.id"
    assert config.get(db.conn, "facility.level") == "1" and audit_rows(db) == n


def test_publish_a_figure(db):
    settings.publish(db, "admin", "admin123", "yunfu", "avg_wage", "2022", Decimal("90000.00"))
    assert config.published(db.conn, "yunfu") == {"avg_wage": {"2022": Decimal("90000.00")}}
    with pytest.raises(AuthError):
        settings.publish(db, "shouyin", "123456", "yunfu", "avg_wage", "2023", Decimal("1"))


HEADER = "code,name,category,selfpay_ratio,price,price_cap,unit,programme,item_kind,account_payable,barcode\n"


def catalogue_rows(db):
    return db.conn.execute("SELECT count(*) FROM catalogue").fetchone()[0]


def test_catalogue_import_adds_items_with_an_audit_entry(db, tmp_path):
    from desktop_app.store import catalogue

    csv = tmp_path / "目录.csv"
    csv.write_text(
        HEADER + "T001,测试片 0.5g*24片,B,0.10,12.50,,盒,,drug,1,6901234567890\n"
        "T002,体检套餐,C,1,200,,次,,wellness,1,\n",
        encoding="utf-8-sig",
    )
    n, a = catalogue_rows(db), audit_rows(db)
    assert settings.import_catalogue(db, "admin", "admin123", csv) == 2
    assert catalogue_rows(db) == n + 2 and audit_rows(db) == a + 1
    item = catalogue.get(db.conn, "6901234567890")
    assert (item.code, item.category, item.selfpay_ratio, item.price) == (
        "T001",
        "B",
        Decimal("0.10"),
        Decimal("12.50"),
    )
    # Wellness is never paid from the account: the region's rule (account_excluded_item_kinds), applied at
    # settlement whatever the catalogue's own flag says.
    from desktop_app.services.checkout import build_quote

    psn = db.conn.execute(
        "SELECT psn_no FROM members WHERE scheme = 'combined' AND account_balance > 50000 LIMIT 1"
    ).fetchone()[0]
    quote = build_quote(
        db.conn, {"member": {"psn_no": psn}, "diagnoses": DX, "items": [{"code": "T002", "quantity": 1}]}
    )
    assert catalogue.get(db.conn, "T002").item_kind == "wellness"
    assert quote.payment.own_account == 0 and quote.payment.cash == Decimal("200.00")
    assert verify(db.conn) == []


@pytest.mark.parametrize(
    "row, field",
    [
        ("T003,坏价格,A,0,-1,,盒,,drug,1,", "catalogue.csv 第 3 行"),
        ("T003,坏类别,D,0,1,,盒,,drug,1,", "catalogue.csv 第 3 行 category"),
        ("T003,坏两病,A,0,1,,盒,gout,drug,1,", "catalogue.csv 第 3 行 programme"),
        (",无编码,A,0,1,,盒,,drug,1,", "catalogue.csv 第 3 行 code"),
    ],
)
def test_a_bad_catalogue_row_names_its_line_and_writes_nothing(db, tmp_path, row, field):
    csv = tmp_path / "c.csv"
    csv.write_text(HEADER + "T001,好的,A,0,1,,盒,,drug,1,\n" + row + "\n", encoding="utf-8")
    n, a = catalogue_rows(db), audit_rows(db)
    with pytest.raises(InputError) as info:
        settings.import_catalogue(db, "admin", "admin123", csv)
    assert info.value.field == field
    assert (catalogue_rows(db), audit_rows(db)) == (n, a)


def test_catalogue_import_needs_a_supervisor_and_a_header(db, tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text(HEADER + "T001,好的,A,0,1,,盒,,drug,1,\n", encoding="utf-8")
    n = catalogue_rows(db)
    with pytest.raises(AuthError):
        settings.import_catalogue(db, "shouyin", "123456", csv)
    csv.write_text("编码,名称\nT001,好的\n", encoding="gbk")
    with pytest.raises(InputError, match="UTF-8"):
        settings.import_catalogue(db, "admin", "admin123", csv)
    csv.write_text("编码,名称\nT001,好的\n", encoding="utf-8")
    with pytest.raises(InputError, match="缺少列 code"):
        settings.import_catalogue(db, "admin", "admin123", csv)
    assert catalogue_rows(db) == n


def test_settings_and_catalogue_import_from_the_command_line(db, tmp_path, monkeypatch, capsys):
    import json

    from desktop_app.cli import main

    path = tmp_path / "desk.db"
    db.conn.close()
    csv = tmp_path / "c.csv"
    csv.write_text(HEADER + "T001,好的,A,0,1,,盒,,drug,1,\n", encoding="utf-8")
    monkeypatch.setenv("GONGJI_PASSWORD", "admin123")
    assert main(["catalogue-import", "--db", str(path), "--operator", "admin", str(csv)]) == 0
    assert json.loads(capsys.readouterr().out)["imported"] == 1
    assert (
        main(
            [
                "settings",
                "--db",
                str(path),
                "--operator",
                "admin",
                "--set",
                "facility.level=2",
                "--publish",
                "yunfu/avg_wage/2022=90000",
            ]
        )
        == 0
    )
    shown = json.loads(capsys.readouterr().out)
    assert shown["settings"]["facility.level"] == "2"
    assert shown["published_figures"]["yunfu"]["avg_wage"]["2022"] == "90000.00"
    assert main(["settings", "--db", str(path), "--operator", "admin", "--publish", "yunfu/avg_wage/2023=-5"]) == 2
    assert "published.yunfu/avg_wage/2023" in capsys.readouterr().err
    monkeypatch.setenv("GONGJI_PASSWORD", "123456")
    assert main(["settings", "--db", str(path), "--operator", "shouyin", "--set", "facility.level=3"]) == 2


def test_a_supervisor_adds_a_cashier(db, tmp_path, monkeypatch, capsys):
    from desktop_app.cli import main
    from desktop_app.store import operators

    with pytest.raises(AuthError):
        settings.add_operator(db, "shouyin", "123456", "li", "cashier", "abcdef")
    settings.add_operator(db, "admin", "admin123", "li", "cashier", "abcdef")
    assert operators.authenticate(db.conn, "li", "abcdef") == "cashier"
    with pytest.raises(InputError, match="已存在"):
        settings.add_operator(db, "admin", "admin123", "li", "cashier", "abcdef")
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    monkeypatch.setenv("GONGJI_PASSWORD", "admin123")
    monkeypatch.setenv("GONGJI_NEW_PASSWORD", "short")
    assert main(["operator-add", "--db", path, "--operator", "admin", "--name", "wang"]) == 2
    assert "6 位" in capsys.readouterr().err
    monkeypatch.setenv("GONGJI_NEW_PASSWORD", "longer-secret")
    assert main(["operator-add", "--db", path, "--operator", "admin", "--name", "wang"]) == 0
    assert "longer-secret" not in str(db.conn.execute("SELECT detail FROM audit_log").fetchall())
    assert verify(db.conn) == []


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x","点我")', "+1+1", "-2+3", "@SUM(A1)", "\tx", 'a,b"c'])
def test_the_day_end_csv_never_carries_a_live_formula(db, tmp_path, name):
    """An operator named like a formula is text in the day-end CSV, whatever the spreadsheet."""
    import csv
    import datetime as dt

    from desktop_app.services import checkout, daybook
    from desktop_app.store import operators

    today = dt.date.today()
    with db.conn:
        operators.add(db.conn, name, "cashier", "secret1", "2026-01-01T00:00:00+08:00")
    psn = db.conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' LIMIT 1").fetchone()[0]
    code = db.conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 LIMIT 1"
    ).fetchone()[0]
    checkout.confirm(
        db, {"member": {"psn_no": psn}, "diagnoses": DX, "items": [{"code": code, "quantity": 1}]}, name, today=today
    )
    _, path = daybook.export_day(db.conn, today, tmp_path, "2026-01-01 00:00:00")
    cells = [cell for row in csv.reader(path.read_text(encoding="utf-8-sig").splitlines()) for cell in row]
    assert f"'{name}" in cells if name[0] in "=+-@\t" else name in cells
    assert not any(cell.startswith(("=", "+", "@", "\t")) for cell in cells)
    assert not any(cell.startswith("-") and not cell[1:].replace(".", "").isdigit() for cell in cells)
