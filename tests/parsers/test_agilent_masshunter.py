"""The Agilent MassHunter Quant CSV parser against the real exports (allotropy reads none of them: no oracle)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.agilent_masshunter import PARSER, plate_position
from lab_etl.parsers.files import head_text
from lab_etl.parsers.reading import Reading
from lab_etl.plates import row_label
from tests.parsers.oracle import all_instrument_files, files

FOLDER = "lcms_agilent_masshunter"
QUANT = next(p for p in files(FOLDER) if p.name == "QuantLCMS_Example_MassHunter.csv")
GERMAN = next(p for p in files(FOLDER) if p.name == "17_Testdata_Lipidomics_GermanSystem.csv")
DEFAULT_INFO = next(p for p in files(FOLDER) if p.name == "2_Testdata_MHQuant_DefaultSampleInfo_RT-Areas-FWHM.csv")
PLATE = "QuantLCMS_Example_MassHunter_P1"


def parse(data: bytes, name: str) -> list[Reading]:
    return list(PARSER.parse(data, name))


def by_key(readings: list[Reading]) -> dict[tuple[str, str, str, str, int], Reading]:
    return {r.key: r for r in readings}


def rows_of(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def write(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def with_positions(path: Path) -> bytes:
    """The export as if Pos. had been among its sample columns: injection n sits in well n of plate P1."""
    rows = rows_of(path)
    at = rows[1].index("Acq. Date-Time") + 1
    rows[0].insert(at, "")
    rows[1].insert(at, "Pos.")
    for n, row in enumerate(rows[2:]):
        row.insert(at, f"P1-{row_label(n // 12 + 1)}{n % 12 + 1}")
    return write(rows)


# --- the real export with plate positions ------------------------------------------------------------------------


def test_quant_counts() -> None:
    readings = parse(QUANT.read_bytes(), QUANT.name)
    # 25 injections P1-A1..P1-C1; 16 result groups (8 compounds, 8 qualifiers), each with RT, Calc. Conc., FWHM,
    # Final Conc., Symmetry; the 8 compounds add Width, the 4 analytes (not the ISTDs) S/N; MI is text
    assert len(readings) == 2300
    assert len({r.key for r in readings}) == 2300
    assert Counter(r.measurement for r in readings) == {
        "rt": 400,
        "calc_conc": 400,
        "fwhm": 400,
        "final_conc": 400,
        "symmetry": 400,
        "width": 200,
        "signal_to_noise": 100,
    }
    assert {r.plate_id for r in readings} == {PLATE}
    assert {r.plate_format for r in readings} == {96}
    assert len({r.well for r in readings}) == 25
    assert len({r.channel for r in readings}) == 16
    assert Counter(r.flag for r in readings) == {None: 2145, "missing": 155}
    assert {r.vendor for r in readings} == {"Agilent"}


def test_quant_golden_values() -> None:
    readings = by_key(parse(QUANT.read_bytes(), QUANT.name))
    rt = readings[(PLATE, "A05", "rt", "Corticosterone", 1)]  # CalA, P1-A5
    assert (rt.value, rt.unit, rt.sample_name) == (3.723, "min", "CalA")
    assert rt.read_at == datetime(2024, 11, 26, 15, 54)
    assert readings[(PLATE, "A05", "final_conc", "Corticosterone", 1)].value == 8554.0
    assert readings[(PLATE, "A05", "signal_to_noise", "Corticosterone", 1)].value == 139.33
    assert readings[(PLATE, "A05", "rt", "Corticosterone Qualifier (347.3 -> 329.3)", 1)].value == 3.712
    # SBLK1 (P1-A1): corticosterone not found, the cell is empty
    blank = readings[(PLATE, "A01", "rt", "Corticosterone", 1)]
    assert (blank.value, blank.flag, blank.sample_name) == (None, "missing", "SBLK1")
    istd = readings[(PLATE, "A01", "rt", "Aldosterone D4 (ISTD)", 1)]
    assert istd.value == 2.461
    assert readings[(PLATE, "C01", "rt", "Corticosterone", 1)].sample_name == "SPL4"
    # method columns and the MI flag are no readings
    assert not {r.measurement for r in readings.values()} & {"precursor_ion", "collision_energy", "mi", "exp_conc"}


# --- the real exports without a Pos. column ----------------------------------------------------------------------


@pytest.mark.parametrize("path", [GERMAN, DEFAULT_INFO], ids=["german", "default_info"])
def test_exports_without_positions_are_refused_with_the_fix(path: Path) -> None:
    # these exports have no Pos. column, so no injection can be placed on a plate: ParseError naming the fix
    with pytest.raises(ParseError, match=r"no 'Pos\.'.*add Pos\. to the sample columns") as info:
        parse(path.read_bytes(), path.name)
    assert info.value.line == 2


def test_german_export_with_positions() -> None:
    readings = parse(with_positions(GERMAN), GERMAN.name)
    stem_plate = "17_Testdata_Lipidomics_GermanSystem_P1"
    # 10 injections x 292 compound groups x RT/Area/FWHM
    assert len(readings) == 10 * 292 * 3
    keyed = by_key(readings)
    channel = "Cer d18:0/8:0 (IS) [M-H2O]"
    rt = keyed[(stem_plate, "A01", "rt", channel, 1)]
    assert (rt.value, rt.raw_value, rt.sample_name) == (9.754, "9,754", "BLK")
    assert rt.read_at == datetime(2022, 6, 27, 11, 1)
    assert keyed[(stem_plate, "A01", "area", channel, 1)].value == 392095.0
    assert keyed[(stem_plate, "A01", "fwhm", channel, 1)].value == 0.056
    assert keyed[(stem_plate, "A02", "area", channel, 1)].value == 281913.0  # TQC2_1
    assert keyed[(stem_plate, "A10", "rt", channel, 1)].read_at == datetime(2022, 6, 27, 14, 54)


def test_us_dates_are_read_month_first() -> None:
    readings = by_key(parse(with_positions(DEFAULT_INFO), DEFAULT_INFO.name))
    plate = "2_Testdata_MHQuant_DefaultSampleInfo_RT-Areas-FWHM_P1"
    first = readings[(plate, "A01", "area", "S1P d16:1 [M>113]", 1)]
    assert (first.value, first.sample_name) == (71.0, "006_EBLK_Extracted Blank+ISTD01")
    assert first.read_at == datetime(2018, 4, 19, 18, 37)
    assert readings[(plate, "A01", "rt", "S1P d16:1 [M>113]", 1)].value == 3.422
    # 64 injections: wells run into a 96-well plate
    assert {r.plate_format for r in readings.values()} == {96}
    # 038_TQC_TQC03, the 33rd injection (C09), ran just after midnight: 12:05 AM
    assert readings[(plate, "C09", "rt", "S1P d16:1 [M>113]", 1)].read_at == datetime(2018, 4, 20, 0, 5)


# --- positions ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("P1-A1", ("P1", "A1")), ("P2-H12", ("P2", "H12")), ("D1F-B-03", ("D1F", "B03")), ("Vial 12", None), ("", None)],
)
def test_plate_position(text: str, expected: tuple[str, str] | None) -> None:
    assert plate_position(text) == expected


def test_vials_are_skipped_and_a_vial_only_batch_is_refused() -> None:
    rows = rows_of(QUANT)
    position = rows[1].index("Pos.")
    rows[2][position] = "Vial 3"
    rows[3][position] = "P2-A1"
    readings = parse(write(rows), QUANT.name)
    assert "A01" not in {r.well for r in readings if r.plate_id == PLATE}
    assert {r.plate_id for r in readings} == {PLATE, "QuantLCMS_Example_MassHunter_P2"}
    assert len(readings) == 2300 - 92  # one injection (92 readings) left the plates
    for row in rows[2:]:
        row[position] = "Vial 1"
    with pytest.raises(ParseError, match="no injection has a plate position"):
        parse(write(rows), QUANT.name)


def test_reinjected_well_is_a_second_read() -> None:
    rows = rows_of(QUANT)
    position = rows[1].index("Pos.")
    rows[3][position] = rows[2][position]  # SBLK2 injected from the same well as SBLK1
    readings = parse(write(rows), QUANT.name)
    a1 = {r.read_index: r.sample_name for r in readings if r.well == "A01"}
    assert a1 == {1: "SBLK1", 2: "SBLK2"}


# --- sniff --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", all_instrument_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sniff(path: Path) -> None:
    assert PARSER.sniff(head_text(path.read_bytes())) == (path.parent.name == FOLDER)


def test_sniff_rejects_hte_files() -> None:
    hte = Path(__file__).resolve().parents[1] / "data" / "hte"
    for path in hte.iterdir():
        assert not PARSER.sniff(head_text(path.read_bytes())), path.name


# --- corruptions ------------------------------------------------------------------------------------------------


def facts(readings: list[Reading]) -> list[tuple[object, ...]]:
    return [(r.key, r.value, r.flag, r.read_at, r.sample_name) for r in readings]


def test_encodings_and_line_ends_give_the_same_readings() -> None:
    data = QUANT.read_bytes()
    text = data.decode("utf-8")
    expected = facts(parse(data, QUANT.name))
    variants = {
        "lf": text.replace("\r\n", "\n").encode(),
        "utf8_bom": b"\xef\xbb\xbf" + data,
        "utf16_bom": text.encode("utf-16"),
    }
    for label, variant in variants.items():
        assert facts(parse(variant, QUANT.name)) == expected, label
        assert PARSER.sniff(head_text(variant)), label


def test_empty_truncated_missing_row_and_garbage() -> None:
    data = QUANT.read_bytes()
    with pytest.raises(ParseError, match="empty"):
        parse(b"", QUANT.name)
    cut = data.index(b"QC_Low_3") + 200
    with pytest.raises(ParseError, match="truncated") as info:
        parse(data[:cut], QUANT.name)
    assert info.value.line == 21
    # a dropped injection line is one injection less, the rest is unchanged (a batch need not fill a plate)
    lines = data.split(b"\r\n")
    del lines[5]
    readings = parse(b"\r\n".join(lines), QUANT.name)
    assert len(readings) == 2300 - 92 and "A04" not in {r.well for r in readings}
    with pytest.raises(ParseError, match="not a MassHunter Quant export"):
        parse(b"\r\n".join(lines[1:]), QUANT.name)
    with pytest.raises(ParseError):
        parse(bytes(range(256)) * 8, QUANT.name)
