"""Receipts, read back: real PDFs from real settlements, parsed with pypdf, rasterised with pdftoppm."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
import zxingcpp
from PIL import Image

from desktop_app.services import checkout, receipts
from tests.store_fixtures import DX, TODAY, copy_db

ROOT = Path(__file__).resolve().parents[1]
AMOUNTS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "acct_pay",
    "acct_mulaid_pay",
    "psn_cash_pay",
    "balc",
)


@pytest.fixture
def db(templates, tmp_path):
    return copy_db(templates, "guangxi", tmp_path / "desk.db")


def family_pair(conn):
    """A member with a spouse whose account has money, and the spouse."""
    return conn.execute(
        "SELECT f.relative_psn_no, f.owner_psn_no FROM family_links f JOIN members o ON o.psn_no = f.owner_psn_no "
        "JOIN members m ON m.psn_no = f.relative_psn_no WHERE f.relation = 'spouse' AND o.account_balance > 100000 "
        "AND m.scheme = 'combined' AND m.account_balance BETWEEN 100 AND 30000 ORDER BY m.account_balance DESC LIMIT 1"
    ).fetchone()


def codes(conn, n, order="length(name) DESC"):
    return [
        r[0]
        for r in conn.execute(
            f"SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY {order} LIMIT ?", (n,)
        )
    ]


def settle(db, items, family=True):
    member, payer = family_pair(db.conn)
    case = {"member": {"psn_no": member}, "diagnoses": DX, "date": TODAY.isoformat(), "items": items}
    if family:
        case["payment"] = {"use_account": True, "family_payer": payer}
    return checkout.confirm(db, case, "shouyin", today=TODAY)


def text_of(data: bytes) -> str:
    reader = pypdf.PdfReader(_stream(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def _stream(data: bytes):
    import io

    return io.BytesIO(data)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def qr_payloads(pdf: Path, tmp_path: Path) -> list[str]:
    subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", str(pdf), str(tmp_path / "page")], check=True)
    found = []
    for png in sorted(tmp_path.glob("page*.png")):
        found += [b.text for b in zxingcpp.read_barcodes(Image.open(png))]
    return found


@pytest.mark.parametrize("layout", ["roll", "a5"])
def test_every_figure_the_masked_id_and_the_items_are_on_the_receipt(db, tmp_path, layout):
    out = settle(db, [{"code": c, "quantity": 6} for c in codes(db.conn, 4, "price DESC")])
    assert out["acct_mulaid_pay"] != "0.00" and out["hifp_pay"] != "0.00"
    pdf = receipts.write(db.conn, out["uuid"], layout, tmp_path / f"r.{layout}.pdf")
    text = text_of(pdf.read_bytes())
    flat_text = flat(text)
    for field in AMOUNTS:
        assert out[field] in text, f"{field} {out[field]} missing"
    for field in ("deductible_paid", "pool_paid"):
        assert out["usage_after"][field] in text
    assert out["cap_left"] in text
    certno = db.conn.execute("SELECT certno FROM members WHERE psn_no = ?", (out["psn_no"],)).fetchone()[0]
    masked = certno[:6] + "********" + certno[-4:]
    assert masked in text and certno not in flat_text and certno[6:14] not in flat_text
    for item in out["items"]:
        assert flat(item["name"]) in flat_text
        assert item["det_item_fee_sumamt"] in text and item["pric"] in text
    payer = db.conn.execute("SELECT name FROM members WHERE psn_no = ?", (out["family_payer"],)).fetchone()[0]
    for words in (
        "医疗费总额",
        "全自费",
        "先行自付",
        "符合政策范围",
        "本次起付线",
        "统筹基金支付",
        "个人账户支付",
        f"共济账户支付（{payer}）",
        "现金支付",
        "个人账户余额",
        "年度限额剩余",
        out["psn_name"],
        "离线结算，尚未上传医保中心",
        out["uuid"],
        "shouyin",
    ):
        assert flat(words) in flat_text, words
    assert (
        qr_payloads(pdf, tmp_path) == [out["uuid"]] if layout == "roll" else out["uuid"] in qr_payloads(pdf, tmp_path)
    )


def test_a_refund_prints_its_own_slip_naming_the_original(db, tmp_path):
    out = settle(db, [{"code": c, "quantity": 1} for c in codes(db.conn, 2)], family=False)
    back = checkout.refund(db, out["uuid"], "admin", "admin123")
    for layout in ("roll", "a5"):
        text = text_of(receipts.render(db.conn, back["uuid"], layout))
        assert "退费" in text and out["uuid"] in text and back["uuid"] in text
        assert f"-{out['medfee_sumamt']}" in text and "-0.00" not in text
    assert qr_payloads(receipts.write(db.conn, back["uuid"], "roll", tmp_path / "back.pdf"), tmp_path) == [back["uuid"]]


def test_a_synced_settlement_does_not_say_offline_and_a_reprint_says_so(db):
    out = settle(db, [{"code": codes(db.conn, 1)[0], "quantity": 1}], family=False)
    db.conn.execute("UPDATE outbox SET sent_at = '2024-06-15T12:00:00+08:00' WHERE uuid = ?", (out["uuid"],))
    text = text_of(receipts.render(db.conn, out["uuid"], "roll", copy_note="补打"))
    assert "尚未上传" not in text and "补打" in text


def overlaps(page: pypdf.PageObject) -> list[tuple[str, str]]:
    """Pairs of text runs whose boxes intersect, and runs off the page, from the content stream's positions."""
    boxes = []

    def visit(text, cm, tm, font, size):
        text = text.strip()
        if not text:
            return
        x, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
        height = size * tm[3] * cm[3]
        w = pypdf_width(font, text, size * tm[0] * cm[0])
        boxes.append((x, y, x + w, y + height * 0.9, text))

    page.extract_text(visitor_text=visit)
    right, top = float(page.mediabox.width), float(page.mediabox.height)
    clashes = [(text, "off the page") for x0, y0, x1, y1, text in boxes if x0 < 0 or y0 < 0 or x1 > right or y1 > top]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5:
                clashes.append((a[4], b[4]))
    return clashes


def pypdf_width(font, text, size):
    """Width from our own metrics: every run on a receipt is in the one embedded font."""
    from desktop_app.receipts.font import width

    return width(text, size)


def test_sixty_long_items_flow_without_overlap(db, tmp_path):
    from desktop_app.store import catalogue

    item = catalogue.get(db.conn, codes(db.conn, 1)[0])
    with db.conn:
        for n in range(60):
            name = f"复方丹参滴丸（薄膜衣）规格 27毫克×180丸 第{n}号 广州白云山和记黄埔中药有限公司生产"
            catalogue.upsert(
                db.conn,
                catalogue.CatalogueItem(**{**vars(item), "code": f"LONG{n:02d}", "name": name, "barcode": None}),
            )
    out = settle(db, [{"code": f"LONG{n:02d}", "quantity": 1} for n in range(60)], family=False)
    small = settle(db, [{"code": "LONG00", "quantity": 1}], family=False)
    roll, roll_small = (
        pypdf.PdfReader(_stream(receipts.render(db.conn, u, "roll"))) for u in (out["uuid"], small["uuid"])
    )
    a5 = pypdf.PdfReader(_stream(receipts.render(db.conn, out["uuid"], "a5")))
    assert len(roll.pages) == 1 and roll.pages[0].mediabox.height > 4 * roll_small.pages[0].mediabox.height
    assert len(a5.pages) >= 3
    for page in [*roll.pages, *a5.pages]:
        assert overlaps(page) == []
    flat_text = flat("".join(p.extract_text() for p in a5.pages))
    for n in range(60):
        assert flat(f"第{n}号广州白云山和记黄埔中药有限公司生产") in flat_text
    for page_number, page in enumerate(a5.pages, 1):
        assert f"第 {page_number} 页 / 共 {len(a5.pages)} 页" in page.extract_text()
    # Rasterise what a person would look at; poppler must read every page.
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-", str(tmp_path / "a5")],
        input=receipts.render(db.conn, out["uuid"], "a5"),
        check=True,
    )
    assert len(list(tmp_path.glob("a5*.png"))) == len(a5.pages)


def test_the_receipt_command(db, tmp_path):
    out = settle(db, [{"code": codes(db.conn, 1)[0], "quantity": 1}], family=False)
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    db.conn.close()
    run = [sys.executable, "-m", "desktop_app", "receipt", "--db", path]
    ok = subprocess.run(
        [*run, "--layout", "a5", "--out", str(tmp_path / "a.pdf"), out["uuid"]],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert ok.returncode == 0, ok.stderr
    assert out["uuid"] in text_of((tmp_path / "a.pdf").read_bytes())
    missing = subprocess.run(
        [*run, "--out", str(tmp_path / "b.pdf"), "no-such-uuid"], capture_output=True, text=True, cwd=ROOT
    )
    assert missing.returncode == 2 and "uuid" in missing.stderr and not (tmp_path / "b.pdf").exists()
    bad = subprocess.run(
        [*run, "--layout", "a4", "--out", str(tmp_path / "c.pdf"), out["uuid"]],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert bad.returncode == 2 and "a4" in bad.stderr


def test_reportlab_draws_with_its_c_accelerators():
    """rl_accel is a dependency: without it reportlab falls back to pure Python (a 60-item roll took 32 ms, not 18)."""
    from reportlab.lib import rl_accel

    slow = [n for n in ("fp_str", "escapePDF", "instanceStringWidthTTF", "calcChecksum") if not hasattr(rl_accel, n)]
    assert not slow
    assert rl_accel.fp_str.__module__ != rl_accel.__name__, "reportlab runs its pure-Python fp_str"
    assert rl_accel.escapePDF.__module__ != rl_accel.__name__, "reportlab runs its pure-Python escapePDF"


def test_the_font_is_read_before_the_first_receipt_in_a_fresh_process(db, tmp_path):
    """The window has the worker read the font while the cashier logs in (``Desk.warm_receipts``): reportlab and
    the font took 0.1–0.2 s of the day's first receipt."""
    db.conn.close()
    script = (
        "import sys; from reportlab.pdfbase import pdfmetrics; from desktop_app.services.desk import Desk; "
        "from desktop_app.receipts.font import FONT; desk = Desk.open(sys.argv[1]); "
        "assert FONT not in pdfmetrics.getRegisteredFontNames(); desk.warm_receipts(); "
        "assert FONT in pdfmetrics.getRegisteredFontNames(); print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "desk.db")], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr
