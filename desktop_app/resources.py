"""Find bundled data (``rules/``, ``resources/``) the same way from source or frozen.

From a source checkout (or an editable install) the folders sit beside the
package; in a PyInstaller bundle they sit in ``sys._MEIPASS``.  The environment
variable ``GONGJI_RULES_DIR`` points at another rules folder (a clinic testing a
new rules version before it ships).
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path


@functools.cache
def app_root() -> Path:
    """The folder that holds ``rules/`` and ``resources/`` (found once: ``Path.resolve`` was 13% of a quote)."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def rules_dir() -> Path:
    return _rules_dir(os.environ.get("GONGJI_RULES_DIR"))


@functools.cache
def _rules_dir(override: str | None) -> Path:
    """The rules folder for an override (or none): one Path each, so its text is made once (every quote asks)."""
    return Path(override) if override else app_root() / "rules"


def resource_path(*parts: str) -> Path:
    return app_root().joinpath("resources", *parts)
