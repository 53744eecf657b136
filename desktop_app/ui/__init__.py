"""The counter's window (PySide6), the only package that imports Qt.

``app`` starts it (font, database, wizard, login); ``main_window`` lays out the ``member_panel``,
``visit_panel`` and ``payment_panel`` with the ``status_bar``; ``dialogs/`` holds one module per dialog;
``wizard`` is the first run.  All database and network work goes through ``backend`` (one worker thread
holding a ``services.desk.Desk``); ``hub_sync`` and ``printing`` run in workers of their own.
"""
