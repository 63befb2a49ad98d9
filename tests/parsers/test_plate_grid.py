"""The generic plate-grid CSV parser on realistic hand-built grids (no real file of this generic format exists)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.files import head_text
from lab_etl.parsers.plate_grid import PARSER, describe_read
from lab_etl.parsers.reading import Reading
from lab_etl.parsers.utils import parse_timestamp
from lab_etl.plates import GEOMETRY, row_label
from tests.parsers.oracle import all_instrument_files

HTE = Path(__file__).resolve().parents[1] / "data" / "hte"


def cell_value(row: int, column: int, grid: int = 0) -> float:
    """A distinct value for every cell of every grid, so that a misplaced cell cannot go unnoticed."""
    return round(grid * 10 + row * 0.1 + column * 0.001 + 0.0005, 4)


def grid_lines(
    plate_format: int,
    delimiter: str = ",",
    *,
    grid: int = 0,
    decimal_comma: bool = False,
    corner: str = "",
    lowercase_bmg: bool = False,
) -> list[str]:
    rows, columns = GEOMETRY[plate_format]
    lines = [delimiter.join([corner, *(str(c) for c in range(1, columns + 1))])]
    for row in range(1, rows + 1):
        label = row_label(row)
        if lowercase_bmg and row > 26:
            label = chr(96 + row - 26)
        cells = []
        for column in range(1, columns + 1):
            text = f"{cell_value(row, column, grid):.4f}"
            if decimal_comma:
                text = text.replace(".", ",")
                if delimiter == ",":
                    text = f'"{text}"'
            cells.append(text)
        lines.append(delimiter.join([label, *cells]))
    return lines


def parse(text: str | bytes, name: str = "grid.csv") -> list[Reading]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return list(PARSER.parse(data, name))


def assert_round_trip(readings: list[Reading], plate_format: int, grid: int = 0) -> None:
    rows, columns = GEOMETRY[plate_format]
    assert len(readings) == rows * columns
    for reading in readings:
        assert reading.plate_format == plate_format
        assert reading.value == pytest.approx(cell_value(reading.row_index, reading.column_index, grid), abs=1e-9)
        assert reading.flag is None
    assert {r.well for r in readings} == {
        f"{row_label(r)}{c:02d}" for r in range(1, rows + 1) for c in range(1, columns + 1)
    }


HEADER = [
    "Plate ID: BC-000123",
    "Measurement: Absorbance",
    "Wavelength: 450",
    "Unit: OD",
    "Date: 2024-05-14 09:30:00",
    "Instrument: Synergy H1",
    "Serial: 1234567",
    "",
]


# --- every cell round trips --------------------------------------------------------------------------------------


@pytest.mark.parametrize("plate_format", [96, 384, 1536])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_grid_round_trip(plate_format: int, delimiter: str) -> None:
    text = "\n".join([*HEADER, *grid_lines(plate_format, delimiter)]) + "\n"
    readings = parse(text)
    assert_round_trip(readings, plate_format)
    first = readings[0]
    assert (first.plate_id, first.measurement, first.channel, first.wavelength_nm) == (
        "BC-000123",
        "absorbance",
        "450",
        450.0,
    )
    assert (first.unit, first.instrument_model, first.instrument_serial) == ("OD", "Synergy H1", "1234567")
    assert first.read_at == datetime(2024, 5, 14, 9, 30)
    assert {r.read_index for r in readings} == {1}
    assert PARSER.sniff(text)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma-quoted", "semicolon", "tab"])
def test_decimal_commas(delimiter: str) -> None:
    text = "\n".join(grid_lines(96, delimiter, decimal_comma=True)) + "\n"
    readings = parse(text, "dc.csv")
    assert_round_trip(readings, 96)
    assert readings[0].raw_value == "0,1015"
    assert readings[0].plate_id == "dc"  # no header: the file stem
    assert readings[0].measurement == "value" and readings[0].channel == "value"


def test_two_labelled_grids_are_two_measurements() -> None:
    lines = [
        "Plate: P7",
        "Absorbance 450 nm",
        *grid_lines(96, ";", grid=0),
        "",
        "Fluorescence 485/528",
        *grid_lines(96, ";", grid=1),
    ]
    readings = parse("\r\n".join(lines))
    assert len(readings) == 192
    absorbance = [r for r in readings if r.measurement == "absorbance"]
    fluorescence = [r for r in readings if r.measurement == "fluorescence"]
    assert_round_trip(absorbance, 96, grid=0)
    assert_round_trip(fluorescence, 96, grid=1)
    assert {(r.channel, r.wavelength_nm, r.excitation_nm) for r in absorbance} == {("450", 450.0, None)}
    assert {(r.channel, r.wavelength_nm, r.excitation_nm) for r in fluorescence} == {("485/528", 528.0, 485.0)}
    assert {r.plate_id for r in readings} == {"P7"}


def test_repeated_grids_are_numbered_reads() -> None:
    lines = ["Measurement: Luminescence"]
    for grid in range(3):
        lines += ["", *grid_lines(96, "\t", grid=grid)]
    readings = parse("\n".join(lines))
    assert Counter(r.read_index for r in readings) == {1: 96, 2: 96, 3: 96}
    assert {(r.measurement, r.channel) for r in readings} == {("luminescence", "luminescence")}
    for index in (1, 2, 3):
        assert_round_trip([r for r in readings if r.read_index == index], 96, grid=index - 1)
    assert len({r.key for r in readings}) == 288


def test_labelled_reads_and_times() -> None:
    lines = ["Measurement: Absorbance", "Wavelength: 600"]
    for read, seconds in ((1, 0), (2, 30)):
        lines += [f"Read {read} t={seconds} s", *grid_lines(96, ",", grid=read)]
    readings = parse("\n".join(lines))
    assert {(r.read_index, r.elapsed_s, r.channel) for r in readings} == {(1, 0.0, "600"), (2, 30.0, "600")}


def test_label_in_corner_cell_and_plate_switch() -> None:
    lines = [
        "Barcode;PA",
        *grid_lines(96, ";", corner="Yield [%]", grid=0),
        "Barcode;PB",
        *grid_lines(96, ";", corner="Yield [%]", grid=1),
    ]
    readings = parse("\n".join(lines))
    assert {(r.plate_id, r.measurement, r.unit) for r in readings} == {("PA", "yield", "%"), ("PB", "yield", "%")}
    assert_round_trip([r for r in readings if r.plate_id == "PB"], 96, grid=1)


def test_bmg_lowercase_rows_in_1536() -> None:
    readings = parse("\n".join(grid_lines(1536, ",", lowercase_bmg=True)))
    assert_round_trip(readings, 1536)
    assert {r.well for r in readings if r.row_index == 32} >= {"AF01", "AF48"}


def test_non_numeric_cells_are_kept_with_flags() -> None:
    lines = grid_lines(96, ",")
    cells = lines[1].split(",")
    cells[1], cells[2], cells[3], cells[4] = "OVRFLW", "", "?????", "<0.001"
    lines[1] = ",".join(cells)
    readings = {r.well: r for r in parse("\n".join(lines))}
    assert len(readings) == 96
    assert (readings["A01"].value, readings["A01"].flag, readings["A01"].raw_value) == (None, "overflow", "OVRFLW")
    assert (readings["A02"].value, readings["A02"].flag) == (None, "missing")
    assert (readings["A03"].value, readings["A03"].flag) == (None, "invalid")
    assert (readings["A04"].value, readings["A04"].flag) == (None, "underflow")
    assert readings["A05"].value == pytest.approx(cell_value(1, 5))


def test_trailing_delimiters_are_tolerated() -> None:
    lines = [line + ",," for line in grid_lines(96, ",")]
    assert_round_trip(parse("\n".join(lines)), 96)


# --- broken grids -------------------------------------------------------------------------------------------------


def test_missing_row_names_the_row() -> None:
    lines = grid_lines(96, ",")
    del lines[4]  # row D
    with pytest.raises(ParseError, match="expected plate row D") as info:
        parse("\n".join(lines))
    assert info.value.line == 5


def test_grid_cut_short_names_the_missing_row() -> None:
    lines = grid_lines(384, ",")[:10]
    with pytest.raises(ParseError, match="row J is missing"):
        parse("\n".join(lines))


def test_ragged_row() -> None:
    lines = grid_lines(96, ";")
    lines[3] = ";".join(lines[3].split(";")[:-2])
    with pytest.raises(ParseError, match="plate row C has 10 of 12 cells") as info:
        parse("\n".join(lines))
    assert info.value.line == 4


def test_row_too_long() -> None:
    lines = grid_lines(96, ";")
    lines[2] += ";9.9"
    with pytest.raises(ParseError, match="row B has more than 12 values"):
        parse("\n".join(lines))


def test_extra_row_after_grid() -> None:
    lines = [*grid_lines(96, ","), "I," + ",".join(["1"] * 12)]
    with pytest.raises(ParseError, match="plate row I follows"):
        parse("\n".join(lines))


def test_rows_without_column_header() -> None:
    lines = grid_lines(96, ",")[1:]
    with pytest.raises(ParseError, match="no plate grid found"):
        parse("\n".join(lines))


def test_same_explicit_read_twice() -> None:
    lines = ["Read 1", *grid_lines(96, ","), "Read 1", *grid_lines(96, ",")]
    with pytest.raises(ParseError, match="both value 'value' read 1"):
        parse("\n".join(lines))


def test_encodings_and_line_ends_give_the_same_readings() -> None:
    text = "\n".join([*HEADER, "Absorbance 450", *grid_lines(96, ";", decimal_comma=True)]) + "\n"
    expected = [(r.key, r.value, r.flag, r.read_at) for r in parse(text)]
    variants = {
        "crlf": text.replace("\n", "\r\n").encode(),
        "utf8_bom": b"\xef\xbb\xbf" + text.encode(),
        "utf16_bom": text.encode("utf-16"),
        "utf16_bom_crlf": text.replace("\n", "\r\n").encode("utf-16"),
        "cp1252": text.encode("cp1252"),
    }
    for label, data in variants.items():
        assert [(r.key, r.value, r.flag, r.read_at) for r in parse(data)] == expected, label
        assert PARSER.sniff(head_text(data)), label


def test_empty_truncated_and_garbage() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse(b"")
    text = "\n".join(grid_lines(96, ","))
    with pytest.raises(ParseError, match="of 12 cells"):
        parse(text[: text.index("\nE,") + 12])
    with pytest.raises(ParseError):
        parse(bytes(range(256)) * 8)


# --- sniff --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", all_instrument_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sniff_rejects_instrument_files(path: Path) -> None:
    assert not PARSER.sniff(head_text(path.read_bytes()))


@pytest.mark.parametrize("path", sorted(p for p in HTE.iterdir() if p.name != "SOURCES.md"), ids=lambda p: p.name)
def test_sniff_rejects_hte_files(path: Path) -> None:
    assert not PARSER.sniff(head_text(path.read_bytes()))


def test_sniff_handmade() -> None:
    assert PARSER.sniff("\n".join(grid_lines(384, "\t")))
    # a head cut off inside the grid still sniffs
    assert PARSER.sniff("\n".join(grid_lines(1536, ","))[:2000])
    notes = ["Operator,Jane,Smith,Lab 3", *grid_lines(96, ",")]
    assert not PARSER.sniff("\n".join(notes))  # a preamble line with many cells is no key/value header
    words = grid_lines(96, ",")
    words[1:] = [line.split(",")[0] + ",x" * 12 for line in words[1:]]
    assert not PARSER.sniff("\n".join(words))  # no number anywhere
    assert not PARSER.sniff("")
    assert not PARSER.sniff("Software Version\t3.1\n" + "\n".join(grid_lines(96, "\t")))


# --- helpers ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Absorbance 450 nm", ("absorbance", "450", 450.0, None, None)),
        ("OD600", ("absorbance", "600", 600.0, None, None)),
        ("Fluorescence 485/528", ("fluorescence", "485/528", 528.0, 485.0, None)),
        ("Lum", ("luminescence", "luminescence", None, None, None)),
        ("Yield [%]", ("yield", "yield", None, None, None)),
        ("Kinetic read 3", ("value", "value", None, None, 3)),
    ],
)
def test_describe_read(label: str, expected: tuple[object, ...]) -> None:
    read = describe_read(label)
    assert (read.measurement, read.channel, read.wavelength_nm, read.excitation_nm, read.read_index) == expected


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("2024-05-14 09:30:00", None, datetime(2024, 5, 14, 9, 30)),
        ("27.06.2022 11:01", None, datetime(2022, 6, 27, 11, 1)),
        ("4/19/2018 6:37 PM", None, datetime(2018, 4, 19, 18, 37)),
        ("26/11/2024 3:05 pm", None, datetime(2024, 11, 26, 15, 5)),
        ("12/1/2024 12:05 AM", True, datetime(2024, 1, 12, 0, 5)),
        ("12/1/2024", False, datetime(2024, 12, 1)),
        ("not a date", None, None),
        ("31/31/2024", None, None),
    ],
)
def test_parse_timestamp(text: str, day_first: bool | None, expected: datetime | None) -> None:
    assert parse_timestamp(text, day_first=day_first) == expected


def test_plate_label_lines_switch_plates() -> None:
    lines = ["Measurement: Absorbance", "Wavelength: 450"]
    for plate in (1, 2):
        lines += [f"Plate {plate}", *grid_lines(96, ",", grid=plate)]
    readings = parse("\n".join(lines))
    assert Counter((r.plate_id, r.read_index, r.channel) for r in readings) == {
        ("Plate 1", 1, "450"): 96,
        ("Plate 2", 1, "450"): 96,
    }
    assert_round_trip([r for r in readings if r.plate_id == "Plate 2"], 96, grid=2)


def test_sniff_does_not_claim_long_tables_and_vice_versa() -> None:
    from lab_etl.parsers.long_csv import PARSER as LONG

    grid = "\n".join(grid_lines(96, ","))
    assert PARSER.sniff(grid) and not LONG.sniff(grid)
    long_table = (HTE / "thiolation_plate_yield.csv").read_bytes()
    assert LONG.sniff(head_text(long_table)) and not PARSER.sniff(head_text(long_table))
