"""The settlement preview and the payment: fund, own account, family account, cash, change; confirm."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from ..domain.errors import InputError
from ..services.card import MemberCard
from ..services.cart import change_due
from ..services.desk import Shown
from .common import MessageLine, yuan

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
    changed = Signal()
    confirm_requested = Signal()
    explain_requested = Signal()

    def __init__(self) -> None:
        super().__init__("结算")
        self.shown: Shown | None = None
        self.values = {}
        form = QFormLayout()
        for key, title, _ in ROWS:
            label = QLabel("—")
            label.setObjectName(f"pay_{key}")
            label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            if key in BIG:
                label.setStyleSheet("font-size: 15pt; font-weight: bold;")
            self.values[key] = label
            form.addRow(title, label)
        self.ratio = QLabel()
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #8a5300;")
        self.use_account = QCheckBox("个人账户支付  [F3]", checked=True)
        self.use_account.setObjectName("use_account")
        self.use_account.toggled.connect(lambda _: self.changed.emit())
        self.family = QComboBox()
        self.family.setObjectName("family_payer")
        self.family.setSizeAdjustPolicy(QComboBox.AdjustToContents)  # the payer's name, relation and balance whole
        self.family.currentIndexChanged.connect(lambda _: self.changed.emit())
        self.tendered = QLineEdit(placeholderText="不填表示刚好")
        self.tendered.setObjectName("tendered")
        self.tendered.textChanged.connect(lambda _: self.update_change())
        self.tendered.returnPressed.connect(self.confirm_requested.emit)
        self.change = QLabel("—")
        self.change.setObjectName("change")
        self.change.setStyleSheet("font-size: 15pt; font-weight: bold;")
        self.explain = QPushButton("计算说明  [F10]")
        self.explain.clicked.connect(self.explain_requested.emit)
        self.confirm = QPushButton("确认结算并打印  [F12]")
        self.confirm.setObjectName("confirm")
        self.confirm.setStyleSheet("font-size: 14pt; font-weight: bold; padding: 8px;")
        self.confirm.clicked.connect(self.confirm_requested.emit)
        self.message = MessageLine()
        pay = QFormLayout()
        pay.addRow(self.use_account)
        pay.addRow(QLabel("共济支付人  [F4]"))  # the payer line under its title, across the panel: never cut off
        pay.addRow(self.family)
        pay.addRow("实收现金  [F11]", self.tendered)
        pay.addRow("找零", self.change)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.ratio)
        layout.addWidget(self.warnings)
        layout.addWidget(self.explain)
        layout.addLayout(pay)
        layout.addWidget(self.confirm)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.set_member(None)

    def set_member(self, card: MemberCard | None) -> None:
        self.family.blockSignals(True)
        self.family.clear()
        self.family.addItem("不使用共济账户", None)
        for payer in card.family if card else ():
            if payer.allowed:
                self.family.addItem(f"{payer.name}（{payer.relation}，余额 {yuan(payer.balance)}）", payer.psn_no)
        self.family.setEnabled(self.family.count() > 1)
        self.family.setMinimumWidth(self.family.sizeHint().width())  # the longest line whole: the panel widens
        self.family.blockSignals(False)
        self.use_account.setEnabled(card is None or card.scheme == "统账结合")

    @property
    def family_payer(self) -> str | None:
        return self.family.currentData()

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
        self.update_change()

    def cash(self) -> Decimal | None:
        return self.shown.cash if self.shown else None

    def update_change(self) -> None:
        cash = self.cash()
        if cash is None:
            self.change.setText("—")
            return
        try:
            due = change_due(cash, self.tendered.text())
        except InputError as exc:  # shown beside the field, not raised
            self.change.setText("—")
            self.change.setToolTip(str(exc))
            return
        self.change.setText(yuan(due if due is not None else Decimal("0")))

    def reset(self) -> None:
        self.tendered.clear()
        self.use_account.setChecked(True)
        self.show_quote(None)
        self.set_member(None)


class ExplanationDialog(QDialog):
    """Every step of the calculation, each line citing its article."""

    def __init__(self, lines: list[str], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("计算说明")
        self.resize(760, 420)
        text = QPlainTextEdit("\n".join(lines))
        text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)
