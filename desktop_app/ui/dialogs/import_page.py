"""后台 · 导入: members or the catalogue from CSV or Excel; check first (every bad row named), then one import.

Both steps run in the worker.  Their progress comes back through :class:`Progress`, a small QObject whose
signal the worker emits: Qt queues it to the window's thread, so the bar moves while the window stays live.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...services.imports import Imported, ImportRefused, Preview
from ..common import ERROR_STYLE, MessageLine, message_of
from .authorise import ask_supervisor

SHOWN_BAD = 500  # bad rows listed; the count says how many more

HELP = {
    "members": "第一行为表头。必填：人员编号、身份证号、姓名、人员类别（在职/退休）。"
    "可选：性别、出生日期（留空按身份证号）、参保方式（统账结合/单建统筹）、公务员（是/否）、两病（高血压、糖尿病）、"
    "定点机构、退休日期、个人账户余额（元）。已有的人员编号更新资料，个人账户余额以账本为准、不变。",
    "catalogue": "第一行为表头。必填：编码、名称、类别（甲/乙/丙）、价格（元）。"
    "可选：自付比例（0 到 1）、限价、单位、两病、项目类型（drug/service/material…）、个账可付（1/0）、条码、"
    "规格、生产厂家、追溯码管理（是/否）、包装数（一个销售单位含几个最小包装）。已有的编码按文件更新。",
    "diagnoses": "医保平台下载的疾病诊断目录（1307）。第一行为表头，"
    "必填：诊断代码（diag_code）、诊断名称（diag_name），其余列不导入。已有的诊断代码按文件更新名称。",
}


class Progress(QObject):
    """``report(stage, done, total)`` from the worker; ``moved`` arrives in the window's thread."""

    moved = Signal(str, int, int)

    def report(self, stage: str, done: int, total: int) -> None:
        self.moved.emit(stage, done, total)


class ImportPage(QWidget):
    """Choose a file, check it (Enter), read the preview and the bad rows, then import it (F12, a supervisor)."""

    imported = Signal(object)  # Imported
    progressed = Signal(str, int, int)  # each progress report, as shown (stage, done, total)

    def __init__(self, backend, kind: str, parent=None) -> None:
        super().__init__(parent)
        self.backend, self.kind = backend, kind
        self.preview: Preview | None = None
        self.checked_path: str | None = None
        self.running = False
        self.path = QLineEdit(objectName=f"import_{kind}_path", placeholderText="文件路径（.csv 或 .xlsx），回车检查")
        self.path.returnPressed.connect(self.check)
        self.path.textEdited.connect(lambda _: self._forget())
        choose = QPushButton("选择文件…  [Ctrl+O]", autoDefault=False)
        choose.clicked.connect(self.choose)
        self.check_button = QPushButton("检查  [Enter]", autoDefault=False)
        self.check_button.clicked.connect(self.check)
        self.go = QPushButton("导入  [F12]", objectName=f"import_{kind}_go", enabled=False)
        self.go.clicked.connect(self.ask_supervisor)
        self.bar = QProgressBar(objectName=f"import_{kind}_bar", textVisible=True)
        self.bar.hide()
        self.stage = QLabel()
        self.summary = QLabel(wordWrap=True)
        self.table = self._table()
        self.bad_title = QLabel(styleSheet=ERROR_STYLE, wordWrap=True)
        self.bad = QListWidget(objectName=f"import_{kind}_bad")
        self.message = MessageLine()
        self._lay_out(choose)
        QShortcut(QKeySequence("Ctrl+O"), self, activated=self.choose, context=Qt.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("F12"), self, activated=self.ask_supervisor, context=Qt.WidgetWithChildrenShortcut)
        self._show_bad(())

    def _table(self) -> QTableWidget:
        table = QTableWidget(0, 0, objectName=f"import_{self.kind}_preview")
        table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def _lay_out(self, choose: QPushButton) -> None:
        help_text = QLabel(HELP[self.kind], wordWrap=True)
        help_text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(choose)
        row.addWidget(self.check_button)
        progress = QHBoxLayout()
        progress.addWidget(self.bar, 1)
        progress.addWidget(self.stage)
        root = QVBoxLayout(self)
        root.addWidget(help_text)
        root.addLayout(row)
        root.addLayout(progress)
        root.addWidget(self.summary)
        root.addWidget(self.table, 3)
        root.addWidget(self.bad_title)
        root.addWidget(self.bad, 2)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addStretch()
        bottom.addWidget(self.go)
        root.addLayout(bottom)

    # ---------------------------------------------------------------- choosing and checking

    def choose(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "选择要导入的文件", "", "表格 (*.csv *.xlsx);;所有文件 (*)")
        if name:
            self.path.setText(name)
            self.check()

    def _forget(self) -> None:
        """The path changed: what was checked no longer counts."""
        self.preview, self.checked_path = None, None
        self.go.setEnabled(False)

    def _progress(self) -> Progress:
        progress = Progress()  # no parent: it lives as long as the worker's task holds it
        progress.moved.connect(self._moved)
        return progress

    def _busy(self, busy: bool) -> None:
        self.running = busy
        self.check_button.setEnabled(not busy)
        self.path.setReadOnly(busy)
        self.go.setEnabled(not busy and self.preview is not None and self.preview.ok)
        if busy:
            self.bar.setRange(0, 0)
            self.bar.show()
            self.message.clear()

    def _moved(self, stage: str, done: int, total: int) -> None:
        self.bar.setRange(0, total)  # 0 to 0 while the total is unknown: a busy bar
        self.bar.setValue(done)
        self.stage.setText(f"{stage} {done}/{total}" if total else f"{stage} {done} 行…")
        self.progressed.emit(stage, done, total)

    def check(self) -> None:
        if self.running:  # one check or import at a time
            return
        text = self.path.text().strip()
        if not text:
            self.message.error("请先输入或选择要导入的文件（Ctrl+O）")
            self.path.setFocus()
            return
        kind, progress = self.kind, self._progress()
        self._forget()
        self._busy(True)
        self.backend.submit(
            lambda desk: desk.preview_import(kind, Path(text), progress.report),
            lambda preview: self._checked(text, preview),
            self._failed,
        )

    def _checked(self, text: str, preview: Preview) -> None:
        self.preview, self.checked_path = preview, text
        self._busy(False)
        self._show_preview(preview)
        if preview.ok:
            self.go.setFocus()
        else:
            self.path.setFocus()

    def _show_preview(self, preview: Preview) -> None:
        self.table.setColumnCount(len(preview.columns))
        self.table.setHorizontalHeaderLabels(preview.columns)
        self.table.setRowCount(len(preview.rows))
        for r, cells in enumerate(preview.rows):
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        what = f"{preview.file}：共 {preview.total} 行"
        if preview.ok:
            what += f"，新增 {preview.new}，更新 {preview.updated}。下表为前 {len(preview.rows)} 行；无误请按 F12 导入"
        if preview.ignored:
            what += f"。未识别的列（不导入）：{'、'.join(preview.ignored)}"
        self.summary.setText(what)
        self._show_bad(preview.bad)

    def _show_bad(self, bad) -> None:
        self.bad.clear()
        self.bad.setVisible(bool(bad))
        self.bad_title.setVisible(bool(bad))
        if not bad:
            return
        rows = len({b.row for b in bad})
        self.bad_title.setText(f"有 {len(bad)} 处错误（{rows} 行），未写入任何数据。请在文件中改正后重新检查：")
        self.bad.addItems([b.text() for b in bad[:SHOWN_BAD]])
        if len(bad) > SHOWN_BAD:
            self.bad.addItem(f"……另有 {len(bad) - SHOWN_BAD} 处未列出")

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, ImportRefused):  # the file changed since its check: the bad rows it has now
            self.preview = exc.preview
            self._show_preview(exc.preview)
        self._busy(False)
        self.bar.hide()
        self.message.error(f"未导入：{message_of(exc)}")
        self.path.setFocus()

    # ---------------------------------------------------------------- importing

    def ask_supervisor(self) -> None:
        if self.running:
            return
        if self.preview is None or not self.preview.ok or not self.go.isEnabled():
            self.message.error("请先检查文件（回车）；有错误的文件不能导入")
            return
        action = f"导入{self.preview.file}（{self.preview.total} 行）"
        self.supervisor = ask_supervisor(self, action, self._run, self.path)

    def _run(self, name: str, password: str) -> None:
        kind, text, progress = self.kind, self.checked_path, self._progress()
        self._busy(True)
        self.go.setEnabled(False)
        self.backend.submit(
            lambda desk: desk.run_import(kind, Path(text), name, password, progress.report), self._done, self._failed
        )

    def _done(self, done: Imported) -> None:
        self._busy(False)
        self._forget()
        self.message.ok(f"已导入 {done.file}：共 {done.total} 行，新增 {done.new}，更新 {done.updated}")
        self.imported.emit(done)
        self.path.setFocus()
