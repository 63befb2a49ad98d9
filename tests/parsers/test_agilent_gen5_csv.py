"""Agilent/BioTek Gen5 CSV export. allotropy does not read it, so the golden values are read off the file."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime

import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.agilent_gen5_csv import PARSER, csv_to_tab_lines
from lab_etl.parsers.files import head_text
from lab_etl.parsers.reading import Reading
from tests.parsers.oracle import DATA, all_instrument_files, files

PATH = DATA / "agilent_gen5_wellr" / "20220929_1steptimer20.csv"
PLATE = "Plate 1"


def parse_bytes(data: bytes) -> list[Reading]:
    return list(PARSER.parse(data, PATH.name))


def by_key(readings: list[Reading]) -> dict[tuple[str, str, str, str, int], Reading]:
    return {r.key: r for r in readings}


@pytest.fixture(scope="module")
def readings() -> list[Reading]:
    return parse_bytes(PATH.read_bytes())


def test_counts_per_read(readings: list[Reading]) -> None:
    # two kinetic loops on a 384-well plate: 9 reads of LUM_1 + OD600_1, then 41 reads of OD600_2 + LUM_2
    assert len(readings) == 384 * (9 + 9 + 41 + 41)
    assert Counter((r.measurement, r.channel) for r in readings) == {
        ("luminescence", "luminescence [LUM_1]"): 384 * 9,
        ("absorbance", "600 [OD600_1]"): 384 * 9,
        ("absorbance", "600 [OD600_2]"): 384 * 41,
        ("luminescence", "luminescence [LUM_2]"): 384 * 41,
    }
    assert len({r.key for r in readings}) == len(readings)
    assert all(r.flag is None and r.plate_format == 384 for r in readings)


def test_golden_values(readings: list[Reading]) -> None:
    keyed = by_key(readings)
    a1 = keyed[(PLATE, "A01", "luminescence", "luminescence [LUM_1]", 1)]  # line 61: ,0:04:48,37,3,27,...
    assert (a1.value, a1.elapsed_s, a1.unit) == (3.0, 288.0, "RLU")
    assert keyed[(PLATE, "A02", "luminescence", "luminescence [LUM_1]", 1)].value == 27
    od = keyed[(PLATE, "A01", "absorbance", "600 [OD600_1]", 1)]  # line 113: ,0:07:07,37,0.09,0.097,...
    assert (od.value, od.elapsed_s, od.wavelength_nm, od.unit) == (0.09, 427.0, 600.0, "OD")
    assert keyed[(PLATE, "A02", "absorbance", "600 [OD600_1]", 1)].value == 0.097
    assert keyed[(PLATE, "A01", "absorbance", "600 [OD600_2]", 1)].value == 0.096  # line 164
    last = keyed[(PLATE, "M01", "luminescence", "luminescence [LUM_2]", 41)]  # line 520: ,10:07:07,37,43,...
    assert (last.value, last.elapsed_s) == (43.0, 36427.0)
    assert keyed[(PLATE, "P24", "luminescence", "luminescence [LUM_2]", 41)].value == 3
    assert (a1.instrument_model, a1.instrument_serial, a1.vendor) == ("Synergy HTX", "2206293D", "Agilent")
    assert a1.read_at == datetime(2022, 9, 29, 15, 55, 14)  # "Date,29/9/2022" "Time,3:55:14 pm"


def test_calculated_results_are_not_readings(readings: list[Reading]) -> None:
    # the Results grid (Max V, R-Squared, t at Max V, Lagtime with ?????) is calculated: no reading carries it
    assert not any(r.raw_value and ":" in r.raw_value for r in readings)
    assert max(r.read_index for r in readings) == 41


def test_sniff() -> None:
    assert PARSER.sniff(head_text(PATH.read_bytes(), PATH.name))
    others = [p for p in all_instrument_files() if p != PATH]
    assert len(others) > 20
    for path in others:
        assert not PARSER.sniff(head_text(path.read_bytes(), path.name)), path
    assert files("agilent_gen5_wellr") == [PATH]


def test_quoted_cells_keep_their_commas() -> None:
    lines = csv_to_tab_lines('Set Temperature,"Setpoint 37°C, Gradient 0 °C",,,\n,Time,A1,,', "x.csv")
    assert lines == ["Set Temperature\tSetpoint 37°C, Gradient 0 °C", "\tTime\tA1"]


def text() -> str:
    """The export as Gen5 wrote it (CRLF line ends), without its BOM."""
    return PATH.read_bytes().decode("utf-8-sig")


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: t.encode("utf-16"),
        lambda t: t.replace("\r\n", "\n").encode("utf-8-sig"),
        lambda t: t.replace("\n", "\r\n").encode("utf-8-sig"),
    ],
    ids=["utf8-no-bom", "utf16-bom", "lf", "cr-cr-lf"],
)
def test_encodings_give_same_readings(encode, readings: list[Reading]) -> None:  # type: ignore[no-untyped-def]
    assert parse_bytes(encode(text())) == readings


def test_empty_binary_and_not_gen5() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse_bytes(b"")
    with pytest.raises(ParseError):
        parse_bytes(random.Random(3).randbytes(5000))
    with pytest.raises(ParseError, match="Software Version"):
        parse_bytes(b"Well,Value\nA1,0.5\n")


def test_truncated_in_a_kinetic_row() -> None:
    data = PATH.read_bytes()
    cut = data.index(b",1:04:48,37,2,36") + 30
    with pytest.raises(ParseError, match="truncated"):
        parse_bytes(data[:cut])


def test_dropped_time_row_loses_that_time_point_only(readings: list[Reading]) -> None:
    lines = text().split("\n")
    dropped = next(i for i, line in enumerate(lines) if line.startswith(",0:19:48,37,3,34"))  # LUM_1, rows A-D
    damaged = parse_bytes("\n".join(lines[:dropped] + lines[dropped + 1 :]).encode())
    assert len(damaged) == len(readings) - 4 * 24
    a1 = [r for r in damaged if r.well == "A01" and r.channel == "luminescence [LUM_1]"]
    assert [r.elapsed_s for r in a1][:3] == [288.0, 2088.0, 2988.0]  # 0:19:48 (1188 s) is gone, times stay true


def test_overflow_cell_is_flagged() -> None:
    damaged = text().replace(",0:04:48,37,3,27,", ",0:04:48,37,OVRFLW,27,", 1)
    a1 = by_key(parse_bytes(damaged.encode()))[(PLATE, "A01", "luminescence", "luminescence [LUM_1]", 1)]
    assert (a1.value, a1.flag, a1.raw_value) == (None, "overflow", "OVRFLW")
