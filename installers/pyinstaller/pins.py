"""The exact pins of pyproject.toml, checked against what is installed.

The PyInstaller spec calls ``check()`` before it builds, so a frozen build carries the same
Qt as the one the tests verified (see the comment on the Qt pins in pyproject.toml).
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def pinned(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """{distribution: version} for every ``name==version`` dependency."""
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    found = (re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;,]+)\s*", d) for d in deps)
    return {m.group(1): m.group(2) for m in found if m}


def mismatches(pyproject: Path = PYPROJECT) -> list[str]:
    """One line per pinned distribution that is missing or at another version."""
    out = []
    for name, version in pinned(pyproject).items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            out.append(f"{name}: pyproject.toml pins {version}, installed {installed or 'nothing'}")
    return out


def check(pyproject: Path = PYPROJECT) -> None:
    problems = mismatches(pyproject)
    if problems:
        raise SystemExit(
            "Refusing to build with other versions than the pins (run `make setup`):\n  " + "\n  ".join(problems)
        )
