"""Quote a visit: parse the case, pick the rule version in force, settle."""

from __future__ import annotations

from pathlib import Path

from ..domain.case import Case, parse_case
from ..domain.settlement import Settlement
from ..policy.engine import settle
from ..resources import rules_dir
from ..store.rule_files import cached_region


def quote_case(case: Case, root: Path | None = None) -> Settlement:
    book = cached_region(case.region, str(root or rules_dir()))
    return settle(case, book.at(case.date))


def quote(data: object, root: Path | None = None) -> dict:
    """The `quote` command's work: a case in the JSON format in, the settlement dict out."""
    return quote_case(parse_case(data), root).to_dict()
