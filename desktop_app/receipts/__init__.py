"""Receipts and the day-end report as PDF, from plain data (never the database).

``model`` (what a receipt holds) → ``content`` (what it says) → ``roll`` / ``a5`` (the two
layouts, on ``sheet`` and ``font``, with the QR code from ``qr``) → ``pdf.render``.
``dayend`` is the day-end report.
"""
