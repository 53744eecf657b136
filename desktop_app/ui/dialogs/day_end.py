"""日结: the day's sums, each cashier's drawer (应交现金), by hour; export to PDF and CSV; reconcile with the hub."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ...domain.report import DayReport
from ..common import MessageLine, message_of, yuan
from ..screen_fit import fit_to_screen
from .hour_chart import HourChart


class DayEndDialog(QDialog):
    """日结: counts and sums by fund / account / family account / cash, refunds, unsynced; export PDF and CSV."""

    FIELDS = (
        ("settlements", "结算笔数"),
        ("refunds", "退费笔数"),
        ("total", "医疗费总额（已扣退费）"),
        ("fund", "统筹基金支付"),
        ("own_account", "个人账户支付"),
        ("family_account", "共济账户支付"),
        ("cash", "现金（已扣退费）"),
        ("refunded_total", "退费金额"),
        ("unsynced", "尚未上传医保中心"),
        ("cash_due", "应交现金合计"),
    )
    CASHIER_COLUMNS = ("收款员", "结算笔数", "退费笔数", "医疗费总额（净）", "现金收款", "现金退款", "应交现金")

    def __init__(self, window, day: dt.date) -> None:
        super().__init__(window)
        self.window_, self.backend, self.day = window, window.backend, day
        self.setWindowTitle(f"日结  {day.isoformat()}")
        fit_to_screen(self, 900, 640)
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        for column in (1, 3, 5):
            grid.setColumnMinimumWidth(column, 120)
        self.labels = {}
        for i, (key, title) in enumerate(self.FIELDS):
            label = QLabel("…", objectName=f"dayend_{key}")
            label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            label.setStyleSheet("font-size: 13pt;")
            self.labels[key] = label
            grid.addWidget(QLabel(title), i // 3, (i % 3) * 2)
            grid.addWidget(label, i // 3, (i % 3) * 2 + 1)
        self.trace = QLabel("…", objectName="dayend_trace", wordWrap=True)
        self.cashiers = cashier_table(self.CASHIER_COLUMNS)
        self.chart = HourChart()
        self.message = MessageLine()
        export = QPushButton("导出 PDF 与 CSV  [F5]", objectName="dayend_export")
        export.setAutoDefault(False)
        export.clicked.connect(self.export)
        check = QPushButton("与医保中心对账  [F6]", objectName="dayend_reconcile")
        check.setAutoDefault(False)
        check.clicked.connect(self.reconcile)
        close = QPushButton("关闭  [Esc]")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(export)
        buttons.addWidget(check)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.trace)
        layout.addWidget(QLabel("按收款员（退费计入原结算的收款员；应交现金 = 现金收款 − 现金退款）"))
        layout.addWidget(self.cashiers)
        layout.addWidget(QLabel("各时段结算笔数"))
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.backend.submit(
            lambda desk: desk.day_report(day), self.show_report, lambda exc: self.message.error(message_of(exc))
        )

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key_F5:
            self.export()
        elif event.key() == Qt.Key_F6:
            self.reconcile()
        else:
            super().keyPressEvent(event)

    def show_report(self, report: DayReport) -> None:
        self.report = report
        for key, label in self.labels.items():
            value = getattr(report, key)
            label.setText(yuan(value) if isinstance(value, Decimal) else (f"{value} 笔"))
        self.chart.set_report(report)
        self.trace.setText(trace_text(report))
        drawers = sorted(report.by_cashier.items())
        self.cashiers.setRowCount(len(drawers))
        for r, (name, d) in enumerate(drawers):
            values = (name, f"{d.settlements} 笔", f"{d.refunds} 笔", yuan(d.total))
            values += (yuan(d.cash_taken), yuan(d.cash_returned), yuan(d.cash_due))
            for c, value in enumerate(values):
                cell = QTableWidgetItem(value)
                if c:
                    cell.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.cashiers.setItem(r, c, cell)

    def reconcile(self) -> None:
        """对账 with the hub: counts and sums of the day; on a difference, the settlements behind it."""
        state = self.window_.state
        if state is None or not state.hub or not state.token:
            self.message.error("未设置医保中心：单机模式无需对账")
            return
        hub, token, day = state.hub, state.token, self.day
        self.window_.sync_backend.submit(
            lambda desk: desk.reconcile(hub, token, day),
            self._reconciled,
            lambda exc: self.message.error(message_of(exc)),
        )

    def _reconciled(self, result: dict) -> None:
        if result["ok"]:
            self.message.ok(f"{result['day']} 对账一致")
            return
        parts = [f"{k}：本机 {v['desk']}，中心 {v['hub']}" for k, v in result["differences"].items()]
        parts += [f"仅本机有 {u}" for u in result["only_at_desk"]] + [f"仅中心有 {u}" for u in result["only_at_hub"]]
        self.message.error("对账不一致：" + "；".join(parts))

    def export(self) -> None:
        stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        self.backend.submit(
            lambda desk: desk.export_day(self.day, stamp),
            lambda paths: self.message.ok("已导出：" + "；".join(str(p) for p in paths)),
            lambda exc: self.message.error(message_of(exc)),
        )


def trace_text(report: DayReport) -> str:
    """药品追溯码 of the day in one paragraph: codes sold and released, lines waived by reason, the hub's duplicates."""
    t = report.trace
    text = f"追溯码：售出 {t.codes_sold} 个，退费释放 {t.codes_released} 个；"
    text += f"无码放行 {t.waived_lines} 行（{t.waived_text()}）"
    if t.duplicates:
        shown = "；".join(f"{d.code}（本机 {d.uuid[:8]}，首次 {d.first_desk}）" for d in t.duplicates[:5])
        more = f" 等 {len(t.duplicates)} 个" if len(t.duplicates) > 5 else ""
        text += f"；中心报告重复追溯码（疑似回流药）：{shown}{more}"
    return text


def cashier_table(columns: tuple[str, ...]) -> QTableWidget:
    """The per-cashier drawer table: read-only, whole rows, columns sharing the width."""
    table = QTableWidget(0, len(columns), objectName="dayend_cashiers")
    table.setHorizontalHeaderLabels(columns)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectRows)
    table.setMinimumHeight(90)
    table.setMaximumHeight(200)  # about six cashiers; more scroll, and the chart keeps its room
    return table
