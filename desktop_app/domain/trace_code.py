"""药品追溯码: what a scan at the counter is, when it is a drug's traceability code (issue 18, the first part).

A code identifies one smallest sales package.  Two formats reach the counter, typed in by the scanner:

- the 20-digit code of China's drug traceability system (码上放心 and the NMPA coding rules): its first
  7 digits are the 药品标识码, naming the product and its package; the other 13 identify the package
  (its check part is not computable outside the coding platform, so it is not checked here);
- a GS1 element string (GS1 DataMatrix): AI 01, the GTIN, whose check digit is checked; AI 21, the
  package's serial; optionally AI 17, the expiry date, and AI 10, the lot.  It arrives with the
  symbology identifier ``]d2``, with FNC1 as the group separator (ASCII 29), or in the printed form
  with brackets, ``(01)…(21)…``.  It is parsed with biip, not by hand.

:func:`read_trace_code` says which a scan is: a :class:`TraceCode`, or None when the text is no
traceability code at all (an item code, a plain EAN-13 barcode, a name), so the item box handles it as
before.  A scan that is plainly meant as one but is damaged raises :class:`InputError` saying what is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from biip import ParseConfig, ParseError
from biip.gs1_messages import GS1Message

from .errors import InputError

FIELD = "追溯码"
CHINA_LENGTH = 20
CHINA_PRODUCT_DIGITS = 7
GS = "\x1d"  # FNC1 as a keyboard-wedge scanner types it
SYMBOLOGY = ("]d2", "]C1", "]Q3", "]e0", "]J1")  # GS1 DataMatrix, GS1-128, GS1 QR, DataBar, GS1 DotCode
MAX_LENGTH = 120  # longer than any traceability code; a scan past it is no code


@dataclass(frozen=True)
class TraceCode:
    """One package's code: ``code`` as stored (unique among unrefunded sales), ``product`` tied to a catalogue item."""

    code: str
    scheme: str  # "china20" or "gs1"
    product: str  # the 药品标识码 (7 digits) or the GTIN (14 digits)
    serial: str
    expiry: dt.date | None = None
    lot: str | None = None

    @property
    def scan_text(self) -> str:
        """The code as a scan would type it again, expiry and lot kept: what a checkout request carries."""
        if self.scheme == "china20":
            return self.code
        expiry = f"17{self.expiry:%y%m%d}" if self.expiry else ""
        lot = f"10{self.lot}{GS}" if self.lot else ""
        return f"01{self.product}{expiry}{lot}21{self.serial}"

    def expired_on(self, day: dt.date) -> bool:
        """Past its expiry date on ``day`` (a package without AI 17 never is)."""
        return self.expiry is not None and self.expiry < day


def read_trace_code(text: str) -> TraceCode | None:
    """The traceability code a scan carries, None if it is not one; :class:`InputError` if one is damaged."""
    raw = text.strip("\r\n\t ")
    if not raw or len(raw) > MAX_LENGTH:
        return None
    if len(raw) == CHINA_LENGTH and raw.isdigit():
        return TraceCode(raw, "china20", raw[:CHINA_PRODUCT_DIGITS], raw[CHINA_PRODUCT_DIGITS:])
    if not _looks_like_gs1(raw):
        return None
    return _gs1(raw)


def _looks_like_gs1(raw: str) -> bool:
    """A GS1 element string with a GTIN and more: a symbology identifier, FNC1, brackets, or 01 + 14 digits + an AI."""
    if raw.startswith(SYMBOLOGY) or GS in raw or raw.startswith("(01)"):
        return True
    return re.fullmatch(r"01\d{14}(?:17\d{6})?(?:10|21)\S+", raw) is not None


def _gs1(raw: str) -> TraceCode:
    try:
        if raw.startswith("("):
            message = GS1Message.parse_hri(raw)
        else:
            body = raw[3:] if raw.startswith(SYMBOLOGY) else raw
            message = GS1Message.parse(body, config=ParseConfig(separator_chars=[GS]))
    except ParseError:  # biip's reason (an AI's pattern, a date) is in English: the cashier gets what to do
        raise InputError(FIELD, _shown(raw), "无法识别的 GS1 追溯码（某一段格式或日期不对）：请重新扫码") from None
    found = {element.ai.ai: element for element in message.element_strings}
    gtin, serial = found.get("01"), found.get("21")
    if gtin is None or serial is None:
        raise InputError(FIELD, _shown(raw), "GS1 码须含商品码 (01) 和序列号 (21)：这是一件包装的条码吗？")
    if gtin.gtin is None or gtin.gtin_error:
        raise InputError(FIELD, _shown(raw), "商品码 (01) 校验位不对：请重新扫码")
    expiry = found["17"].date if "17" in found else None
    lot = found["10"].value if "10" in found else None
    code = f"01{gtin.value}21{serial.value}"
    return TraceCode(code, "gs1", gtin.value, serial.value, expiry, lot)


def _shown(raw: str) -> str:
    return raw.replace(GS, "<GS>")
