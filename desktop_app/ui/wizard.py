"""The first-run wizard: region and facility, central server (or offline only), first supervisor.

Also run from settings by a supervisor.  Each page checks its own answers before Next (an empty facility
code is caught where it is typed), the region picker shows each rule book's validity, refuses a region
whose rules are not in force today and warns on a draft.  The answers are written by
``services.setup.apply`` in the worker thread, which checks them all again; the wizard closes only when
that succeeded, and otherwise says which field is wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QWidget, QWizard, QWizardPage

from ..domain.errors import InputError
from ..services.desk import SETTINGS_BY_KEY, region_folders
from ..services.setup import Answers, RegionValidity, check_facility, check_hub, check_people
from .backend import Backend
from .common import MessageLine, message_of

WARNING_STYLE = "color: #8a4b00; font-weight: bold;"


def _combo(choices: dict, name: str) -> QComboBox:
    box = QComboBox(objectName=name)
    for key, text in choices.items():
        box.addItem(text, key)
    return box


def _choice(key: str, name: str) -> QComboBox:
    """A picker of the registry's choices for ``key`` (with a blank where the setting is optional)."""
    entry = SETTINGS_BY_KEY[key]
    return _combo({**({} if entry.required else {"": "—"}), **entry.choices}, name)


class _Page(QWizardPage):
    """A page whose ``check()`` must pass before Next (or Finish)."""

    def __init__(self, check: Callable[[], bool]) -> None:
        super().__init__()
        self._check = check

    def validatePage(self) -> bool:  # noqa: N802 - Qt's name
        return self._check()


class SetupWizard(QWizard):
    """Region and facility, the hub, the supervisor: the first run's questions (and a supervisor's re-run)."""

    def __init__(
        self,
        backend: Backend,
        first: bool,
        current: dict | None = None,
        parent=None,
        regions: dict[str, str] | None = None,
        today: dt.date | None = None,
    ) -> None:
        super().__init__(parent)
        self.backend, self.first = backend, first
        self.today = today or dt.date.today()
        self.validity: dict[str, RegionValidity] | None = None  # from the worker: the rule files are read there
        self.setWindowTitle("共济前台 — 设置向导")
        self.setMinimumSize(680, 520)
        current = current or {}
        for page in (self._facility_page(current, regions), self._hub_page(current), self._people_page(first)):
            self.addPage(page)
        self.button(QWizard.FinishButton).setText("完成")
        self.button(QWizard.NextButton).setText("下一步 >")
        self.button(QWizard.BackButton).setText("< 上一步")
        self.button(QWizard.CancelButton).setText("取消")
        self._done = False
        if regions is None:  # the folders show at once; their names arrive from the worker (YAML is read there)
            self.backend.submit(lambda desk: desk.region_choices(), self._named_regions)
        today = self.today
        self.backend.submit(lambda desk: desk.region_validity(today), self._valid_regions)
        self.widgets = {
            "机构编码": self.facility_id,
            "机构名称": self.facility_name,
            "医保中心地址": self.hub,
            "收款台令牌": self.token,
            "主管用户名": self.supervisor,
            "主管密码": self.password,
            "确认密码": self.password_again,
            "现任主管": self.auth_name,
        }

    def _facility_page(self, current: dict, regions: dict[str, str] | None) -> QWizardPage:
        page = _Page(self._check_facility)
        page.setTitle("地区与机构")
        page.setSubTitle("本机所在统筹地区，以及本机构的类别、级别和编码（决定适用的起付线与支付比例）。")
        self.region = _combo(regions or {name: name for name in region_folders()}, "wizard_region")
        self.kind, self.level, self.grade, self.tier = (
            _choice(key, name)
            for key, name in (
                ("facility.kind", "wizard_kind"),
                ("facility.level", "wizard_level"),
                ("facility.grade", "wizard_grade"),
                ("facility.tier", "wizard_tier"),
            )
        )
        self.facility_id = QLineEdit(current.get("facility.id", ""), objectName="wizard_facility_id")
        self.facility_name = QLineEdit(current.get("facility.name", ""), objectName="wizard_facility_name")
        self.region_note = QLabel("正在读取各地区规则的有效期……", objectName="wizard_region_note", wordWrap=True)
        self.region.currentIndexChanged.connect(lambda _: self._show_region())
        self.facility_message = MessageLine()
        form = QFormLayout(page)
        form.addRow(SETTINGS_BY_KEY["region"].label, self.region)
        form.addRow(self.region_note)
        for key, widget in (
            ("region", self.region),
            ("facility.kind", self.kind),
            ("facility.level", self.level),
            ("facility.grade", self.grade),
            ("facility.tier", self.tier),
            ("facility.id", self.facility_id),
            ("facility.name", self.facility_name),
        ):
            if isinstance(widget, QComboBox):
                widget.setCurrentIndex(max(0, widget.findData(current.get(key, ""))))
            if widget is not self.region:
                form.addRow(SETTINGS_BY_KEY[key].label, widget)
        form.addRow(self.facility_message)
        return page

    def _named_regions(self, names: dict[str, str]) -> None:
        for index in range(self.region.count()):
            self.region.setItemText(index, names.get(self.region.itemData(index), self.region.itemText(index)))

    def _hub_page(self, current: dict) -> QWizardPage:
        page = _Page(lambda: self._page_ok(self.hub_message, lambda: check_hub(self.answers())))
        page.setTitle("医保中心")
        page.setSubTitle("联网时自动上传结算、下载参保人与年度累计；断网时照常离线结算。没有中心的诊所选“仅离线使用”。")
        self.offline_only = QCheckBox("仅离线使用（不连接医保中心）", objectName="wizard_offline_only")
        self.hub = QLineEdit(
            current.get("sync.hub", ""), objectName="wizard_hub", placeholderText="http://中心地址:8700"
        )
        self.token = QLineEdit(
            objectName="wizard_token", echoMode=QLineEdit.Password, placeholderText="中心登记本收款台时给出的令牌"
        )
        self.offline_only.setChecked(not current.get("sync.hub"))
        self.offline_only.toggled.connect(lambda on: (self.hub.setDisabled(on), self.token.setDisabled(on)))
        self.hub.setDisabled(self.offline_only.isChecked())
        self.token.setDisabled(self.offline_only.isChecked())
        form = QFormLayout(page)
        form.addRow(self.offline_only)
        form.addRow("中心地址", self.hub)
        form.addRow(SETTINGS_BY_KEY["sync.token"].label, self.token)
        self.hub_message = MessageLine()
        form.addRow(self.hub_message)
        return page

    def _people_page(self, first: bool) -> QWizardPage:
        page = _Page(lambda: self._page_ok(self.message, self._check_people))
        page.setTitle("主管账户" if first else "授权与新增主管")
        page.setSubTitle("主管可退费、修改设置。首次设置须建立一个主管；之后由现任主管授权重新设置。")
        form = QFormLayout(page)
        self.auth_name = QLineEdit(objectName="wizard_auth_name")
        self.auth_password = QLineEdit(objectName="wizard_auth_password", echoMode=QLineEdit.Password)
        if not first:
            form.addRow("现任主管", self.auth_name)
            form.addRow("现任主管密码", self.auth_password)
            form.addRow(QLabel("如需新增主管，填写以下三项；否则留空："))
        self.supervisor = QLineEdit(objectName="wizard_supervisor")
        self.password = QLineEdit(objectName="wizard_password", echoMode=QLineEdit.Password)
        self.password_again = QLineEdit(objectName="wizard_password_again", echoMode=QLineEdit.Password)
        form.addRow("主管用户名", self.supervisor)
        form.addRow("密码（至少 6 位）", self.password)
        form.addRow("再次输入密码", self.password_again)
        self.message = MessageLine()
        form.addRow(self.message)
        return page

    def answers(self) -> Answers:
        return Answers(
            region=self.region.currentData(),
            facility={
                "kind": self.kind.currentData(),
                "level": self.level.currentData(),
                "grade": self.grade.currentData(),
                "tier": self.tier.currentData(),
                "id": self.facility_id.text().strip(),
                "name": self.facility_name.text().strip(),
            },
            hub=self.hub.text().strip(),
            token=self.token.text().strip(),
            offline_only=self.offline_only.isChecked(),
            supervisor=self.supervisor.text().strip(),
            password=self.password.text(),
            password_again=self.password_again.text(),
        )

    # ---------------------------------------------------------------- each page's check, before Next

    def _valid_regions(self, validity: dict[str, RegionValidity]) -> None:
        """Each region's validity beside its name; the chosen one's (and any warning) under the picker."""
        self.validity = validity
        for index in range(self.region.count()):
            v = validity.get(self.region.itemData(index))
            if v is not None:
                mark = "　✘ 今天无有效规则，不可选" if v.problem else ""
                if v.draft and not v.problem and "征求意见稿" not in v.name:
                    mark = "　⚠ 征求意见稿"
                self.region.setItemText(index, f"{v.name}（{v.region}）{mark}")
        self._show_region()

    def _show_region(self) -> None:
        v = (self.validity or {}).get(self.region.currentData())
        if v is None:
            return
        self.facility_message.clear()
        note = v.problem or v.warning
        self.region_note.setText(f"规则有效期：{v.span}" + (f"\n{note}" if note else ""))
        self.region_note.setStyleSheet(
            "color: #b00020; font-weight: bold;" if v.problem else WARNING_STYLE if v.warning else ""
        )

    def _page_ok(self, message: MessageLine, check: Callable[[], None]) -> bool:
        """Run a page's check: on a wrong answer, say so on that page and put the cursor in the field."""
        try:
            check()
        except InputError as exc:
            message.error(message_of(exc))
            widget: QWidget | None = self.widgets.get(exc.field)
            if widget is not None:
                widget.setFocus()
            return False
        message.clear()
        return True

    def _check_facility(self) -> bool:
        v = (self.validity or {}).get(self.region.currentData())
        if v is not None and v.problem:  # (not yet known: setup.apply checks it again at Finish)
            self.facility_message.error(f"不能选择该地区：{v.problem}")
            self.region.setFocus()
            return False
        return self._page_ok(self.facility_message, lambda: check_facility(self.answers()))

    def _check_people(self) -> None:
        if not self.first and not (self.auth_name.text().strip() and self.auth_password.text()):
            raise InputError("现任主管", self.auth_name.text().strip(), "重新设置须由现任主管输入用户名和密码授权")
        check_people(self.answers(), self.first)

    # ---------------------------------------------------------------- finish

    def accept(self) -> None:
        """Finish: check the last page, write in the worker; close only when it succeeded."""
        if self._done:
            super().accept()
            return
        if not self.validateCurrentPage():
            return
        answers, who, secret = self.answers(), self.auth_name.text().strip(), self.auth_password.text()
        today = self.today
        self.button(QWizard.FinishButton).setEnabled(False)
        self.backend.submit(
            lambda desk: desk.set_up(answers, who or None, secret or None, today), self._saved, self._failed
        )

    def _saved(self, _result) -> None:
        self._done = True
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.button(QWizard.FinishButton).setEnabled(True)
        self.message.error(message_of(exc))
