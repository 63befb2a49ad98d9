"""BMG LABTECH SMART Control workbooks: allotropy as the oracle, golden values read off the workbooks,
hand-made workbook corruptions and a mutation property test."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.bmg_smart_control import PARSER
from lab_etl.parsers.files import head_text
from lab_etl.parsers.reading import Reading
from tests.parsers.oracle import DATA, all_instrument_files, allotropy_pairs, files, value_pairs

FOLDER = DATA / "bmg_labtech_smart_control"
EXAMPLE1 = FOLDER / "fluroescence_endpoint_example1.xlsx"
EXAMPLE2 = FOLDER / "fluorescence_endpoint_example2.xlsx"
FI = "480/520"


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


def without_table(workbook: openpyxl.Workbook) -> None:
    del workbook["Table End point"]


# ------------------------------------------------------------------------------------------- oracle


@pytest.mark.parametrize("path", files("bmg_labtech_smart_control"), ids=lambda p: p.name)
def test_same_values_as_allotropy(path: Path) -> None:
    assert value_pairs(parse(path)) == allotropy_pairs(path, "bmg_labtech_smart_control")


@pytest.mark.parametrize("path", files("bmg_labtech_smart_control"), ids=lambda p: p.name)
def test_keys_unique_and_fields_filled(path: Path) -> None:
    readings = parse(path)
    assert len({r.key for r in readings}) == len(readings)
    for reading in readings:
        assert reading.channel == FI and reading.measurement == "fluorescence" and reading.unit == "RFU"
        assert reading.excitation_nm == 480 and reading.wavelength_nm == 520 and reading.plate_format == 96
        assert reading.vendor == "BMG LABTECH" and reading.sample_name
        assert (reading.value is None) == (reading.flag is not None)


# ------------------------------------------------------------------------------------------- golden


def test_example2_golden() -> None:
    readings = parse(EXAMPLE2)
    assert len(readings) == 96
    keyed = by_key(readings)
    a1 = keyed[("Plate 2", "A01", "fluorescence", FI, 1)]  # ID3: Plate 2
    assert a1.value == 8168026 and a1.sample_name == "Standard S1"
    assert a1.read_at == datetime(2024, 11, 12, 13, 6, 28)
    assert keyed[("Plate 2", "B05", "fluorescence", FI, 1)].value == 26070
    h12 = keyed[("Plate 2", "H12", "fluorescence", FI, 1)]
    assert h12.value == 15882 and h12.sample_name == "Blank B"
    # the blank-corrected data set is calculated, never a reading
    assert all(r.value != 8152571 for r in readings)


def test_example1_golden_partial_plate() -> None:
    readings = parse(EXAMPLE1)
    assert len(readings) == 75  # columns 1-9 of every row and H10-H12
    keyed = by_key(readings)
    assert keyed[("Plate 3", "A01", "fluorescence", FI, 1)].value == 4180171
    assert keyed[("Plate 3", "H10", "fluorescence", FI, 1)].value == 33324
    assert ("Plate 3", "A10", "fluorescence", FI, 1) not in keyed


def test_microplate_sheet_alone_gives_the_same_values() -> None:
    for path in (EXAMPLE1, EXAMPLE2):
        readings = parse_bytes(edited(path, without_table), path.name)
        assert value_pairs(readings) == value_pairs(parse(path))
        assert (
            by_key(readings)[("Plate 3" if path == EXAMPLE1 else "Plate 2", "A01", "fluorescence", FI, 1)].sample_name
            == "S1"
        )


# ------------------------------------------------------------------------------------------- sniff


def test_sniff_accepts_every_smart_control_file() -> None:
    for path in files("bmg_labtech_smart_control"):
        assert PARSER.sniff(head_text(path.read_bytes(), path.name)), path.name


def test_sniff_rejects_every_other_file() -> None:
    # BMG MARS exports share the 'Test Name:' / 'ID1:' header lines; they must not be taken for SMART Control
    for path in all_instrument_files():
        if path.parent != FOLDER:
            assert not PARSER.sniff(head_text(path.read_bytes(), path.name)), path


# ------------------------------------------------------------------------------------------ corruptions


def test_empty_and_non_workbook_files_are_rejected() -> None:
    with pytest.raises(ParseError):
        parse_bytes(b"", "empty.xlsx")
    with pytest.raises(ParseError, match="not one"):
        parse_bytes(b"User: user\nTest Name: x\n", "text.xlsx")


def test_truncated_workbook_is_rejected() -> None:
    data = EXAMPLE1.read_bytes()
    with pytest.raises(ParseError):
        parse_bytes(data[: len(data) // 2], EXAMPLE1.name)


def test_random_binary_is_rejected() -> None:
    with pytest.raises(ParseError):
        parse_bytes(random.Random(5).randbytes(4096), "garbage.xlsx")


def test_table_blank_and_overflow_cells_are_flagged() -> None:
    def edit(workbook: openpyxl.Workbook) -> None:
        sheet = workbook["Table End point"]
        sheet["B17"] = None  # Raw Data of A01
        sheet["C17"] = "OVRFLW"  # Raw Data of A02

    keyed = by_key(parse_bytes(edited(EXAMPLE2, edit), EXAMPLE2.name))
    assert len(keyed) == 96
    assert keyed[("Plate 2", "A01", "fluorescence", FI, 1)].flag == "missing"
    over = keyed[("Plate 2", "A02", "fluorescence", FI, 1)]
    assert (over.value, over.flag, over.raw_value) == (None, "overflow", "OVRFLW")


def test_microplate_grid_that_lost_a_row_is_rejected() -> None:
    def edit(workbook: openpyxl.Workbook) -> None:
        without_table(workbook)
        workbook["Microplate End point"].delete_rows(53)  # row C of '4. Raw Data (480-14/520-30)'

    with pytest.raises(ParseError, match="skips from row 2 to row D"):
        parse_bytes(edited(EXAMPLE2, edit), EXAMPLE2.name)


def test_table_without_raw_data_row_is_rejected() -> None:
    def edit(workbook: openpyxl.Workbook) -> None:
        workbook["Table End point"].delete_rows(17)

    with pytest.raises(ParseError, match="no 'Raw Data' row"):
        parse_bytes(edited(EXAMPLE2, edit), EXAMPLE2.name)


def test_workbook_without_result_sheets_is_rejected() -> None:
    def edit(workbook: openpyxl.Workbook) -> None:
        without_table(workbook)
        del workbook["Microplate End point"]

    with pytest.raises(ParseError, match="neither"):
        parse_bytes(edited(EXAMPLE1, edit), EXAMPLE1.name)
