"""Logging for the window, the command line and the hub: one set-up, ``setup``, called once as each starts.

Everything of ours logs under the ``gongji`` logger (``gongji.ui``, ``gongji.cli``, ``gongji.hub`` …). ``setup``
sends it, from INFO up, to one file per program, ``<program>.log``, rolled at midnight with a week of old files
kept.  Where that file goes, one rule: beside the database when the program keeps one open for its whole run,
otherwise in the user's log folder (platformdirs):

- the window: ``logs/app.log`` beside its database, where its error messages send the clinic's IT person;
- the command line: ``cli.log`` in the user's log folder (a fault of ours, exit 5, is written there whole);
- ``desktop-app hub serve``: ``hub.log`` in the user's log folder, and the hub's warnings on stderr beside uvicorn's.

The user's log folder is ``~/.local/state/gongji-front-desk/log`` on Linux (``$XDG_STATE_HOME`` if set),
``%LOCALAPPDATA%\\gongji-front-desk\\Logs`` on Windows and ``~/Library/Logs/gongji-front-desk`` on macOS.
The folder and the file are made when the first record is written, so a command with nothing to say leaves
nothing behind; if they cannot be written, a record goes to stderr instead, as it would with no set-up at all.
"""

from __future__ import annotations

import logging
import os
import sys
from logging.handlers import TimedRotatingFileHandler
from pathlib import Path

APP = "gongji-front-desk"
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

logger = logging.getLogger("gongji")
_installed: list[logging.Handler] = []  # what the last setup added, and replaces the next time


def user_log_folder() -> Path:
    from platformdirs import user_log_path

    return user_log_path(APP, appauthor=False)


def setup(program: str, folder: Path | None = None, *, echo: str | None = None) -> Path:
    """Log ``gongji`` to ``<program>.log`` in ``folder`` (the user's log folder if none); return the file's path.

    ``echo`` names a logger (``gongji.hub``) whose warnings and errors also go to stderr.  A second call replaces
    what the first set up, so a program run twice in one process (the tests, ``desktop-app window``) logs once.
    """
    path = Path(os.path.abspath((folder if folder is not None else user_log_folder()) / f"{program}.log"))
    if _installed and (path, echo) == (current_file(), getattr(_installed[-1], "echo", None)):
        return path
    for handler in _installed:
        logger.removeHandler(handler)
        handler.close()
    _installed[:] = [_File(path)] + ([_Echo(echo)] if echo else [])
    for handler in _installed:
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return path


def current_file() -> Path | None:
    """The file the last ``setup`` chose, or None before any."""
    return Path(_installed[0].baseFilename) if _installed else None


class _File(TimedRotatingFileHandler):
    """A week of files, rolled at midnight; the folder and the file are made at the first record."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, when="midnight", backupCount=7, encoding="utf-8", delay=True)
        self.setFormatter(logging.Formatter(FORMAT))

    def _open(self):
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        """The file cannot be written (a read-only home, a full disk): stderr has the record, as with no set-up."""
        if logging.lastResort is not None:
            logging.lastResort.handle(record)


class _Echo(logging.StreamHandler):
    """Warnings and errors of one logger on stderr (a server's console)."""

    def __init__(self, name: str) -> None:
        super().__init__(sys.stderr)
        self.echo = name
        self.setLevel(logging.WARNING)
        self.setFormatter(logging.Formatter(FORMAT))
        self.addFilter(logging.Filter(name))
