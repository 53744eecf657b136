"""A file that is not a whole database of ours is refused by name, with what to do, and nothing is written.

Each kind is made for real (a folder, an empty file, text, garbage, a truncated copy, pages
overwritten in the middle, another program's SQLite file, an empty SQLite file, one written by
a newer version) and handed to the real command line and to the window's worker.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.store.db import DatabaseRefused, connect

ROOT = Path(__file__).resolve().parents[1]
PAGE = 4096


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file in the folder and its content: a refusal must leave all of them as they were."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder"
        for p in sorted(folder.iterdir())
    }


def _damaged(path: Path, good: Path) -> None:
    data = bytearray(good.read_bytes())
    for page in range(len(data) // PAGE // 2, len(data) // PAGE // 2 + 8):
        data[page * PAGE + 64 : page * PAGE + 1024] = b"\xff" * 960
    path.write_bytes(bytes(data))


def _newer(path: Path, good: Path) -> None:
    shutil.copy(good, path)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO _migrations VALUES ('0099_from_the_future', '2030-01-01T00:00:00+00:00')")
    conn.close()


KINDS = {
    "folder": (lambda p, g: p.mkdir(), "文件夹"),
    "empty": (lambda p, g: p.write_bytes(b""), "空文件"),
    "text": (lambda p, g: p.write_text("姓名,金额\n张三,12.50\n" * 200, encoding="utf-8"), "不是 SQLite 数据库"),
    "garbage": (lambda p, g: p.write_bytes(bytes(range(256)) * 64), "不是 SQLite 数据库"),
    "truncated": (lambda p, g: p.write_bytes(g.read_bytes()[: 3 * PAGE]), "损坏"),
    "damaged": (_damaged, "损坏"),
    "foreign": (
        lambda p, g: sqlite3.connect(p).executescript(
            "CREATE TABLE orders (id INTEGER); INSERT INTO orders VALUES (1);"
        ),
        "不是共济前台的",
    ),
    "empty-sqlite": (lambda p, g: sqlite3.connect(p).execute("VACUUM"), "空的 SQLite 数据库"),
    "newer": (_newer, "更新版本"),
}


@pytest.fixture(scope="module")
def good(templates, tmp_path_factory) -> Path:
    """A whole demo database with everything checkpointed into the main file."""
    path = tmp_path_factory.mktemp("good") / "good.db"
    shutil.copy(templates["guangxi"], path)
    return path


def make(kind: str, folder: Path, good: Path) -> Path:
    folder.mkdir()
    path = folder / "front-desk.db"
    KINDS[kind][0](path, good)
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={"GONGJI_PASSWORD": "123456", "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("command", ["verify", "usage", "checkout"])
def test_each_bad_file_is_refused_by_the_command_line_and_nothing_is_written(kind, command, good, tmp_path):
    path = make(kind, tmp_path / "clinic", good)
    before = fingerprint(path.parent)
    args = {
        "verify": ["verify"],
        "usage": ["usage", "--member", "45010000000000000001", "--year", "2024"],
        "checkout": ["checkout", "--operator", "shouyin", str(ROOT / "resources" / "examples" / "guangxi-visit.json")],
    }
    result = run(*args[command], "--db", str(path))
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()  # one message, never a traceback
    assert str(path) in line and KINDS[kind][1] in line and ("备份" in line or "版本" in line or "删除" in line), line
    assert fingerprint(path.parent) == before


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_window_is_told_the_same(kind, good, tmp_path):
    path = make(kind, tmp_path / "clinic", good)
    before = fingerprint(path.parent)
    with pytest.raises(DatabaseRefused) as refused:
        connect(path)
    assert str(path) in str(refused.value) and KINDS[kind][1] in str(refused.value)
    assert fingerprint(path.parent) == before


def test_a_whole_database_of_ours_opens_and_a_new_path_is_created(good, tmp_path):
    shutil.copy(good, tmp_path / "copy.db")
    connect(tmp_path / "copy.db").conn.close()
    connect(tmp_path / "new" / "front-desk.db").conn.close()
    assert (tmp_path / "new" / "front-desk.db").stat().st_size > 0
