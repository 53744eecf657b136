"""The payment panel: 应收, 实收 and 找零 large, F12, the payer's choices, the split and its detail; F10's text."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..services.card import MemberCard
from ..services.desk import Shown
from .common import FigureLabel, MessageLine, relative_font, yuan
from .due_box import DueBox
from .screen_fit import fit_to_screen

# Each row: its widget's name (the platform's field name, as on the receipt), its title, and the figure it shows.
ROWS = (
    ("medfee_sumamt", "医疗费总额", "total"),
    ("fulamt_ownpay_amt", "全自费", "fully_self_paid"),
    ("preselfpay_amt", "先行自付", "self_pay_first"),
    ("inscp_scp_amt", "符合政策范围", "in_scope"),
    ("act_pay_dedc", "本次起付线", "deductible"),
    ("hifp_pay", "统筹基金支付", "fund"),
    ("acct_pay", "个人账户支付", "own_account"),
    ("acct_mulaid_pay", "共济账户支付", "family_account"),
    ("psn_cash_pay", "现金支付", "cash"),
    ("balc", "账户余额（结算后）", "balance_after"),
    ("cap_left", "年度限额剩余", "cap_left"),
)
BIG = {"hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"}


class PaymentPanel(QGroupBox):
    """应收 / 实收 / 找零 on top, the F12 button under them, then the payer's choices and the split's detail."""

    changed = Signal()
    confirm_requested = Signal()
    explain_requested = Signal()

    def __init__(self) -> None:
        super().__init__("结算")
        self.shown: Shown | None = None
        self.due_box = DueBox()
        self.tendered, self.change = self.due_box.tendered, self.due_box.change
        self.tendered.returnPressed.connect(self.confirm_requested.emit)
        self.confirm = QPushButton("结算  [F12]")
        self.confirm.setObjectName("confirm")
        self.confirm.setStyleSheet("padding: 6px;")
        relative_font(self.confirm, 1.2)
        self.confirm.clicked.connect(self.confirm_requested.emit)
        self.message = MessageLine()
        self.use_account = QCheckBox("个人账户支付  [F3]", checked=True)
        self.use_account.setObjectName("use_account")
        self.use_account.toggled.connect(lambda _: self.changed.emit())
        self.family = QComboBox()
        self.family.setObjectName("family_payer")
        self.family.setSizeAdjustPolicy(QComboBox.AdjustToContents)  # the payer's name, relation and balance whole
        self.family.currentIndexChanged.connect(lambda _: self.changed.emit())
        choices = QFormLayout()
        choices.addRow(self.use_account)
        choices.addRow(QLabel("共济支付人  [F4]"))  # the payer line under its title, across the panel: never cut off
        choices.addRow(self.family)
        layout = QVBoxLayout(self)
        layout.addWidget(self.due_box)
        layout.addWidget(self.confirm)
        layout.addWidget(self.message)
        layout.addLayout(choices)
        layout.addWidget(self._detail(), 1)
        self.set_member(None)

    def _detail(self) -> QScrollArea:
        """The split and how it came about; scrolls when the screen is short, never pushes F12 off it."""
        self.values = {}
        form = QFormLayout()
        for key, title, _ in ROWS:
            label = FigureLabel(1.3) if key in BIG else QLabel("—")
            label.setObjectName(f"pay_{key}")
            label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.values[key] = label
            form.addRow(title, label)
        self.ratio = QLabel()
        self.ratio.setWordWrap(True)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #8a5300;")
        self.explain = QPushButton("计算说明  [F10]")
        self.explain.setFocusPolicy(Qt.NoFocus)
        self.explain.clicked.connect(self.explain_requested.emit)
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(form)
        column.addWidget(self.ratio)
        column.addWidget(self.warnings)
        column.addWidget(self.explain)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("pay_detail")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setFocusPolicy(Qt.NoFocus)
        scroll.setWidget(inner)
        return scroll

    def set_member(self, card: MemberCard | None) -> None:
        self.family.blockSignals(True)
        self.family.clear()
        self.family.addItem("不使用共济账户", None)
        for payer in card.family if card else ():
            if payer.allowed:
                self.family.addItem(f"{payer.name}（{payer.relation}，余额 {yuan(payer.balance)}）", payer.psn_no)
        self.family.view().setMinimumWidth(self.family.view().sizeHintForColumn(0) + 24)
        self.family.setEnabled(self.family.count() > 1)
        self.family.setMinimumWidth(self.family.sizeHint().width())  # the longest line whole: the panel widens
        self.family.blockSignals(False)
        self.use_account.setEnabled(card is None or card.scheme == "统账结合")

    @property
    def family_payer(self) -> str | None:
        return self.family.currentData()

    def choose_payer(self, psn_no: str | None) -> None:
        """Select a payer by number (Ctrl+Z puts the choice back); one no longer offered leaves the list as it is."""
        index = self.family.findData(psn_no)
        if index >= 0:
            self.family.setCurrentIndex(index)

    @property
    def quote(self) -> dict | None:
        """The quote shown, in the platform's field names: what the receipt will print if confirmed."""
        return self.shown.record if self.shown else None

    def show_quote(self, shown: Shown | None) -> None:
        self.shown = shown
        for key, _, figure in ROWS:
            self.values[key].setText(yuan(getattr(shown, figure)) if shown else "—")
        if shown and shown.family_payer:
            self.values["acct_mulaid_pay"].setToolTip(f"由 {self.family.currentText()} 的账户支付")
        self.ratio.setText(f"统筹支付比例 {shown.fund_ratio * 100:.0f}%　规则 {shown.rule_version}" if shown else "")
        self.warnings.setText("\n".join(shown.warnings) if shown else "")
        self.due_box.show_due(shown.cash if shown else None)

    def cash(self) -> Decimal | None:
        return self.shown.cash if self.shown else None

    def update_change(self) -> None:
        self.due_box.update_change()

    def show_settled(self, name: str, cash: Decimal, tendered: Decimal | None) -> None:
        self.due_box.show_settled(name, cash, tendered)

    def start_next(self) -> None:
        """The next member has started: a settlement's figures give way."""
        if self.due_box.settled:
            self.due_box.start_next()

    def reset(self) -> None:
        self.due_box.start_next()
        self.use_account.setChecked(True)
        self.show_quote(None)
        self.set_member(None)


class ExplanationDialog(QDialog):
    """Every step of the calculation, each line citing its article."""

    def __init__(self, lines: list[str], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("计算说明")
        fit_to_screen(self, 760, 420)
        text = QPlainTextEdit("\n".join(lines))
        text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)
