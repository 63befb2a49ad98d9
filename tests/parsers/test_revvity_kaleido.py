"""The native Kaleido parser against allotropy, against values read off the raw files, and against damaged files."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.files import head_text
from lab_etl.parsers.reading import Reading
from lab_etl.parsers.revvity_kaleido import PARSER
from tests.parsers.oracle import DATA, all_instrument_files, allotropy_pairs, files, native_pairs

FOLDER = "revvity_kaleido"
#: optical imaging exports: an image file name per well plus image analysis, no plate-reader values
IMAGING = [path for path in files(FOLDER) if path.name.startswith("optical_imaging")]
READER = [path for path in files(FOLDER) if path not in IMAGING]


def _path(name: str) -> Path:
    return DATA / FOLDER / name


def _parse(data: bytes, name: str = "plate.csv") -> list[Reading]:
    return list(PARSER.parse(data, name))


def _by_key(readings: list[Reading]) -> dict[tuple[str, str, str, str, int], Reading]:
    return {reading.key: reading for reading in readings}


def _facts(readings: list[Reading]) -> list[tuple[object, ...]]:
    return [(r.key, r.value, r.raw_value, r.flag, r.plate_format, r.unit, r.read_at) for r in readings]


def test_folder_holds_both_kinds() -> None:
    assert len(READER) == 4 and len(IMAGING) == 2


# --- allotropy as the oracle -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", READER, ids=lambda p: p.name)
def test_same_values_as_allotropy(path: Path) -> None:
    assert native_pairs(path, PARSER) == allotropy_pairs(path, "revvity_kaleido")


@pytest.mark.parametrize("path", IMAGING, ids=lambda p: p.name)
def test_imaging_exports_are_refused_with_the_reason(path: Path) -> None:
    # allotropy turns these into image documents without a plate-reader value (the oracle finds no readings);
    # the per-well "values" are .tiff file names and the numbers below them are image analysis (calculated).
    with pytest.raises(ParseError) as error:
        _parse(path.read_bytes(), path.name)
    assert "optical imaging" in error.value.reason and "no plate-reader values" in error.value.reason


# --- golden facts read off the raw files ---------------------------------------------------------------------------

GOLDEN = [
    # file, plate, well, measurement, channel, value, raw
    (
        "absorbance_endpoint_single_plate_example_01.csv",
        "V-2020-10-26 16:16:17",
        "A01",
        "absorbance",
        "450",
        2.2075694995298862,
        "2.2075694995298862",
    ),
    (
        "absorbance_endpoint_single_plate_example_01.csv",
        "V-2020-10-26 16:16:17",
        "H12",
        "absorbance",
        "450",
        0.043160960819347817,
        "0.043160960819347817",
    ),
    (
        "fluorescence_endpoint_single_plate_example_01.csv",
        "V-2022-11-10 12:11:46",
        "A01",
        "fluorescence",
        "485/535",
        18126.0,
        "18126",
    ),
    (
        "fluorescence_endpoint_single_plate_example_01.csv",
        "V-2022-11-10 12:11:46",
        "P24",
        "fluorescence",
        "485/535",
        85178.0,
        "85178",
    ),
    (
        "luminescence_endpoint_single_plate_example_01.csv",
        "V-2023-05-17 16:21:29",
        "A01",
        "luminescence",
        "luminescence",
        94395.0,
        "94395",
    ),
    (
        "luminescence_endpoint_single_plate_example_01.csv",
        "V-2023-05-17 16:21:29",
        "H12",
        "luminescence",
        "luminescence",
        75.0,
        "75",
    ),
    (
        "luminescence_v3.5_pure_csv_format_example.csv",
        "BARCODE_1 13:39:01",
        "B02",
        "luminescence",
        "luminescence",
        218540.0,
        "218540",
    ),
    (
        "luminescence_v3.5_pure_csv_format_example.csv",
        "BARCODE_1 13:39:01",
        "H01",
        "luminescence",
        "luminescence",
        1510.0,
        "1510",
    ),
]


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: f"{c[0]}:{c[2]}")
def test_golden_values(case: tuple[str, str, str, str, str, float, str]) -> None:
    name, plate, well, measurement, channel, value, raw = case
    reading = _by_key(_parse(_path(name).read_bytes(), name))[(plate, well, measurement, channel, 1)]
    assert (reading.value, reading.raw_value, reading.flag) == (value, raw, None)


COUNTS = {
    "absorbance_endpoint_single_plate_example_01.csv": (96, 96),
    "fluorescence_endpoint_single_plate_example_01.csv": (384, 384),
    "luminescence_endpoint_single_plate_example_01.csv": (96, 96),
    "luminescence_v3.5_pure_csv_format_example.csv": (96, 96),
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_and_unique_keys(name: str) -> None:
    readings = _parse(_path(name).read_bytes(), name)
    assert len(readings) == COUNTS[name][0]
    assert {r.plate_format for r in readings} == {COUNTS[name][1]}
    assert len({r.key for r in readings}) == len(readings)


def test_metadata() -> None:
    absorbance = _parse(_path("absorbance_endpoint_single_plate_example_01.csv").read_bytes(), "a.csv")[0]
    assert (absorbance.wavelength_nm, absorbance.unit, absorbance.instrument_serial) == (450.0, "AU", "1234567")
    assert absorbance.read_at is not None and absorbance.read_at.isoformat().startswith("2020-10-26T16:16:18")
    assert (absorbance.vendor, absorbance.instrument_model) == ("Revvity", "EnSight")
    fluorescence = _parse(_path("fluorescence_endpoint_single_plate_example_01.csv").read_bytes(), "f.csv")[0]
    assert (fluorescence.excitation_nm, fluorescence.wavelength_nm, fluorescence.unit) == (485.0, 535.0, "RFU")
    v35 = _parse(_path("luminescence_v3.5_pure_csv_format_example.csv").read_bytes(), "l.csv")[0]
    # v3.5 states "Number of Rows,,12" and "Number of Columns,,8"; the plate type name (96 General) and grid win
    assert (v35.plate_format, v35.instrument_serial, v35.read_at.year if v35.read_at else None) == (96, "1712111", 2024)


def test_platemap_codes_become_sample_names() -> None:
    text = _path("luminescence_endpoint_single_plate_example_01.csv").read_text()
    platemap = text.index("Platemap")
    row_a = text.index("\nA,-,", platemap)
    text = text[:row_a] + "\nA,S1,B2" + text[row_a + len("\nA,-,-") :]
    readings = _by_key(_parse(text.encode(), "map.csv"))
    assert readings[("V-2023-05-17 16:21:29", "A01", "luminescence", "luminescence", 1)].sample_name == "S1"
    assert readings[("V-2023-05-17 16:21:29", "A02", "luminescence", "luminescence", 1)].sample_name == "B2"
    assert readings[("V-2023-05-17 16:21:29", "A03", "luminescence", "luminescence", 1)].sample_name is None


def test_non_numeric_cells_are_flagged_not_dropped() -> None:
    text = _path("luminescence_endpoint_single_plate_example_01.csv").read_text()
    text = text.replace("A,94395,87450,", "A,OVRFLW,,", 1)
    readings = _by_key(_parse(text.encode(), "flags.csv"))
    overflow = readings[("V-2023-05-17 16:21:29", "A01", "luminescence", "luminescence", 1)]
    empty = readings[("V-2023-05-17 16:21:29", "A02", "luminescence", "luminescence", 1)]
    assert (overflow.value, overflow.flag, overflow.raw_value) == (None, "overflow", "OVRFLW")
    assert (empty.value, empty.flag) == (None, "missing")
    assert len(readings) == 96


def test_two_operations_and_repeats() -> None:
    text = _path("luminescence_endpoint_single_plate_example_01.csv").read_text()
    start = text.index("Result for Luminescence 1")
    end = text.index("Measurement Information")
    block = text[start:end]
    second_operation = block.replace("Result for Luminescence 1", "Result for Luminescence 2")
    repeat = block.replace("V-2023-05-17 16:21:29,1,", "V-2023-05-17 16:21:29,2,")
    readings = _by_key(_parse((text[:end] + second_operation + repeat + text[end:]).encode(), "multi.csv"))
    plate = "V-2023-05-17 16:21:29"
    assert len(readings) == 3 * 96
    assert readings[(plate, "A01", "luminescence", "luminescence Luminescence 1", 1)].value == 94395.0
    assert readings[(plate, "A01", "luminescence", "luminescence Luminescence 1", 2)].value == 94395.0
    assert readings[(plate, "A01", "luminescence", "luminescence Luminescence 2", 1)].value == 94395.0


def test_semicolon_export_with_decimal_commas_gives_the_same_values() -> None:
    original = _path("absorbance_endpoint_single_plate_example_01.csv").read_text()
    european = original.replace(",", ";").replace(".", ",")
    assert [(r.key, r.value) for r in _parse(european.encode(), "plate.csv")] == [
        (r.key, r.value) for r in _parse(original.encode(), "plate.csv")
    ]


# --- detection and broken files ----------------------------------------------------------------------------------


def test_sniff_accepts_every_kaleido_file() -> None:
    for path in files(FOLDER):
        assert PARSER.sniff(head_text(path.read_bytes(), path.name)), path.name


def test_sniff_accepts_a_head_without_the_export_line() -> None:
    for path in files(FOLDER):
        head = head_text(path.read_bytes(), path.name).split("Exported with")[0][:400]
        assert PARSER.sniff(head), path.name


def test_sniff_refuses_every_other_instrument_file() -> None:
    others = [p for p in all_instrument_files() if p.relative_to(DATA).parts[0] != FOLDER]
    assert others
    for path in others:
        assert not PARSER.sniff(head_text(path.read_bytes(), path.name)), path


def test_empty_file() -> None:
    with pytest.raises(ParseError, match="empty"):
        _parse(b"")


@pytest.mark.parametrize("path", READER, ids=lambda p: p.name)
def test_encodings_and_line_endings_give_the_same_readings(path: Path) -> None:
    data = path.read_bytes()
    text = data.decode("utf-8")
    expected = _facts(_parse(data, path.name))
    variants = {
        "utf-16 bom": text.encode("utf-16"),
        "utf-8 bom": b"\xef\xbb\xbf" + data,
        "crlf": text.replace("\r\n", "\n").replace("\n", "\r\n").encode(),
        "lf": text.replace("\r\n", "\n").encode(),
    }
    for label, variant in variants.items():
        assert _facts(_parse(variant, path.name)) == expected, label


def test_truncated_in_the_middle_of_the_grid() -> None:
    data = _path("fluorescence_endpoint_single_plate_example_01.csv").read_bytes()
    cut = data.index(b"\nG,30832") + 20
    with pytest.raises(ParseError, match="truncated"):
        _parse(data[:cut], "cut.csv")


def test_grid_with_a_missing_row_is_refused() -> None:
    lines = _path("absorbance_endpoint_single_plate_example_01.csv").read_text().splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if line.startswith("D,0.28685"))
    with pytest.raises(ParseError) as error:
        _parse("".join(lines[:row] + lines[row + 1 :]).encode(), "gap.csv")
    assert "row 'E' where row D should be" in error.value.reason


def test_short_row_is_refused() -> None:
    text = _path("luminescence_endpoint_single_plate_example_01.csv").read_text()
    text = text.replace("C,95030,86670,81190,40,45,10,57750,41340,28510,65,40,70,", "C,95030,86670", 1)
    with pytest.raises(ParseError, match="row C has 2 cells"):
        _parse(text.encode(), "short.csv")


def test_random_binary_garbage() -> None:
    with pytest.raises(ParseError):
        _parse(random.Random(11).randbytes(5000), "garbage.csv")


def test_text_that_is_not_a_kaleido_export() -> None:
    with pytest.raises(ParseError, match="results grid"):
        _parse(b"Well,Value\nA1,0.5\n", "other.csv")
