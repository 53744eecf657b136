"""The explanation being written: one line per step, each citing its article.

``Lines(False)`` is an explanation nobody reads (the hub stores figures and never shows them): it keeps
no line, and a step that formats figures for its line checks ``lines.on`` first, so the figures cost
only their arithmetic.  They are the same either way.
"""

from __future__ import annotations


class Lines(list[str]):
    """The explanation's lines so far; with ``on`` False, none is kept."""

    def __init__(self, on: bool = True) -> None:  # a new list is empty: the list's own __init__ has nothing to do
        self.on = on
        if not on:  # on, ``append`` is the list's own (a method of ours here cost a call a line)
            self.append = self._drop

    def _drop(self, line: str) -> None:
        """``append`` of an explanation nobody reads."""
