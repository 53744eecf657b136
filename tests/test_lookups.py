"""Lookups that prevent mistakes (issue 17, point 3), with the keyboard alone on real SQLite files.

Several members matching a name are always listed and never taken on Enter; items are found by their
pinyin initials (助记码) and shown with 规格/单位/厂家; a family payer is named from the patient's side.
The store keeps each item's initials from every path that writes the catalogue, and an old database
gains them on upgrade without hiding a hand edit from ``verify``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication

from desktop_app.domain.identity import mask_certno
from desktop_app.domain.vocabulary import CATALOGUE_COLUMNS
from desktop_app.services import settings
from desktop_app.services.card import member_card
from desktop_app.services.demo import DRUGS
from desktop_app.services.verify import verify
from desktop_app.store import audit, catalogue, members, migrations
from desktop_app.store.db import connect, transaction
from desktop_app.sync.feed import pull
from desktop_app.sync.hub_client import SyncReport
from desktop_app.sync.protocol import Change, PullResponse
from tests.store_fixtures import copy_db
from tests.test_window import TODAY, key, type_chinese


def _age(birth: str) -> int:
    born = dt.date.fromisoformat(birth)
    return TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))


# --------------------------------------------------------------------------- members


def _starting(db, initials: str) -> list[tuple]:
    """The members whose initials start so, in the list's order."""
    return db.conn.execute(
        "SELECT psn_no, name, sex, birth_date, certno FROM members WHERE name_initials >= ? AND name_initials < ? "
        "ORDER BY name_initials, name, psn_no",
        (initials, initials + "\U0010ffff"),
    ).fetchall()


def test_several_matches_never_auto_pick(desk, qtbot):
    window, db = desk
    # Initials that several members share (as jzz is both 贾子子 and 金梓梓), and that start no more than 20.
    shared = db.conn.execute(
        "SELECT name_initials FROM members GROUP BY name_initials HAVING count(*) >= 2 "
        "ORDER BY length(name_initials) DESC, name_initials"
    ).fetchall()
    initials = next(k for (k,) in shared if len(_starting(db, k)) <= 20)
    expected = _starting(db, initials)
    results = window.member.results
    qtbot.keyClicks(window.member.lookup, initials)
    qtbot.waitUntil(results.isVisible)  # the live list is up, its first row highlighted …
    key(qtbot, window, Qt.Key_Return)  # … and Enter does not take it: it moves into the list
    qtbot.waitUntil(lambda: QApplication.focusWidget() is results)
    qtbot.wait(300)
    assert window.cart.psn_no is None and window.member.card is None
    assert results.count() == len(expected) >= 2
    viewport = results.viewport().width()
    for row, (psn_no, name, sex, birth, certno) in enumerate(expected):
        item = results.item(row)
        text = item.text()
        assert name in text and ("男" if sex == "1" else "女") in text and f"{_age(birth)} 岁" in text
        assert mask_certno(certno) in text and psn_no in text and certno not in text
        # Nothing cut off: the whole psn_no fits the list's width, and the row is as tall as its wrapped text.
        metrics = results.fontMetrics()
        assert metrics.horizontalAdvance(psn_no) < viewport
        needed = metrics.boundingRect(QRect(0, 0, viewport, 10_000), Qt.TextWordWrap, text).height()
        assert results.visualItemRect(item).height() >= needed
    key(qtbot, window, Qt.Key_Down)
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.cart.psn_no == expected[1][0])
    assert window.member.fields["name"].text() == expected[1][1]
    assert QApplication.focusWidget() is window.visit.entry


def test_a_name_found_once_is_still_chosen_and_a_number_is_taken_at_once(desk, qtbot):
    window, db = desk
    everyone = db.conn.execute("SELECT psn_no, name FROM members ORDER BY name").fetchall()
    psn_no, name = next(  # a full name that begins no other name: the lookup finds that one member only
        (p, n) for p, n in everyone if sum(other.startswith(n) for _, other in everyone) == 1
    )
    type_chinese(window.member.lookup, name)
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.member.results)
    assert window.member.results.count() == 1 and window.cart.psn_no is None  # shown, not guessed
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.cart.psn_no == psn_no)
    key(qtbot, window, Qt.Key_F1)
    other = db.conn.execute("SELECT psn_no, certno FROM members WHERE psn_no != ? LIMIT 1", (psn_no,)).fetchone()
    qtbot.keyClicks(window.member.lookup, other[1])  # an ID number names one member: a scan ends with Enter
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.cart.psn_no == other[0])


# --------------------------------------------------------------------------- items


def test_pinyin_initials_find_an_item_shown_with_its_spec(desk, qtbot):
    window, db = desk
    name, spec, unit, _ = DRUGS[0]
    initials = catalogue.name_initials(name)[:4]  # 阿莫西林胶囊 -> amxl
    makers = db.conn.execute("SELECT count(*) FROM catalogue WHERE name = ?", (name,)).fetchone()[0]
    psn_no = db.conn.execute("SELECT psn_no FROM members LIMIT 1").fetchone()[0]
    qtbot.keyClicks(window.member.lookup, psn_no)
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.cart.psn_no == psn_no)
    qtbot.keyClicks(window.visit.entry, initials)
    key(qtbot, window, Qt.Key_Return)
    suggestions = window.visit.suggestions
    qtbot.waitUntil(lambda: QApplication.focusWidget() is suggestions)
    assert window.cart.lines == [] and suggestions.topLevelItemCount() == makers >= 2
    header = [suggestions.headerItem().text(c) for c in range(suggestions.columnCount())]
    column = {title: header.index(title) for title in ("编码", "名称", "规格", "单位", "厂家")}
    rows = [suggestions.topLevelItem(r) for r in range(makers)]
    assert {(r.text(column["名称"]), r.text(column["规格"]), r.text(column["单位"])) for r in rows} == {
        (name, spec, unit)
    }
    assert len({r.text(column["厂家"]) for r in rows}) == makers  # the makers tell the packs apart
    second = rows[1].text(column["编码"])
    key(qtbot, window, Qt.Key_Down)
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: len(window.cart.lines) == 1)
    assert window.cart.lines[0].code == second
    table = window.visit.table
    titles = [table.horizontalHeaderItem(table.horizontalHeader().logicalIndex(v)).text() for v in range(4)]
    assert titles == ["编码", "名称", "规格/单位", "类别"]  # 规格/单位 right after the name
    spec_column = table.horizontalHeader().logicalIndex(2)
    assert table.item(0, spec_column).text() == f"{spec}/{unit}"
    assert QApplication.focusWidget() is window.visit.entry


def test_an_item_search_that_finds_nothing_says_so(desk, qtbot):
    window, _ = desk
    qtbot.keyClicks(window.visit.entry, "qqqqz")
    qtbot.waitUntil(window.visit.message.isVisible)  # while typing, before any Enter
    assert "没有“qqqqz”" in window.visit.message.text() and "拼音首字母" in window.visit.message.text()
    key(qtbot, window, Qt.Key_Return)
    qtbot.wait(300)
    assert window.cart.lines == [] and not window.visit.suggestions.isVisible()
    assert "没有“qqqqz”" in window.visit.message.text()


# --------------------------------------------------------------------------- relations


def test_a_payer_is_named_from_the_patients_side(desk, qtbot):
    window, db = desk
    # A household of the demo: spouses a and b, their child c, and a's parent d (b's spouse's parent).
    c, a, b = db.conn.execute(
        "SELECT x.relative_psn_no, x.owner_psn_no, y.owner_psn_no FROM family_links x "
        "JOIN family_links y ON y.relative_psn_no = x.relative_psn_no AND y.owner_psn_no > x.owner_psn_no "
        "JOIN members m ON m.psn_no = x.relative_psn_no "
        "WHERE x.relation = 'child' AND y.relation = 'child' AND m.scheme = 'combined' LIMIT 1"
    ).fetchone()
    names = {p: members.get(db.conn, p).name for p in (a, b)}
    [code] = db.conn.execute(
        "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY price DESC LIMIT 1"
    ).fetchone()
    qtbot.keyClicks(window.member.lookup, c)
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.cart.psn_no == c)
    family = window.member.fields["family"].text()
    for payer in (a, b):  # c is their child: each of them is c's parent
        assert f"{names[payer]}（父母，余额 " in family
    assert "子女" not in family
    qtbot.keyClicks(window.visit.entry, code)
    key(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: len(window.cart.lines) == 1)
    key(qtbot, window, Qt.Key_F4)
    key(qtbot, window, Qt.Key_Down)
    combo = window.payment.family
    payer = window.payment.family_payer
    assert combo.currentText().startswith(f"{names[payer]}（父母，余额 ")
    assert combo.width() >= combo.sizeHint().width()  # the whole line shows, never cut off
    # Only the words changed: the stored relation, and the rules' check on it, are as they were.
    qtbot.waitUntil(lambda: window.payment.quote is not None and window.payment.quote.get("family_payer") == payer)
    assert members.relation(db.conn, payer, c) == "child"
    # From the other side of the same household: a's parent d sees a as 子女 and b as 子女配偶.
    d = db.conn.execute(
        "SELECT relative_psn_no FROM family_links WHERE owner_psn_no = ? AND relation = 'parent'", (a,)
    ).fetchone()[0]
    shown = {p.psn_no: p.relation for p in member_card(db.conn, d, TODAY).family}
    assert shown[a] == "子女" and shown[b] == "子女配偶" and members.relation(db.conn, b, d) == "spouse_parent"


# --------------------------------------------------------------------------- the store


def test_initials_are_stored_from_an_import_and_from_the_hubs_feed(templates, tmp_path):
    db = copy_db(templates, "guangxi", tmp_path / "desk.db")
    csv = tmp_path / "catalogue.csv"
    csv.write_text(
        ",".join(CATALOGUE_COLUMNS) + "\n"
        "T001,重组人胰岛素注射液,B,0.1,45.00,,支,diabetes,drug,1,,3ml:300IU,通化东宝\n"
        "T002,维生素B6片,A,0,3.50,,瓶,,drug,1,,10mg×100片,\n",
        encoding="utf-8",
    )
    assert settings.import_catalogue(db, "admin", "admin123", csv) == 2
    old_header = tmp_path / "old.csv"  # a file of before: no spec or manufacturer columns
    old_header.write_text(
        "code,name,category,selfpay_ratio,price,price_cap,unit,programme,item_kind,account_payable,barcode\n"
        "T003,阿莫西林胶囊,A,0,9.90,,盒,,drug,1,\n",
        encoding="utf-8",
    )
    assert settings.import_catalogue(db, "admin", "admin123", old_header) == 1

    class OlderHub:  # its feed entry has the columns of before, as a hub not yet upgraded sends them
        def feed_page(self, cursor, limit):
            data = {
                "code": "T004",
                "name": "藿香正气水",
                "category": "A",
                "selfpay_ratio": "0",
                "price": 1250,
                "price_cap": None,
                "unit": "盒",
                "programme": None,
                "item_kind": "drug",
                "account_payable": 1,
                "barcode": None,
            }
            change = Change(seq=cursor + 1, kind="catalogue_item", key="T004", data=data)
            page = PullResponse(server_time="2024-06-15T10:00:00+08:00", changes=[change], next_cursor=1, more=False)
            return page.model_dump(mode="json")

    pull(db, OlderHub(), SyncReport())
    rows = {
        code: rest
        for code, *rest in db.conn.execute(
            "SELECT code, name_initials, spec, manufacturer FROM catalogue WHERE code LIKE 'T00%'"
        )
    }
    assert rows == {
        "T001": ["czrydszsy", "3ml:300IU", "通化东宝"],  # 重组: chóng, read as a word
        "T002": ["wssb6p", "10mg×100片", ""],
        "T003": ["amxljn", "", ""],
        "T004": ["hxzqs", "", ""],
    }
    assert [i.code for i in catalogue.search(db.conn, "hxzq")] == ["T004"]
    assert {i.code for i in catalogue.search(db.conn, "wssb")} == {"T002"}
    assert verify(db.conn) == []
    db.conn.close()


def _old_database(path, monkeypatch, tamper) -> None:
    """A desk's file as the version before 0005 left it: two items, their audited state, maybe a hand edit."""
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:4])
        db = connect(path)
    with transaction(db) as conn:
        for code, name, price in (("Y001", "阿莫西林胶囊", 990), ("Y002", "板蓝根颗粒", 1500)):
            conn.execute(
                "INSERT INTO catalogue (code, name, category, selfpay_ratio, price, price_cap, unit, programme, "
                "item_kind, account_payable, barcode) VALUES (?, ?, 'A', '0', ?, NULL, '盒', NULL, 'drug', 1, NULL)",
                (code, name, price),
            )
        audit.record_state(conn, "2024-06-15T09:00:00+08:00", "admin", "catalogue-import", "old.csv", {"items": 2})
    if tamper:
        db.conn.execute("UPDATE catalogue SET price = 9 WHERE code = 'Y001'")
    db.conn.close()


@pytest.mark.parametrize("tamper", [False, True], ids=["as audited", "hand-edited before the upgrade"])
def test_an_old_database_gains_the_initials_and_keeps_its_audit(tmp_path, monkeypatch, tamper):
    path = tmp_path / "old.db"
    _old_database(path, monkeypatch, tamper)
    from desktop_app.hub import importer, schema

    hub = schema.engine_for(str(tmp_path / "hub.db"))  # a hub seeded from a file of before still reads it
    assert importer.import_desk_database(hub, str(path))["catalogue"] == 2
    with hub.connect() as conn:
        data = json.loads(conn.execute(schema.catalogue.select()).first().data)
    assert "spec" not in data and catalogue.CatalogueItem.from_row(data).spec == ""
    hub.dispose()
    db = connect(path)  # the upgrade: a backup first, then 0005
    assert path.with_name("old.db.before-0005_catalogue_lookup.bak").is_file()
    assert [i.code for i in catalogue.search(db.conn, "amxl")] == ["Y001"]
    assert [i.code for i in catalogue.search(db.conn, "blg")] == ["Y002"]
    indexes = {row[1] for row in db.conn.execute("PRAGMA index_list(catalogue)")}
    assert "catalogue_initials" in indexes
    problems = verify(db.conn)
    if tamper:  # the upgrade records the new columns' state, never launders an edit made before it
        assert problems == ["catalogue: 医保目录与最近一次审计记录不符（在审计之外被改动）"]
    else:
        assert problems == []
    db.conn.close()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM catalogue WHERE name_initials = ''").fetchone()[0] == 0


@pytest.mark.parametrize("text", ["z", "张"])
def test_a_name_search_reads_its_index_in_order_and_sorts_nothing(templates, tmp_path, text):
    """Name and initials search read the first 20 members in an index's order (migration 0009): "ly" matched
    40,000 of a million members and took 30 ms to sort; in the index's order it reads 20 rows."""
    db = copy_db(templates, "guangxi", tmp_path / "desk.db")
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    found = members.search_name(db.conn, text, limit=20)
    db.conn.set_trace_callback(None)
    (sql,) = [s for s in statements if s.startswith("SELECT")]
    plan = " | ".join(row[-1] for row in db.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
    assert "TEMP B-TREE" not in plan and "USING INDEX members_" in plan, plan
    column = "name_initials" if text.isascii() else "name"
    every = db.conn.execute(
        f"SELECT psn_no FROM members WHERE {column} >= ? AND {column} < ?", (text, text + "\U0010ffff")
    ).fetchall()
    sort_key = {r[0]: r for r in db.conn.execute("SELECT psn_no, name_initials, name FROM members")}
    if column == "name":
        expected = sorted((p for (p,) in every), key=lambda p: (sort_key[p][2], p))[:20]
    else:
        expected = sorted((p for (p,) in every), key=lambda p: (sort_key[p][1], sort_key[p][2], p))[:20]
    assert len(every) > 20 or text == "张"
    assert [m.psn_no for m in found] == expected


def test_a_visits_items_are_found_in_one_statement_a_code_before_a_barcode(templates, tmp_path):
    """``catalogue.get_many``: every line of a visit in one SELECT (a line each took one), each by its code, or
    else by its barcode; where a text is one item's code and another's barcode, the code wins, as for one line."""
    db = copy_db(templates, "guangxi", tmp_path / "desk.db")
    conn = db.conn
    first, second, third = [r[0] for r in conn.execute("SELECT code FROM catalogue ORDER BY code LIMIT 3")]
    conn.execute("UPDATE catalogue SET barcode = ? WHERE code = ?", ("6901234567892", second))  # by hand: no audit
    conn.execute("UPDATE catalogue SET barcode = ? WHERE code = ?", (first, third))  # third's barcode: first's code
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    found = catalogue.get_many(conn, [first, "6901234567892", "NO-SUCH", first])
    conn.set_trace_callback(None)
    assert len([s for s in statements if s.startswith("SELECT")]) == 1
    assert {code: item.code for code, item in found.items()} == {first: first, "6901234567892": second}
    for text in (first, "6901234567892", "NO-SUCH"):
        one = catalogue.get(conn, text)
        assert (one.code if one else None) == (found[text].code if text in found else None)
