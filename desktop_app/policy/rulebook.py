"""Rules as data: a region's parameters, their dated versions, and what is in force on a date.

A region's rules are a set of *parameters*.  Each parameter has a fixed unit and
a list of dated *versions* (``from`` / ``to`` inclusive, ``to: null`` open), each
with a value and a ``reference`` to a document and article.
:meth:`RuleBook.at` resolves the version in force on a date, and refuses a date
that a parameter the region declares does not cover.  The rule files are read
and checked, naming file and key, by :func:`desktop_app.policy.rule_loader.build_rulebook`.

A figure that a document leaves to a yearly publication is written in a value
as ``{published: NAME, year_offset: N, times: R}``: the engine takes it from the
case's published figures of the visit's year plus ``year_offset`` (Yunfu's cap is
2 % of the average wage two years before: ``{published: avg_wage, year_offset: -2,
times: "0.02"}``).  Such figures are declared in ``region.yaml`` with a unit, a
meaning and a reference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..domain.errors import NoRulesInForce


@dataclass(frozen=True)
class Document:
    key: str
    cite_as: str  # how a citation names it: "桂政办发〔2021〕137号"
    title: str
    status: str
    source: str


@dataclass(frozen=True)
class Reference:
    document: Document
    article: str
    note: str | None = None

    def cite(self) -> str:
        return f"{self.document.cite_as} {self.article}"


@dataclass(frozen=True)
class Published:
    """A figure a document leaves to publication, referenced from a value."""

    name: str
    year_offset: int = 0
    times: Decimal | None = None


@dataclass(frozen=True)
class PublishedFigure:
    """The declaration of a published figure in ``region.yaml``."""

    name: str
    unit: str
    meaning: str
    reference: Reference


@dataclass(frozen=True)
class ParameterVersion:
    start: dt.date
    end: dt.date | None
    value: Any
    reference: Reference

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Parameter:
    name: str
    description: str
    unit: str
    versions: tuple[ParameterVersion, ...]

    def at(self, day: dt.date) -> ParameterVersion | None:
        for version in self.versions:
            if version.covers(day):
                return version
        return None


@dataclass(frozen=True)
class Resolved:
    """One parameter's value in force, with its citation."""

    value: Any
    reference: Reference
    start: dt.date
    # The citation, written once: a settlement's explanation cites each parameter it uses.  A field set at
    # construction, not a cached property: writing one into ``__dict__`` later made every field's read slower.
    citation: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "citation", self.reference.cite())


@dataclass(frozen=True)
class RuleVersion:
    """All parameters of a region in force on one date."""

    region: str
    region_name: str
    date: dt.date
    params: Mapping[str, Resolved]
    published: Mapping[str, PublishedFigure]
    documents: tuple[Document, ...]
    # What a policy step worked out from these parameters alone, kept for the next visit (see fund_share)
    memo: dict = field(default_factory=dict, compare=False, repr=False)
    # Set at construction (see Resolved.citation): the version's label, as a settlement names it (region@the
    # latest start of its parameters), and the date as a settlement records it (2024-05-10).
    label: str = field(init=False, repr=False, compare=False)
    day: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        latest = max(p.start for p in self.params.values())
        object.__setattr__(self, "label", f"{self.region}@{latest.isoformat()}")
        object.__setattr__(self, "day", self.date.isoformat())

    def get(self, name: str) -> Resolved | None:
        return self.params.get(name)

    def __getitem__(self, name: str) -> Resolved:
        return self.params[name]


@dataclass(frozen=True)
class RuleBook:
    region: str
    name: str
    documents: Mapping[str, Document]
    parameters: Mapping[str, Parameter]
    published: Mapping[str, PublishedFigure]
    _versions: dict = field(default_factory=dict, compare=False, repr=False)  # by day, as resolved

    def at(self, day: dt.date) -> RuleVersion:
        """The rule version in force on ``day`` (resolved once a day); :class:`NoRulesInForce` if none is."""
        if day not in self._versions:
            if len(self._versions) > 1000:
                self._versions.clear()
            self._versions[day] = self._resolve(day)
        return self._versions[day]

    def _resolve(self, day: dt.date) -> RuleVersion:
        resolved: dict[str, Resolved] = {}
        missing: list[str] = []
        for name, parameter in self.parameters.items():
            version = parameter.at(day)
            if version is None:
                missing.append(name)
            else:
                resolved[name] = Resolved(version.value, version.reference, version.start)
        if missing:
            raise NoRulesInForce(self.region, day.isoformat(), self._gap_detail(missing))
        used = {r.reference.document.key for r in resolved.values()}
        documents = tuple(d for k, d in self.documents.items() if k in used)
        return RuleVersion(self.region, self.name, day, resolved, self.published, documents)

    def _gap_detail(self, missing: list[str]) -> str:
        spans = sorted(
            {(v.start, v.end) for p in self.parameters.values() for v in p.versions},
            key=lambda span: span[0],
        )
        first = spans[0][0].isoformat()
        ends = [end for _, end in spans]
        last = "长期" if any(end is None for end in ends) else max(e for e in ends if e).isoformat()
        if len(missing) == len(self.parameters):
            return (
                f"{self.name}的规则有效期为 {first} 至 {last}，该日期不在任何规则版本内；"
                f"请待新的政策文件生效后添加新版本规则"
            )
        return f"{self.name}的以下参数在该日期没有有效版本：{', '.join(missing)}"
