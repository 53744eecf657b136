"""Esc steps back one level, and Ctrl+Z brings back a visit Esc cleared: nothing typed is lost by one key.

Esc closes an open list, else clears the focused field, else leaves the field for the member box;
there, Esc clears the visit (the next member).  The cleared visit is kept as a :class:`VisitSnapshot`
until the next member starts, and Ctrl+Z (anywhere in the window, a text field included) puts the
member, the cart's lines, the payer's choices and the typed cash back.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLineEdit

from ..services.card import MemberCard
from ..services.cart import CartLine


@dataclass
class VisitSnapshot:
    card: MemberCard | None
    lines: list[CartLine]
    visit_kind: str
    approval: object | None
    use_account: bool
    family_payer: str | None
    tendered: str
    prescription: dict | None
    diagnoses: list = field(default_factory=list)

    def describe(self) -> str:
        who = self.card.name if self.card else "未选参保人"
        return f"{who}，{len(self.lines)} 个项目"


def take(window) -> VisitSnapshot | None:
    """The open visit as it stands, or None when there is nothing to lose."""
    cart = window.cart
    card = window.member.card if cart.psn_no else None
    prescription = window.prescription.data() if window.prescription.filled() else None
    tendered = "" if window.payment.due_box.settled else window.payment.tendered.text()
    if card is None and not cart.lines and not tendered.strip() and prescription is None and not cart.diagnoses:
        return None
    return VisitSnapshot(
        card=card,
        lines=copy.deepcopy(cart.lines),
        visit_kind=cart.visit_kind,
        approval=cart.approval,
        use_account=window.payment.use_account.isChecked(),
        family_payer=window.payment.family_payer,
        tendered=tendered,
        prescription=prescription,
        diagnoses=list(cart.diagnoses),
    )


def restore(window, snap: VisitSnapshot) -> None:
    """Put ``snap`` back into the (empty) window: as it was when Esc cleared it."""
    if snap.card is not None:
        window.member.show_card(snap.card)  # the member panel says chosen: the window takes the member
    cart = window.cart
    cart.lines[:] = snap.lines
    cart.approval = snap.approval
    cart.diagnoses[:] = snap.diagnoses
    window.diagnosis.refresh()
    visit = window.visit
    visit.kind.setCurrentIndex(max(visit.kind.findData(snap.visit_kind), 0))
    visit.refresh()
    window.payment.use_account.setChecked(snap.use_account)
    window.payment.choose_payer(snap.family_payer)
    window.payment.tendered.setText(snap.tendered)
    if snap.prescription is not None:
        for key, edit in window.prescription.edits.items():
            edit.setText(snap.prescription.get(key, ""))
        window.prescription.issued.setText(snap.prescription["issued"])
        window.prescription.valid_days.setValue(snap.prescription["valid_days"])
    window.request_quote()


class UndoKey(QObject):
    """Ctrl+Z in a text field: while a cleared visit is kept, it comes back (else the field's own undo)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if (
            event.type() == QEvent.KeyPress
            and event.matches(QKeySequence.StandardKey.Undo)
            and self.window.kept is not None
        ):
            self.window.undo_clear()
            return True
        return super().eventFilter(obj, event)


class StepBack:
    """The main window's Esc and Ctrl+Z (a mixin: ``self`` is the MainWindow)."""

    kept: VisitSnapshot | None = None

    def escape(self) -> None:
        """Esc: one level back (see the module's docstring)."""
        if self.visit.suggestions.isVisible():
            self.visit.suggestions.hide()
            self.visit.entry.setFocus()
            return
        if self.member.results.isVisible():
            self.member.close_list()
            self.member.lookup.setFocus()
            return
        focused = self.focusWidget()
        if isinstance(focused, QLineEdit) and not focused.isReadOnly():
            before = focused.text()
            focused.clear()  # undoable in the field (Ctrl+Z)
            if focused.text() != before:  # a masked field's empty text is its separators
                return
        if focused is not self.member.lookup:
            self.member.lookup.setFocus()
            return
        self.clear_visit()

    def clear_visit(self) -> None:
        """The next member: the visit is cleared, and kept for Ctrl+Z if it held anything."""
        if self.committing:
            return  # being settled: it clears itself when the settlement is done (and is never kept)
        snap = take(self)
        self.reset()
        if snap is not None:
            self.kept = snap
            self.message.ok(f"已清空本次就诊（{snap.describe()}）：按 Ctrl+Z 恢复")

    def undo_clear(self) -> None:
        snap, self.kept = self.kept, None
        if snap is None:
            return
        restore(self, snap)
        self.message.ok(f"已恢复本次就诊（{snap.describe()}）")

    def next_started(self) -> None:
        """The next member has started: the last visit's success line, change and kept copy give way."""
        self.kept = None
        if self.message.kind == "ok":
            self.message.clear()
        self.payment.start_next()

    def watch_undo_keys(self) -> None:
        """Ctrl+Z reaches the window from every text field while a cleared visit is kept."""
        self.undo_key = UndoKey(self)
        for edit in self.findChildren(QLineEdit):
            edit.installEventFilter(self.undo_key)
