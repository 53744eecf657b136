"""A diagnosis (诊断) from the platform's disease catalogue (医保版 ICD-10, the 1307 download): code and name.

Codes look like ``I10.x00`` (原发性高血压) or ``E11.900`` (2型糖尿病); their first three characters are the
ICD-10 category that rules name (两病: I10–I15, E10–E14).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InputError

CODE = re.compile(r"^[A-Z][0-9]{2}(?:\.[0-9A-Za-z]{1,4})?(?:\+[A-Z][0-9]{2}(?:\.[0-9A-Za-z]{1,4})?)?$")
MAX_PER_VISIT = 10  # diagnoses on one visit (the platform's diseinfo list is short)


@dataclass(frozen=True)
class Diagnosis:
    code: str
    name: str
    initials: str = ""  # pinyin initials, lower case: 原发性高血压 -> yfxgxy

    @property
    def category(self) -> str:
        """The ICD-10 category: ``I10`` for ``I10.x00``."""
        return self.code[:3]

    @property
    def shown(self) -> str:
        return f"{self.code} {self.name}"


def normalise_code(text: object, field: str = "diagnoses") -> str:
    """A diagnosis code as the catalogue keeps it: trimmed, its letter upper case; :class:`InputError` if malformed."""
    if not isinstance(text, str):
        raise InputError(field, text, "须为诊断编码，如 I10.x00")
    code = text.strip()
    code = code[:1].upper() + code[1:]
    if not CODE.match(code):
        raise InputError(field, text, "不是诊断编码（医保版 ICD-10，如 I10.x00、J06.900）")
    return code


def category(code: str) -> str:
    return code[:3].upper()
