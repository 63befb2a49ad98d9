from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab_etl.errors import ParseError
from lab_etl.parsers.files import decode_text, head_text
from lab_etl.parsers.reading import make_reading, parse_value


@pytest.mark.parametrize(
    ("raw", "comma", "expected"),
    [
        ("0.532", False, (0.532, None)),
        ("0,532", True, (0.532, None)),
        ("0,532", False, (None, "invalid")),
        ("1.2E+03", False, (1200.0, None)),
        ("-3", False, (-3.0, None)),
        ("OVRFLW", False, (None, "overflow")),
        ("Overflow", False, (None, "overflow")),
        (">4.0", False, (None, "overflow")),
        ("<0.001", False, (None, "underflow")),
        ("", False, (None, "missing")),
        ("n/a", False, (None, "missing")),
        ("?????", False, (None, "invalid")),
        ("abc", False, (None, "invalid")),
        (12, False, (12.0, None)),
        (float("nan"), False, (None, "missing")),
        (None, False, (None, "missing")),
    ],
)
def test_parse_value(raw: object, comma: bool, expected: tuple[float | None, str | None]) -> None:
    value, flag, text = parse_value(raw, decimal_comma=comma)  # type: ignore[arg-type]
    assert (value, flag) == expected
    if isinstance(raw, str):
        assert text == raw


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_parse_value_round_trips_numbers(number: float) -> None:
    value, flag, _ = parse_value(repr(number))
    assert flag is None and value is not None and math.isclose(value, number, rel_tol=0, abs_tol=0)


def test_make_reading_canonicalises() -> None:
    reading = make_reading("P1", "b7", 96, "absorbance", "0,25", decimal_comma=True, channel="450", unit="OD")
    assert (reading.well, reading.row_index, reading.column_index, reading.value, reading.raw_value) == (
        "B07",
        2,
        7,
        0.25,
        "0,25",
    )
    assert reading.key == ("P1", "B07", "absorbance", "450", 1)


def test_decode_text_encodings() -> None:
    text = "Plate\tA1\r\n1,5\n"
    assert decode_text(text.encode("utf-8")) == text
    assert decode_text(b"\xef\xbb\xbf" + text.encode("utf-8")) == text
    assert decode_text(text.encode("utf-16")) == text
    assert decode_text(text.encode("utf-16-le")) == text
    assert decode_text("Temp\xb0C".encode("cp1252")) == "Temp°C"


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x02\x03" * 50, bytes(range(256)) * 8])
def test_decode_text_refuses_empty_and_binary(data: bytes) -> None:
    with pytest.raises(ParseError):
        decode_text(data, "x.bin")


def test_head_text_reads_workbooks(data_dir) -> None:  # type: ignore[no-untyped-def]
    head = head_text((data_dir / "instruments" / "tecan_magellan" / "SLA01P01_OD.xlsx").read_bytes())
    assert "\t" in head and len(head.splitlines()) > 5
