"""Read the rule books from ``rules/<region>/{region,parameters}.yaml``.

The YAML is read with PyYAML's safe loader; every check is done by
:func:`desktop_app.policy.rule_loader.build_rulebook`, which names file and key.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from .domain.errors import InputError, RulesError
from .policy.rule_loader import build_rulebook
from .policy.rulebook import RuleBook
from .resources import rules_dir

REGION_FILE = "region.yaml"
PARAMETERS_FILE = "parameters.yaml"


def region_names(root: Path | None = None) -> list[str]:
    """The regions that have a rules folder."""
    root = root or rules_dir()
    return sorted(p.name for p in root.iterdir() if (p / REGION_FILE).is_file())


def load_region(region: str, root: Path | None = None) -> RuleBook:
    """Load and validate one region's rule book; :class:`InputError` if there is none."""
    root = root or rules_dir()
    folder = root / region
    if not (folder / REGION_FILE).is_file():
        raise InputError("region", region, f"没有该地区的规则；现有：{', '.join(region_names(root))}")
    return build_rulebook(
        region,
        _read(folder / REGION_FILE),
        _display(folder / REGION_FILE, root),
        _read(folder / PARAMETERS_FILE),
        _display(folder / PARAMETERS_FILE, root),
    )


def load_all(root: Path | None = None) -> dict[str, RuleBook]:
    root = root or rules_dir()
    return {name: load_region(name, root) for name in region_names(root)}


@lru_cache(maxsize=32)
def cached_region(region: str, root: str) -> RuleBook:
    """Rule books do not change while the app runs; load each once."""
    return load_region(region, Path(root))


def _display(path: Path, root: Path) -> str:
    return f"rules/{path.relative_to(root).as_posix()}"


def _read(path: Path) -> object:
    shown = f"rules/{path.parent.name}/{path.name}"
    if not path.is_file():
        raise RulesError(shown, "(file)", "文件不存在")
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(parse)"
        raise RulesError(shown, where, f"YAML 语法错误：{getattr(exc, 'problem', exc)}") from None
    except UnicodeDecodeError as exc:
        raise RulesError(shown, f"byte {exc.start}", "不是 UTF-8 文本；规则文件须以 UTF-8 保存") from None
    except RecursionError:
        raise RulesError(shown, "(parse)", "嵌套过深，不是规则文件") from None
    except OSError as exc:
        raise RulesError(shown, "(file)", f"无法读取：{exc.strerror or exc}") from None


def region_digest(region: str, root: Path | None = None) -> str:
    """SHA-256 over a region's rule files (names and bytes): the desk and the hub compare these."""
    import hashlib

    folder = (root or rules_dir()) / region
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
