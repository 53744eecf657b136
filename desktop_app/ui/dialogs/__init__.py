"""The window's dialogs, one module each: login, supervisor, the day's history, day-end, settings, back office."""

from .back_office import BackOfficeDialog
from .day_end import DayEndDialog
from .history import HistoryDialog
from .login import LoginDialog
from .settings import SettingsDialog
from .supervisor import SupervisorDialog

__all__ = ["BackOfficeDialog", "DayEndDialog", "HistoryDialog", "LoginDialog", "SettingsDialog", "SupervisorDialog"]
