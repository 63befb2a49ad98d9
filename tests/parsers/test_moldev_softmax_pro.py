"""Tests of the native SoftMax Pro parser: allotropy as the oracle over every real file, golden values read off the
raw files, the files allotropy rejects, detection, hand-made corruptions and a property test on mutated files."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.files import decode_text, head_text
from lab_etl.parsers.moldev_softmax_pro import PARSER
from lab_etl.parsers.reading import Reading
from lab_etl.parsers.registry import parse_bytes
from tests.parsers.oracle import DATA, all_instrument_files, files, native_pairs, value_pairs

FOLDER = "moldev_softmax_pro"
VENDOR = "moldev_softmax_pro"
REAL = files(FOLDER)
ERRORS = sorted((DATA / FOLDER / "errors").iterdir())


def _read(path: Path) -> list[Reading]:
    return list(PARSER.parse(path.read_bytes(), path.name))


def _file(name: str) -> Path:
    return DATA / FOLDER / name


def _by_key(readings: list[Reading]) -> dict[tuple[str, str, str, str, int], Reading]:
    return {r.key: r for r in readings}


def _parse_text(text: str, name: str = "made.txt") -> list[Reading]:
    return list(PARSER.parse(text.encode("utf-8"), name))


# --- the oracle -------------------------------------------------------------------------------------------------


def _allotropy_readings(path: Path) -> list[Reading]:
    return parse_bytes(path.read_bytes(), path.name, vendor=VENDOR, engine="allotropy").readings


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_numeric_readings_match_allotropy(path: Path) -> None:
    allotropy = _allotropy_readings(path)
    native = _read(path)
    assert native_pairs(path, PARSER) == value_pairs(allotropy)
    # every cell allotropy reports without a number is, natively, a flagged reading too, or a blank of a well
    # outside the plate's stated read area (partial plates), which the native parser does not report at all
    unreadable = Counter(r.well for r in allotropy if r.value is None)
    flagged = Counter(r.well for r in native if r.value is None)
    assert all(r.flag for r in native if r.value is None)
    assert set(unreadable - flagged).isdisjoint(r.well for r in native)


def test_every_real_file_is_covered_by_the_oracle() -> None:
    assert len(REAL) == 22 and len(ERRORS) == 4


# --- golden values read off the raw files ----------------------------------------------------------------------

#: readings per file: (all readings, readings without a value)
COUNTS = {
    "ACSINS_absorbance_timeformat_spectrum.txt": (18360, 0),  # 360 wells with data x 51 wavelengths
    "MD_SMP_absorbance_endpoint_example01.txt": (192, 0),  # 2 plates x 96 wells x 450 nm
    "MD_SMP_absorbance_endpoint_example04.txt": (864, 0),  # 3 plates x 96 x 3 wavelengths
    "MD_SMP_absorbance_endpoint_example05.txt": (288, 0),  # ##BLOCKS= 3: the first plate and two groups only
    "MD_SMP_absorbance_endpoint_partial_plate_example02.txt": (240, 0),  # 8 rows x 10 columns x 3
    "MD_SMP_absorbance_endpoint_partial_plate_example03.txt": (72, 0),  # 3 rows x 8 columns x 3
    "MD_SMP_absorbance_endpoint_partial_plate_example05.txt": (96, 0),  # 4 rows x 8 columns x 3
    "MD_SMP_fluorescence_endpoint_example06.txt": (864, 0),
    "MD_SMP_fluorescence_endpoint_partial_plate_example01.txt": (96, 0),
    "MD_SMP_fluorescence_endpoint_partial_plate_example02.txt": (96, 0),
    "MD_SMP_luminescence_endpoint_example08.txt": (864, 0),
    "MD_SMP_luminescence_endpoint_example09.txt": (288, 0),
    "MD_SMP_luminescence_endpoint_partial_plate_example02.txt": (96, 0),
    "abs_endpoint_plates.txt": (288, 1),  # B1 of the first read says "Path?"
    "group_cols_with_int_sample_names.txt": (96, 0),
    "group_with_partial_rows.txt": (192, 0),
    "kinetic_partial_plate_from_column2.txt": (720, 0),
    "partial_plate.txt": (5376, 0),  # 16 x 16 wells x 21 wavelengths
    # 384 wells x 51 wavelengths; A1 reads ??? at three wavelengths, O13..P24 are blank at all 51
    "partial_plate_with_empty_values.txt": (19584, 3 + 2 * 12 * 51),
    "softmaxpro_example_reduced.txt": (192, 192),  # Reduced only: no raw read, 96 wells x 2 wavelengths
    "softmaxpro_no_calc_docs.txt": (288, 0),
    "spectrum_data.txt": (1536, 0),  # 384 wells x 4 wavelengths
}


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_counts_and_unique_keys(path: Path) -> None:
    readings = _read(path)
    assert (len(readings), sum(r.value is None for r in readings)) == COUNTS[path.name]
    assert len({r.key for r in readings}) == len(readings)
    for reading in readings:
        assert reading.channel
        assert reading.vendor == "Molecular Devices"
        assert reading.measurement in {"absorbance", "fluorescence", "luminescence"}
        assert reading.plate_format in {24, 96, 384}


def test_golden_absorbance_endpoint_two_plates() -> None:
    readings = _by_key(_read(_file("MD_SMP_absorbance_endpoint_example01.txt")))
    first = readings[("Plate01", "A01", "absorbance", "450", 1)]
    assert (first.value, first.raw_value, first.unit, first.wavelength_nm) == (
        3.41797666666667,
        "3.41797666666667",
        "OD",
        450.0,
    )
    assert first.sample_name == "01"  # Group "Standards", WellPlateName Plate01
    assert first.read_at == datetime(2023, 11, 27, 10, 43, 25)
    last = readings[("Plate02", "H12", "absorbance", "450", 1)]
    assert (last.value, last.sample_name, last.plate_format) == (1.79018796133333, "24", 96)
    # the reduced grid below the raw one repeats the values with more digits: it is never read
    assert readings[("Plate01", "A01", "absorbance", "450", 1)].raw_value != "3.4179766666666667"


def test_golden_non_numeric_cell_and_decimal_comma() -> None:
    readings = _by_key(_read(_file("abs_endpoint_plates.txt")))
    # three reads all at 426 nm: SoftMax's labels Lm1..Lm3 keep them apart
    path = readings[("Plate1", "B01", "absorbance", "426 Lm1", 1)]
    assert (path.value, path.raw_value, path.flag) == (None, "Path?", "invalid")
    comma = readings[("Plate1", "A02", "absorbance", "426 Lm1", 1)]
    assert (comma.value, comma.raw_value) == (0.02, "0,02")
    assert readings[("Plate1", "A02", "absorbance", "426 Lm2", 1)].value == 0.04
    assert readings[("Plate1", "C01", "absorbance", "426 Lm1", 1)].value == 0.0


def test_golden_fluorescence_excitation_emission() -> None:
    readings = _by_key(_read(_file("MD_SMP_fluorescence_endpoint_example06.txt")))
    a1 = readings[("BNCH_28465721_96w", "A01", "fluorescence", "404/445", 1)]
    assert (a1.value, a1.excitation_nm, a1.wavelength_nm, a1.unit) == (2138332.25, 404.0, 445.0, "RFU")
    assert readings[("BNCH_28465721_96w", "A02", "fluorescence", "404/445", 1)].value == -421432.75


def test_golden_luminescence_without_wavelength() -> None:
    readings = _by_key(_read(_file("softmaxpro_no_calc_docs.txt")))
    lum = readings[("Plate2", "A03", "luminescence", "luminescence", 1)]
    assert (lum.value, lum.unit, lum.wavelength_nm) == (3.771, "RLU", None)
    assert readings[("PLate1", "A01", "fluorescence", "380/505", 1)].value == 8723.182


def test_golden_partial_plate_reads_only_the_read_area() -> None:
    readings = _by_key(_read(_file("MD_SMP_absorbance_endpoint_partial_plate_example05.txt")))
    # read area: rows C..F, columns 3..10; three wavelengths side by side
    assert readings[("Plate1", "C03", "absorbance", "230", 1)].value == 3.147
    assert readings[("Plate1", "D03", "absorbance", "230", 1)].value == 0.6
    assert ("Plate1", "A01", "absorbance", "230", 1) not in readings
    assert {r.well[0] for r in readings.values()} == {"C", "D", "E", "F"}


def test_golden_plate_format_spectrum() -> None:
    readings = _by_key(_read(_file("spectrum_data.txt")))
    first = readings[("Plate1", "A01", "absorbance", "scan", 1)]
    assert (first.value, first.wavelength_nm) == (0.1685, 525.0)
    second = readings[("Plate1", "A01", "absorbance", "scan", 2)]
    assert (second.value, second.wavelength_nm) == (0.1688, 526.0)
    assert readings[("Plate1", "P24", "absorbance", "scan", 4)].wavelength_nm == 528.0


def test_golden_time_format_spectrum_and_unreadable_cells() -> None:
    timeformat = _by_key(_read(_file("ACSINS_absorbance_timeformat_spectrum.txt")))
    assert (
        timeformat[("plate", "A01", "absorbance", "scan", 1)].value,
        timeformat[("plate", "A01", "absorbance", "scan", 51)].wavelength_nm,
    ) == (2.672, 570.0)
    assert timeformat[("plate", "A01", "absorbance", "scan", 51)].value == 1.158
    empty = _by_key(_read(_file("partial_plate_with_empty_values.txt")))
    cell = empty[("plate", "A01", "absorbance", "scan", 1)]
    assert (cell.value, cell.raw_value, cell.flag, cell.wavelength_nm) == (None, "???", "invalid", 520.0)
    blank = empty[("plate", "P24", "absorbance", "scan", 1)]
    assert (blank.value, blank.flag) == (None, "missing")


def test_golden_reduced_only_export_gives_missing_reads() -> None:
    readings = _read(_file("softmaxpro_example_reduced.txt"))
    assert {(r.flag, r.raw_value) for r in readings} == {("missing", None)}
    assert Counter(r.channel for r in readings) == {"450": 96, "650": 96}
    by_key = _by_key(readings)
    assert by_key[("Plate1", "A01", "absorbance", "450", 1)].sample_name == "01"  # group "Standards"


def test_block_count_is_honoured() -> None:
    # '##BLOCKS= 3' but twelve blocks follow: SoftMax wrote the count, the rest is not part of the export
    readings = _read(_file("MD_SMP_luminescence_endpoint_example09.txt"))
    assert {r.plate_id for r in readings} == {"BNCH_93013870_96w"}


# --- files allotropy rejects -------------------------------------------------------------------------------------

ERROR_REASONS = {
    "header_size_mismatch.txt": "declares 12 blocks",
    "missing_measurement_table_row.txt": "has 3 rows, a 24-well plate has 4",
    "multi-plate-block_non-unique_plate_ID.txt": "both named 'Plate01'",
}


@pytest.mark.parametrize("path", ERRORS, ids=lambda p: p.name)
def test_error_files(path: Path) -> None:
    if path.name == "lum_spectrum_columns.txt":
        # allotropy refuses luminescence spectra as unsupported; the file itself is a sound Time-format
        # luminescence emission scan (360..750 nm in 10 nm steps, 96 wells), which the native parser reads
        readings = _by_key(_read(path))
        assert len(readings) == 96 * 40
        first = readings[("Plate1", "A01", "luminescence", "scan", 1)]
        assert (first.value, first.wavelength_nm, first.unit) == (0.5, 360.0, "RLU")
        assert readings[("Plate1", "A01", "luminescence", "scan", 40)].wavelength_nm == 750.0
        return
    with pytest.raises(ParseError) as caught:
        _read(path)
    assert ERROR_REASONS[path.name] in caught.value.reason


def test_short_time_format_line_is_an_error() -> None:
    # header_size_mismatch.txt with its block count fixed: the data lines hold 10 values for 96 wells
    text = decode_text(_file("errors/header_size_mismatch.txt").read_bytes()).replace("##BLOCKS= 12", "##BLOCKS= 1")
    with pytest.raises(ParseError, match="stops before well A11"):
        _parse_text(text)


# --- detection ---------------------------------------------------------------------------------------------------


def test_sniff_true_on_every_own_file() -> None:
    own = [p for p in all_instrument_files() if FOLDER in p.parts]
    assert len(own) == len(REAL) + len(ERRORS)
    assert all(PARSER.sniff(head_text(p.read_bytes(), p.name)) for p in own)


def test_sniff_false_on_every_other_file() -> None:
    others = [p for p in all_instrument_files() if FOLDER not in p.parts]
    assert others
    assert [p.name for p in others if PARSER.sniff(head_text(p.read_bytes(), p.name))] == []


@pytest.mark.parametrize("head", ["", "\n\n", "##BLOCKS=", "##BLOCKS= x", "Plate:\tPlate1", "\x00\xff", "#" * 70000])
def test_sniff_never_raises_and_refuses_near_misses(head: str) -> None:
    assert PARSER.sniff(head) is False


# --- hand-made corruptions ---------------------------------------------------------------------------------------

UTF8_FILE = "softmaxpro_no_calc_docs.txt"  # UTF-8, LF line ends, three plates
UTF16_FILE = "MD_SMP_absorbance_endpoint_example01.txt"  # UTF-16 LE with BOM, CRLF


def test_empty_file() -> None:
    with pytest.raises(ParseError, match="empty"):
        list(PARSER.parse(b"", "empty.txt"))


def test_truncated_inside_a_data_grid() -> None:
    text = decode_text(_file(UTF16_FILE).read_bytes())
    cut = text.index("0.125916666666667")  # row D of Plate01's raw grid
    with pytest.raises(ParseError, match="truncated"):
        _parse_text(text[:cut])


@pytest.mark.parametrize("name", [UTF8_FILE, UTF16_FILE])
@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-16"),
        lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
        lambda t: t.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8"),
        lambda t: t.replace("\r\n", "\n").encode("utf-8"),
        lambda t: t.encode("cp1252"),
    ],
    ids=["utf16-bom", "utf8-bom", "crlf", "lf", "cp1252"],
)
def test_encodings_and_line_ends_give_the_same_readings(name: str, encode: object) -> None:
    original = _read(_file(name))
    text = decode_text(_file(name).read_bytes())
    assert list(PARSER.parse(encode(text), name)) == original  # type: ignore[operator]


def test_grid_with_a_missing_row_is_an_error() -> None:
    text = decode_text(_file(UTF8_FILE).read_bytes())
    row_b = "\t\t9357.146\t8319.873"
    start = text.index(row_b)
    end = text.index("\n", start) + 1
    with pytest.raises(ParseError, match="has 7 rows, a 96-well plate has 8"):
        _parse_text(text[:start] + text[end:])


def test_time_format_with_a_missing_wavelength_line_is_an_error() -> None:
    text = decode_text(_file("group_with_partial_rows.txt").read_bytes()).replace("\r\n", "\n")
    start = text.index("\tNaN\t0.0338")
    end = text.index("\n", start) + 1
    with pytest.raises(ParseError, match=r"one data line per wavelength \(2\), found 1"):
        _parse_text(text[:start] + text[end:])


def test_binary_garbage() -> None:
    noise = random.Random(7).randbytes(4096)
    with pytest.raises(ParseError):
        list(PARSER.parse(noise, "noise.txt"))
    with pytest.raises(ParseError, match="##BLOCKS"):
        list(PARSER.parse(b"PK\x03\x04 not a softmax file at all", "x.txt"))


# --- read types the real files lack ------------------------------------------------------------------------------


def _plate_line(fields: dict[int, str], length: int = 21) -> str:
    cells = [""] * length
    for index, value in fields.items():
        cells[index] = value
    return "\t".join(cells)


def _grid(values: list[list[str]], label: str, temperature: str = "25.0") -> list[str]:
    lines = []
    for row, cells in enumerate(values):
        head = [label, temperature] if row == 0 else ["", ""]
        lines.append("\t".join(head + cells + [""]))
    return lines


KINETIC_ABS_HEADER = _plate_line(
    {
        0: "Plate:",
        1: "Kin",
        2: "1.3",
        3: "PlateFormat",
        4: "Kinetic",
        5: "Absorbance",
        6: "Raw",
        7: "FALSE",
        8: "3",
        9: "60",
        10: "30",
        14: "2",
        15: "340 405 ",
        16: "1",
        17: "12",
        18: "96",
        19: "1",
        20: "8",
    }
)


def _kinetic_plate_format(points: int = 3) -> str:
    lines = [
        "##BLOCKS= 1",
        KINETIC_ABS_HEADER,
        "Time(hh:mm:ss)\tTemperature(°C)\t"
        + "\t".join(str(c) for c in range(1, 13))
        + "\t\t"
        + "\t".join(str(c) for c in range(1, 13))
        + "\t",
    ]
    for point in range(points):
        rows = [
            [f"{point}.{r}{c:02d}" for c in range(1, 13)] + [""] + [f"-{point}.{r}{c:02d}" for c in range(1, 13)]
            for r in range(8)
        ]
        lines += _grid(rows, f"00:00:{30 * point:02d}")
        lines.append("")
    lines += [
        "\t\t" + "\t".join(str(c) for c in range(1, 13)),
        "\t\t" + "\t".join(["9.9"] * 12),
        "~End",
        "Original Filename: kin; Date Last Saved: 13/01/2024 14:05:00",
    ]
    return "\n".join(lines) + "\n"


def test_kinetic_plate_format_with_two_wavelengths() -> None:
    readings = _by_key(_parse_text(_kinetic_plate_format()))
    assert len(readings) == 96 * 2 * 3
    point = readings[("Kin", "B03", "absorbance", "340", 2)]
    assert (point.value, point.elapsed_s, point.wavelength_nm) == (
        1.103,
        30.0,
        340.0,
    )  # point 1 (0-based), row B = 1, column 3
    assert readings[("Kin", "H12", "absorbance", "405", 3)].value == -2.712
    assert readings[("Kin", "A01", "absorbance", "405", 1)].elapsed_s == 0.0
    assert point.read_at == datetime(2024, 1, 13, 14, 5)  # day-first date: 13 is no month
    assert all(r.value != 9.9 for r in readings.values())  # the reduced grid


def test_kinetic_run_stopped_early_keeps_the_points_read() -> None:
    readings = _parse_text(_kinetic_plate_format(points=2))
    assert max(r.read_index for r in readings) == 2
    assert len(readings) == 96 * 2 * 2


KINETIC_FL_HEADER = "\t".join(
    [
        "Plate:",
        "KinT",
        "1.3",
        "TimeFormat",
        "Kinetic",
        "Fluorescence",
        "FALSE",
        "Raw",
        "FALSE",
        "3",
        "60",
        "30",
        "",
        "",
        "",
        "1",
        "528 ",
        "1",
        "12",
        "96",
        "485 ",
        "Automatic",
        "515 ",
        "",
        "",
        "6",
        "Medium",
        "",
        "",
        "1",
        "8",
        "",
    ]
)


def _kinetic_time_format(cells: dict[tuple[int, str], str] | None = None) -> str:
    wells = [f"{r}{c}" for r in "ABCDEFGH" for c in range(1, 13)]
    lines = [
        "##BLOCKS= 2",
        "Note:",
        "made by hand",
        "~End",
        KINETIC_FL_HEADER,
        "Time(hh:mm:ss)\tTemperature(°C)\t" + "\t".join(wells),
    ]
    for point, time in enumerate(["00:00:00", "00:00:30", "00:01:00"]):
        values = [(cells or {}).get((point, well), f"{100 * point + index}") for index, well in enumerate(wells)]
        lines.append("\t".join([time, "37.0", *values]))
    lines += ["", "\t\t" + "\t".join(wells), "\t\t" + "\t".join(["1"] * 96), "~End"]
    return "\r\n".join(lines) + "\r\n"


def test_kinetic_time_format_fluorescence_with_unreadable_cells() -> None:
    text = _kinetic_time_format({(1, "A2"): "Range?", (2, "C5"): "", (0, "D1"): "Masked"})
    readings = _by_key(_parse_text(text))
    assert len(readings) == 96 * 3
    b1 = readings[("KinT", "B01", "fluorescence", "485/528", 3)]
    assert (b1.value, b1.elapsed_s, b1.excitation_nm, b1.wavelength_nm, b1.unit) == (212.0, 60.0, 485.0, 528.0, "RFU")
    assert (
        readings[("KinT", "A02", "fluorescence", "485/528", 2)].flag,
        readings[("KinT", "C05", "fluorescence", "485/528", 3)].flag,
        readings[("KinT", "D01", "fluorescence", "485/528", 1)].flag,
    ) == ("overflow", "missing", "masked")


def test_time_format_header_naming_a_well_twice_is_an_error() -> None:
    # found by the mutation test: a header with B1 where B11 belongs gave two readings of B1 per point
    text = _kinetic_time_format().replace("\tB11\t", "\tB1\t", 1)
    with pytest.raises(ParseError, match="names well B1 twice"):
        _parse_text(text)


def test_fluorescence_emission_scan() -> None:
    header = KINETIC_FL_HEADER.split("\t")
    header[1], header[4], header[9], header[12], header[13], header[14] = "Scan", "Spectrum", "3", "500", "520", "10"
    header[23], header[24] = "EmSweep", "470"
    wells = [f"{r}{c}" for r in "ABCDEFGH" for c in range(1, 13)]
    lines = ["##BLOCKS= 1", "\t".join(header), "Wavelength\tTemperature(°C)\t" + "\t".join(wells)]
    lines += ["\t".join([str(nm), "25", *[str(nm + i) for i in range(96)]]) for nm in (500, 510, 520)]
    readings = _by_key(_parse_text("\n".join([*lines, "~End"])))
    scan = readings[("Scan", "A03", "fluorescence", "470/scan", 2)]
    assert (scan.value, scan.wavelength_nm, scan.excitation_nm) == (512.0, 510.0, 470.0)
    assert len(readings) == 96 * 3


def test_sample_names_follow_the_group_tables() -> None:
    readings = _by_key(_read(_file("MD_SMP_absorbance_endpoint_example04.txt")))
    # Group PositiveControl: "CONTROL_74801<TAB>A1 ... BNCH_69983542_96w", then " <TAB>A2" (same sample)
    assert readings[("BNCH_69983542_96w", "A01", "absorbance", "280", 1)].sample_name == "CONTROL_74801"
    assert readings[("BNCH_69983542_96w", "A02", "absorbance", "562", 1)].sample_name == "CONTROL_74801"
    assert readings[("BNCH_69983542_96w", "E01", "absorbance", "450", 1)].sample_name == "CONTROL_30249"


def test_sample_names_need_the_plate_name_when_several_plates() -> None:
    text = decode_text(_file(UTF16_FILE).read_bytes()).replace("WellPlateName", "Plate")
    readings = _parse_text(text)
    assert {r.plate_id for r in readings} == {"Plate01", "Plate02"}
    assert {r.sample_name for r in readings} == {None}


def test_fluorescence_excitation_scan_and_block_closed_on_its_last_line() -> None:
    header = KINETIC_FL_HEADER.split("\t")
    header[1], header[4], header[9], header[12], header[13], header[14] = "ExScan", "Spectrum", "2", "400", "410", "10"
    header[23], header[24] = "ExSweep", "520"
    wells = [f"{r}{c}" for r in "ABCDEFGH" for c in range(1, 13)]
    lines = ["##BLOCKS= 1", "\t".join(header), "Wavelength\tTemperature(°C)\t" + "\t".join(wells)]
    lines += ["\t".join(["", "25", *[str(nm + i) for i in range(96)]]) for nm in (400, 410)]
    lines[-1] += "~End"  # older exports close the block on the last data line
    readings = _by_key(_parse_text("\n".join(lines)))
    scan = readings[("ExScan", "H12", "fluorescence", "scan/520", 2)]
    assert (scan.value, scan.excitation_nm, scan.wavelength_nm) == (505.0, 410.0, 520.0)
    assert len(readings) == 96 * 2


def test_other_block_kinds_are_skipped() -> None:
    text = decode_text(_file(UTF8_FILE).read_bytes())
    cuvette = "Cuvette:\tCuvetteSet1\t1.3\tPlateFormat\nanything\n~End\n"
    text = text.replace("##BLOCKS= 3\n", "##BLOCKS= 4\n" + cuvette)
    assert _parse_text(text, UTF8_FILE) == _read(_file(UTF8_FILE))


def test_unsupported_read_type_is_explained() -> None:
    text = _kinetic_plate_format().replace("\tKinetic\t", "\tWell Scan\t")
    with pytest.raises(ParseError, match="read type 'Well Scan' is not supported"):
        _parse_text(text)


def test_unknown_plate_size_is_explained() -> None:
    text = _kinetic_plate_format().replace("\t12\t96\t", "\t12\t97\t")
    with pytest.raises(ParseError, match="'97' is not a plate size"):
        _parse_text(text)


# --- kinetic partial plates whose read area starts after column 1 ------------------------------------------------
PARTIAL_ENDPOINT = _file("MD_SMP_absorbance_endpoint_partial_plate_example02.txt")  # area: rows 1-8, columns 2-11
KINETIC_PARTIAL = _file("kinetic_partial_plate_from_column2.txt")


def _kinetic_partial(reads: int, first_column: int) -> str:
    """The real endpoint partial plate as a kinetic read of ``reads`` grids whose area starts at ``first_column``:
    columns before it are blanked, the time sits in the first cell of each grid, read n adds 0.001 x (n - 1)."""
    lines = decode_text(PARTIAL_ENDPOINT.read_bytes()).split("\r\n")
    plate = lines[1].split("\t")
    plate[4], plate[8], plate[9], plate[10] = "Kinetic", str(reads), "120", "60"
    plate[16], plate[17] = str(first_column), str(11 - first_column + 1)
    labels = lines[2].split("\t")
    grid = [line.split("\t") for line in lines[3:11]]
    out = [lines[0], "\t".join(plate), "Time(hh:mm:ss)\t" + "\t".join(labels[1:])]
    for read in range(reads):
        for row, cells in enumerate(grid):
            line = []
            for index, cell in enumerate(cells):
                if index < 2:
                    cell = (f"00:{read:02d}:00" if index == 0 else "25.0") if row == 0 else ""
                elif cell.strip():
                    column = int(labels[index]) if labels[index].strip() else 0
                    cell = "" if column < first_column else f"{float(cell) + 0.001 * read:.3f}"
                line.append(cell)
            out.append("\t".join(line))
        out.append("")
    out += lines[12:]  # the reduced grid, the groups and the footer as exported
    return "\r\n".join(out)


def test_kinetic_partial_plate_from_column_2() -> None:
    # test_numeric_readings_match_allotropy checks this file against allotropy too
    readings = _read(KINETIC_PARTIAL)
    assert len(readings) == 8 * 10 * 3 * 3  # rows x area columns x wavelengths x reads
    assert {r.column_index for r in readings} == set(range(2, 12))
    assert sorted({r.elapsed_s for r in readings}) == [0.0, 60.0, 120.0]
    a2 = _by_key(readings)[("AssayPlate_09875", "A02", "absorbance", "260", 3)]
    assert (a2.value, a2.elapsed_s) == (3.086, 120.0)  # 3.084 read at 0:00, +0.001 per read


@pytest.mark.parametrize(("reads", "first_column"), [(1, 2), (2, 5), (5, 3), (4, 11)])
def test_kinetic_partial_plate_any_reads_any_first_column(reads: int, first_column: int, tmp_path: Path) -> None:
    path = tmp_path / f"kinetic_{reads}_{first_column}.txt"
    path.write_text(_kinetic_partial(reads, first_column), encoding="cp1252")
    readings = _read(path)
    columns = 11 - first_column + 1
    assert len(readings) == 8 * columns * 3 * reads
    assert {r.column_index for r in readings} == set(range(first_column, 12))
    # every read holds the endpoint file's value (itself checked against allotropy) + 0.001 per read; allotropy
    # 0.1.150 itself refuses these files once the area starts after column 2 (KeyError on the first well)
    endpoint = {(r.well, r.channel): r.value for r in _read(PARTIAL_ENDPOINT)}
    for reading in readings:
        expected = endpoint[(reading.well, reading.channel)]
        assert expected is not None and reading.value == round(expected + 0.001 * (reading.read_index - 1), 3)
        assert reading.elapsed_s == 60.0 * (reading.read_index - 1)


def test_a_header_only_export_has_no_measurement_data() -> None:
    with pytest.raises(ParseError, match="no measurement data") as error:
        _parse_text("##BLOCKS= 3\n")
    assert "truncated" not in str(error.value)
    with pytest.raises(ParseError, match=r"no measurement data.*Note"):
        _parse_text("##BLOCKS= 1\nNote:\tonly a note\n~End\n")
