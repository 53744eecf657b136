"""What the desk does, without Qt: the window calls ``desk.Desk`` only; the CLI calls these modules.

``checkout`` (quote, confirm, refund; ``request`` reads a request, ``reversal`` what a refund reverses),
``card`` (the member card), ``daybook`` (the day's settlements and the day-end report), ``receipts``,
``settings`` and ``setup`` (supervisor's acts), ``offline`` (the limits while the hub is away), ``verify``
(the books against the audit chain), ``quote`` (a case file, as the CLI's quote reads it), ``demo``.
"""
