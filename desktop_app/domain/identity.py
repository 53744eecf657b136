"""Chinese resident ID numbers (GB 11643-1999): 18 characters, the last a check digit."""

from __future__ import annotations

import datetime as dt

from .errors import InputError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def validate_certno(value: object, field: str = "certno") -> str:
    """The normalised ID number (upper-case X); :class:`InputError` naming what is wrong."""
    if not isinstance(value, str):
        raise InputError(field, _shown(value), "身份证号须为 18 位字符串")
    text = value.strip().upper()
    if len(text) != 18:
        raise InputError(field, _shown(value), f"身份证号须为 18 位，实际 {len(text)} 位")
    if not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise InputError(field, _shown(value), "身份证号前 17 位须为数字，末位为数字或 X")
    try:
        dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InputError(field, _shown(value), "身份证号中的出生日期不存在") from None
    expected = check_digit(text[:17])
    if text[17] != expected:
        raise InputError(field, _shown(value), f"身份证号校验位错误（应为 {expected}），请核对后重新输入或扫描")
    return text


def mask_certno(certno: str) -> str:
    """First 6 and last 4 characters only, as receipts and screens show it."""
    return certno[:6] + "*" * (len(certno) - 10) + certno[-4:]


def _shown(value: object) -> object:
    """An ID number as a message may show it: masked like the receipt (first 6, last 4), never whole."""
    return mask_certno(value) if isinstance(value, str) and len(value) > 10 else value
