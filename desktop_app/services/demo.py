"""A realistic demo database: a facility, members with families, a catalogue, a year of settlements.

Members and the catalogue are written in bulk (one transaction); the year of past
settlements goes through :func:`checkout.confirm`, the same path as the counter,
so usage, accounts, audit and outbox are exactly what real use would leave.
Demo passwords: supervisor ``admin`` / ``admin123``, cashier ``shouyin`` / ``123456``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid as uuidlib
from decimal import Decimal

import sqlite_utils

from ..domain.clock import now_iso
from ..domain.errors import GongjiError, InputError
from ..domain.identity import check_digit
from ..store import audit, catalogue, config, diagnoses, operators
from ..store.catalogue import CatalogueItem
from ..store.db import transaction
from ..store.members import name_initials
from . import checkout
from .demo_diagnoses import DEMO_DIAGNOSES

# How many members the first run's demo database holds (the window and the CLI open the same default).
DEFAULT_DEMO_MEMBERS = 2000

DEMO_REGIONS = {
    # Regions whose rules need no published figure, so the demo settles without invented numbers.
    "guangxi": {
        "area": ("450102", "450103", "450105", "450107", "450108"),
        "psn_prefix": "4501",
        "facility": {
            "kind": "community_health_centre",
            "level": "1",
            "id": "H45010300001",
            "name": "南宁市青秀区新竹社区卫生服务中心",
        },
    },
    "sichuan-provincial": {
        "area": ("510104", "510105", "510106", "510107", "510108"),
        "psn_prefix": "5100",
        "facility": {"kind": "hospital", "level": "2", "id": "H51010500001", "name": "成都市第二人民医院（演示）"},
    },
    "henan-city-draft": {
        "area": ("410102", "410103", "410104", "410105", "410106"),
        "psn_prefix": "4101",
        "facility": {
            "kind": "township_health_centre",
            "level": "1",
            "id": "H41018200001",
            "name": "某市某镇卫生院（演示）",
        },
    },
}
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱覃"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅玉兰志强文"
    "海燕丹萍鹏辉晨宇浩然欣怡子涵梓轩雨桐佳琪思远嘉怡博文"
)
DRUGS = [  # name, 规格, 单位, category
    ("阿莫西林胶囊", "0.25g×24粒", "盒", "A"),
    ("头孢克肟分散片", "0.1g×6片", "盒", "B"),
    ("布洛芬缓释胶囊", "0.3g×20粒", "盒", "A"),
    ("对乙酰氨基酚片", "0.5g×12片", "盒", "A"),
    ("复方甘草片", "100片", "瓶", "A"),
    ("氨溴索口服溶液", "100ml", "瓶", "B"),
    ("蒙脱石散", "3g×10袋", "盒", "A"),
    ("奥美拉唑肠溶胶囊", "20mg×14粒", "盒", "A"),
    ("多潘立酮片", "10mg×30片", "盒", "B"),
    ("硝苯地平缓释片", "20mg×30片", "盒", "A"),
    ("苯磺酸氨氯地平片", "5mg×28片", "盒", "A"),
    ("缬沙坦胶囊", "80mg×7粒", "盒", "B"),
    ("二甲双胍缓释片", "0.5g×30片", "盒", "A"),
    ("格列美脲片", "2mg×30片", "盒", "B"),
    ("阿卡波糖片", "50mg×30片", "盒", "B"),
    ("阿托伐他汀钙片", "20mg×7片", "盒", "B"),
    ("阿司匹林肠溶片", "100mg×30片", "盒", "A"),
    ("氯雷他定片", "10mg×6片", "盒", "B"),
    ("连花清瘟胶囊", "0.35g×24粒", "盒", "B"),
    ("板蓝根颗粒", "10g×20袋", "包", "A"),
    ("维生素C片", "0.1g×100片", "瓶", "A"),
    ("甲硝唑片", "0.2g×21片", "盒", "A"),
    ("左氧氟沙星片", "0.5g×4片", "盒", "B"),
    ("美托洛尔缓释片", "47.5mg×7片", "盒", "B"),
    ("厄贝沙坦片", "0.15g×7片", "盒", "B"),
    ("格列齐特缓释片", "30mg×30片", "盒", "B"),
    ("胰岛素注射液", "400IU/10ml", "支", "B"),
    ("葡萄糖注射液", "5% 250ml", "袋", "A"),
    ("氯化钠注射液", "0.9% 250ml", "袋", "A"),
    ("红霉素软膏", "10g", "支", "A"),
]
PROGRAMME_DRUGS = {
    "硝苯地平缓释片": "hypertension",
    "苯磺酸氨氯地平片": "hypertension",
    "缬沙坦胶囊": "hypertension",
    "厄贝沙坦片": "hypertension",
    "美托洛尔缓释片": "hypertension",
    "二甲双胍缓释片": "diabetes",
    "格列美脲片": "diabetes",
    "阿卡波糖片": "diabetes",
    "格列齐特缓释片": "diabetes",
    "胰岛素注射液": "diabetes",
}
MAKERS = [
    "华北制药",
    "石药集团",
    "扬子江药业",
    "齐鲁制药",
    "恒瑞医药",
    "白云山",
    "哈药集团",
    "修正药业",
    "以岭药业",
    "国药集团",
]
SERVICES = [
    ("一般诊疗费", "次", "A", "10.00"),
    ("静脉输液", "组", "A", "12.00"),
    ("血常规检查", "次", "A", "20.00"),
    ("血糖测定", "次", "A", "8.00"),
    ("心电图检查", "次", "B", "25.00"),
    ("B超检查", "部位", "B", "80.00"),
    ("中医针灸", "次", "B", "35.00"),
    ("推拿治疗", "次", "C", "60.00"),
    ("健康体检套餐", "次", "C", "200.00"),
]
NON_ACCOUNT = [
    ("流感疫苗接种（自费）", "public_health", "98.00"),
    ("健身指导服务", "fitness", "50.00"),
    ("养生足浴", "wellness", "68.00"),
]


TRACED_FROM = 5  # of each drug's nine makers, the 6th to 9th are traced (追溯码管理): a counter sees both kinds


def make_catalogue(rng: random.Random) -> list[CatalogueItem]:
    items = []
    for i, (name, spec, unit, category) in enumerate(DRUGS):
        for j, maker in enumerate(rng.sample(MAKERS, 9)):  # one name, nine makers: the list tells them apart
            price = Decimal(rng.randint(300, 12000)) / 100
            items.append(
                CatalogueItem(
                    code=f"XA{i:03d}{j:02d}",
                    name=name,
                    category=category,
                    selfpay_ratio=Decimal("0.10") if category == "B" else Decimal("0"),
                    price=price,
                    price_cap=price if j % 4 == 0 else None,
                    unit=unit,
                    programme=PROGRAMME_DRUGS.get(name),
                    item_kind="drug",
                    account_payable=True,
                    barcode=f"69{rng.randint(10**10, 10**11 - 1)}",
                    spec=spec,
                    manufacturer=maker,
                    trac_required=j >= TRACED_FROM,
                )
            )
    for i, (name, unit, category, price) in enumerate(SERVICES):
        items.append(
            CatalogueItem(
                f"FW{i:03d}",
                name,
                category,
                Decimal("0.20") if category == "B" else Decimal("0"),
                Decimal(price),
                None,
                unit,
                None,
                "service",
                True,
                None,
            )
        )
    for i, (name, kind, price) in enumerate(NON_ACCOUNT):
        items.append(
            CatalogueItem(f"ZF{i:03d}", name, "C", Decimal("0"), Decimal(price), None, "次", None, kind, False, None)
        )
    return items


def _certno(area: str, born: dt.date, seq: int) -> str:
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


def generate(
    db: sqlite_utils.Database,
    members: int,
    seed: int = 1,
    region: str = "guangxi",
    today: dt.date | None = None,
    visits: int | None = None,
) -> dict:
    """Fill an empty database; returns counts.  ``members`` may be up to a million or more."""
    if region not in DEMO_REGIONS:
        raise InputError("region", region, f"演示数据只有 {', '.join(DEMO_REGIONS)}")
    if db.conn.execute("SELECT count(*) FROM members").fetchone()[0]:
        raise InputError("db", "已有参保人", "演示数据只写入空数据库")
    rng = random.Random(seed)
    today = today or dt.date.today()
    spec = DEMO_REGIONS[region]
    now = now_iso()
    db.conn.execute("PRAGMA synchronous=OFF")  # bulk load of a throw-away demo; FULL again below
    try:
        with transaction(db) as conn:
            config.put(conn, "region", region)
            config.put(conn, "device.id", f"DESK-{uuidlib.UUID(int=rng.getrandbits(128)).hex[:8].upper()}")
            for key, value in spec["facility"].items():
                config.put(conn, f"facility.{key}", value)
            operators.add(conn, "admin", "supervisor", "admin123", now)
            operators.add(conn, "shouyin", "cashier", "123456", now)
            items = make_catalogue(rng)
            for item in items:
                catalogue.upsert(conn, item)
            diagnoses.replace_all(conn, DEMO_DIAGNOSES)
            _members(conn, members, rng, spec, region, today, now)
            audit.record_state(conn, now, "system", "demo-data", region, {"members": members, "catalogue": len(items)})
    finally:
        db.conn.execute("PRAGMA synchronous=FULL")
    count = _past_year(db, rng, members, today, items, spec, visits)
    return {"members": members, "catalogue": len(items), "settlements": count}


def _members(conn, n: int, rng: random.Random, spec: dict, region: str, today: dt.date, now: str) -> None:
    batch, ledger, links = [], [], []
    for i in range(n):
        row = _member_row(i, rng, spec, region, today, now)
        batch.append(row)
        psn_no, balance = row[0], row[14]
        if balance:
            ledger.append((psn_no, None, balance, "opening", now))
        if i % 4 == 3:  # households of four: 0 and 1 spouses, 2 their child, 3 the first one's parent
            a, b, c, d = (f"{spec['psn_prefix']}{k + 1:016d}" for k in range(i - 3, i + 1))
            links += [
                (a, b, "spouse"),
                (b, a, "spouse"),
                (a, c, "child"),
                (b, c, "child"),
                (a, d, "parent"),
                (b, d, "spouse_parent"),
                (c, a, "parent"),
                (c, b, "parent"),
            ]
        if len(batch) >= 20000:
            _flush(conn, batch, ledger, links)
    _flush(conn, batch, ledger, links)


def _member_row(i: int, rng: random.Random, spec: dict, region: str, today: dt.date, now: str) -> tuple:
    """The ``i``-th demo member, as a row of the members table (the random draws in a fixed order)."""
    base = dt.date(1945, 1, 1)
    span = 22000  # days of birth dates: ages about 19 to 80; the stride below spreads even a small demo over them
    area = spec["area"][i % len(spec["area"])]
    born = base + dt.timedelta(days=((i // len(spec["area"])) * 7919) % span)  # 7919 is prime to span: no repeats
    sex = rng.choice("12")
    seq = ((i // (len(spec["area"]) * span)) * 2 + (1 if sex == "1" else 0)) % 1000
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    age = today.year - born.year
    status = "retired" if age >= (60 if sex == "1" else 55) else "employed"
    scheme = "pooling_only" if rng.random() < 0.05 else "combined"
    programmes = [
        p
        for p, share in (
            ("hypertension", 0.3 if status == "retired" else 0.08),
            ("diabetes", 0.15 if status == "retired" else 0.04),
        )
        if rng.random() < share
    ]
    balance = rng.randint(0, 300000) if scheme == "combined" else 0
    psn_no = f"{spec['psn_prefix']}{i + 1:016d}"
    since = (born + dt.timedelta(days=365 * (60 if sex == "1" else 55))).isoformat() if status == "retired" else None
    return (
        psn_no,
        _certno(area, born, seq),
        name,
        name_initials(name),
        sex,
        born.isoformat(),
        "310",
        status,
        since,
        scheme,
        region,
        int(rng.random() < 0.06),
        json.dumps(programmes),
        spec["facility"]["id"] if rng.random() < 0.7 else f"H{rng.randint(10**10, 10**11 - 1)}",
        balance,
        now,
    )


def _flush(conn, batch: list, ledger: list, links: list) -> None:
    conn.executemany(
        "INSERT INTO members (psn_no, certno, name, name_initials, sex, birth_date, insutype, status, "
        "status_since, scheme, region, civil_servant, programmes, designated_facility, account_balance, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        batch,
    )
    conn.executemany(
        "INSERT INTO account_entries (psn_no, settlement_uuid, delta, reason, at) VALUES (?, ?, ?, ?, ?)", ledger
    )
    conn.executemany("INSERT INTO family_links VALUES (?, ?, ?)", links)
    batch.clear(), ledger.clear(), links.clear()


def _line(item: CatalogueItem, quantity: int, visit: int) -> dict:
    """A demo visit's line; a traced item's packages each with a code (码上放心: 7-digit product, 13-digit serial)."""
    line: dict = {"code": item.code, "quantity": quantity}
    if item.trac_required:
        product = demo_product(item.code)
        line["trace_codes"] = [f"{product}{visit:08d}{n:05d}" for n in range(quantity * item.packs_per_unit)]
    return line


COMMON = [d.code for d in DEMO_DIAGNOSES if d.category[0] not in "IE"]  # a visit's ordinary complaint
PROGRAMME_DIAGNOSIS = {"hypertension": "I10.x00", "diabetes": "E11.900"}


def _diagnoses(lines: list[dict], items: dict[str, CatalogueItem], visit: int) -> list[str]:
    """A demo visit's diagnoses: 两病 drugs come with their diagnosis, any visit with an ordinary complaint."""
    programmes = sorted({items[line["code"]].programme for line in lines} - {None})
    return [PROGRAMME_DIAGNOSIS[p] for p in programmes] + [COMMON[visit % len(COMMON)]]


def demo_product(code: str) -> str:
    """The 7-digit 药品标识码 the demo gives a traced item: 8, then its code's digits (XA01207 -> 8012070)."""
    return f"8{code[2:]}0"


def _past_year(
    db, rng: random.Random, n: int, today: dt.date, items: list[CatalogueItem], spec: dict, visits: int | None
) -> int:
    """Visits spread over the last year, settled through the counter's own path."""
    visits = min(3 * n, 3000) if visits is None else visits
    drugs = [i for i in items if i.item_kind in ("drug", "service")]
    items_by_code = {i.code: i for i in items}
    done, made = 0, []
    db.conn.execute("PRAGMA synchronous=OFF")
    try:
        for k in range(visits):
            day = today - dt.timedelta(days=365 - (k * 365) // max(visits, 1))
            psn_no = f"{spec['psn_prefix']}{rng.randint(1, n):016d}"
            lines = [_line(item, rng.choice((1, 1, 2, 3)), k) for item in rng.sample(drugs, rng.randint(1, 4))]
            case = {
                "member": {"psn_no": psn_no},
                "date": day.isoformat(),
                "diagnoses": _diagnoses(lines, items_by_code, k),
                "items": lines,
                "payment": {"use_account": rng.random() < 0.8},
            }
            try:
                at = f"{day.isoformat()}T{9 + k % 9:02d}:{k % 60:02d}:00+08:00"
                out = checkout.confirm(db, case, rng.choice(("shouyin", "admin")), today=day, at=at)  # settled that day
            except GongjiError:  # a visit the rules refuse is not part of the demo year
                continue
            done += 1
            made.append(out["uuid"])
            if rng.random() < 0.01:
                back = checkout.refund(db, out["uuid"], "admin", "admin123", at=at.replace(":00+08:00", ":30+08:00"))
                done += 1
                made.append(back["uuid"])
        # The demo year happened before this desk: it has already reached the central server.
        db.conn.executemany("UPDATE outbox SET sent_at = created_at WHERE uuid = ?", [(u,) for u in made])
    finally:
        db.conn.execute("PRAGMA synchronous=FULL")
    return done
