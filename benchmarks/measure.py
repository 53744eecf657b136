"""How every counter benchmark measures: a path against its floor, alternated round by round, in one run.

A *floor* does the same work minimally (a Decimal split of the same case, a bare WAL FULL transaction, a
raw indexed SELECT, the same lines drawn plainly, a bare window), so the ratio says how much our own code
adds, whatever the machine.  Each round runs the path and the floor back to back, the order swapped every
round, so a slow spell of the machine falls on both.  A figure prints its median, IQR and p90, the floor's
median, the ratio of the medians, the goal, and whether the goal is met.

Run: each ``benchmarks/bench_*.py`` prints its table; ``make bench`` runs them all.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def timed(fn: Callable, into: list[float]) -> Callable:
    """``fn`` itself, each call's seconds appended to ``into``: the real function, timed where the app calls it."""

    def run(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - start)

    return run


def p90(samples: Sequence[float]) -> float:
    """The 90th percentile, as every figure here prints it (the sample at 90% of the sorted list)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


@dataclass
class Figure:
    """One path against its floor: seconds per call, and the goal it has to meet."""

    name: str
    path: list[float]
    floor: list[float]
    floor_name: str
    goal: float | None = None  # seconds, on ``on`` (the median or the p90); None: only the ratio counts
    ratio_goal: float | None = 4.0  # path median / floor median at most this
    on: str = "median"
    unit: str = "µs"

    def stat(self, samples: list[float], which: str) -> float:
        ordered = sorted(samples)
        if which == "median":
            return statistics.median(ordered)
        if which == "p90":
            return p90(ordered)
        quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
        return quartiles[2] - quartiles[0]  # "iqr"

    @property
    def ratio(self) -> float:
        return self.stat(self.path, "median") / self.stat(self.floor, "median")

    @property
    def met(self) -> bool:
        absolute = self.goal is None or self.stat(self.path, self.on) <= self.goal
        relative = self.ratio_goal is None or self.ratio <= self.ratio_goal
        return absolute and relative

    def goal_text(self) -> str:
        parts = []
        if self.goal is not None:
            parts.append(f"{'p90' if self.on == 'p90' else ''}≤{self._show(self.goal)}")
        if self.ratio_goal is not None:
            parts.append(f"≤{self.ratio_goal:g}x")
        return " ".join(parts) or "-"

    def _show(self, seconds: float) -> str:
        scale = {"µs": 1e6, "ms": 1e3}.get(self.unit, 1.0)
        value = seconds * scale
        digits = 2 if value < 10 else 1 if value < 100 else 0
        return f"{value:.{digits}f}{self.unit}"

    def row(self) -> str:
        s = self.stat
        return (
            f"{self.name:34} {self.goal_text():>16} {self._show(s(self.path, 'median')):>10} "
            f"{self._show(s(self.path, 'p90')):>10} {self._show(s(self.path, 'iqr')):>9} "
            f"{self._show(s(self.floor, 'median')):>10} {self.ratio:7.1f}x  {'met' if self.met else 'NOT met'}"
        )


# The floor of the window's start and memory: a fresh process that shows a bare PySide6 window.
BARE_WINDOW = """
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
window = QMainWindow()
window.show()
app.processEvents()
"""

HEADER = f"{'path':34} {'goal':>16} {'median':>10} {'p90':>10} {'IQR':>9} {'floor':>10} {'ratio':>8}  verdict"


def alternate(path: Callable[[], object], floor: Callable[[], object], rounds: int = 21, number: int = 200):
    """(path, floor) seconds per call: ``rounds`` rounds of ``number`` calls each, the order swapped each round."""

    def batch(fn: Callable[[], object]) -> Callable[[object], None]:
        def run(_round: object) -> None:
            for _ in range(number):
                fn()

        return run

    ours, base = alternate_each(batch(path), batch(floor), range(rounds))
    return [t / number for t in ours], [t / number for t in base]


def alternate_each(path: Callable[[object], object], floor: Callable[[object], object], args: Sequence):
    """(path, floor) seconds per call, one sample per argument: each argument runs both, the order swapped."""
    path(args[0]), floor(args[0])  # warm: caches, the font, the first page reads
    ours: list[float] = []
    base: list[float] = []
    for i, arg in enumerate(args):
        pair = ((path, ours), (floor, base)) if i % 2 == 0 else ((floor, base), (path, ours))
        for fn, into in pair:
            start = time.perf_counter()
            fn(arg)
            into.append(time.perf_counter() - start)
    return ours, base


def report(title: str, figures: list[Figure], notes: Sequence[str] = ()) -> None:
    """The table: one row a figure, then what each floor is."""
    print(title)
    print(HEADER)
    for f in figures:
        print(f.row())
    for f in figures:
        print(f"  floor of {f.name}: {f.floor_name}")
    for note in notes:
        print(f"  {note}")
    met = sum(f.met for f in figures)
    print(f"  {met} of {len(figures)} goals met")
