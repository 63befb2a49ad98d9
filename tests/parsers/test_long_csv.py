"""The generic long well/value CSV parser against the real HTE yield tables and hand-made variants."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.files import head_text
from lab_etl.parsers.long_csv import PARSER
from lab_etl.parsers.reading import Reading
from tests.parsers.oracle import all_instrument_files

HTE = Path(__file__).resolve().parents[1] / "data" / "hte"
YIELD_FILES = sorted(HTE.glob("*_plate_yield.csv"))
THIOLATION = HTE / "thiolation_plate_yield.csv"
BH = HTE / "bh_plate_yield.csv"


def parse(data: bytes, name: str = "table.csv") -> list[Reading]:
    return list(PARSER.parse(data, name))


def by_key(readings: list[Reading]) -> dict[tuple[str, str, str, str, int], Reading]:
    return {r.key: r for r in readings}


def facts(readings: list[Reading]) -> list[tuple[object, ...]]:
    return [(r.key, r.value, r.flag, r.unit, r.sample_name, r.plate_format) for r in readings]


# --- real files -------------------------------------------------------------------------------------------------


def test_yield_files_are_found() -> None:
    assert [p.name for p in YIELD_FILES] == ["bh_plate_yield.csv", "thiolation_plate_yield.csv"]


@pytest.mark.parametrize(
    ("path", "missing_wells"),
    [(THIOLATION, 26), (BH, 69)],
    ids=["thiolation", "bh"],
)
def test_counts_per_file(path: Path, missing_wells: int) -> None:
    readings = parse(path.read_bytes(), path.name)
    # 96 wells x 3 numeric columns (Yield, RT-MS, RT-FID); Analyte is text and fills sample_name
    assert len(readings) == 288
    assert Counter(r.measurement for r in readings) == {"yield": 96, "rt_ms": 96, "rt_fid": 96}
    assert Counter(r.flag for r in readings)["missing"] == 3 * missing_wells
    assert {r.plate_id for r in readings} == {path.stem}
    assert {r.plate_format for r in readings} == {96}
    assert {r.channel for r in readings} == {"yield", "rt_ms", "rt_fid"}
    assert len({r.key for r in readings}) == len(readings)
    assert {r.unit for r in readings if r.measurement == "yield"} == {"%"}
    assert {r.unit for r in readings if r.measurement.startswith("rt_")} == {"min"}


def test_thiolation_golden_values() -> None:
    readings = by_key(parse(THIOLATION.read_bytes(), THIOLATION.name))
    plate = "thiolation_plate_yield"
    a1 = readings[(plate, "A01", "yield", "yield", 1)]
    assert (a1.value, a1.raw_value, a1.flag, a1.unit) == (75.0, "75.0", None, "%")
    assert a1.sample_name == "COC(=O)CCSc1c(Cl)ncn1C"
    assert readings[(plate, "A01", "rt_ms", "rt_ms", 1)].value == 5.941
    assert readings[(plate, "A01", "rt_fid", "rt_fid", 1)].value == 6.92
    a11 = readings[(plate, "A11", "rt_ms", "rt_ms", 1)]
    assert (a11.value, a11.sample_name) == (7.887, "Cn1cnc(Cl)c1Sc1nc2ccccc2o1")
    # A10 was not run: every column is empty, the well is still accounted for
    for measurement in ("yield", "rt_ms", "rt_fid"):
        a10 = readings[(plate, "A10", measurement, measurement, 1)]
        assert (a10.value, a10.flag, a10.raw_value, a10.sample_name) == (None, "missing", "", None)
    assert readings[(plate, "B12", "yield", "yield", 1)].value == 14.0


def test_bh_golden_values() -> None:
    readings = by_key(parse(BH.read_bytes(), BH.name))
    plate = "bh_plate_yield"
    assert readings[(plate, "A03", "yield", "yield", 1)].value == 95.0
    assert readings[(plate, "A10", "rt_fid", "rt_fid", 1)].value == 7.537
    assert readings[(plate, "B04", "yield", "yield", 1)].sample_name == "Fc1cncc(Nc2ccccn2)c1"
    assert readings[(plate, "A01", "yield", "yield", 1)].flag == "missing"


def test_sniff_own_files() -> None:
    for path in YIELD_FILES:
        assert PARSER.sniff(head_text(path.read_bytes())), path.name


@pytest.mark.parametrize("path", all_instrument_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sniff_rejects_instrument_files(path: Path) -> None:
    assert not PARSER.sniff(head_text(path.read_bytes()))


@pytest.mark.parametrize("name", ["thiolation_plate_layout.csv", "thiolation_meta_data.json", "manifest.json"])
def test_sniff_rejects_other_hte_files(name: str) -> None:
    assert not PARSER.sniff(head_text((HTE / name).read_bytes()))


def test_layout_file_is_refused() -> None:
    # a plate layout (x,y SMILES columns) has no well column
    with pytest.raises(ParseError, match="no well column"):
        parse((HTE / "thiolation_plate_layout.csv").read_bytes(), "thiolation_plate_layout.csv")


# --- corruptions of a real file ----------------------------------------------------------------------------------


def test_encodings_and_line_ends_give_the_same_readings() -> None:
    data = THIOLATION.read_bytes()
    assert b"\r\n" in data
    text = data.decode("utf-8")
    expected = facts(parse(data, THIOLATION.name))
    variants = {
        "lf": text.replace("\r\n", "\n").encode("utf-8"),
        "utf8_bom": b"\xef\xbb\xbf" + data,
        "utf16_bom": text.encode("utf-16"),
        "utf16le_bom_lf": b"\xff\xfe" + text.replace("\r\n", "\n").encode("utf-16-le"),
    }
    for label, variant in variants.items():
        assert facts(parse(variant, THIOLATION.name)) == expected, label


def test_empty_file() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse(b"", "empty.csv")


def test_truncated_in_a_data_row() -> None:
    data = THIOLATION.read_bytes()
    cut = data.index(b"C5,") + len(b"C5,12")
    with pytest.raises(ParseError, match="truncated") as info:
        parse(data[:cut], THIOLATION.name)
    assert info.value.line is not None


def test_missing_row_leaves_the_well_out() -> None:
    # a long table may list a partial plate: a dropped line loses that well, the rest is read unchanged
    lines = THIOLATION.read_bytes().split(b"\r\n")
    dropped = [line for line in lines if not line.startswith(b"A11,")]
    readings = parse(b"\r\n".join(dropped), THIOLATION.name)
    assert len(readings) == 285
    assert "A11" not in {r.well for r in readings}
    assert {r.plate_format for r in readings} == {96}


def test_binary_garbage() -> None:
    garbage = bytes(range(256)) * 8
    with pytest.raises(ParseError):
        parse(garbage, "garbage.csv")


# --- hand-made variants ------------------------------------------------------------------------------------------


def test_semicolon_decimal_comma_and_well_position_header() -> None:
    text = "Well Position;Compound;Conversion [%];Purity\nA1;cpd-1;12,5;0,98\nB02;cpd-2;OVRFLW;\n"
    readings = by_key(parse(text.encode("cp1252"), "run7.csv"))
    assert readings[("run7", "A01", "conversion", "conversion", 1)].value == 12.5
    assert readings[("run7", "A01", "purity", "purity", 1)].value == 0.98
    over = readings[("run7", "B02", "conversion", "conversion", 1)]
    assert (over.value, over.flag, over.raw_value) == (None, "overflow", "OVRFLW")
    assert readings[("run7", "B02", "purity", "purity", 1)].flag == "missing"
    assert readings[("run7", "B02", "purity", "purity", 1)].sample_name == "cpd-2"


def test_tab_plate_column_384_and_quoted_decimal_comma() -> None:
    rows = ["Barcode\tWell\tSignal (RLU)\tRead Date", "PL1\tP24\t1200\t2024-03-01 10:00:00", 'PL2\tA1\t"3,5"\t']
    readings = parse("\n".join(rows).encode(), "x.tsv")
    plates = {r.plate_id: r for r in readings}
    assert plates["PL1"].plate_format == 384 and plates["PL1"].well == "P24" and plates["PL1"].unit == "RLU"
    assert plates["PL1"].read_at is not None and plates["PL1"].read_at.hour == 10
    assert plates["PL2"].plate_format == 96 and plates["PL2"].value == 3.5
    assert {r.measurement for r in readings} == {"signal"}


def test_quoted_decimal_comma_in_comma_file() -> None:
    readings = parse(b'Well,Area\nA1,"1,25"\nA2,2.5\n', "q.csv")
    assert [r.value for r in readings] == [1.25, 2.5]


def test_index_and_text_columns_are_not_measurements() -> None:
    text = "Well,Row,Column,Comment,OD600\nA1,1,1,ok,0.5\nH12,8,12,bubble,0.7\n"
    readings = parse(text.encode(), "od.csv")
    assert {r.measurement for r in readings} == {"od600"}
    assert [r.value for r in readings] == [0.5, 0.7]


def test_duplicate_headers_get_distinct_channels() -> None:
    readings = parse(b"Well,Area,Area\nA1,1,2\n", "dup.csv")
    assert [(r.measurement, r.channel, r.value) for r in readings] == [("area", "area", 1.0), ("area", "area_2", 2.0)]


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        ("Well,Yield\nA1,5\nTotal,10\n", "'Total' in the Well column is not a well name", 3),
        ("Well,Yield\nA1,5\nA01,6\n", "well A01 of plate dup is listed twice", 3),
        ("Well,Note\nA1,fine\nA2,bad\n", "no numeric value column", 1),
        ("Sample,Yield\nx,5\n", "no well column", 1),
        ("Well,Yield\nA1,5,7\n", "beyond the 2 columns", 2),
        ("\n\n\n", "only blank lines", None),
        ("just a sentence\nand another\n", "not a table header", 1),
    ],
)
def test_broken_tables(text: str, reason: str, line: int | None) -> None:
    with pytest.raises(ParseError) as info:
        parse(text.encode(), "dup.csv")
    assert reason in info.value.reason
    assert info.value.line == line


def test_sniff_handmade() -> None:
    assert PARSER.sniff("Well;Yield [%]\nA1;12,5\nA2;13\n")
    assert PARSER.sniff("Pos\tArea\nA1\t100\nA2\t200\nA3\t")  # the cut last line is ignored
    assert not PARSER.sniff("Well,Comment\nA1,ok\nA2,ok\n")  # no number
    assert not PARSER.sniff("Name,Value\nfoo,1\n")
    assert not PARSER.sniff("")
    assert not PARSER.sniff("\x00\x01garbage")
