"""Layers import in one direction only, and the core never touches Qt or I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "desktop_app"
ORDER = ["domain", "policy", "store", "services"]
IO_MODULES = {"os", "io", "pathlib", "sqlite3", "sqlite_utils", "yaml", "socket", "subprocess", "shutil",
              "urllib", "http", "requests", "httpx", "time"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            prefix = "." * node.level + (node.module or "")
            names.add(prefix)
    return names


def layer_of(name: str, own: str) -> str | None:
    """The desktop_app layer an import refers to, resolving relative imports from layer ``own``."""
    if name.startswith(".."):
        return name.lstrip(".").split(".")[0] or None
    if name.startswith("."):
        return own
    if name.startswith("desktop_app."):
        return name.split(".")[1]
    return None


@pytest.mark.parametrize("layer", ORDER)
def test_layers_point_one_way(layer):
    allowed = set(ORDER[: ORDER.index(layer) + 1]) | {"resources"}
    for path in (PACKAGE / layer).rglob("*.py"):
        for name in imports(path):
            target = layer_of(name, layer)
            if target and target in ORDER + ["cli", "ui"]:
                assert target in allowed, f"{path.relative_to(PACKAGE)} imports {name} ({target})"


@pytest.mark.parametrize("layer", ["domain", "policy"])
def test_core_has_no_qt_and_no_io(layer):
    for path in (PACKAGE / layer).rglob("*.py"):
        for name in imports(path):
            root = name.lstrip(".").split(".")[0]
            assert not root.startswith("PySide"), f"{path.name} imports Qt"
            if not name.startswith("."):
                assert root not in IO_MODULES, f"{path.relative_to(PACKAGE)} imports {name}"


def test_receipts_render_plain_data_only():
    """The renderer sees a Receipt, never the database: it imports the domain and resources, nothing else of ours."""
    for path in (PACKAGE / "receipts").rglob("*.py"):
        for name in imports(path):
            target = layer_of(name, "receipts")
            assert target in (None, "receipts", "domain", "resources"), f"{path.name} imports {name}"
            assert name.split(".")[0] not in ("sqlite3", "sqlite_utils"), f"{path.name} imports {name}"


def test_no_qt_outside_ui():
    for path in PACKAGE.rglob("*.py"):
        if "ui" in path.relative_to(PACKAGE).parts:
            continue
        assert not any(n.split(".")[0].startswith("PySide") for n in imports(path)), path
