"""药品追溯码 read from a scan (issue 18, first part): both formats, over generated codes, never a traceback."""

from __future__ import annotations

import datetime as dt
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.domain.errors import InputError
from desktop_app.domain.trace_code import GS, TraceCode, read_trace_code


def check_digit(body: str) -> str:
    """GS1's mod-10 check digit of the 13 digits before it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


gtins = st.text("0123456789", min_size=13, max_size=13).map(lambda body: body + check_digit(body))
serials = st.text(string.ascii_letters + string.digits, min_size=1, max_size=20)
lots = st.none() | st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=20)
expiries = st.none() | st.dates(dt.date(2000, 1, 1), dt.date(2049, 12, 31))


def element_strings(gtin: str, serial: str, expiry: dt.date | None, lot: str | None) -> list[str]:
    """The same package as a DataMatrix scanner types it (with and without ]d2) and as printed (brackets)."""
    fixed = f"01{gtin}" + (f"17{expiry:%y%m%d}" if expiry else "")
    variable = [f"21{serial}"] + ([f"10{lot}"] if lot else [])
    hri = f"(01){gtin}" + (f"(17){expiry:%y%m%d}" if expiry else "") + f"(21){serial}" + (f"(10){lot}" if lot else "")
    return [f"]d2{fixed}{GS.join(variable)}", fixed + GS.join(variable), hri]


@given(gtins, serials, expiries, lots)
def test_a_gs1_code_reads_the_same_in_every_form(gtin, serial, expiry, lot):
    for scanned in element_strings(gtin, serial, expiry, lot):
        code = read_trace_code(scanned)
        assert code == TraceCode(f"01{gtin}21{serial}", "gs1", gtin, serial, expiry, lot), scanned


@given(gtins, serials, st.integers(1, 9))
def test_a_gtin_with_a_wrong_check_digit_is_refused(gtin, serial, off):
    wrong = gtin[:-1] + str((int(gtin[-1]) + off) % 10)
    with pytest.raises(InputError, match="校验位"):
        read_trace_code(f"(01){wrong}(21){serial}")


@given(st.text("0123456789", min_size=20, max_size=20))
def test_twenty_digits_are_a_china_code_whose_first_seven_name_the_product(digits):
    assert read_trace_code(f" {digits}\r\n") == TraceCode(digits, "china20", digits[:7], digits[7:])


@given(st.text(max_size=150))
def test_any_scan_is_a_code_not_a_code_or_a_clear_refusal(text):
    try:
        found = read_trace_code(text)
    except InputError as exc:
        assert exc.field == "追溯码" and "请" in exc.reason and "\x1d" not in str(exc.value)
    else:
        assert found is None or isinstance(found, TraceCode)


@pytest.mark.parametrize("text", ["XA02503", "6901234567892", "阿莫西林", "amxl", "3*XA02503", "0104150000021126", ""])
def test_item_codes_barcodes_and_names_are_not_trace_codes(text):
    assert read_trace_code(text) is None


def test_a_package_without_its_serial_is_refused_and_expiry_is_by_the_day():
    with pytest.raises(InputError, match=r"序列号 \(21\)"):
        read_trace_code("]d20104150000021126")
    code = read_trace_code("(01)04150000021126(17)270131(21)A1")
    assert code.expiry == dt.date(2027, 1, 31)
    assert not code.expired_on(dt.date(2027, 1, 31)) and code.expired_on(dt.date(2027, 2, 1))
    assert not read_trace_code("81234567890123456789").expired_on(dt.date(2099, 1, 1))
