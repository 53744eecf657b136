"""Sync between front desks and the central server: ``protocol``, shared by desk and hub, and the desk's side.

The desk's side is ``client`` (the HTTP client and one round of sync), ``apply`` (a pulled change into the
desk's store) and ``reconcile`` (对账 and the audit check).  It uses the desk's store (it is at the level of
the desk's services); the hub imports only ``protocol``.
"""
