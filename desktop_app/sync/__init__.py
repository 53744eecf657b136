"""Sync between front desks and the central server: one protocol, a client, and the hub."""
