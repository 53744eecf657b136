"""Dialogs: operator login, supervisor authorisation, the day's history (reprint, refund), day-end, settings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGridLayout, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from ..domain.case import parse_amount_field
from ..domain.vocabulary import FACILITY_KIND_NAMES, GRADE_NAMES, LEVEL_NAMES, TIER_NAMES
from ..domain.errors import InputError
from ..domain.report import DayReport
from ..services import checkout, counter, receipts, settings
from ..store import operators
from .backend import Backend
from .common import MessageLine, message_of, region_choices, yuan


class FormDialog(QDialog):
    """Enter in a field moves to the next one; only Enter in the last submits (never with half the form empty)."""

    def chain(self, *edits: QLineEdit) -> None:
        for edit, following in zip(edits, edits[1:]):
            edit.returnPressed.connect(following.setFocus)
        edits[-1].returnPressed.connect(self.submit)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - the fields handle Enter; the dialog's default button must not
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            return
        super().keyPressEvent(event)

    def submit(self) -> None:
        self.accept()


class LoginDialog(FormDialog):
    """The operator signs in at start; the window opens only for a known operator."""

    def __init__(self, backend: Backend, parent=None) -> None:
        super().__init__(parent)
        self.backend, self.operator, self.role = backend, None, None
        self.setWindowTitle("共济前台 — 操作员登录")
        self.setMinimumWidth(380)
        self.name = QLineEdit(objectName="login_name")
        self.password = QLineEdit(objectName="login_password", echoMode=QLineEdit.Password)
        self.message = MessageLine()
        form = QFormLayout(self)
        form.addRow("操作员", self.name)
        form.addRow("密码", self.password)
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("登录")
        buttons.button(QDialogButtonBox.Cancel).setText("退出")
        buttons.accepted.connect(self.try_login)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.chain(self.name, self.password)

    def submit(self) -> None:
        self.try_login()

    def try_login(self) -> None:
        name, password = self.name.text().strip(), self.password.text()
        self.backend.submit(lambda db: operators.authenticate(db.conn, name, password),
                            lambda role: self._ok(name, role), lambda exc: self._fail(exc))

    def _ok(self, name: str, role: str) -> None:
        self.operator, self.role = name, role
        self.accept()

    def _fail(self, exc: BaseException) -> None:
        self.password.clear()
        self.password.setFocus()
        self.message.error(message_of(exc))


class SupervisorDialog(FormDialog):
    """A supervisor's name and password for one act (refund, settings)."""

    def __init__(self, action: str, parent=None, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{action}：需要主管授权")
        self.name = QLineEdit(objectName="supervisor_name")
        self.password = QLineEdit(objectName="supervisor_password", echoMode=QLineEdit.Password)
        form = QFormLayout(self)
        form.addRow(QLabel(f"{action}：请主管输入用户名和密码"))
        form.addRow("主管", self.name)
        form.addRow("密码", self.password)
        self.reason = None
        if reasons:  # the reason is audited and printed on the receipt
            self.reason = QComboBox(objectName="supervisor_reason", editable=True)
            self.reason.addItems(reasons)
            form.addRow("原因", self.reason)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.chain(self.name, self.password, *([self.reason.lineEdit()] if self.reason is not None else []))

    def reason_text(self) -> str:
        return self.reason.currentText().strip() if self.reason is not None else ""


HISTORY_COLUMNS = ("时间", "类型", "姓名", "医疗费总额", "统筹", "个人账户", "共济账户", "现金", "上传", "结算号")


class HistoryDialog(QDialog):
    """当日结算: search, preview, reprint, refund."""

    def __init__(self, window, day: dt.date) -> None:
        super().__init__(window)
        self.window_, self.backend, self.day, self.rows = window, window.backend, day, []
        self.setWindowTitle(f"当日结算  {day.isoformat()}")
        self.resize(1200, 600)
        self.search = QLineEdit(objectName="history_search", placeholderText="姓名 / 人员编号 / 结算号开头")
        self.search.textChanged.connect(lambda _: self.timer.start())
        self.timer = QTimer(self, singleShot=True, interval=200)
        self.timer.timeout.connect(self.load)
        self.table = QTableWidget(0, len(HISTORY_COLUMNS), objectName="history_table")
        self.table.setHorizontalHeaderLabels(HISTORY_COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.message = MessageLine()
        buttons = QHBoxLayout()
        self.keys = {Qt.Key_F5: self.reprint, Qt.Key_F8: self.refund}
        for text, slot in (("预览  [Enter]", self.preview), ("补打  [F5]", self.reprint), ("退费  [F8]", self.refund),
                           ("关闭  [Esc]", self.reject)):
            button = QPushButton(text)
            button.setAutoDefault(False)
            button.setFocusPolicy(Qt.NoFocus)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.search.returnPressed.connect(self.table.setFocus)
        self.table.activated.connect(lambda _: self.preview())
        self.load()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - F-keys wherever the focus is in this dialog
        action = self.keys.get(event.key())
        if action:
            action()
        else:
            super().keyPressEvent(event)

    def load(self) -> None:
        text = self.search.text()
        self.backend.submit(lambda db: counter.history(db.conn, self.day, text), self.show_rows,
                            lambda exc: self.message.error(message_of(exc)))

    def show_rows(self, rows) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            kind = "退费" if row.kind == "refund" else ("已退费" if row.refunded else "结算")
            values = (row.created_at[11:19], kind, row.name, yuan(row.total), yuan(row.fund), yuan(row.own_account),
                      yuan(row.family_account), yuan(row.cash), "已上传" if row.synced else "未上传", row.uuid)
            for c, value in enumerate(values):
                cell = QTableWidgetItem(value)
                if 3 <= c <= 7:
                    cell.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, c, cell)
        if rows:
            self.table.selectRow(0)

    def current(self):
        r = self.table.currentRow()
        return self.rows[r] if 0 <= r < len(self.rows) else None

    def preview(self) -> None:
        row = self.current()
        if row:
            self.window_.receipt_for(row.uuid, note="补打", then=self.window_.preview)

    def reprint(self) -> None:
        row = self.current()
        if row:
            self.window_.receipt_for(row.uuid, note="补打", then=self.window_.print_receipt)
            self.message.ok(f"已补打 {row.uuid}")

    def refund(self) -> None:
        row = self.current()
        if row is None:
            return
        if row.kind == "refund" or row.refunded:
            self.message.error(f"结算号 {row.uuid}：{'这是退费记录' if row.kind == 'refund' else '已退费'}，不能再退费")
            return
        self.auth = SupervisorDialog("退费", self)
        self.auth.accepted.connect(lambda: self._refund(row, self.auth.name.text().strip(), self.auth.password.text()))
        self.auth.open()

    def _refund(self, row, name: str, password: str) -> None:
        folder = self.window_.receipt_folder

        def work(db):
            out = checkout.refund(db, row.uuid, name, password)
            path = receipts.write(db.conn, out["uuid"], self.window_.layout_name, folder / f"{out['uuid']}.pdf")
            return out, path

        self.backend.submit(work, self._refunded, lambda exc: self.message.error(message_of(exc)))

    def _refunded(self, result) -> None:
        out, path = result
        self.message.ok(f"已退费：退费单 {out['uuid']}，退回现金 {yuan(-Decimal(out['psn_cash_pay']))}，"
                        f"退回个人账户 {yuan(-Decimal(out['acct_pay']))}")
        self.window_.print_receipt(path)
        self.window_.refresh_status()
        self.load()


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


class DayEndDialog(QDialog):
    """日结: counts and sums by fund / account / family account / cash, refunds, unsynced; export PDF and CSV."""

    FIELDS = (("settlements", "结算笔数"), ("refunds", "退费笔数"), ("total", "医疗费总额（已扣退费）"),
              ("fund", "统筹基金支付"), ("own_account", "个人账户支付"), ("family_account", "共济账户支付"),
              ("cash", "现金"), ("refunded_total", "退费金额"), ("unsynced", "尚未上传医保中心"))

    def __init__(self, window, day: dt.date) -> None:
        super().__init__(window)
        self.window_, self.backend, self.day = window, window.backend, day
        self.setWindowTitle(f"日结  {day.isoformat()}")
        self.resize(900, 560)
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
        layout.addWidget(QLabel("各时段结算笔数"))
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.backend.submit(lambda db: counter.day_report(db.conn, day), self.show_report,
                            lambda exc: self.message.error(message_of(exc)))

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

    def reconcile(self) -> None:
        """对账 with the hub: counts and sums of the day; on a difference, the settlements behind it."""
        hub, token = self.window_.state.get("hub"), self.window_.state.get("token")
        if not hub or not token:
            self.message.error("未设置医保中心：单机模式无需对账")
            return
        from ..sync.client import reconcile

        day = self.day.isoformat()
        self.window_.sync_backend.submit(lambda db: reconcile(db, hub, token, day), self._reconciled,
                                         lambda exc: self.message.error(message_of(exc)))

    def _reconciled(self, result: dict) -> None:
        if result["ok"]:
            self.message.ok(f"{result['day']} 对账一致")
            return
        parts = [f"{k}：本机 {v['desk']}，中心 {v['hub']}" for k, v in result["differences"].items()]
        parts += [f"仅本机有 {u}" for u in result["only_at_desk"]] + [f"仅中心有 {u}" for u in result["only_at_hub"]]
        self.message.error("对账不一致：" + "；".join(parts))

    def export(self) -> None:
        folder = self.window_.export_folder
        stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        self.backend.submit(lambda db: counter.export_day(db.conn, self.day, folder, stamp),
                            lambda paths: self.message.ok("已导出：" + "；".join(str(p) for p in paths)),
                            lambda exc: self.message.error(message_of(exc)))


class SettingsDialog(FormDialog):
    """设置 (supervisor): facility, region, printer and layout, published figures."""

    def __init__(self, window, current: dict, printers: list[str]) -> None:
        super().__init__(window)
        self.window_, self.backend = window, window.backend
        self.setWindowTitle("设置（需主管）")
        self.setMinimumWidth(560)
        values = current["settings"]
        form = QFormLayout(self)
        self.supervisor = QLineEdit(objectName="settings_supervisor")
        self.password = QLineEdit(objectName="settings_password", echoMode=QLineEdit.Password)
        self.region = self._combo(region_choices(), values.get("region"))
        self.kind = self._combo(FACILITY_KIND_NAMES, values.get("facility.kind"))
        self.level = self._combo({"": "—", **{str(k): v for k, v in LEVEL_NAMES.items()}}, values.get("facility.level", ""))
        self.grade = self._combo({"": "—", **GRADE_NAMES}, values.get("facility.grade", ""))
        self.tier = self._combo({"": "—", **TIER_NAMES}, values.get("facility.tier", ""))
        self.facility_id = QLineEdit(values.get("facility.id", ""), objectName="settings_facility_id")
        self.facility_name = QLineEdit(values.get("facility.name", ""), objectName="settings_facility_name")
        self.printer = self._combo({"": "不打印，只保存 PDF", **{p: p for p in printers}}, values.get("printer.name", ""))
        self.layout_ = self._combo({"roll": "80 毫米卷纸小票", "a5": "A5 结算单"}, values.get("printer.layout", "roll"))
        self.figure = QLineEdit(objectName="settings_figure", placeholderText="地区/名称/年份=数值，如 yunfu/avg_wage/2024=90000")
        self.hub = QLineEdit(values.get("sync.hub", ""), objectName="settings_hub", placeholderText="http://中心地址:8700，留空为单机")
        self.token = QLineEdit(objectName="settings_token", echoMode=QLineEdit.Password,
                               placeholderText="已设置（留空不变）" if values.get("sync.token") else "中心登记收款台时给出的令牌")
        from ..services.offline import DEFAULTS

        self.offline = {key: QLineEdit(values.get(key, DEFAULTS[key]), objectName=f"settings_{key}") for key in DEFAULTS}
        self.message = MessageLine()
        for title, widget in (("主管", self.supervisor), ("主管密码", self.password), ("统筹地区", self.region),
                              ("机构类别", self.kind), ("机构级别", self.level), ("等级", self.grade), ("层级", self.tier),
                              ("机构编码", self.facility_id), ("机构名称", self.facility_name), ("打印机", self.printer),
                              ("票据版式", self.layout_), ("录入公布数值", self.figure), ("医保中心地址", self.hub),
                              ("收款台令牌", self.token), ("离线宽限（分钟）", self.offline["offline.grace_minutes"]),
                              ("离线每次统筹上限", self.offline["offline.per_visit_fund"]),
                              ("离线每人累计上限", self.offline["offline.per_member_fund"]),
                              ("离线最长（小时）", self.offline["offline.max_hours"])):
            form.addRow(title, widget)
        form.addRow(self.message)
        wizard = QPushButton("重新运行设置向导", objectName="settings_wizard")
        wizard.setAutoDefault(False)
        wizard.clicked.connect(lambda: self.run_wizard(values))
        form.addRow(wizard)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.chain(self.supervisor, self.password)
        self.chain(self.facility_id, self.facility_name, self.figure)

    def run_wizard(self, values: dict) -> None:
        from .wizard import SetupWizard

        self.wizard = SetupWizard(self.backend, first=False, current=values, parent=self)
        self.wizard.accepted.connect(lambda: (self.window_.message.ok("设置向导已完成"), self.window_.refresh_status(),
                                              self.reject()))
        self.wizard.open()

    @staticmethod
    def _combo(choices: dict, current) -> QComboBox:
        box = QComboBox()
        for key, text in choices.items():
            box.addItem(text, key)
        index = box.findData(current if current is not None else "")
        box.setCurrentIndex(max(index, 0))
        return box

    def changes(self) -> dict[str, str]:
        return {"region": self.region.currentData(), "facility.kind": self.kind.currentData(),
                "facility.level": self.level.currentData(), "facility.grade": self.grade.currentData(),
                "facility.tier": self.tier.currentData(), "facility.id": self.facility_id.text().strip(),
                "facility.name": self.facility_name.text().strip(), "printer.name": self.printer.currentData(),
                "printer.layout": self.layout_.currentData(), "sync.hub": self.hub.text().strip(),
                **({"sync.token": self.token.text().strip()} if self.token.text().strip() else {}),
                **{key: edit.text().strip() for key, edit in self.offline.items()}}

    def submit(self) -> None:
        self.save()

    def save(self) -> None:
        name, password, changes, figure = self.supervisor.text().strip(), self.password.text(), self.changes(), self.figure.text().strip()

        def work(db):
            parsed = None
            if figure:
                key, sep, value = figure.partition("=")
                parts = key.strip().split("/")
                if not sep or len(parts) != 3:
                    raise InputError("公布数值", figure, "应写成 地区/名称/年份=数值")
                parsed = (*parts, parse_amount_field(value.strip(), f"published.{key.strip()}"))
            settings.change(db, name, password, changes)
            if parsed:
                settings.publish(db, name, password, *parsed)
            return True

        self.backend.submit(work, lambda _: self.accept(), lambda exc: self.message.error(message_of(exc)))
