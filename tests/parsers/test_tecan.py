"""Tecan Magellan workbooks and i-control CSV: allotropy as the oracle, golden values read off the files,
hand-made corruptions and a mutation property test."""

from __future__ import annotations

import io
import random
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.files import head_text
from lab_etl.parsers.reading import Reading
from lab_etl.parsers.tecan import PARSER
from tests.parsers.oracle import DATA, all_instrument_files, allotropy_pairs, files, value_pairs

MAGELLAN = DATA / "tecan_magellan"
ICONTROL = DATA / "tecan_wellr" / "tecanON1.csv"
ELISA = MAGELLAN / "SLA01P01_ELISA.xlsx"
OD = MAGELLAN / "SLA01P01_OD.xlsx"
MINE = [*files("tecan_magellan"), ICONTROL]


def parse_bytes(data: bytes, name: str = "file.csv") -> list[Reading]:
    return list(PARSER.parse(data, name))


def parse(path: Path) -> list[Reading]:
    return parse_bytes(path.read_bytes(), path.name)


def by_key(readings: list[Reading]) -> dict[tuple[str, str, str, str, int], Reading]:
    return {r.key: r for r in readings}


def values(readings: list[Reading]) -> dict[tuple[str, str, str, str, int], tuple[float | None, str | None]]:
    return {r.key: (r.value, r.flag) for r in readings}


def workbook_bytes(path: Path, edit: object) -> bytes:
    """A real workbook changed by ``edit(worksheet)`` and saved again."""
    workbook = openpyxl.load_workbook(path)
    edit(workbook.worksheets[0])  # type: ignore[operator]
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------- oracle


@pytest.mark.parametrize("path", files("tecan_magellan"), ids=lambda p: p.name)
def test_same_values_as_allotropy(path: Path) -> None:
    assert value_pairs(parse(path)) == allotropy_pairs(path, "tecan_magellan")


@pytest.mark.parametrize("path", MINE, ids=lambda p: p.name)
def test_keys_unique_and_fields_filled(path: Path) -> None:
    readings = parse(path)
    assert len({r.key for r in readings}) == len(readings)
    for reading in readings:
        assert reading.channel and reading.vendor == "Tecan"
        assert reading.measurement in {"absorbance", "luminescence"}
        assert (reading.value is None) == (reading.flag is not None)


# ------------------------------------------------------------------------------------------- golden


def test_magellan_elisa_golden() -> None:
    readings = parse(ELISA)
    assert len(readings) == 768  # 384 wells x labels Label1 (485 nm) and Label2 (560 nm)
    keyed = by_key(readings)
    a1_485 = keyed[("SLA01P01_ELISA", "A01", "absorbance", "485", 1)]
    assert a1_485.value == 0.0557 and a1_485.wavelength_nm == 485 and a1_485.unit == "OD"
    assert keyed[("SLA01P01_ELISA", "A01", "absorbance", "560", 1)].value == 0.0509
    assert keyed[("SLA01P01_ELISA", "A13", "absorbance", "485", 1)].value == 0.3557
    assert keyed[("SLA01P01_ELISA", "P24", "absorbance", "560", 1)].value == 0.05
    assert a1_485.plate_format == 384  # Plate definition file: COS384ft.pdf
    assert a1_485.instrument_model == "ULTRA" and a1_485.instrument_serial == "12901000069"
    assert a1_485.read_at == datetime(2021, 7, 8, 14, 34, 46)
    assert a1_485.elapsed_s is None  # one cycle per label: an endpoint read


def test_magellan_od_golden() -> None:
    readings = parse(OD)
    assert len(readings) == 96
    keyed = by_key(readings)
    # the Plate column names the plate on the first rows only; it is the plate of every row
    assert {r.plate_id for r in readings} == {"96WEL008"}
    assert keyed[("96WEL008", "A01", "absorbance", "595", 1)].value == 0.1462
    assert keyed[("96WEL008", "B01", "absorbance", "595", 1)].value == 0.2118
    assert keyed[("96WEL008", "H12", "absorbance", "595", 1)].value == 0.0461
    assert keyed[("96WEL008", "H12", "absorbance", "595", 1)].plate_format == 96


def test_icontrol_kinetic_golden() -> None:
    readings = parse(ICONTROL)
    # 120 cycles x 96 wells of Abs 595 and of luminescence
    assert len(readings) == 2 * 120 * 96
    keyed = by_key(readings)
    first = keyed[("tecanON1", "A01", "absorbance", "595", 1)]
    assert first.value == 0.045899998 and first.elapsed_s == 0 and first.wavelength_nm == 595
    assert keyed[("tecanON1", "A01", "absorbance", "595", 2)].elapsed_s == 300
    assert keyed[("tecanON1", "H12", "absorbance", "595", 120)].value == 0.190200001
    assert keyed[("tecanON1", "H12", "absorbance", "595", 120)].elapsed_s == 35704.1
    lum = keyed[("tecanON1", "A07", "luminescence", "luminescence", 26)]
    assert lum.value == 2113 and lum.elapsed_s == 322.9 and lum.wavelength_nm is None
    assert keyed[("tecanON1", "H12", "luminescence", "luminescence", 120)].value == 34
    assert first.instrument_model == "infinite 200Pro" and first.instrument_serial == "1409002252"
    assert first.read_at == datetime(2016, 10, 14, 14, 11, 38)
    assert first.plate_format == 96  # Plate: Greiner 96 Flat Bottom Black Polystyrene


# ------------------------------------------------------------------------------------------- errors


def test_magellan_without_well_positions_is_rejected() -> None:
    with pytest.raises(ParseError, match="Well positions"):
        parse(MAGELLAN / "errors" / "no_well_positions.xlsx")


@pytest.mark.parametrize("path", sorted((MAGELLAN / "errors").iterdir()), ids=lambda p: p.name)
def test_every_error_file_raises(path: Path) -> None:
    with pytest.raises(ParseError):
        parse(path)


# ------------------------------------------------------------------------------------------- sniff


def test_sniff_accepts_every_tecan_file() -> None:
    for path in MINE:
        assert PARSER.sniff(head_text(path.read_bytes(), path.name)), path.name


def test_sniff_rejects_every_other_file() -> None:
    # no_well_positions.xlsx lost the 'Well positions' header and keeps its metadata below row 60, so
    # nothing in its head says Magellan; it is rejected by parse() (see above) when named with --vendor.
    mine = {*MINE, *(MAGELLAN / "errors").iterdir()}
    for path in all_instrument_files():
        if path not in mine:
            assert not PARSER.sniff(head_text(path.read_bytes(), path.name)), path


def test_sniff_never_raises_on_odd_heads() -> None:
    for head in ("", "\x00\x01", "Well", "Date of measurement:", "a" * 100000):
        assert PARSER.sniff(head) in (True, False)


# --------------------------------------------------------------------------------- corruptions (CSV)


def test_empty_file_is_rejected() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse_bytes(b"")


def test_csv_truncated_inside_kinetic_table_is_rejected() -> None:
    data = ICONTROL.read_bytes()
    cut = data.index(b"\n50,") + 40  # in the middle of cycle 50 of the absorbance table
    with pytest.raises(ParseError, match="ends in the middle of the kinetic table"):
        parse_bytes(data[:cut])


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-16"),  # UTF-16 with BOM
        lambda text: text.encode("utf-8"),  # UTF-8 without BOM
        lambda text: ("\ufeff" + text.replace("\r\n", "\n")).encode("utf-8"),  # UTF-8 BOM, LF only
        lambda text: text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8-sig"),  # CRLF
    ],
    ids=["utf16-bom", "utf8-no-bom", "utf8-bom-lf", "utf8-bom-crlf"],
)
def test_csv_encodings_give_the_same_readings(encode: object) -> None:
    original = ICONTROL.read_bytes()
    text = original.decode("utf-8-sig")
    assert values(parse_bytes(encode(text))) == values(parse_bytes(original))  # type: ignore[operator]


def test_csv_missing_kinetic_row_drops_only_that_cycle() -> None:
    # decision: a kinetic row is one cycle; a lost row loses that cycle's reads, the others keep their cycle number
    data = ICONTROL.read_bytes()
    start = data.index(b"\n5,1200.1,")
    end = data.index(b"\n", start + 1)
    damaged = by_key(parse_bytes(data[:start] + data[end:], ICONTROL.name))
    original = by_key(parse(ICONTROL))
    assert ("tecanON1", "A01", "absorbance", "595", 5) not in damaged
    assert len(damaged) == len(original) - 96
    assert (
        damaged[("tecanON1", "A01", "absorbance", "595", 6)].value
        == original[("tecanON1", "A01", "absorbance", "595", 6)].value
    )


def test_random_binary_is_rejected() -> None:
    garbage = random.Random(7).randbytes(4096)
    with pytest.raises(ParseError):
        parse_bytes(garbage, "garbage.csv")


# ------------------------------------------------------------------------- hand-made i-control layouts

ENDPOINT = """Application: Tecan i-control,,,,"Tecan i-control , 1.10.4.0"
Device: infinite M200Pro,,,,Serial number: 1234567
Date:,8/8/2016
Time:,3:06:35 PM
Plate,,,,Corning 384 Flat Bottom Black [COR384fb.pdfx]
Plate-ID (Stacker),,,,BC-0042
Label: Label1
Mode,,,,Fluorescence Top Reading
Excitation Wavelength,,,,485,nm
Emission Wavelength,,,,535,nm
Start Time:,8/8/2016 3:06:35 PM
<>,1,2,3
A,100,OVER,102
B,200,201,
C,300,301,302
End Time:,8/8/2016 3:07:03 PM
"""


def test_icontrol_endpoint_grid_with_overflow_and_blank() -> None:
    readings = parse_bytes(ENDPOINT.encode())
    keyed = by_key(readings)
    assert len(readings) == 9
    a1 = keyed[("BC-0042", "A01", "fluorescence", "485/535", 1)]
    assert a1.value == 100 and a1.excitation_nm == 485 and a1.wavelength_nm == 535 and a1.plate_format == 384
    assert a1.instrument_serial == "1234567" and a1.read_at == datetime(2016, 8, 8, 15, 6, 35)
    over = keyed[("BC-0042", "A02", "fluorescence", "485/535", 1)]
    assert (over.value, over.flag, over.raw_value) == (None, "overflow", "OVER")
    assert keyed[("BC-0042", "B03", "fluorescence", "485/535", 1)].flag == "missing"


def test_icontrol_endpoint_grid_missing_row_is_rejected() -> None:
    damaged = ENDPOINT.replace("B,200,201,\n", "")
    with pytest.raises(ParseError, match="skips a row"):
        parse_bytes(damaged.encode())


def test_icontrol_semicolon_export_reads_decimal_commas() -> None:
    text = ENDPOINT.replace(",", ";").replace("A;100;OVER;102", "A;0,125;OVER;1,5E+02")
    keyed = by_key(parse_bytes(text.encode("cp1252")))
    assert keyed[("BC-0042", "A01", "fluorescence", "485/535", 1)].value == 0.125
    assert keyed[("BC-0042", "A03", "fluorescence", "485/535", 1)].value == 150


def test_icontrol_kinetic_with_wells_as_rows() -> None:
    text = """Application: Tecan i-control
Device: Spark,,,,Serial number: 9
Label: OD600
Mode,,,,Absorbance
Measurement Wavelength,,,,600,nm
Cycle Nr.,1,2,3
Time [s],0,60,120.5
Temp. [°C],25,25.1,25
A1,0.1,0.2,0.3
A2,0.4,,0.6
End Time:,x
"""
    keyed = by_key(parse_bytes(text.encode(), "spark.csv"))
    assert len(keyed) == 6
    assert keyed[("spark", "A01", "absorbance", "600", 3)].value == 0.3
    assert keyed[("spark", "A01", "absorbance", "600", 3)].elapsed_s == 120.5
    assert keyed[("spark", "A02", "absorbance", "600", 2)].flag == "missing"


def test_export_without_result_table_is_rejected() -> None:
    head = ENDPOINT.split("<>")[0]
    with pytest.raises(ParseError, match="no result table"):
        parse_bytes(head.encode())


# --------------------------------------------------------------------------------- corruptions (xlsx)


def test_truncated_workbook_is_rejected() -> None:
    data = OD.read_bytes()
    with pytest.raises(ParseError):
        parse_bytes(data[: len(data) // 2], OD.name)


def test_workbook_blank_value_is_flagged_missing_and_overflow_kept() -> None:
    def edit(sheet: object) -> None:
        sheet["A2"] = None  # type: ignore[index]  # the A1 value
        sheet["A3"] = "OVER"  # type: ignore[index]  # the B1 value

    keyed = by_key(parse_bytes(workbook_bytes(OD, edit), OD.name))
    assert len(keyed) == 96
    assert keyed[("96WEL008", "A01", "absorbance", "595", 1)].flag == "missing"
    assert keyed[("96WEL008", "B01", "absorbance", "595", 1)].flag == "overflow"
    assert keyed[("96WEL008", "C01", "absorbance", "595", 1)].value == 0.1661


def test_workbook_with_a_lost_well_row_reads_the_other_wells() -> None:
    # decision: a Magellan table lists wells, not a grid; a lost row is a well the file no longer names
    # (Magellan also exports partial plates this way), so it is absent, and every other well is intact.
    damaged = by_key(parse_bytes(workbook_bytes(OD, lambda sheet: sheet.delete_rows(4)), OD.name))  # C1
    assert len(damaged) == 95
    assert ("96WEL008", "C01", "absorbance", "595", 1) not in damaged
    assert damaged[("96WEL008", "D01", "absorbance", "595", 1)].value == 0.1469


def test_zip_that_is_no_workbook_is_rejected() -> None:
    with pytest.raises(ParseError):
        parse_bytes(b"PK\x03\x04" + b"\x00" * 200, "broken.xlsx")
