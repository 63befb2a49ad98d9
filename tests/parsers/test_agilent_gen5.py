"""Agilent/BioTek Gen5 text exports: allotropy as the oracle, golden values read off the files, corruptions."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.agilent_gen5 import PARSER
from lab_etl.parsers.files import head_text
from lab_etl.parsers.reading import Reading
from tests.parsers.oracle import DATA, all_instrument_files, allotropy_pairs, files, value_pairs

FOLDER = DATA / "agilent_gen5"
#: allotropy rejects it: the export has a procedure but no Results grid or read data at all.
REJECTED = {"missing_results_error.txt"}
FIBRILLATION = "Synergy instrument datafile (Fibrillation data) - TXT format.txt"


def parse(path: Path | str) -> list[Reading]:
    path = FOLDER / path if isinstance(path, str) else path
    return list(PARSER.parse(path.read_bytes(), path.name))


def by_key(readings: list[Reading]) -> dict[tuple[str, str, str, str, int], Reading]:
    return {r.key: r for r in readings}


@pytest.mark.parametrize("path", [p for p in files("agilent_gen5") if p.name not in REJECTED], ids=lambda p: p.name)
def test_same_values_as_allotropy(path: Path) -> None:
    assert value_pairs(parse(path)) == allotropy_pairs(path, "agilent_gen5")


@pytest.mark.parametrize("path", [p for p in files("agilent_gen5") if p.name not in REJECTED], ids=lambda p: p.name)
def test_keys_unique_and_fields_filled(path: Path) -> None:
    readings = parse(path)
    assert len({r.key for r in readings}) == len(readings)
    for reading in readings:
        assert reading.channel and reading.measurement in {"absorbance", "fluorescence", "luminescence"}
        assert reading.vendor == "Agilent" and reading.unit in {"OD", "RFU", "RLU"}
        assert (reading.value is None) == (reading.flag is not None)


def test_missing_results_is_rejected_with_a_reason() -> None:
    with pytest.raises(ParseError, match="no raw read data"):
        parse("missing_results_error.txt")


def test_absorbance_error_document_example_is_readable() -> None:
    # allotropy reads it too: a single read row A (12 wells) whose A1 is OVRFLW; nothing is broken.
    readings = parse("absorbance_error_document_example.txt")
    assert len(readings) == 12
    a1 = by_key(readings)[("Plate 1", "A01", "absorbance", "260", 1)]
    assert (a1.value, a1.flag, a1.raw_value) == (None, "overflow", "OVRFLW")
    assert by_key(readings)[("Plate 1", "A12", "absorbance", "260", 1)].value == 0.650


def test_luminescence_endpoint_golden() -> None:
    readings = parse("endpoint_singleplate.txt")
    assert len(readings) == 96  # the NormLum rows are calculated, not reads
    keyed = by_key(readings)
    a1 = keyed[("Plate 1", "A01", "luminescence", "luminescence", 1)]
    assert (a1.value, a1.sample_name, a1.unit, a1.plate_format) == (8718.0, "POSCON", "RLU", 96)
    assert a1.read_at == datetime(2022, 10, 10, 21, 15, 37)
    assert a1.instrument_model is None  # "Reader Type: n/a"
    assert keyed[("Plate 1", "H12", "luminescence", "luminescence", 1)].value == 8490.0


def test_non_numeric_cells_are_kept_with_flags() -> None:
    readings = parse("240411_172731_BNCH2345883_abs450_96well_non_numeric_values.txt")
    keyed = by_key(readings)
    assert len(readings) == 96
    assert keyed[("BNCH2345883", "A01", "absorbance", "450", 1)].value == 2.100
    a8 = keyed[("BNCH2345883", "A08", "absorbance", "450", 1)]
    assert (a8.value, a8.flag, a8.raw_value) == (None, "overflow", "OVRFLW")
    d12 = keyed[("BNCH2345883", "D12", "absorbance", "450", 1)]
    assert (d12.value, d12.flag, d12.raw_value) == (None, "missing", "MISSED")
    assert Counter(r.flag for r in readings) == {None: 83, "overflow": 8, "missing": 5}
    assert a8.wavelength_nm == 450 and a8.instrument_model == "Synergy H1" and a8.instrument_serial is None


def test_kinetic_absorbance_golden() -> None:
    readings = parse("Kinetic_Analysis_Mean_Slope_and_Standard_Curve_tab.txt")
    assert len(readings) == 96 * 13
    keyed = by_key(readings)
    first = keyed[("Plate 1", "A01", "absorbance", "420", 1)]
    last = keyed[("Plate 1", "A01", "absorbance", "420", 13)]
    assert (first.value, first.elapsed_s, first.sample_name) == (0.069, 0.0, "STD12")
    assert (last.value, last.elapsed_s) == (0.992, 1800.0)
    assert keyed[("Plate 1", "A02", "absorbance", "420", 2)].value == 0.146


def test_fibrillation_endpoint_and_kinetic_reads() -> None:
    readings = parse(FIBRILLATION)
    assert len(readings) == 160512
    keyed = by_key(readings)
    # Read 1 (endpoint) and Read 2/3 (kinetic loop) measure the same filters: the step tells them apart
    assert keyed[("Plate 1", "A01", "fluorescence", "450/490 [Read 1]", 1)].value == 214
    assert keyed[("Plate 1", "A01", "fluorescence", "295/350 [Read 1]", 1)].value == 17455
    kinetic = keyed[("Plate 1", "A01", "fluorescence", "450/490 [Read 2]", 1)]
    assert (kinetic.value, kinetic.elapsed_s, kinetic.excitation_nm, kinetic.wavelength_nm) == (211, 451.0, 450, 490)
    assert keyed[("Plate 1", "A02", "fluorescence", "295/350 [Read 3]", 1)].value == 27304
    # the 20 blank "0:00:00" rows at the end of the Read 2 table are time points never read
    assert max(r.read_index for r in readings if r.channel == "450/490 [Read 2]") == 557
    assert Counter(r.channel for r in readings)["295/335 [Read 3]"] == 96 * 556


def test_polarization_pathlength_and_two_reads() -> None:
    fp = by_key(parse("endpoint_fluorescence_polarization.txt"))
    parallel = fp[("Plate 6", "A01", "fluorescence", "485/528 parallel", 1)]
    assert (parallel.value, parallel.plate_format) == (523, 384)
    assert fp[("Plate 6", "A01", "fluorescence", "485/528 perpendicular", 1)].value == 433
    assert ("Plate 6", "B01", "fluorescence", "485/528 parallel", 1) not in fp  # rows B, C, ... were not read
    path = by_key(parse("endpoint_pathlength_correct_singleplate.txt"))
    assert path[("Plate 1", "A01", "absorbance", "977", 1)].value == 0.056
    assert path[("Plate 1", "A01", "absorbance", "900", 1)].value == 0.035
    assert path[("Plate 1", "A01", "absorbance", "260", 1)].value == 0.626
    two = by_key(parse("two_same_read_modes.txt"))
    assert two[("Plate 1", "A01", "absorbance", "600", 1)].value == 0.052
    assert two[("Plate 1", "A01", "absorbance", "280", 1)].value == 418


def test_spectra() -> None:
    emission = parse("spectrum_emission_data.txt")
    assert [(r.read_index, r.wavelength_nm, r.value, r.flag) for r in emission] == [
        (1, 300.0, 0.123, None),
        (2, 310.0, 0.124, None),
        (3, 320.0, None, "overflow"),
    ]
    assert {(r.measurement, r.channel, r.excitation_nm) for r in emission} == {("fluorescence", "900/scan", 900.0)}
    absorbance = parse("spectrum_data_with_nan_value.txt")
    assert len(absorbance) == 96 * 5 and {r.channel for r in absorbance} == {"scan"}
    assert by_key(absorbance)[("Plate 1", "A01", "absorbance", "scan", 2)].wavelength_nm == 390.0


def test_sniff_own_files() -> None:
    for path in files("agilent_gen5"):
        assert PARSER.sniff(head_text(path.read_bytes(), path.name)), path.name


def test_sniff_rejects_other_vendors() -> None:
    others = [p for p in all_instrument_files() if p.parent != FOLDER]
    assert others
    for path in others:
        assert not PARSER.sniff(head_text(path.read_bytes(), path.name)), path


def original() -> bytes:
    return (FOLDER / "two_same_read_modes.txt").read_bytes()


def test_empty_and_binary_files() -> None:
    with pytest.raises(ParseError, match="empty"):
        list(PARSER.parse(b"", "x.txt"))
    garbage = random.Random(7).randbytes(4000)
    with pytest.raises(ParseError):
        list(PARSER.parse(garbage, "x.txt"))


def test_truncated_in_a_grid_row() -> None:
    data = original()
    cut = data.index(b"D\t0.038") + 20
    with pytest.raises(ParseError, match="truncated"):
        list(PARSER.parse(data[:cut], "two_same_read_modes.txt"))


def test_truncated_kinetic_table() -> None:
    data = (FOLDER / "Kinetic_Analysis_Mean_Slope_and_Standard_Curve_tab.txt").read_bytes()
    cut = data.index(b"0:15:00") + 40
    with pytest.raises(ParseError, match="truncated"):
        list(PARSER.parse(data[:cut], "k.txt"))


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
        lambda t: t.encode("utf-16"),
        lambda t: t.replace("\n", "\r\n").encode("utf-8"),
    ],
    ids=["utf8-bom", "utf16-bom", "crlf"],
)
def test_encodings_give_same_readings(encode) -> None:  # type: ignore[no-untyped-def]
    for name in ("two_same_read_modes.txt", "Kinetic_Analysis_Mean_Slope_and_Standard_Curve_tab.txt"):
        raw = (FOLDER / name).read_bytes()
        text = raw.decode("cp1252")
        assert list(PARSER.parse(encode(text), name)) == list(PARSER.parse(raw, name))


def test_missing_grid_row_gives_fewer_wells_not_wrong_ones() -> None:
    # A dropped row letter (here C and its continuation row) leaves those wells out; the others keep their values.
    lines = original().decode().split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("C\t"))
    damaged = "\n".join(lines[:start] + lines[start + 2 :]).encode()
    readings = by_key(list(PARSER.parse(damaged, "two_same_read_modes.txt")))
    assert len(readings) == 192 - 24
    assert not any(key[1].startswith("C") for key in readings)
    assert readings[("Plate 1", "D01", "absorbance", "600", 1)].value == 0.038


def test_missing_procedure_is_explained() -> None:
    text = original().decode().replace("Procedure Details", "Procedure")
    with pytest.raises(ParseError, match="Procedure Details"):
        list(PARSER.parse(text.encode(), "x.txt"))


def test_multiple_plates_get_distinct_ids() -> None:
    one = (FOLDER / "endpoint_singleplate.txt").read_text()
    two = one + "\n" + one.replace("Plate Number\tPlate 1", "Plate Number\tPlate 2").replace("8718", "1234")
    readings = list(PARSER.parse(two.encode(), "two.txt"))
    assert len(readings) == 192
    keyed = by_key(readings)
    assert keyed[("Plate 1", "A01", "luminescence", "luminescence", 1)].value == 8718
    assert keyed[("Plate 2", "A01", "luminescence", "luminescence", 1)].value == 1234


def test_decimal_comma_cells() -> None:
    text = original().decode().replace("0.052\t0.046", "0,052\t0,046")
    keyed = by_key(list(PARSER.parse(text.encode(), "x.txt")))
    assert keyed[("Plate 1", "A01", "absorbance", "600", 1)].value == 0.052


def test_plates_repeating_only_the_plate_header_share_the_procedure() -> None:
    # Gen5 multi-plate exports may repeat just "Plate Number/Date/Time" before each further plate's data
    text = (FOLDER / "endpoint_singleplate.txt").read_text()
    results = text[text.index("Results") :]
    second = "\nPlate Number\tPlate 2\nDate\t10/11/2022\nTime\t9:15:37 AM\n\n" + results.replace("8718", "4321")
    readings = list(PARSER.parse((text + second).encode(), "two.txt"))
    keyed = by_key(readings)
    assert len(readings) == 192
    assert keyed[("Plate 1", "A01", "luminescence", "luminescence", 1)].value == 8718
    plate2 = keyed[("Plate 2", "A01", "luminescence", "luminescence", 1)]
    assert (plate2.value, plate2.read_at) == (4321, datetime(2022, 10, 11, 9, 15, 37))
    assert plate2.sample_name is None  # the Layout belonged to plate 1's section


def test_results_grid_without_row_labels_is_the_single_read() -> None:
    # older exports write a single read's Results grid without the trailing label column
    text = (FOLDER / "endpoint_singleplate_without_bandwidth.txt").read_text().replace("\t620\n", "\n")
    readings = list(PARSER.parse(text.encode(), "x.txt"))
    assert len(readings) == 12 and {r.channel for r in readings} == {"620"}
    assert by_key(readings)[("Plate 1", "A01", "luminescence", "620", 1)].value == 210530


def test_area_scan_is_refused_with_a_reason() -> None:
    text = original().decode().replace("Absorbance Endpoint", "Absorbance Area Scan")
    with pytest.raises(ParseError, match="area scan"):
        list(PARSER.parse(text.encode(), "x.txt"))
