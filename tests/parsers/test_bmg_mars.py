"""BMG Labtech MARS CSV parser: allotropy as the oracle, golden facts read off the raw files, broken files."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.bmg_mars import PARSER
from lab_etl.parsers.files import head_text
from lab_etl.parsers.reading import Reading
from tests.parsers.oracle import DATA, all_instrument_files, allotropy_pairs, files, native_pairs

FOLDER = DATA / "bmg_mars"
TRANSCREENER = FOLDER / "16-02-29 14-34-46 Transcreener ADP2 FI.csv"
QC_384 = FOLDER / "16-03-03 13-25-45 472 QC 384 FI.csv"
LUM_1536 = FOLDER / "24-10-16 15-09-52 Luminescence 1536.csv"
ABS_96 = FOLDER / "BMG Labtech format.CSV"
PHERASTAR_ABS = FOLDER / "PHERAstar output file.CSV"


def parse(data: bytes, name: str = "run.csv") -> list[Reading]:
    return list(PARSER.parse(data, name))


def by_key(readings: list[Reading]) -> dict[tuple[str, str, str, str, int], Reading]:
    return {reading.key: reading for reading in readings}


def _lowercase_rows(path: Path) -> set[str]:
    """BMG's 1536-well rows 27..32 (a..f) that the file holds."""
    text = path.read_text()
    return {line[0] for line in text.splitlines() if line[:1] in set("abcdef") and line[1:2] == ","}


# ----------------------------------------------------------------------------- oracle
@pytest.mark.parametrize("path", files("bmg_mars"), ids=lambda p: p.name)
def test_same_values_as_allotropy(path: Path) -> None:
    expected = allotropy_pairs(path, "bmg_mars")
    assert native_pairs(path, PARSER) == expected


def test_every_real_file_is_covered() -> None:
    assert len(files("bmg_mars")) == 5


# ----------------------------------------------------------------------------- golden facts
def test_transcreener_384_fluorescence() -> None:
    readings = parse(TRANSCREENER.read_bytes(), TRANSCREENER.name)
    assert len(readings) == 16 * 24
    assert sum(r.value is not None for r in readings) == 302
    keys = by_key(readings)
    first = keys[("black 384w small volume", "A01", "fluorescence", "580/620", 1)]
    assert first.value == 25104.0
    assert (first.excitation_nm, first.wavelength_nm, first.unit) == (580.0, 620.0, "RFU")
    assert first.plate_format == 384
    assert first.read_at == datetime(2016, 2, 29, 14, 34, 46)
    assert first.instrument_model == "PHERAstar"
    assert keys[("black 384w small volume", "P12", "fluorescence", "580/620", 1)].value == 62.0
    assert keys[("black 384w small volume", "O06", "fluorescence", "580/620", 1)].value == 107.0
    # a blank cell inside the printed grid is kept, flagged missing
    blank = keys[("black 384w small volume", "O11", "fluorescence", "580/620", 1)]
    assert (blank.value, blank.flag, blank.raw_value) == (None, "missing", "")


def test_qc_384_sparse_grid() -> None:
    readings = parse(QC_384.read_bytes(), QC_384.name)
    keys = by_key(readings)
    assert {r.plate_id for r in readings} == {"472-0016"}
    assert keys[("472-0016", "A12", "fluorescence", "485/520", 1)].value == 231438.0
    assert keys[("472-0016", "P24", "fluorescence", "485/520", 1)].value == 23949.0
    assert keys[("472-0016", "D01", "fluorescence", "485/520", 1)].flag == "missing"
    assert sum(r.value is not None for r in readings) == 68


def test_luminescence_1536_lowercase_rows() -> None:
    readings = parse(LUM_1536.read_bytes(), LUM_1536.name)
    assert len(readings) == 6 * 48
    assert {r.plate_format for r in readings} == {1536}
    assert {r.channel for r in readings} == {"luminescence"}
    assert {r.well[:-2] for r in readings} == {"A", "G", "M", "S", "Y", "AE"}
    keys = by_key(readings)
    assert keys[("92A_4", "AE01", "luminescence", "luminescence", 1)].value == 36809.0
    assert keys[("92A_4", "AE48", "luminescence", "luminescence", 1)].row_index == 31
    assert keys[("92A_4", "Y48", "luminescence", "luminescence", 1)].value == 53634.0
    assert readings[0].read_at == datetime(2024, 10, 16, 15, 9, 52)
    assert readings[0].instrument_model == "CLARIOstar"
    assert readings[0].unit == "RLU"


def test_absorbance_96_with_chromatic_index() -> None:
    # 'Raw Data (450 1)': 450 nm, chromatic 1 (allotropy reads the 1 as an emission wavelength)
    readings = parse(ABS_96.read_bytes(), ABS_96.name)
    assert len(readings) == 96
    keys = by_key(readings)
    a1 = keys[("xxxxxxxxxxxxx", "A01", "absorbance", "450", 1)]
    assert (a1.value, a1.wavelength_nm, a1.excitation_nm, a1.unit) == (0.073, 450.0, None, "OD")
    assert a1.read_at == datetime(2021, 5, 14, 15, 29, 50)
    assert a1.instrument_model is None  # the Path names no BMG reader folder
    assert keys[("xxxxxxxxxxxxx", "H12", "absorbance", "450", 1)].value == 0.207


def test_pherastar_absorbance() -> None:
    readings = parse(PHERASTAR_ABS.read_bytes(), PHERASTAR_ABS.name)
    keys = by_key(readings)
    plate = "20260618 dsRNA _PLATE_01_18Jun26"
    assert keys[(plate, "A01", "absorbance", "450", 1)].value == 1.691
    assert keys[(plate, "H12", "absorbance", "450", 1)].value == 0.884
    assert readings[0].read_at == datetime(2026, 6, 18, 15, 56, 48)
    assert all(r.flag is None for r in readings)


@pytest.mark.parametrize("path", files("bmg_mars"), ids=lambda p: p.name)
def test_keys_are_unique(path: Path) -> None:
    readings = parse(path.read_bytes(), path.name)
    assert len({r.key for r in readings}) == len(readings)
    assert all(r.channel and r.measurement == r.measurement.lower() for r in readings)


# ----------------------------------------------------------------------------- errors folder
def test_error_file_is_refused_with_a_reason() -> None:
    # the header uses 'User = USER' instead of 'User: USER'; allotropy refuses it as well
    path = FOLDER / "errors" / "file_with_no_delimiter_malformed.csv"
    # detection still routes it here, so the user gets this parser's reason rather than "unknown file"
    assert PARSER.sniff(head_text(path.read_bytes(), path.name))
    with pytest.raises(ParseError, match="Key: value") as error:
        parse(path.read_bytes(), path.name)
    assert error.value.line == 9  # the grid's column header, where data starts without a header above it


# ----------------------------------------------------------------------------- sniff
@pytest.mark.parametrize("path", files("bmg_mars"), ids=lambda p: p.name)
def test_sniff_accepts_every_mars_file(path: Path) -> None:
    assert PARSER.sniff(head_text(path.read_bytes(), path.name))


@pytest.mark.parametrize(
    "path", [p for p in all_instrument_files() if "bmg_mars" not in p.parts], ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_sniff_rejects_other_vendors(path: Path) -> None:
    assert not PARSER.sniff(head_text(path.read_bytes(), path.name))


def test_sniff_never_raises_on_odd_text() -> None:
    assert not PARSER.sniff("")
    assert not PARSER.sniff("\x00\x01" * 100)
    assert not PARSER.sniff("Raw Data (450)\n,1,2\nA,1,2\n")  # no MARS header


# ----------------------------------------------------------------------------- corruptions
def test_empty_file() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse(b"")


def test_truncated_in_a_data_row() -> None:
    data = TRANSCREENER.read_bytes()
    cut = data.index(b"H,59660") + 30
    with pytest.raises(ParseError, match="truncated") as error:
        parse(data[:cut], TRANSCREENER.name)
    assert error.value.line == 17


def test_truncated_before_the_grid() -> None:
    data = TRANSCREENER.read_bytes()
    with pytest.raises(ParseError, match="no raw data"):
        parse(data[: data.index(b",1,2,3")], TRANSCREENER.name)


@pytest.mark.parametrize("path", files("bmg_mars"), ids=lambda p: p.name)
def test_encodings_and_line_ends_give_the_same_readings(path: Path) -> None:
    data = path.read_bytes()
    original = parse(data, path.name)
    text = data.decode("utf-8")
    lf = text.replace("\r\n", "\n")
    variants = [
        b"\xef\xbb\xbf" + data,
        "\ufeff".encode("utf-16-le") + text.encode("utf-16-le"),
        text.encode("utf-16"),
        lf.encode(),
        lf.replace("\n", "\r\n").encode(),
    ]
    for variant in variants:
        assert parse(variant, path.name) == original


def test_a_deleted_grid_row_leaves_its_wells_out() -> None:
    # MARS prints only the rows that hold read wells (the 1536 file has rows A, G, M, S, Y, e), so a
    # grid without row C is a valid export: row C's wells are absent, every other value is unchanged.
    data = ABS_96.read_bytes()
    lines = data.split(b"\r\n")
    without_c = b"\r\n".join(line for line in lines if not line.startswith(b"C,"))
    original = parse(data, ABS_96.name)
    readings = parse(without_c, ABS_96.name)
    assert readings == [r for r in original if not r.well.startswith("C")]
    assert len(readings) == 84


def test_a_grid_row_without_values_is_flagged_missing() -> None:
    data = ABS_96.read_bytes().replace(
        b"C,0.502,0.065,0.012,0.656,0.501,0.132,0.111,0.142,0.71,0.581,0.541,0.596", b"C"
    )
    readings = parse(data, ABS_96.name)
    row_c = [r for r in readings if r.well.startswith("C")]
    assert len(readings) == 96
    assert len(row_c) == 12 and all(r.value is None and r.flag == "missing" for r in row_c)


def test_binary_garbage() -> None:
    noise = bytes(random.Random(7).randrange(256) for _ in range(4096))
    with pytest.raises(ParseError):
        parse(noise)


def test_text_that_is_no_mars_export() -> None:
    with pytest.raises(ParseError):
        parse(b"just some notes\nabout an experiment\n")


# ----------------------------------------------------------------------------- format variants (hand-made)
HEADER = (
    "User: USER,Path: C:\\Program Files (x86)\\BMG\\CLARIOstar\\User\\Data,Test run no.: 12\n"
    "Test name: demo,Date: 9/20/2023,Time: 8:33:05 PM\n"
    "ID1: PLATE-7,ID2: ,ID3:\n"
)


def test_semicolon_spectrum_table_with_decimal_commas() -> None:
    text = (
        "User: USER;Path: C:\\Program Files (x86)\\BMG\\Omega\\User\\Data;Test run no.: 7\n"
        "Test name: scan;Date: 03/07/2025;Time: 17:02:38\n\nID1: demo;\nAbsorbance spectrum\n\n"
        "Raw Data  (Abs Spectrum)#\n\n"
        " Well; Content; 1 - 1; 1 - 1; 1 - 1;\n;Wavelength [nm];350;351;352;\n"
        "A01;Blank B;0,322;0,320;overflow;\nA02;Sample X1;0,384;0,381;;\n"
    )
    readings = parse(text.encode("cp1252"), "scan.csv")
    keys = by_key(readings)
    point = keys[("demo", "A01", "absorbance", "absorbance spectrum", 2)]
    assert (point.value, point.raw_value, point.wavelength_nm, point.sample_name) == (0.32, "0,320", 351.0, "Blank B")
    assert point.read_at == datetime(2025, 7, 3, 17, 2, 38)  # day first with a 24 h clock
    over = keys[("demo", "A01", "absorbance", "absorbance spectrum", 3)]
    assert (over.value, over.flag) == (None, "overflow")
    assert keys[("demo", "A02", "absorbance", "absorbance spectrum", 3)].flag == "missing"
    assert len(readings) == 6


def test_kinetic_table_with_an_empty_line_after_every_line() -> None:
    text = (
        "User: USER,Path: C:\\Data\\,Test run no.: 1735\n\nTest name: OD600,Date: 15/10/2025,Time: 11:58:41\n\n"
        "Absorbance\n\n,,,\n\nWell Row,Well Col,Content,Raw Data (600),Raw Data (600),Raw Data (600)\n\n"
        ",,Time,0 h ,0 h 60 min,1 h 15 min\n\nA,1,Sample X1,0.081,0.097,0.1\n\nC,2,Sample X26,0.097,OVRFLW,0.099\n\n"
    )
    readings = parse(text.encode(), "growth.csv")
    assert [(r.well, r.read_index, r.elapsed_s) for r in readings[:3]] == [
        ("A01", 1, 0.0),
        ("A01", 2, 3600.0),
        ("A01", 3, 4500.0),
    ]
    assert {r.plate_id for r in readings} == {"growth"}  # no ID1: the file's stem
    assert by_key(readings)[("growth", "C02", "absorbance", "600", 2)].flag == "overflow"
    assert len(readings) == 6


def test_multichromatic_table_skips_calculated_columns() -> None:
    text = HEADER + (
        "Fluorescence (FI), multichromatic\n"
        "Well,Content,Raw Data (638-12/675-12 1),Raw Data (400-15/675-12 2),"
        "Blank corrected based on Raw Data (638-12/675-12 1)\n"
        "A01,Sample X1,420,702,3\nA02,Sample X2,369,584,4\n"
    )
    readings = parse(text.encode(), "multi.csv")
    assert sorted((r.well, r.channel, r.value) for r in readings) == [
        ("A01", "400/675", 702.0),
        ("A01", "638/675", 420.0),
        ("A02", "400/675", 584.0),
        ("A02", "638/675", 369.0),
    ]
    assert readings[0].read_at == datetime(2023, 9, 20, 20, 33, 5)  # month first with an AM/PM clock


def test_two_chromatics_at_one_wavelength_get_distinct_channels() -> None:
    text = HEADER + "Absorbance\nWell,Content,Raw Data (600 1),Raw Data (600 2)\nA01,Sample X1,0.1,0.2\n"
    readings = parse(text.encode(), "x.csv")
    assert [(r.channel, r.wavelength_nm, r.value) for r in readings] == [("600 1", 600.0, 0.1), ("600 2", 600.0, 0.2)]


def test_well_scan_grid_and_a_calculated_grid() -> None:
    text = HEADER + (
        "Fluorescence (FI)\nWell Scan: Average (570-8/615-8)\n,1,2,3,4,5,6,7,8,9,10,11,12\n"
        "A,1873.1,1532.4,1529.9,1549.9,1570.4,1643.6,1801.6,2249.4,2796.3,2821.3,2894.9,2718.7\n"
        "\nBlank corrected based on Raw Data (570-8/615-8)\n,1,2,3,4,5,6,7,8,9,10,11,12\nA,1,2,3,4,5,6,7,8,9,10,11,12\n"
    )
    readings = parse(text.encode(), "scan.csv")
    assert len(readings) == 12
    assert readings[0].channel == "570/615" and readings[0].value == 1873.1


def test_two_runs_in_one_file_are_two_plates() -> None:
    grid = "Raw Data (450)\n,1,2,3,4,5,6,7,8,9,10,11,12\nA,1,2,3,4,5,6,7,8,9,10,11,12\n"
    second = HEADER.replace("PLATE-7", "PLATE-8")
    readings = parse((HEADER + "Absorbance\n" + grid + "\n" + second + "Absorbance\n" + grid).encode(), "x.csv")
    assert Counter(r.plate_id for r in readings) == {"PLATE-7": 12, "PLATE-8": 12}


def test_repeated_section_is_a_second_read() -> None:
    grid = "Raw Data (450)\n,1,2,3,4,5,6,7,8,9,10,11,12\nA,1,2,3,4,5,6,7,8,9,10,11,12\n"
    readings = parse((HEADER + "Absorbance\n" + grid + grid).encode(), "x.csv")
    assert Counter(r.read_index for r in readings) == {1: 12, 2: 12}


def test_only_calculated_results_are_refused() -> None:
    text = HEADER + "Absorbance\nWell,Content,Protein concentration in g/l\nA01,Sample X1,0.09\n"
    with pytest.raises(ParseError, match="no raw data"):
        parse(text.encode(), "x.csv")


def test_missing_measurement_line_is_refused() -> None:
    text = HEADER + "Raw Data (485/520)\n,1,2\nA,1,2\n"
    with pytest.raises(ParseError, match="what was measured"):
        parse(text.encode(), "x.csv")


def test_duplicate_grid_row_is_refused() -> None:
    text = HEADER + "Absorbance\nRaw Data (450)\n,1,2\nA,1,2\nA,3,4\n"
    with pytest.raises(ParseError, match="twice"):
        parse(text.encode(), "x.csv")


def test_row_outside_the_plate_is_refused() -> None:
    text = HEADER + "Absorbance\nRaw Data (450)\n,1,2,3,4,5,6,7,8,9,10,11,12\nQ,1,2,3,4,5,6,7,8,9,10,11,12\n"
    with pytest.raises(ParseError, match="outside"):
        parse(text.encode(), "x.csv")


def test_a_text_line_after_the_grid_ends_it() -> None:
    text = HEADER + "Absorbance\nRaw Data (450)\n,1,2\nA,1,2\nB,3,4\nOD,values are pathlength corrected\n"
    readings = parse(text.encode(), "x.csv")
    assert [(r.well, r.value) for r in readings] == [("A01", 1.0), ("A02", 2.0), ("B01", 3.0), ("B02", 4.0)]
