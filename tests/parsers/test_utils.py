"""The shared parser helpers: their docstring examples run, and the variants vendors rely on stay distinct."""

from __future__ import annotations

import doctest
from datetime import datetime

from lab_etl.parsers import utils
from lab_etl.parsers.utils import DATE_FORMATS, clock_seconds, first_number, parse_datetime, sniff_delimiter, to_float


def test_docstring_examples() -> None:
    result = doctest.testmod(utils)
    assert result.failed == 0
    assert result.attempted >= 15


def test_ambiguous_dates_are_month_first_in_every_clock_style() -> None:
    for text in ("01/02/2024 10:00:00 AM", "01/02/2024 10:00 AM", "01/02/2024 10:00:00", "01/02/2024 10:00"):
        assert parse_datetime(text) == datetime(2024, 1, 2, 10, 0), text
    # every day-first slashed format comes after its month-first twin
    for position, date_format in enumerate(DATE_FORMATS):
        if date_format.startswith("%d/%m"):
            assert "%m/%d" + date_format[5:] in DATE_FORMATS[:position], date_format


def test_a_vendor_can_narrow_the_formats() -> None:
    assert parse_datetime("13/02/2024 10:30:00", ("%m/%d/%Y %H:%M:%S",)) is None
    assert parse_datetime("2024-02-13T10:30:00", ()) == datetime(2024, 2, 13, 10, 30)  # ISO always


def test_numbers_in_settings_text() -> None:
    assert first_number("  485/20 nm") == 485.0
    assert first_number("-5") is None  # settings numbers are unsigned
    assert to_float("1_000") is None and to_float("inf") is None and to_float(True) is None
    assert to_float("-1.5E+03") == -1500.0


def test_clock_seconds_refuses_what_is_no_clock() -> None:
    assert clock_seconds("1:00:00:00") is None
    assert clock_seconds("0,5") is None and clock_seconds("0,5", decimal_comma=True) == 0.5
    assert clock_seconds("") is None


def test_delimiter_ties_follow_the_callers_order() -> None:
    assert sniff_delimiter("a;b,c") == ","
    assert sniff_delimiter("a;b,c", (";", ",")) == ";"
    assert sniff_delimiter("", default=None) is None
