"""The member panel: look up by ID number, psn_no or name (live), then show who and this year's usage."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from ..domain.money import to_fen
from ..services.card import MemberCard, MemberMatch, MemberMatches
from .backend import Backend
from .common import MessageLine, message_of, yuan


class MemberPanel(QGroupBox):
    chosen = Signal(object)  # MemberCard
    cleared = Signal()

    def __init__(self, backend: Backend, today: dt.date) -> None:
        super().__init__("参保人  [F1]")
        self.backend, self.today, self.card = backend, today, None
        self._seq = 0
        self.lookup = QLineEdit(placeholderText="身份证号 / 人员编号 / 姓名或拼音首字母；扫码后回车")
        self.lookup.setObjectName("member_lookup")
        self.results = QListWidget()
        self.results.setObjectName("member_results")
        self.results.setWordWrap(True)  # a narrow panel wraps a row: the psn_no is never cut off
        self.results.setTextElideMode(Qt.ElideNone)
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.results.setResizeMode(QListWidget.Adjust)
        self.results.setAlternatingRowColors(True)  # two lines a member: the shading shows where one ends
        # The panel is never narrower than a whole psn_no line (20 digits) and the list's scroll bar.
        self.results.setMinimumWidth(self.fontMetrics().horizontalAdvance("人员编号 " + "0" * 20) + 40)
        self.results.hide()
        self.message = MessageLine()
        self.timer = QTimer(self, singleShot=True, interval=250)
        self.timer.timeout.connect(lambda: self.search(pick=False))
        self.lookup.textEdited.connect(lambda _: self.timer.start())
        self.lookup.returnPressed.connect(lambda: self.search(pick=True))
        self.results.itemActivated.connect(self._activated)
        self.lookup.installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.lookup)
        layout.addWidget(self.results, 1)  # while the cashier chooses, the list has the panel (the card waits)
        layout.addWidget(self.message)
        self.card_box = QWidget(objectName="member_card")
        self.card_box.setLayout(self._card_form())
        layout.addWidget(self.card_box)
        self.stretch = QWidget()
        layout.addWidget(self.stretch, 1)

    def _card_form(self) -> QFormLayout:
        """The card's rows: who, what they may use, this year's usage against the cap."""
        self.fields = {
            key: QLabel()
            for key in (
                "name",
                "certno",
                "age",
                "insurance",
                "status",
                "programmes",
                "designated",
                "balance",
                "family",
                "deductible",
                "pool",
            )
        }
        for label in self.fields.values():
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            label.setWordWrap(True)
        self.fields["name"].setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.cap_bar = QProgressBar()
        self.cap_bar.setObjectName("cap_bar")
        self.cap_bar.setTextVisible(False)
        self.cap_bar.setMaximumHeight(10)
        self.cap_text = QLabel()
        self.cap_text.setObjectName("cap_text")
        form = QFormLayout()
        for key, title in (
            ("name", "姓名"),
            ("certno", "证件号"),
            ("age", "年龄 / 性别"),
            ("insurance", "险种"),
            ("status", "人员类别"),
            ("programmes", "两病登记"),
            ("designated", "定点机构"),
            ("balance", "账户余额"),
            ("family", "共济账户"),
            ("deductible", "起付线已累计"),
            ("pool", "统筹已支付"),
        ):
            form.addRow(title, self.fields[key])
        form.addRow("年度限额", self.cap_text)
        form.addRow("", self.cap_bar)
        return form

    # ---------------------------------------------------------------- lookup

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        if (
            obj is self.lookup
            and event.type() == event.Type.KeyPress
            and event.key() == Qt.Key_Down
            and self.results.isVisible()
        ):
            self.results.setFocus()
            self.results.setCurrentRow(0)
            return True
        return super().eventFilter(obj, event)

    def search(self, pick: bool) -> None:
        """Look up what was typed: live (``pick`` False) or on Enter, where only an exact ID or psn_no is taken."""
        self.timer.stop()
        text = self.lookup.text().strip()
        if not text:
            self.results.clear()
            self._listing(False)
            return
        self._seq += 1
        seq = self._seq
        self.backend.submit(
            lambda desk: desk.find_members(text, self.today),
            lambda found: self._found(seq, found, pick),
            lambda exc: self._failed(seq, exc),
        )

    def _found(self, seq: int, found: MemberMatches, pick: bool) -> None:
        if seq != self._seq:
            return  # a newer search is on its way
        self.message.clear()
        self.results.clear()
        for match in found.members:
            self.results.addItem(_row(match))
        self._listing(bool(found.members))
        if found.more:
            self.message.error(f"只显示前 {len(found.members)} 位：请多输入姓名或证件号缩小范围")
        if not found.members:
            self.message.error(f"没有找到“{self.lookup.text().strip()}”：请核对证件号、人员编号或姓名")
        elif pick and found.exact:  # the ID number or psn_no of one member: a scan ends here
            self.choose(found.members[0].psn_no)
        elif pick:  # a name: the cashier chooses from the list (↓ and Enter); Enter never takes the first alone
            self.results.setCurrentRow(0)
            self.results.setFocus()

    def _failed(self, seq: int, exc: BaseException) -> None:
        if seq == self._seq:
            self._listing(False)
            self.message.error(message_of(exc))

    def close_list(self) -> None:
        self._listing(False)

    def _listing(self, shown: bool) -> None:
        """The matches in the card's place while the cashier chooses; the card back when they are gone."""
        self.results.setVisible(shown)
        self.card_box.setVisible(not shown)
        self.stretch.setVisible(not shown)

    def _activated(self, item: QListWidgetItem) -> None:
        self.choose(item.data(Qt.UserRole))

    def choose(self, psn_no: str) -> None:
        self.backend.submit(
            lambda desk: desk.member_card(psn_no, self.today),
            self.show_card,
            lambda exc: self.message.error(message_of(exc)),
        )

    def show_card(self, card: MemberCard) -> None:
        self.card = card
        self._listing(False)
        self.message.clear()
        f = self.fields
        f["name"].setText(card.name)
        f["certno"].setText(card.masked_certno)
        f["age"].setText(f"{card.age} 岁 / {card.sex}")
        f["insurance"].setText("职工基本医疗保险" if card.insutype == "310" else card.insutype)
        f["status"].setText(f"{card.status}  {card.scheme}")
        f["programmes"].setText("、".join(card.programmes) or "无")
        f["designated"].setText(card.designated_facility or "未选定")
        f["balance"].setText(yuan(card.balance))
        f["family"].setText(
            "\n".join(  # a payer a line: name, relation from the patient's side, balance
                f"{p.name}（{p.relation}，余额 {yuan(p.balance)}）" + ("" if p.allowed else " 本地区不可共济")
                for p in card.family
            )
            or "无"
        )
        f["deductible"].setText(yuan(card.deductible_paid))
        f["pool"].setText(yuan(card.pool_paid))
        if card.annual_cap:
            self.cap_bar.setRange(0, to_fen(card.annual_cap))  # in fen: the bar's steps are integers
            self.cap_bar.setValue(to_fen(min(card.pool_paid, card.annual_cap)))
            self.cap_text.setText(f"{yuan(card.annual_cap)}，剩余 {yuan(card.cap_left)}")
        else:
            self.cap_bar.setRange(0, 1)
            self.cap_bar.setValue(0)
            self.cap_text.setText("本机构不适用普通门诊统筹" if card.annual_cap is None else "0.00")
        self.chosen.emit(card)

    def reset(self) -> None:
        self.card = None
        self.lookup.clear()
        self.results.clear()
        self._listing(False)
        self.message.clear()
        for label in self.fields.values():
            label.clear()
        self.cap_bar.reset()
        self.cap_text.clear()
        self.cleared.emit()


def _row(match: MemberMatch) -> QListWidgetItem:
    """Two lines: who (name, sex, age) and the masked ID number, then the whole psn_no."""
    text = f"{match.name}　{match.sex}　{match.age} 岁　{match.masked_certno}\n人员编号 {match.psn_no}"
    item = QListWidgetItem(text)
    item.setToolTip(text.replace("\n", "　"))
    item.setData(Qt.UserRole, match.psn_no)
    return item
