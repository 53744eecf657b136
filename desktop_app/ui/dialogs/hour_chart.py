"""A bar chart of the day's settlements by hour, drawn by hand (no QtCharts in PySide6-Essentials)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QWidget

from ...domain.report import DayReport


class HourChart(QWidget):
    """A bar chart of the day's settlements by hour (no QtCharts in PySide6-Essentials)."""

    def __init__(self) -> None:
        super().__init__()
        self.report: DayReport | None = None
        self.setMinimumHeight(180)

    def set_report(self, report: DayReport) -> None:
        self.report = report
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        if self.report is None:
            return
        hours = sorted(set(range(7, 22)) | set(self.report.by_hour))
        peak = max([c for c, _ in self.report.by_hour.values()] + [1])
        p = QPainter(self)
        w, h = self.width(), self.height()
        step = w / len(hours)
        base = h - 20
        for i, hour in enumerate(hours):
            count = self.report.by_hour.get(hour, (0, 0))[0]
            bar = (base - 20) * count / peak
            p.fillRect(QRectF(i * step + step * 0.15, base - bar, step * 0.7, bar), self.palette().highlight())
            p.drawText(QRectF(i * step, base + 2, step, 18), Qt.AlignCenter, f"{hour:02d}")
            if count:
                p.drawText(QRectF(i * step, base - bar - 18, step, 18), Qt.AlignCenter, str(count))
        p.drawLine(0, int(base), w, int(base))
        p.end()
