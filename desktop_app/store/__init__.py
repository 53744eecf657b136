"""Persistence: the rule files on disk (and, later, the local SQLite database)."""
