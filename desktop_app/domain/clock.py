"""The one clock: local time with its UTC offset, to the second, as every record of desk and hub stores it."""

from __future__ import annotations

import datetime as dt


def now_iso() -> str:
    """Now, as ``2026-11-23T09:30:00+08:00``: the desk's and the hub's timestamps, comparable across zones."""
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")
