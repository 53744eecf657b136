"""Sync between front desks and the central server: ``protocol``, shared by desk and hub; ``client``, the desk's side.

``client`` uses the desk's store (it is at the level of the desk's services); the hub imports only ``protocol``.
"""
