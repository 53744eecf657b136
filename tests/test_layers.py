"""Layers import in one direction only, for every package; the core never touches Qt or I/O; no module cycles.

Every module of ``desktop_app`` belongs to one layer (its top-level package or module; ``sync`` is two:
the protocol the desk and the hub share, and the desk's client).  ``ALLOWED`` says which layers each may
import; any other import, at module level or inside a function, fails.  So does any import cycle
between modules, wherever it is.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "desktop_app"
IO_MODULES = {
    "os",
    "io",
    "pathlib",
    "sqlite3",
    "sqlite_utils",
    "yaml",
    "socket",
    "subprocess",
    "shutil",
    "urllib",
    "http",
    "requests",
    "httpx",
    "time",
}

# Each layer and the layers it may import (itself always).  Read bottom-up: domain is at the bottom.
ALLOWED = {
    "domain": set(),
    "policy": {"domain"},
    "resources": set(),
    "log": set(),
    "rule_files": {"domain", "policy", "resources"},
    "receipts": {"domain", "resources"},
    "sync.protocol": {"domain"},
    "store": {"domain", "policy", "rule_files", "resources"},
    "sync.client": {"domain", "policy", "rule_files", "resources", "store", "sync.protocol"},
    "services": {"domain", "policy", "rule_files", "resources", "store", "receipts", "sync.protocol", "sync.client"},
    "hub": {"domain", "policy", "rule_files", "resources", "sync.protocol", "log"},
    "ui": {"domain", "resources", "services", "log"},
    "cli": {
        "domain",
        "policy",
        "rule_files",
        "resources",
        "store",
        "receipts",
        "sync.protocol",
        "sync.client",
        "services",
        "hub",
        "ui",
        "log",
    },
    "__main__": {"cli"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "__init__"
    if parts[0] == "sync":
        return "sync.protocol" if parts[1:] in ([], ["protocol"]) else "sync.client"
    return parts[0]


def imported_modules(module: str) -> set[str]:
    """Every desktop_app module ``module`` imports, resolved to module names (relative imports included)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    # ``from .. import log`` names the root package only to reach its module: the root holds nothing but a version.
    return {name for name in found if name in MODULES and name != "desktop_app"}


def third_party(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.add((node.module or "").split(".")[0])
    return names


def test_every_module_has_a_layer():
    unknown = {m: layer(m) for m in MODULES if layer(m) not in ALLOWED and layer(m) != "__init__"}
    assert not unknown, f"modules outside every layer (add them to ALLOWED): {unknown}"


@pytest.mark.parametrize("own", sorted(ALLOWED))
def test_layers_point_one_way(own):
    for module in (m for m in MODULES if layer(m) == own):
        for target in imported_modules(module):
            other = layer(target)
            assert other == own or other in ALLOWED[own], f"{module} ({own}) imports {target} ({other})"


def test_no_import_cycles():
    graph = {m: imported_modules(m) - {m} for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    packages = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    # A package's __init__ that re-exports its own modules is not a cycle when they do not import it back.
    cycles = [c for c in cycles if not set(c) <= packages]
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("own", ["domain", "policy"])
def test_core_has_no_qt_and_no_io(own):
    for module in (m for m in MODULES if layer(m) == own):
        for root in third_party(MODULES[module]):
            assert not root.startswith("PySide"), f"{module} imports Qt"
            assert root not in IO_MODULES, f"{module} imports {root}"


def test_no_qt_outside_ui():
    for module, path in MODULES.items():
        if layer(module) != "ui":
            assert not any(n.startswith("PySide") or n == "shiboken6" for n in third_party(path)), module


def test_the_window_runs_no_sql():
    """The UI reaches the database only through the Desk façade: no store, no sqlite, no SQL text."""
    for module in (m for m in MODULES if layer(m) == "ui"):
        text = MODULES[module].read_text(encoding="utf-8")
        assert not third_party(MODULES[module]) & {"sqlite3", "sqlite_utils", "sqlalchemy"}, module
        assert ".execute(" not in text and "SELECT " not in text, f"{module} runs SQL"


def test_the_hub_never_imports_the_desk():
    for module in (m for m in MODULES if layer(m) == "hub"):
        for target in imported_modules(module):
            assert layer(target) not in {"store", "services", "sync.client", "ui", "cli"}, f"{module} imports {target}"


def test_receipts_render_plain_data_only():
    """The renderer sees a Receipt, never the database: it imports the domain and resources, nothing else of ours."""
    for module in (m for m in MODULES if layer(m) == "receipts"):
        for target in imported_modules(module):
            assert layer(target) in ("receipts", "domain", "resources"), f"{module} imports {target}"
        for name in third_party(MODULES[module]):
            assert name not in ("sqlite3", "sqlite_utils"), f"{module} imports {name}"
