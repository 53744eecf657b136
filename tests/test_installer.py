"""The frozen Linux build: made with the project's own spec and bundle script, then used as a clinic would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pypdf
import pytest

from tests.store_fixtures import DX

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "installers" / "pyinstaller" / "gongji.spec"
ISS = ROOT / "installers" / "windows" / "gongji-front-desk.iss"
sys.path.insert(0, str(SPEC.parent))
from pins import mismatches, pinned  # noqa: E402  (installers/pyinstaller/pins.py, as the spec uses it)


def spec_names() -> tuple[str, set[str]]:
    text = SPEC.read_text(encoding="utf-8")
    folder = re.search(r'^NAME = "([^"]+)"', text, re.M).group(1)
    programs = set(re.findall(r'name=(?:NAME|"([^"]+)")', text)) - {""} | {folder}
    return folder, programs


@pytest.mark.slow
def test_the_frozen_build_settles_a_visit_and_prints_a_receipt(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(dist),
            "--workpath",
            str(tmp_path / "work"),
            str(SPEC),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    made = subprocess.run(
        ["sh", str(ROOT / "installers/linux/make-bundle.sh"), str(dist), str(tmp_path / "out")],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    tarball = Path(made.stdout.strip().splitlines()[-1])
    with tarfile.open(tarball) as archive:
        safe = {"filter": "tar"} if hasattr(tarfile, "data_filter") else {}  # Python >= 3.11.4 checks members
        archive.extractall(tmp_path / "unpacked", **safe)
    [bundle] = (tmp_path / "unpacked").iterdir()
    assert {"gongji-front-desk", "desktop-app", "install.sh", "gongji-front-desk.desktop"} <= {
        p.name for p in bundle.iterdir()
    }
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path / "home"),
        "PYTHONPATH": "",
        "GONGJI_PASSWORD": "123456",
    }  # the demo cashier's
    app = [str(bundle / "desktop-app")]
    db = tmp_path / "clinic.db"

    def run(*args: str) -> str:
        done = subprocess.run([*app, *args], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("demo-data", "--db", str(db), "--members", "300")
    shown = json.loads(
        subprocess.run(
            [str(bundle / "gongji-front-desk"), "--db", str(db), "--self-test"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    )
    assert shown["ok"] and shown["rules"].startswith("规则 guangxi@") and shown["font"] == "WenQuanYi Micro Hei"
    assert shown["qt_in_chinese"]  # Qt's own buttons (确定, 取消) from the bundled translation
    assert shown["qt"] == pinned()["PySide6-Essentials"]  # the build carries the verified Qt (pyproject.toml's pin)
    import sqlite3

    with sqlite3.connect(db) as conn:
        psn = conn.execute("SELECT psn_no FROM members WHERE scheme = 'combined' LIMIT 1").fetchone()[0]
        code = conn.execute(
            "SELECT code FROM catalogue WHERE item_kind = 'drug' AND trac_required = 0 LIMIT 1"
        ).fetchone()[0]
    case = tmp_path / "visit.json"
    case.write_text(
        json.dumps({"member": {"psn_no": psn}, "diagnoses": DX, "items": [{"code": code, "quantity": 2}]}),
        encoding="utf-8",
    )
    out = json.loads(run("checkout", "--db", str(db), "--operator", "shouyin", str(case)))
    run("receipt", "--db", str(db), "--layout", "a5", "--out", str(tmp_path / "r.pdf"), out["uuid"])
    reader = pypdf.PdfReader(tmp_path / "r.pdf")
    fonts = {f["/BaseFont"] for f in reader.pages[0]["/Resources"]["/Font"].values()}
    assert any("WenQuanYiMicroHei" in str(f) for f in fonts) and out["uuid"] in reader.pages[0].extract_text()
    assert json.loads(run("verify", "--db", str(db)))["ok"]
    hub = str(tmp_path / "hub.db")  # the hub's revisions ship too: a new hub database is made by upgrading to head
    assert (
        json.loads(run("hub", "upgrade", "--db", hub))["upgraded"]
        and json.loads(run("hub", "check", "--db", hub))["ok"]
    )


def test_the_installed_packages_are_the_pinned_ones():
    """The tests verify the pinned Qt (see pyproject.toml); a stale venv would verify another."""
    assert {"PySide6-Essentials", "PySide6-Addons", "shiboken6"} <= set(pinned())
    assert len({pinned()[n] for n in ("PySide6-Essentials", "PySide6-Addons", "shiboken6")}) == 1
    assert mismatches() == []


def test_the_windows_script_matches_the_spec():
    """No Inno Setup compiler on Linux: check its structure and that its paths are the spec's outputs."""
    text = ISS.read_text(encoding="utf-8")
    sections = re.findall(r"^\[(\w+)\]", text, re.M)
    assert sections == ["Setup", "Languages", "CustomMessages", "Tasks", "Files", "InstallDelete", "Icons", "Run"]
    defines = dict(re.findall(r'^#define (\w+) "([^"]*)"', text, re.M))
    folder, programs = spec_names()
    assert defines["BuildDir"].replace("\\", "/").endswith(f"build/dist/{folder}")
    assert defines["GuiExe"] == f"{folder}.exe" and defines["CliExe"].removesuffix(".exe") in programs
    assert (ISS.parent / defines["BuildDir"].replace("\\", "/")).resolve().parent == (ROOT / "build" / "dist").resolve()
    icon = re.search(r"^SetupIconFile=(.+)$", text, re.M).group(1).replace("\\", "/")
    assert (ISS.parent / icon).resolve().exists()
    assert {"chinesesimplified", "english"} == set(re.findall(r'^Name: "(\w+)"; MessagesFile', text, re.M))
    for name in set(re.findall(r"\{cm:(\w+)", text)) - {"UninstallProgram"}:  # every custom message in both languages
        assert f"chinesesimplified.{name}=" in text and f"english.{name}=" in text
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(";")).lower()
    assert "localappdata" not in code and "userappdata" not in code  # the user's database is never touched
    for line in text.splitlines():  # every entry line is Key: value; Key: value …
        if line.startswith(("Source:", "Name:", "Filename:", "Type:")):
            assert re.fullmatch(r'(\w+: ("[^"]*"|[^;"]+))(; \w+: ("[^"]*"|[^;"]+))*', line), line
    assert text.count("{") == text.count("}") + 1  # AppId's leading {{ is Inno's escape


def test_the_linux_desktop_file_points_at_the_bundle():
    entry = (ROOT / "installers/linux/gongji-front-desk.desktop").read_text(encoding="utf-8")
    folder, _ = spec_names()
    assert f"Exec=/opt/{folder}/{folder}" in entry and "Name[zh_CN]=共济前台" in entry and f"Icon={folder}" in entry
