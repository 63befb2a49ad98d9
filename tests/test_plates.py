from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab_etl.errors import ParseError
from lab_etl.plates import (
    GEOMETRY,
    geometry,
    parse_well,
    plate_format_for,
    row_label,
    smallest_plate_format,
    well_name,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A1", (1, 1)),
        ("a01", (1, 1)),
        ("H12", (8, 12)),
        ("P24", (16, 24)),
        ("AF48", (32, 48)),
        ("B-7", (2, 7)),
        ("c:03", (3, 3)),
        (" D 4 ", (4, 4)),
        ("Z1", (26, 1)),
        ("AA1", (27, 1)),
    ],
)
def test_parse_well_spellings(text: str, expected: tuple[int, int]) -> None:
    assert parse_well(text) == expected


def test_bmg_lowercase_rows_after_z_in_1536() -> None:
    assert parse_well("a1", 1536) == (27, 1)
    assert parse_well("f48", 1536) == (32, 48)
    assert well_name(*parse_well("f48", 1536)) == "AF48"
    # outside 1536 plates lowercase is just lowercase
    assert parse_well("a1", 384) == (1, 1)


@pytest.mark.parametrize("text", ["", "1A", "A", "A0", "AAA1", "Q25x", "A123"])
def test_parse_well_rejects_non_wells(text: str) -> None:
    with pytest.raises(ParseError):
        parse_well(text)


def test_well_outside_plate_is_an_error() -> None:
    with pytest.raises(ParseError, match="outside a 96-well plate"):
        parse_well("I1", 96)
    with pytest.raises(ParseError, match="outside"):
        parse_well("A13", 96)


@given(st.sampled_from([96, 384, 1536]), st.data())
def test_well_name_round_trip(plate_format: int, data: st.DataObject) -> None:
    rows, columns = GEOMETRY[plate_format]
    row = data.draw(st.integers(1, rows))
    column = data.draw(st.integers(1, columns))
    name = well_name(row, column)
    assert parse_well(name, plate_format) == (row, column)
    if plate_format != 1536:  # in 1536 plates a lowercase single letter is BMG's row after Z
        assert parse_well(name.lower(), plate_format) == (row, column)
    assert len(name) in (3, 4)


def test_geometry_and_formats() -> None:
    assert plate_format_for(8, 12) == 96
    assert plate_format_for(32, 48) == 1536
    with pytest.raises(ParseError):
        plate_format_for(7, 12)
    assert smallest_plate_format(8, 12) == 96
    assert smallest_plate_format(9, 1) == 384
    assert smallest_plate_format(17, 2) == 1536
    plate = geometry(384)
    assert len(plate.wells()) == 384 and plate.wells()[0] == "A01" and plate.wells()[-1] == "P24"
    assert plate.is_edge(1, 5) and plate.is_edge(16, 5) and plate.is_edge(4, 24) and not plate.is_edge(2, 2)
    assert row_label(32) == "AF"
