"""The visit panel: visit kind, items by code, barcode or name, quantities; the 外配处方 form at a pharmacy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from ..domain.catalogue import CatalogueItem
from ..domain.errors import InputError
from ..domain.money import MoneyError, parse_amount
from ..domain.trace_code import TraceCode, read_trace_code
from ..domain.vocabulary import CATEGORY_SHORT, VISIT_KINDS
from ..services.cart import Cart, CartLine, parse_entry
from ..services.desk import ItemMatches
from ..services.request import MAX_UNIT_PRICE
from ..services.tracing import Scanned
from .backend import Backend
from .common import MessageLine, message_of, yuan

SHORT_COLOUR = QColor("#c62828")  # a traced line short of its codes
# The cart's columns by number (quantity 3 and unit price 4 are typed over); 规格/单位 came last and is shown
# second, after the name (the header moves it), so the numbers the cells go by stay as they were.
COLUMNS = ("编码", "名称", "类别", "数量", "单价", "金额", "规格/单位", "追溯码")
TRACE_COLUMN = 7  # codes scanned / packages sold, for a traced item; red while short
SPEC_COLUMN, SPEC_SHOWN_AT = 6, 2
SPEC_SHARE = 0.2  # of the cart's width, at most
SPEC_SHARE_TRACED = 0.12  # while the 追溯码 column is shown: the name keeps its room at 1024×768
# The item box's list: enough to tell one pack and maker of a drug from another.
SUGGESTION_COLUMNS = ("编码", "名称", "规格", "单位", "厂家", "类别", "单价")


class VisitPanel(QGroupBox):
    changed = Signal()
    override_requested = Signal(object, object)  # (cart line, typed price above what a cashier may set alone)

    def __init__(self, backend: Backend, cart: Cart, today: dt.date | None = None) -> None:
        super().__init__("就诊与项目  [F2]")
        self.backend, self.cart = backend, cart
        self.today = today or dt.date.today()  # a package past its expiry on this day is refused
        self._seq = 0
        self._pending_quantity = Decimal("1")
        self.kind = QComboBox()
        self.kind.setObjectName("visit_kind")
        for key, name in VISIT_KINDS.items():
            self.kind.addItem(name, key)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.entry = QLineEdit(placeholderText="编码 / 条码 / 名称 / 拼音首字母，回车；3*编码 即数量 3；扫追溯码")
        self.entry.setObjectName("item_entry")
        self.entry.returnPressed.connect(lambda: self.search(add=True))
        self.entry.textEdited.connect(lambda _: self.timer.start())
        self.entry.installEventFilter(self)
        self.timer = QTimer(self, singleShot=True, interval=250)
        self.timer.timeout.connect(lambda: self.search(add=False))
        self.suggestions = _suggestion_list()
        self.suggestions.itemActivated.connect(lambda row, _column: self._picked(row))
        self.message = MessageLine()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("items")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        header.moveSection(SPEC_COLUMN, SPEC_SHOWN_AT)
        # 规格/单位 as wide as its text, up to a share of the table (see _fit_spec): at 1024×768 it took the
        # name's room, and the name is what a cashier checks.  A longer one elides; its tooltip has it whole.
        header.setSectionResizeMode(SPEC_COLUMN, QHeaderView.Fixed)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.AnyKeyPressed | QAbstractItemView.DoubleClicked)
        self.table.itemChanged.connect(self._cell_changed)
        self.table.installEventFilter(self)
        top = QHBoxLayout()
        top.addWidget(self.kind)
        top.addWidget(self.entry, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.suggestions)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)

    def eventFilter(self, obj, event):  # noqa: N802
        if obj is self.table and event.type() == event.Type.Resize:
            self._fit_spec()
        if event.type() == event.Type.KeyPress:
            if obj is self.entry and event.key() == Qt.Key_Down and self.suggestions.isVisible():
                self.suggestions.setFocus()
                self.suggestions.setCurrentItem(self.suggestions.topLevelItem(0))
                return True
            if obj is self.table and event.key() == Qt.Key_Delete:
                self.remove_selected()
                return True
        return super().eventFilter(obj, event)

    def _kind_changed(self) -> None:
        self.cart.visit_kind = self.kind.currentData()
        self.changed.emit()

    # ---------------------------------------------------------------- entry

    def search(self, add: bool) -> None:
        self.timer.stop()
        try:
            code = read_trace_code(self.entry.text())
        except InputError as exc:  # a damaged traceability code: said on Enter, not while the scanner types
            if add:
                self.message.error(message_of(exc))
                self.entry.selectAll()
            return
        if code is not None:
            self.suggestions.hide()
            if add:
                self.scan(code)
            return
        try:
            quantity, text = parse_entry(self.entry.text())
        except InputError as exc:
            self.message.error(message_of(exc))
            return
        if not text:
            self.suggestions.hide()
            return
        self._pending_quantity = quantity
        self._seq += 1
        seq = self._seq
        self.backend.submit(
            lambda desk: desk.find_items(text),
            lambda r: self._found(seq, r, add),
            lambda exc: self.message.error(message_of(exc)),
        )

    def _found(self, seq: int, result: ItemMatches, add: bool) -> None:
        """An exact code or barcode, or a single match, goes in on Enter; several are listed to choose (↓, Enter)."""
        if seq != self._seq:
            return
        exact, items = result.exact, result.items
        self.message.clear()
        if add and (exact or len(items) == 1):
            self.add(items[0], self._pending_quantity)
            return
        self.suggestions.clear()
        self.suggestions.addTopLevelItems([_suggestion(item) for item in items])
        self.suggestions.setVisible(bool(items))
        if items:
            self.suggestions.setCurrentItem(self.suggestions.topLevelItem(0))
            if add:
                self.suggestions.setFocus()
        else:  # said plainly, while typing too: nothing by that code, barcode, name or 助记码
            self.message.error(f"医保目录中没有“{self.entry.text().strip()}”：请核对编码、条码、名称或拼音首字母")

    def _picked(self, row: QTreeWidgetItem) -> None:
        self.add(row.data(0, Qt.UserRole), self._pending_quantity)

    def add(self, item, quantity: Decimal) -> None:
        line = _line_of(item, quantity)
        try:  # a quantity the checkout would refuse is refused here, and the entry keeps what was typed
            self.cart.add(line)
        except InputError as exc:
            self.suggestions.hide()
            self.entry.setFocus()
            self.message.error(message_of(exc))
            return
        self.entry.clear()
        self.suggestions.hide()
        self.entry.setFocus()
        self.refresh()
        self.changed.emit()

    # ---------------------------------------------------------------- traceability codes (issue 18)

    def scan(self, code: TraceCode) -> None:
        """A package's code: the desk says which item it is (and whether it sold it already), then the cart takes it.

        Each scan is answered, in order: none is dropped for a later one, as a typed search may be.
        """
        self.entry.clear()
        self.backend.submit(
            lambda desk: desk.scan_trace(code),
            self._scanned,
            lambda exc: self.message.error(message_of(exc)),
        )

    def _scanned(self, found: Scanned) -> None:
        line = self.cart.traced_line_for(found.item.code if found.item else None)
        if line is None and found.item is None:
            self.message.error(
                f"追溯码 {found.code.code} 的药品尚未对应目录项目：请先录入这种药品（编码、条码或名称），再扫它的追溯码"
            )
            return
        try:
            placed = self.cart.scan(found.code, line or _line_of(found.item, Decimal("1")), found.sold_here, self.today)
        except InputError as exc:
            self.message.error(message_of(exc))
            return
        self.message.ok(f"{placed.name}：追溯码 {placed.trace_shown}")
        self.refresh()
        self.changed.emit()

    # ---------------------------------------------------------------- table

    def _fit_spec(self) -> None:
        wanted = max(
            self.table.sizeHintForColumn(SPEC_COLUMN), self.table.horizontalHeader().sectionSizeHint(SPEC_COLUMN)
        )
        share = SPEC_SHARE if self.table.isColumnHidden(TRACE_COLUMN) else SPEC_SHARE_TRACED
        self.table.horizontalHeader().resizeSection(
            SPEC_COLUMN, min(wanted, int(self.table.viewport().width() * share))
        )

    def refresh(self) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.cart.lines))
        for r, line in enumerate(self.cart.lines):
            values = (
                line.code,
                line.name,
                CATEGORY_SHORT.get(line.category, line.category),
                f"{line.quantity.normalize():f}",
                yuan(line.unit_price),
                yuan(line.amount),
                line.spec_unit,
                line.trace_shown,
            )
            for c, value in enumerate(values):
                cell = QTableWidgetItem(value)
                if c not in (3, 4):  # quantity and unit price are typed over; the rest comes from the catalogue
                    cell.setFlags(cell.flags() & ~Qt.ItemIsEditable)
                if c in (3, 4, 5):
                    cell.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if c in (1, SPEC_COLUMN):  # whole, where the cell elides it
                    cell.setToolTip("　".join(part for part in (line.name, line.spec_unit, line.manufacturer) if part))
                if c == TRACE_COLUMN and line.short:
                    cell.setForeground(SHORT_COLOUR)
                    cell.setToolTip(f"还需扫 {line.packages - len(line.codes):f} 个追溯码（或 Ctrl+T 由主管放行）")
                self.table.setItem(r, c, cell)
        self.table.setColumnHidden(TRACE_COLUMN, not any(line.trac_required for line in self.cart.lines))
        self.table.blockSignals(False)
        self._fit_spec()

    def _cell_changed(self, cell: QTableWidgetItem) -> None:
        line = self.cart.lines[cell.row()]
        text = cell.text().strip()
        if cell.column() == 3:
            self._typed(lambda: self.cart.set_quantity(line, text), f"已恢复为 {line.quantity.normalize():f}")
        else:
            self._price_typed(line, text)
        self.refresh()
        self.changed.emit()

    def _price_typed(self, line, text: str) -> None:
        try:
            price = parse_amount(text)
        except MoneyError as exc:
            self.message.error(f"单价：“{text}”{exc}，已恢复为 {yuan(line.unit_price)}")
            return
        if price > MAX_UNIT_PRICE:
            self.message.error(f"单价：“{text}”超过上限 {yuan(MAX_UNIT_PRICE)}，已恢复为 {yuan(line.unit_price)}")
        elif price > line.ceiling:  # the catalogue price is the price: above it, a supervisor decides
            self.message.error(f"单价 {yuan(price)} 高于目录价 {yuan(line.ceiling)}：需要主管当场授权")
            self.override_requested.emit(line, price)
        else:
            self._typed(lambda: self.cart.set_price(line, price), f"单价已恢复为 {yuan(line.unit_price)}")

    def _typed(self, change, restored: str) -> None:
        """A change typed into the cart, or its refusal in words and the cell as it was."""
        try:
            change()
        except InputError as exc:
            self.message.error(f"{message_of(exc)}。{restored}")
        else:
            self.message.clear()

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for r in rows:
            del self.cart.lines[r]
        self.refresh()
        self.changed.emit()

    def reset(self) -> None:
        self.entry.clear()
        self.suggestions.hide()
        self.message.clear()
        self.kind.setCurrentIndex(0)
        self.refresh()


def _line_of(item: CatalogueItem, quantity: Decimal) -> CartLine:
    """A cart line for ``quantity`` of a catalogue item."""
    return CartLine(
        item.code,
        item.name,
        item.category,
        item.price,
        quantity,
        price_cap=item.price_cap,
        spec_unit=item.spec_unit,
        manufacturer=item.manufacturer,
        trac_required=item.trac_required,
        packs_per_unit=item.packs_per_unit,
    )


_SHARED = {2: 0.2, 4: 0.17}  # 规格 and 厂家: a share of the list's width, elided past it (whole in the tooltip)


class _Suggestions(QTreeWidget):
    """The matches; 规格 and 厂家 take a share of the width so the name keeps its room on a narrow screen."""

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        width = self.viewport().width()
        for column, share in _SHARED.items():
            self.header().resizeSection(column, int(width * share))


def _suggestion_list() -> QTreeWidget:
    """The item box's matches as a table without a tree: one row an item, its columns sized to their text."""
    tree = _Suggestions()
    tree.setObjectName("item_suggestions")
    tree.setColumnCount(len(SUGGESTION_COLUMNS))
    tree.setHeaderLabels(SUGGESTION_COLUMNS)
    tree.setRootIsDecorated(False)
    tree.setUniformRowHeights(True)
    tree.setAllColumnsShowFocus(True)
    tree.setMaximumHeight(200)
    header = tree.header()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(QHeaderView.ResizeToContents)
    header.setSectionResizeMode(1, QHeaderView.Stretch)
    for column in _SHARED:  # sized by _Suggestions.resizeEvent
        header.setSectionResizeMode(column, QHeaderView.Fixed)
    tree.hide()
    return tree


def _suggestion(item: CatalogueItem) -> QTreeWidgetItem:
    row = QTreeWidgetItem(
        [
            item.code,
            item.name,
            item.spec,
            item.unit,
            item.manufacturer,
            CATEGORY_SHORT.get(item.category, item.category),
            yuan(item.price),
        ]
    )
    row.setTextAlignment(len(SUGGESTION_COLUMNS) - 1, Qt.AlignRight | Qt.AlignVCenter)
    row.setToolTip(1, "　".join(part for part in (item.name, item.spec_unit, item.manufacturer) if part))
    row.setData(0, Qt.UserRole, item)
    return row
