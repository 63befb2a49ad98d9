"""The columnar path: ReadingColumns, parse_cells, ParsedFile.to_arrow, and the same readings as the Reading path on
every real file."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.columns import ReadingColumns, Runs, parse_cells, parse_cells_arrow
from lab_etl.parsers.reading import READING_FIELDS, Reading, parse_value
from lab_etl.parsers.registry import _check_unique, detect, parse_bytes, sha256_hex
from tests.parsers.oracle import DATA

REAL_FILES = sorted(p for p in DATA.rglob("*") if p.is_file() and p.suffix.lower() != ".md")
GEN5_CSV = next(p for p in REAL_FILES if p.parent.name == "agilent_gen5_wellr")
GEN5_KINETIC = DATA / "agilent_gen5" / "Synergy instrument datafile (Fibrillation data) - TXT format.txt"

#: cells where float(), Arrow's cast and parse_value could disagree
TRICKY_CELLS = [
    "0.532", "1,5", "1.2E+03", "+3", "-3", " 4.5 ", ".5", "5.", "1e400", "1e-400", "nan", "NaN", "inf", "-Infinity",
    "1_000", "OVRFLW", ">4.0", "<0.001", "", "n/a", "?????", "abc", '"2.5"', "masked", "0x10", "١٢", "1.5e", "--",
]  # fmt: skip


def _stamped(readings: list[Reading], **lineage: str) -> list[Reading]:
    for reading in readings:
        for name, value in lineage.items():
            setattr(reading, name, value)
    return readings


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_columnar_path_gives_the_readings_of_the_reading_path(path: Path) -> None:
    data = path.read_bytes()
    try:
        parser = detect(data, path.name)
    except ParseError:
        pytest.skip("no native parser reads this file")
    try:
        expected = list(parser.parse(data, path.name))
    except ParseError as exc:
        with pytest.raises(ParseError) as caught:
            parser.parse_columns(data, path.name)
        assert (caught.value.reason, caught.value.line) == (exc.reason, exc.line)
        return
    columns = parser.parse_columns(data, path.name)
    assert len(columns) == len(expected)
    assert columns.readings() == expected  # every field, in order (no file holds NaN values)


def test_extend_stores_repeats_once_and_gives_them_back_per_reading() -> None:
    columns = ReadingColumns()
    common = {"plate_id": "P1", "plate_format": 96, "measurement": "absorbance", "channel": "450"}
    columns.extend(
        3,
        well=Runs(["A01", "A02"], [2, 1]),
        row_index=1,
        column_index=[1, 1, 2],
        value=pa.array([0.1, 0.2, None]),
        raw_value=("0.1", "0.2", "OVER"),
        flag=[None, None, "overflow"],
        read_index=[1, 2, 1],
        **common,
    )
    columns.extend(1, well="B01", row_index=2, column_index=1, value=1.0, raw_value="1", **common)
    assert len(columns) == 4
    assert columns.column("well") == ["A01", "A01", "A02", "B01"]
    assert columns.column("value") == [0.1, 0.2, None, 1.0]
    assert columns.column("read_index") == [1, 2, 1, 1]  # the default read 1 for the last
    assert columns.column("vendor") == [""] * 4 and columns.is_constant("plate_id")
    assert not columns.is_constant("row_index")
    first = columns.readings(source_file="f.csv", parser="p")[2]
    assert first == Reading(
        "P1", "A02", 1, 2, 96, "absorbance", None, "OVER", "450", flag="overflow", source_file="f.csv", parser="p"
    )


def test_runs_of_equal_but_differently_typed_values_stay_apart() -> None:
    columns = ReadingColumns()
    base = {"plate_id": "P", "well": "A01", "row_index": 1, "column_index": 1, "plate_format": 96}
    columns.extend(1, measurement="m", value=1, raw_value="1", **base)
    columns.extend(1, measurement="m", value=1.0, raw_value="1", **base)
    assert [type(v) for v in columns.column("value")] == [int, float]


def test_extend_rejects_unknown_missing_and_short_fields() -> None:
    columns = ReadingColumns()
    base = {"plate_id": "P", "well": "A01", "row_index": 1, "column_index": 1, "plate_format": 96, "measurement": "m"}
    with pytest.raises(TypeError, match="colour"):
        columns.extend(1, colour="red", value=1.0, raw_value="1", **base)
    with pytest.raises(TypeError, match="raw_value"):
        columns.extend(1, value=1.0, **base)
    with pytest.raises(ValueError, match="2 values for 3"):
        columns.extend(3, value=[1.0, 2.0], raw_value="1", **base)
    with pytest.raises(ValueError, match="runs hold 2 values for 3"):
        columns.extend(3, value=1.0, raw_value="1", **{**base, "well": Runs(["A01"], [2])})
    assert len(columns) == 0 and columns.column("well") == []


def test_from_readings_round_trips_and_keeps_the_parsers_objects() -> None:
    readings = list(detect(GEN5_CSV.read_bytes(), GEN5_CSV.name).parse(GEN5_CSV.read_bytes(), GEN5_CSV.name))
    columns = ReadingColumns.from_readings(iter(readings))
    assert columns.column("well") == [r.well for r in readings]
    back = columns.readings(source_file="x")
    assert back == readings and back[0] is readings[0] and back[0].source_file == "x"
    joined = ReadingColumns()
    joined.extend_columns(columns)
    joined.extend_columns(columns)
    assert joined.column("value") == [r.value for r in readings] * 2


def test_duplicate_key_is_found_on_codes() -> None:
    columns = ReadingColumns()
    base = {"plate_id": "P", "plate_format": 96, "measurement": "m", "value": 1.0, "raw_value": "1"}
    columns.extend(4, well=Runs(["A01", "A02"], [2, 2]), row_index=1, column_index=1, read_index=[-1, 0, -1, 0], **base)
    assert columns.duplicate_key() is None
    columns.extend(1, well="A02", row_index=1, column_index=2, read_index=0, **base)
    assert columns.duplicate_key() == ("P", "A02", "m", "", 0)
    listed = ReadingColumns()
    listed.extend(3, well=["A01", "B01", "A01"], row_index=1, column_index=1, channel=["a", "a", "a"], **base)
    assert listed.duplicate_key() == ("P", "A01", "m", "a", 1)
    with pytest.raises(ParseError, match="well A01 of plate P has two m values for channel 'a', read 1"):
        _check_unique(listed, "f.csv")
    constant = ReadingColumns()
    constant.extend(2, well="A01", row_index=1, column_index=1, **base)
    assert constant.duplicate_key() == ("P", "A01", "m", "", 1)


@pytest.mark.parametrize("duplicate_at", [None, 0, 4999])
def test_duplicate_key_of_many_readings_on_integer_codes(duplicate_at: int | None) -> None:
    n = 5000  # above the size where a set of tuples is used
    columns = ReadingColumns()
    base = {"plate_id": "P", "plate_format": 1536, "measurement": "m", "value": 1.0, "raw_value": "1"}
    wells = [f"W{i % 1000}" for i in range(n)]
    reads = [i // 1000 - 2 for i in range(n)]
    channels = Runs(["a", "b"], [n // 2, n - n // 2])
    columns.extend(n, well=wells, row_index=1, column_index=1, read_index=reads, channel=channels, **base)
    assert columns.duplicate_key() is None
    if duplicate_at is not None:
        extra = ReadingColumns()
        extra.extend(
            1, well=wells[duplicate_at], row_index=1, column_index=1, read_index=reads[duplicate_at],
            channel="a" if duplicate_at < n // 2 else "b", **base,
        )  # fmt: skip
        columns.extend_columns(extra)
        assert columns.duplicate_key() == ("P", wells[duplicate_at], "m", "a" if duplicate_at < n // 2 else "b",
                                           reads[duplicate_at])  # fmt: skip


@pytest.mark.parametrize("decimal_comma", [False, True])
def test_parse_cells_is_parse_value_on_every_cell(decimal_comma: bool) -> None:
    expected = [parse_value(cell, decimal_comma=decimal_comma)[:2] for cell in TRICKY_CELLS]
    values, flags = parse_cells(TRICKY_CELLS, decimal_comma=decimal_comma, cache={})
    assert list(zip(values, flags, strict=True)) == expected
    numbers = ["0.25", "1e3", "-7", "3"]
    assert parse_cells(numbers) == ([0.25, 1000.0, -7.0, 3.0], [None] * 4)


@pytest.mark.parametrize("cell", TRICKY_CELLS)
def test_parse_cells_arrow_agrees_with_parse_value(cell: str) -> None:
    cells = [str(i / 7) for i in range(300)] + [cell]
    values, flags, texts = parse_cells_arrow(cells, decimal_comma=True)
    got = values.to_pylist() if isinstance(values, pa.Array) else values
    got_flags = flags if flags is not None else [None] * len(cells)
    assert list(zip(got, got_flags, strict=True)) == [parse_value(c, decimal_comma=True)[:2] for c in cells]
    assert (texts.to_pylist() if isinstance(texts, pa.Array) else list(texts)) == cells
    assert isinstance(values, pa.Array) == (flags is None) == isinstance(texts, pa.Array)


def _arrow_schema(names: list[str]) -> pa.Schema:
    types = {f.name: f.type for f in fields(Reading)}
    kinds = {"str": pa.string(), "int": pa.int32(), "float | None": pa.float64(), "str | None": pa.string()}
    kinds["datetime | None"] = pa.timestamp("us", tz="UTC")
    return pa.schema([(name, kinds[str(types[name])]) for name in names])


@pytest.mark.parametrize("path", [GEN5_KINETIC, GEN5_CSV, DATA / "moldev_softmax_pro" / "partial_plate.txt"])
def test_to_arrow_holds_the_readings_of_the_schema(path: Path) -> None:
    parsed = parse_bytes(path.read_bytes(), path.name)
    names = [f.name for f in fields(Reading)]
    schema = _arrow_schema(names[::-1]).append(pa.field("run_id", pa.string()))
    table = parsed.to_arrow(schema)
    assert table.schema == schema and table.num_rows == len(parsed.readings)
    assert table.column("run_id").null_count == table.num_rows
    for name in names:
        expected = pa.array([getattr(r, name) for r in parsed.readings], type=schema.field(name).type)
        assert table.column(name).combine_chunks().equals(expected), name
    assert set(table.column("source_sha256").to_pylist()) == {sha256_hex(path.read_bytes())}


def test_to_arrow_of_a_few_fields_and_a_wrong_type() -> None:
    data = b",1,2,3,4,5,6,7,8,9,10,11,12\n" + b"".join(
        row.encode() + b",1,2,3,4,5,6,7,8,9,10,x,\n" for row in "ABCDEFGH"
    )
    parsed = parse_bytes(data, "plate.csv")
    table = parsed.to_arrow(pa.schema([("flag", pa.string()), ("read_at", pa.timestamp("us", tz="UTC"))]))
    assert (
        table.column("flag").to_pylist().count("invalid") == 8
        and table.column("flag").to_pylist().count("missing") == 8
    )
    assert table.column("read_at").null_count == 96
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        parsed.to_arrow(pa.schema([("well", pa.int32())]))


def test_parse_bytes_takes_the_callers_sha256_and_builds_readings_lazily() -> None:
    data = GEN5_CSV.read_bytes()
    parsed = parse_bytes(data, "landing/x.csv", sha256="0" * 64)
    assert parsed.source_sha256 == "0" * 64 and parsed._readings is None
    assert len(parsed) == len(parsed.readings) and parsed.readings is parsed.readings
    reading = parsed.readings[0]
    assert (reading.source_file, reading.source_sha256, reading.parser) == ("landing/x.csv", "0" * 64, parsed.parser)
    assert reading.parser_version == parsed.parser_version and parsed.parser_version.endswith("+1")
    assert parse_bytes(data, "x.csv").source_sha256 == sha256_hex(data)


def test_readings_of_columns_carry_datetimes_and_defaults() -> None:
    columns = ReadingColumns()
    when = datetime(2024, 1, 31, 10, 0)
    columns.extend(
        1, plate_id="P", well="A01", row_index=1, column_index=1, plate_format=96, measurement="m", value=None,
        raw_value=None, flag="missing", read_at=when,
    )  # fmt: skip
    (reading,) = columns.readings()
    assert reading.read_at == when and reading.channel == "" and reading.read_index == 1
    assert set(READING_FIELDS) | {"source_file", "source_sha256", "parser", "parser_version"} == {
        f.name for f in fields(Reading)
    }
