"""Thermo SkanIt Excel reports: allotropy as the oracle, golden values read off the workbooks,
hand-made workbook corruptions and a mutation property test."""

from __future__ import annotations

import io
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.files import head_text
from lab_etl.parsers.reading import Reading
from lab_etl.parsers.thermo_skanit import PARSER
from tests.parsers.oracle import DATA, all_instrument_files, allotropy_pairs, files, value_pairs

FOLDER = DATA / "thermo_skanit"
LUCIFERASE = FOLDER / "luciferase_assay_example.xlsx"
MULTI = FOLDER / "multi-plate_example01.xlsx"
PATTERN = FOLDER / "skanit_different_plate_pattern.xlsx"


def parse_bytes(data: bytes, name: str) -> list[Reading]:
    return list(PARSER.parse(data, name))


def parse(path: Path) -> list[Reading]:
    return parse_bytes(path.read_bytes(), path.name)


def by_key(readings: list[Reading]) -> dict[tuple[str, str, str, str, int], Reading]:
    return {r.key: r for r in readings}


def edited(path: Path, edit: Callable[[openpyxl.Workbook], None]) -> bytes:
    """A real workbook changed by ``edit`` and saved again."""
    workbook = openpyxl.load_workbook(path)
    edit(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------- oracle


@pytest.mark.parametrize("path", [p for p in files("thermo_skanit") if p != PATTERN], ids=lambda p: p.name)
def test_same_values_as_allotropy(path: Path) -> None:
    assert value_pairs(parse(path)) == allotropy_pairs(path, "thermo_skanit")


def test_every_measurement_sheet_is_read_where_allotropy_reads_the_first() -> None:
    # allotropy takes only the first sheet whose name holds 'Absorbance' (here 'Absorbance 260_01') and
    # drops the 280 nm and 320 nm steps; lab_etl reads all three raw steps and skips the calculated ones.
    native = value_pairs(parse(PATTERN))
    oracle = allotropy_pairs(PATTERN, "thermo_skanit")
    assert native - oracle == Counter({("A02", 0.0444): 1, ("A02", 0.0582): 1, ("A02", 0.042): 1, ("A02", 0.0427): 1})
    assert oracle - native == Counter()


@pytest.mark.parametrize("path", files("thermo_skanit"), ids=lambda p: p.name)
def test_keys_unique_and_fields_filled(path: Path) -> None:
    readings = parse(path)
    assert len({r.key for r in readings}) == len(readings)
    for reading in readings:
        assert reading.channel and reading.vendor == "Thermo Fisher Scientific"
        assert reading.measurement in {"absorbance", "luminescence"} and reading.plate_format == 96
        assert (reading.value is None) == (reading.flag is not None)


# ------------------------------------------------------------------------------------------- golden


def test_luciferase_golden() -> None:
    readings = parse(LUCIFERASE)
    assert len(readings) == 96
    keyed = by_key(readings)
    a1 = keyed[("Plate 1", "A01", "luminescence", "luminescence", 1)]
    assert a1.value == 105.4 and a1.unit == "RLU" and a1.wavelength_nm is None  # "Wavelength: 0 nm"
    assert keyed[("Plate 1", "B07", "luminescence", "luminescence", 1)].value == 398100
    assert keyed[("Plate 1", "H12", "luminescence", "luminescence", 1)].value == 1043
    assert a1.read_at == datetime(2024, 8, 23, 15, 2, 30)  # no session sheet: the date under the title


def test_multi_plate_golden() -> None:
    readings = parse(MULTI)
    assert len(readings) == 268
    assert Counter(r.plate_id for r in readings) == {
        "Plate 1": 64,
        "Plate 2": 64,
        "Plate 3": 52,
        "Plate 4": 64,
        "Plate 5": 24,
    }
    keyed = by_key(readings)
    a2 = keyed[("Plate 1", "A02", "absorbance", "214", 1)]
    assert a2.value == 1.0 and a2.sample_name == "Blank1" and a2.wavelength_nm == 214
    assert keyed[("Plate 1", "A03", "absorbance", "280", 1)].value == 8.0
    assert keyed[("Plate 2", "G07", "absorbance", "214", 1)].value == 0.7
    assert keyed[("Plate 2", "G07", "absorbance", "214", 1)].sample_name == "Un0031"
    assert keyed[("Plate 5", "A02", "absorbance", "280", 1)].sample_name == "Un0059"
    # wells outside the plate pattern (no sample, no value) are not readings
    assert ("Plate 3", "F03", "absorbance", "214", 1) not in keyed
    assert a2.instrument_model == "Varioskan LUX" and a2.instrument_serial == "1234"
    assert a2.read_at == datetime(2025, 6, 27, 11, 0)


def test_plate_pattern_golden_skips_calculated_steps() -> None:
    keyed = by_key(parse(PATTERN))
    assert len(keyed) == 6  # 2 plates x 260/280/320 nm, one well each
    assert keyed[("Blank plate", "A02", "absorbance", "260", 1)].value == 0.0499
    assert keyed[("Sample Plate", "A02", "absorbance", "280", 1)].value == 0.0582
    assert keyed[("Sample Plate", "A02", "absorbance", "320", 1)].sample_name == "Un0001"
    assert keyed[("Sample Plate", "A02", "absorbance", "260", 1)].instrument_serial == "3020-83152"
    assert all(r.value != 0.008116 for r in keyed.values())  # the blank-subtracted value


# ------------------------------------------------------------------------------------------- sniff


def test_sniff_accepts_every_skanit_file() -> None:
    for path in files("thermo_skanit"):
        assert PARSER.sniff(head_text(path.read_bytes(), path.name)), path.name


def test_sniff_rejects_every_other_file() -> None:
    for path in all_instrument_files():
        if path.parent != FOLDER:
            assert not PARSER.sniff(head_text(path.read_bytes(), path.name)), path


# ------------------------------------------------------------------------------------------ corruptions


def test_empty_and_non_workbook_files_are_rejected() -> None:
    with pytest.raises(ParseError):
        parse_bytes(b"", "empty.xlsx")
    with pytest.raises(ParseError, match="not one"):
        parse_bytes(b"Measurement results\nexperiment.skax\n", "text.xlsx")


def test_truncated_workbook_is_rejected() -> None:
    data = MULTI.read_bytes()
    with pytest.raises(ParseError):
        parse_bytes(data[: len(data) * 2 // 3], MULTI.name)


def test_random_binary_is_rejected() -> None:
    with pytest.raises(ParseError):
        parse_bytes(random.Random(3).randbytes(4096), "garbage.xlsx")


def test_grid_that_lost_a_row_is_rejected() -> None:
    data = edited(LUCIFERASE, lambda wb: wb.worksheets[0].delete_rows(13))  # row C of the RLU grid
    with pytest.raises(ParseError, match="row is missing"):
        parse_bytes(data, LUCIFERASE.name)


def test_blank_cell_of_a_sample_well_is_missing_and_text_is_flagged() -> None:
    def edit(workbook: openpyxl.Workbook) -> None:
        sheet = workbook.worksheets[0]
        sheet["C11"] = None  # Plate 1, 214 nm, A02 (sample Blank1)
        sheet["D11"] = "Overflow"  # Plate 1, 214 nm, A03

    keyed = by_key(parse_bytes(edited(MULTI, edit), MULTI.name))
    assert len(keyed) == 268
    blank = keyed[("Plate 1", "A02", "absorbance", "214", 1)]
    assert (blank.value, blank.flag, blank.sample_name) == (None, "missing", "Blank1")
    assert keyed[("Plate 1", "A03", "absorbance", "214", 1)].flag == "overflow"


def test_report_without_measurement_sheets_is_rejected() -> None:
    def edit(workbook: openpyxl.Workbook) -> None:
        for title in ("Absorbance 260_01", "Absorbance 280_03", "Absorbance 320_05"):
            del workbook[title]

    with pytest.raises(ParseError, match="only calculated steps"):
        parse_bytes(edited(PATTERN, edit), PATTERN.name)
