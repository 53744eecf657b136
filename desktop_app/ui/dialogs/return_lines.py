"""部分退费, the first step: which lines of a settlement the member returns (the rest are kept and settled again)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout

from ...services.desk import RefundSummary
from ..common import MessageLine, yuan
from ..screen_fit import fit_to_screen


class _Lines(QListWidget):
    """The settlement's lines: the arrows move, Space ticks a line to return, Enter goes on."""

    done = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        item = self.currentItem()
        if event.key() == Qt.Key_Space and item is not None:
            item.setCheckState(Qt.Unchecked if item.checkState() == Qt.Checked else Qt.Checked)
        elif event.key() in (Qt.Key_Return, Qt.Key_Enter):
            self.done.emit()
        else:
            super().keyPressEvent(event)


class ReturnLinesDialog(QDialog):
    """Tick the lines returned; Enter: at least one ticked and one left, else a message saying what to do."""

    def __init__(self, summary: RefundSummary, parent=None) -> None:
        super().__init__(parent)
        self.summary = summary
        self.setWindowTitle(f"部分退费：{summary.name}　结算号 {summary.uuid[:8]}")
        fit_to_screen(self, 560, 420)
        self.lines = _Lines(objectName="return_lines")
        for number, line in enumerate(summary.items, 1):
            item = QListWidgetItem(f"{number}. {line.name}　×{line.quantity}　{yuan(line.amount)}")
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Unchecked)
            self.lines.addItem(item)
        self.lines.setCurrentRow(0)
        self.lines.done.connect(self.submit)
        self.message = MessageLine()
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel("勾选患者退回的项目（↑↓ 选择，空格勾选，回车下一步）。未勾选的项目保留，按现行规则重新结算。")
        )
        layout.addWidget(self.lines)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.lines.setFocus()

    def returned(self) -> list[int]:
        return [i for i in range(self.lines.count()) if self.lines.item(i).checkState() == Qt.Checked]

    def kept(self) -> list[int]:
        return [i for i in range(self.lines.count()) if i not in self.returned()]

    def submit(self) -> None:
        if not self.returned():
            self.message.error("请用空格勾选患者退回的项目")
        elif not self.kept():
            self.message.error("全部退回请关闭本窗口，按 F8 全部退费")
        else:
            self.accept()

    def details(self) -> list[tuple[str, str]]:
        """The supervisor's prompt: whose settlement, what comes back, what is settled again."""
        s, items = self.summary, self.summary.items

        def listed(numbers: list[int]) -> str:
            return "；".join(f"{items[i].name} ×{items[i].quantity}  {yuan(items[i].amount)}" for i in numbers)

        return [
            ("参保人", f"{s.name}　证件号 {s.masked_certno}"),
            ("原结算", f"{s.created_at[11:19]}　收款员 {s.cashier}　结算号 {s.uuid[:8]}　医疗费总额 {yuan(s.total)}"),
            ("退回项目", listed(self.returned())),
            ("保留项目", listed(self.kept())),
            ("办理方式", f"原结算全部冲销，保留项目重新结算；现金差额从收款员 {s.cashier} 的应交现金中扣除"),
        ]
