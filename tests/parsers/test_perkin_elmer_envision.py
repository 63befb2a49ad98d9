"""The native EnVision parser against allotropy, against values read off the raw files, and against damaged files."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.files import head_text
from lab_etl.parsers.perkin_elmer_envision import PARSER
from lab_etl.parsers.reading import Reading
from tests.parsers.oracle import DATA, all_instrument_files, allotropy_pairs, files, native_pairs

FOLDER = "perkin_elmer_envision"
#: the bad input allotropy's own tests use: the second plate block lost its "Plate information" title
BROKEN = "example01_missing_header_error.csv"
#: the luminescence example reads only rows A, E, I and M of a 384-well plate (an area selection)
SPARSE = "PE_Envision_luminescence_example01.csv"
GOOD = [path for path in files(FOLDER) if path.name != BROKEN]


def _path(name: str) -> Path:
    return DATA / FOLDER / name


def _parse(data: bytes, name: str = "plate.csv") -> list[Reading]:
    return list(PARSER.parse(data, name))


def _by_key(readings: list[Reading]) -> dict[tuple[str, str, str, str, int], Reading]:
    return {reading.key: reading for reading in readings}


def _facts(readings: list[Reading]) -> list[tuple[object, ...]]:
    return [(r.key, r.value, r.raw_value, r.flag, r.plate_format, r.unit, r.read_at) for r in readings]


# --- allotropy as the oracle -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [p for p in GOOD if p.name != SPARSE], ids=lambda p: p.name)
def test_same_values_as_allotropy(path: Path) -> None:
    assert native_pairs(path, PARSER) == allotropy_pairs(path, "perkin_elmer_envision")


def test_sparse_rows_keep_their_letters_where_allotropy_renumbers_them() -> None:
    # allotropy names the four rows of this area read A, B, C, D; the grid labels them A, E, I, M.
    allotropy = allotropy_pairs(_path(SPARSE), "perkin_elmer_envision")
    renamed = Counter()
    for (well, value), count in allotropy.items():
        renamed[("AEIM"["ABCD".index(well[0])] + well[1:], value)] += count
    assert native_pairs(_path(SPARSE), PARSER) == renamed
    readings = _parse(_path(SPARSE).read_bytes(), SPARSE)
    assert {r.well[0] for r in readings} == {"A", "E", "I", "M"}


# --- golden facts read off the raw files ---------------------------------------------------------------------------

GOLDEN = [
    # file, plate, well, measurement, channel, read, value, raw
    (
        "PE_Envision_absorbance_A450_example.csv",
        "PE_Envision_absorbance_A450_example plate 1",
        "A01",
        "absorbance",
        "450",
        1,
        0.15,
        "0.1500",
    ),
    (
        "PE_Envision_absorbance_A450_example.csv",
        "PE_Envision_absorbance_A450_example plate 2",
        "H12",
        "absorbance",
        "450",
        1,
        0.13,
        "0.1300",
    ),
    ("PE_Envision_absorbance_example01.csv", "8/22/2023 10:50:28 AM", "P24", "absorbance", "562", 1, 2.639, "2.6390"),
    ("PE_Envision_absorbance_example01.csv", "8/22/2023 10:57:39 AM", "A15", "alphascreen", "alphascreen", 1, 0.0, "0"),
    (
        "PE_Envision_fluorescence_example01.csv",
        "PE_Envision_fluorescence_example01",
        "A01",
        "fluorescence",
        "320/665",
        1,
        31441.0,
        "31441",
    ),
    (
        "PE_Envision_fluorescence_example01.csv",
        "PE_Envision_fluorescence_example01",
        "H07",
        "fluorescence",
        "320/620",
        1,
        81633.0,
        "81633",
    ),
    (
        "PE_Envision_fluorescence_example02.csv",
        "PE_Envision_fluorescence_example02 plate 1",
        "A01",
        "fluorescence",
        "485/535",
        1,
        5230093.0,
        "5230093",
    ),
    (
        "PE_Envision_fluorescence_example02.csv",
        "PE_Envision_fluorescence_example02 plate 5",
        "H12",
        "fluorescence",
        "485/535",
        1,
        5080334.0,
        "5080334",
    ),
    ("PE_Envision_fluorescence_example04.csv", "81", "B02", "alphascreen", "alphascreen", 1, 40.0, "40"),
    ("PE_Envision_fluorescence_example04.csv", "81", "P24", "alphascreen", "alphascreen", 1, 16.0, "16"),
    (
        "PE_Envision_luminescence_example01.csv",
        "8/22/2023 11:01:43 AM",
        "E01",
        "luminescence",
        "luminescence",
        1,
        40.0,
        "40",
    ),
    (
        "PE_Envision_luminescence_example01.csv",
        "8/22/2023 12:16:57 PM",
        "M03",
        "luminescence",
        "luminescence",
        1,
        40.0,
        "40",
    ),
]


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: f"{c[0]}:{c[1]}:{c[2]}:{c[4]}")
def test_golden_values(case: tuple[str, str, str, str, str, int, float, str]) -> None:
    name, plate, well, measurement, channel, read, value, raw = case
    reading = _by_key(_parse(_path(name).read_bytes(), name))[(plate, well, measurement, channel, read)]
    assert reading.value == value
    assert reading.raw_value == raw
    assert reading.flag is None


COUNTS = {  # file -> (readings, numeric readings, plate format)
    "PE_Envision_absorbance_A450_example.csv": (192, 192, 96),
    "PE_Envision_absorbance_example01.csv": (768, 768, 384),
    "PE_Envision_fluorescence_example01.csv": (192, 96, 96),
    "PE_Envision_fluorescence_example02.csv": (480, 416, 96),
    "PE_Envision_fluorescence_example04.csv": (768, 768, 384),
    "PE_Envision_luminescence_example01.csv": (192, 192, 384),
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_and_unique_keys(name: str) -> None:
    readings = _parse(_path(name).read_bytes(), name)
    total, numeric, plate_format = COUNTS[name]
    assert len(readings) == total
    assert sum(r.value is not None for r in readings) == numeric
    assert {r.plate_format for r in readings} == {plate_format}
    assert len({r.key for r in readings}) == total


def test_empty_cells_inside_the_plate_are_missing_readings() -> None:
    # HTRF example: columns 4 and 8..12 were not used; the cells are empty but inside the plate
    readings = _by_key(_parse(_path("PE_Envision_fluorescence_example01.csv").read_bytes(), "x.csv"))
    empty = readings[("x", "A04", "fluorescence", "320/665", 1)]
    assert (empty.value, empty.flag, empty.raw_value) == (None, "missing", "")
    # fluorescence_example02, plate 1: rows E..H are ",,,,,,,,,,,," - kept, not dropped
    second = _by_key(_parse(_path("PE_Envision_fluorescence_example02.csv").read_bytes(), "y.csv"))
    assert second[("y plate 1", "H12", "fluorescence", "485/535", 1)].flag == "missing"


def test_metadata_from_protocol_sections() -> None:
    readings = _parse(_path("PE_Envision_fluorescence_example01.csv").read_bytes(), "htrf.csv")
    first = readings[0]
    assert (first.excitation_nm, first.wavelength_nm) == (320.0, 665.0)
    assert first.unit == "Counts"
    assert first.instrument_serial == "1050209"
    assert first.instrument_model == "EnVision"
    assert first.vendor == "PerkinElmer"
    assert first.read_at is not None and (first.read_at.hour, first.read_at.minute) == (15, 8)
    absorbance = _parse(_path("PE_Envision_absorbance_example01.csv").read_bytes(), "abs.csv")[0]
    assert (absorbance.wavelength_nm, absorbance.unit) == (562.0, "AU")  # "Excitation wavelength,,,,562 nm"


def test_plate_repeats_are_numbered_reads_with_elapsed_time() -> None:
    text = _path("PE_Envision_absorbance_A450_example.csv").read_text()
    # turn the second plate into the second repeat of plate 1 (the block layout of "Number of plate repeats: 2")
    repeated = text.replace('2,1,="",14.35,22.05', '1,2,="",14.35,22.05').replace(
        "\n2,A450,0,295100", "\n1,A450,0,295100"
    )
    readings = _by_key(_parse(repeated.encode(), "kin.csv"))
    assert readings[("kin", "A01", "absorbance", "450", 1)].value == 0.15
    second = readings[("kin", "A01", "absorbance", "450", 2)]
    assert second.value == 0.3
    assert second.elapsed_s == 95.0  # 10:30:00 -> 10:31:35
    assert readings[("kin", "A01", "absorbance", "450", 1)].elapsed_s == 0.0


def test_semicolon_export_with_decimal_commas_gives_the_same_values() -> None:
    original = _path("PE_Envision_absorbance_A450_example.csv").read_text()
    european = re.sub(r"(\d)\.(\d)", r"\1,\2", original.replace(",", ";"))
    assert [(r.key, r.value) for r in _parse(european.encode("cp1252"), "plate.csv")] == [
        (r.key, r.value) for r in _parse(original.encode(), "plate.csv")
    ]


def test_non_numeric_cells_are_flagged_not_dropped() -> None:
    text = _path("PE_Envision_absorbance_A450_example.csv").read_text()
    text = text.replace("A,0.1500,0.0850,", "A,OVRFLW,?????,", 1)
    readings = _by_key(_parse(text.encode(), "flags.csv"))
    overflow = readings[("flags plate 1", "A01", "absorbance", "450", 1)]
    invalid = readings[("flags plate 1", "A02", "absorbance", "450", 1)]
    assert (overflow.value, overflow.flag, overflow.raw_value) == (None, "overflow", "OVRFLW")
    assert (invalid.value, invalid.flag) == (None, "invalid")
    assert len(readings) == 192


# --- broken files -------------------------------------------------------------------------------------------------


def test_allotropy_error_file_is_refused() -> None:
    with pytest.raises(ParseError) as error:
        _parse(_path(BROKEN).read_bytes(), BROKEN)
    assert error.value.line == 21
    assert "Plate information" in error.value.reason


def test_sniff_accepts_every_envision_file() -> None:
    for path in files(FOLDER):
        assert PARSER.sniff(head_text(path.read_bytes(), path.name)), path.name


def test_sniff_refuses_every_other_instrument_file() -> None:
    others = [p for p in all_instrument_files() if p.relative_to(DATA).parts[0] != FOLDER]
    assert others
    for path in others:
        assert not PARSER.sniff(head_text(path.read_bytes(), path.name)), path


def test_sniff_never_raises_on_odd_heads() -> None:
    for head in ("", "\x00\x01", "Plate information", "Plate information\nPlate,Repeat,Barcode\n", "\ufeff" * 3):
        assert PARSER.sniff(head) in (True, False)


def test_empty_file() -> None:
    with pytest.raises(ParseError, match="empty"):
        _parse(b"")


@pytest.mark.parametrize("name", [p.name for p in GOOD])
def test_encodings_and_line_endings_give_the_same_readings(name: str) -> None:
    data = _path(name).read_bytes()
    text = data.decode("utf-8")
    expected = _facts(_parse(data, name))
    variants = {
        "utf-16 bom": text.encode("utf-16"),
        "utf-8 bom": b"\xef\xbb\xbf" + data,
        "crlf": text.replace("\r\n", "\n").replace("\n", "\r\n").encode(),
        "lf": text.replace("\r\n", "\n").encode(),
    }
    for label, variant in variants.items():
        assert _facts(_parse(variant, name)) == expected, label


def test_truncated_inside_a_grid_row() -> None:
    data = _path("PE_Envision_absorbance_example01.csv").read_bytes()
    cut = data.index(b"2.7200,2.7670") + 40  # inside the 4th row of plate 1
    with pytest.raises(ParseError) as error:
        _parse(data[:cut], "cut.csv")
    assert "truncated" in error.value.reason
    assert error.value.line == 1  # the plate block the file ends in


def test_truncated_at_the_end_of_a_grid_line() -> None:
    data = _path("PE_Envision_absorbance_A450_example.csv").read_bytes()
    cut = data.index(b"D,0.1500,0.0870")  # rows A..C of plate 2 survive, whole lines
    with pytest.raises(ParseError, match="truncated"):
        _parse(data[:cut], "cut.csv")


def test_bare_grid_with_a_missing_row_is_refused() -> None:
    lines = _path("PE_Envision_fluorescence_example02.csv").read_text().splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if line.startswith("5330484,2883838"))  # plate 2, row B
    with pytest.raises(ParseError) as error:
        _parse("".join(lines[:row] + lines[row + 1 :]).encode(), "gap.csv")
    assert "7 rows" in error.value.reason and "96-well" in error.value.reason


def test_labelled_grid_with_a_missing_row_reads_the_rows_it_names() -> None:
    # EnVision exports area reads with the row letters they cover (see SPARSE), so a grid without row D is a read
    # of the other rows: D's wells are absent, every other well keeps its own letter and value.
    lines = _path("PE_Envision_absorbance_A450_example.csv").read_text().splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if line.startswith("D,0.0700"))
    readings = _by_key(_parse("".join(lines[:row] + lines[row + 1 :]).encode(), "gap.csv"))
    assert len(readings) == 180
    assert ("gap plate 1", "D01", "absorbance", "450", 1) not in readings
    assert readings[("gap plate 1", "E01", "absorbance", "450", 1)].value == 0.08


def test_labelled_grid_with_rows_out_of_order_is_refused() -> None:
    text = _path("PE_Envision_absorbance_A450_example.csv").read_text()
    swapped = text.replace("\nC,0.0950", "\nX,0.0950", 1).replace("\nX,0.0950", "\nB,0.0950", 1)
    with pytest.raises(ParseError, match="next row letter"):
        _parse(swapped.encode(), "swap.csv")


def test_random_binary_garbage() -> None:
    garbage = random.Random(7).randbytes(5000)
    with pytest.raises(ParseError):
        _parse(garbage, "garbage.csv")


def test_text_that_is_not_an_envision_export() -> None:
    with pytest.raises(ParseError, match="Plate,Repeat,Barcode"):
        _parse(b"Well,Value\nA1,0.5\n", "other.csv")


# --- hand-made variants the real files lack ------------------------------------------------------------------------


def test_result_list_block_is_read_by_well() -> None:
    text = _path("PE_Envision_absorbance_A450_example.csv").read_text()
    start = text.index(",01,02,03")
    end = text.index("\n\n", start)
    listed = text[:start] + "Well,Type,Result\nA1,S,0.5\nB12,S,OVRFLW\nH3,S,0.25" + text[end:]
    readings = _by_key(_parse(listed.encode(), "list.csv"))
    assert len(readings) == 3 + 96  # plate 1 as a list, plate 2 still a grid
    assert readings[("list plate 1", "A01", "absorbance", "450", 1)].value == 0.5
    assert readings[("list plate 1", "B12", "absorbance", "450", 1)].flag == "overflow"
    assert readings[("list plate 1", "H03", "absorbance", "450", 1)].plate_format == 96


def test_two_detectors_with_one_filter_get_the_detector_in_the_channel() -> None:
    # a fluorescence polarisation label reads S and P with the same emission filter on the 1st and 2nd detector
    text = _path("PE_Envision_fluorescence_example01.csv").read_text()
    text = text.replace("2nd ems. filter,,,,Cy5 620", "2nd ems. filter,,,,APC 665")
    readings = _by_key(_parse(text.encode(), "fp.csv"))
    assert readings[("fp", "A01", "fluorescence", "320/665 1st", 1)].value == 31441.0
    assert readings[("fp", "A01", "fluorescence", "320/665 2nd", 1)].value == 80368.0
