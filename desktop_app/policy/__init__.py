"""The rules engine: rule books validated from plain data, and the settlement engine.

Pure functions only: no Qt, no files, no database, no clock.
"""
