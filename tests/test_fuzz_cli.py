"""Fuzzing the command line: whatever the case file or the arguments, a clear answer and never a traceback.

Property, over generated case JSON (valid cases with one part replaced by anything JSON can hold)
and generated argument lists: exit 0 with JSON on stdout, or exit 2 or 3 with exactly one line on
stderr and nothing on stdout; and when the answer is a refusal, nothing was written.  The command
line runs in this process (``cli.main``), so hypothesis can try hundreds of inputs; a handful run
as real processes too.
"""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from desktop_app.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((ROOT / "resources" / "examples" / "guangxi-visit.json").read_text(encoding="utf-8"))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1e26",
            "NaN",
            "Infinity",
            "2024-02-30",
            "2099-06-01",
            "9" * 30,
            "=HYPERLINK(1)",
            "110101199003070012",
            "A",
            "B",
            "C",
            "hospital",
            "pharmacy",
            "employed",
            "retired",
            "spouse",
            "\x00",
            "\ud7ff",
        ]
    ),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)


def paths(obj, prefix=()):
    """Every place in a JSON document a value could be replaced or a key added."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from paths(v, (*prefix, i))


def mutated(base: dict, where: int, value, add_key: str | None) -> object:
    doc = copy.deepcopy(base)
    spots = list(paths(doc))
    spot = spots[where % len(spots)]
    if not spot:
        return value
    target = doc
    for key in spot[:-1]:
        target = target[key]
    if add_key is not None and isinstance(target, dict):
        target[add_key] = value
    else:
        target[spot[-1]] = value
    return doc


def answered(capsys, code: int) -> tuple[str, str]:
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    if code == 0:
        json.loads(out)
    else:
        assert code in (2, 3), (code, err)
        assert out == "" and len(err.strip().splitlines()) == 1, err
    return out, err


def write(tmp: Path, doc: object) -> Path:
    path = tmp / "case.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, default=str), encoding="utf-8")
    return path


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(where=st.integers(0, 200), value=json_values, add_key=st.one_of(st.none(), st.text(max_size=8)))
def test_quote_never_ends_in_a_traceback(tmp_path_factory, capsys, where, value, add_key):
    case = write(tmp_path_factory.mktemp("q"), mutated(EXAMPLE, where, value, add_key))
    answered(capsys, main(["quote", str(case)]))


@pytest.fixture(scope="module")
def desk(templates, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-desk")
    shutil.copy(templates["guangxi"], folder / "desk.db")
    with sqlite3.connect(folder / "desk.db") as conn:
        psn = conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' ORDER BY psn_no LIMIT 1").fetchone()[0]
        code = conn.execute(
            "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 ORDER BY code LIMIT 1"
        ).fetchone()[0]
    return folder / "desk.db", {
        "member": {"psn_no": psn},
        "diagnoses": ["J06.900"],
        "items": [{"code": code, "quantity": 2}],
        "payment": {"use_account": True},
    }


def written(db: Path) -> tuple:
    with sqlite3.connect(db) as conn:
        return tuple(
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("settlements", "audit_log", "account_entries", "outbox", "usage")
        )


@FUZZ
@given(where=st.integers(0, 200), value=json_values, add_key=st.one_of(st.none(), st.text(max_size=8)))
def test_checkout_answers_or_refuses_and_a_refusal_writes_nothing(
    desk, tmp_path_factory, capsys, monkeypatch, where, value, add_key
):
    db, base = desk
    monkeypatch.setenv("GONGJI_PASSWORD", "123456")
    case = write(tmp_path_factory.mktemp("c"), mutated(base, where, value, add_key))
    before = written(db)
    code = main(["checkout", "--db", str(db), "--operator", "shouyin", str(case)])
    answered(capsys, code)
    if code != 0:
        assert written(db) == before


WORDS = [
    "quote",
    "checkout",
    "refund",
    "usage",
    "verify",
    "receipt",
    "settings",
    "backup",
    "demo-data",
    "sync",
    "reconcile",
    "catalogue-import",
    "operator-add",
    "--db",
    "--operator",
    "--member",
    "--year",
    "--layout",
    "--out",
    "--members",
    "--region",
    "--set",
    "--publish",
    "--day",
    "--hub",
    "-",
    "x",
    "roll",
    "99999999999999999999",
    "-1",
    "2024",
    "guangxi",
    "yunfu",
    "a=b",
    "guangxi/avg_wage/2024=1e30",
    "2024-13-01",
    "../..",
    "",
]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """Where a command without --db finds its default database, and nowhere else.

    The first run makes it with demo data and says so on a line of its own; that happens here, once.
    """
    folder = tmp_path_factory.mktemp("home")
    env = {"HOME": str(folder), "XDG_DATA_HOME": str(folder / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "desktop_app", "verify"],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**env, "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert done.returncode == 0 and "首次运行" in done.stderr, done.stderr
    return folder


@FUZZ
@given(args=st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=10)), max_size=7))
@example(args=["quote", "quote", "\r"])  # argparse quoting a CR: found by this test
def test_any_arguments_get_a_clear_answer(home, capsys, monkeypatch, args):
    monkeypatch.chdir(home)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))
    args = [a for a in args if "\x00" not in a]
    if args[:1] in (["sync"], ["reconcile"]):
        args = [*args, "--hub", "http://127.0.0.1:9"]  # never a real address
    try:
        code = main(args)
    except SystemExit as exc:  # argparse: its own one-line refusal, or --help
        code = exc.code or 0
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        assert code == 0 or (code == 2 and len(err.strip().splitlines()) == 1), err
        return
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert code in (0, 1, 2, 3, 4), (code, err)
    if code != 0 and code != 1:
        assert out == "" and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("doc", [{"items": [{"amount": Decimal("1e26")}]}, "[" * 5000 + "]" * 5000, b"\xff\xfe{}"])
def test_a_real_process_gives_one_line_too(tmp_path, doc):
    path = tmp_path / "case.json"
    if isinstance(doc, bytes):
        path.write_bytes(doc)
    elif isinstance(doc, str):
        path.write_text(doc)
    else:
        path.write_text(json.dumps({**EXAMPLE, **doc}, default=str))
    result = subprocess.run(
        [sys.executable, "-m", "desktop_app", "quote", str(path)], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 2 and result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, (
        result.stderr
    )
