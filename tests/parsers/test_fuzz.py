"""What every native parser must do with a damaged file, tested once for all of them.

Each parser is fed its real seed files (the files :func:`lab_etl.parsers.registry.detect` gives it), cut, spliced
and garbled by Hypothesis. Whatever happens, only :class:`ParseError` may escape, with a reason; and whatever
still parses must be loadable: unique natural keys, and every well a real well of the plate's geometry.

The parser is called directly, not through :func:`~lab_etl.parsers.registry.parse_bytes`, which would turn any
crash into a ParseError and check the keys itself. ``derandomize`` makes every run (and CI) see the same files.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lab_etl.errors import ParseError
from lab_etl.parsers.base import InstrumentParser
from lab_etl.parsers.reading import Reading
from lab_etl.parsers.registry import detect, native_parser, native_parsers
from lab_etl.plates import GEOMETRY, parse_well, well_name

DATA = Path(__file__).resolve().parents[1] / "data"
#: Seeds above this size make each example slow without reaching more code.
MAX_SEED_BYTES = 300_000
#: Bytes that carry structure in instrument exports: separators, line ends, key markers, section markers.
STRUCTURE = [b"\t", b",", b";", b"\n", b"\r", b":", b"=", b'"', b"\\t", b"~End\n", b"\x00"]


@cache
def seed_files() -> dict[str, list[Path]]:
    """Parser name -> the real files it reads: every instrument export, plus the generic CSVs for the two generic
    parsers (no vendor writes those, so tests/data/instruments has none). Files vendors reject (``errors/``) and
    files no parser claims are left out."""
    candidates = [p for p in sorted((DATA / "instruments").rglob("*")) if p.is_file() and "errors" not in p.parts]
    candidates += [DATA / "hte" / "bh_plate_yield.csv", DATA / "hte" / "thiolation_plate_yield.csv"]
    candidates += [DATA / "plate_layouts" / "plate_layout_96.csv"]
    seeds: dict[str, list[Path]] = {parser.name: [] for parser in native_parsers()}
    for path in candidates:
        if path.suffix == ".md" or path.stat().st_size > MAX_SEED_BYTES:
            continue
        try:
            seeds[detect(path.read_bytes(), path.name).name].append(path)
        except ParseError:
            continue  # a file of an instrument with no native parser (HPLC, qPCR, Echo)
    return seeds


CASES = [pytest.param(name, path, id=f"{name}:{path.name}") for name, paths in seed_files().items() for path in paths]


def test_every_native_parser_has_a_seed() -> None:
    assert {name for name, paths in seed_files().items() if paths} == {parser.name for parser in native_parsers()}


@st.composite
def mutations(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` after one to six edits: cut bytes, insert bytes or structure, replace a byte, drop or repeat a line."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["delete", "insert", "replace", "drop_line", "repeat_line", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16) | st.sampled_from(STRUCTURE))
        elif kind == "replace" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[at:]
        else:
            lines = bytes(data).split(b"\n")
            index = draw(st.integers(0, len(lines) - 1))
            if kind == "drop_line":
                del lines[index]
            else:
                lines.insert(index, lines[index])
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def check_readings(readings: list[Reading]) -> None:
    """What a parsed file must satisfy to be loaded: unique keys, and wells that exist on the stated plate."""
    keys = [reading.key for reading in readings]
    assert len(set(keys)) == len(keys), "two readings share plate, well, measurement, channel and read"
    for reading in readings:
        assert reading.plate_format in GEOMETRY, reading
        rows, columns = GEOMETRY[reading.plate_format]
        assert 1 <= reading.row_index <= rows and 1 <= reading.column_index <= columns, reading
        assert parse_well(reading.well, reading.plate_format) == (reading.row_index, reading.column_index), reading
        assert reading.well == well_name(reading.row_index, reading.column_index), reading
        assert reading.plate_id and reading.measurement, reading


def run(parser: InstrumentParser, data: bytes, name: str) -> None:
    try:
        readings = list(parser.parse(data, name))
    except ParseError as error:
        assert error.reason.strip(), "a ParseError must say what is wrong"
        return
    check_readings(readings)


@pytest.mark.parametrize(("parser_name", "path"), CASES)
def test_damaged_files_raise_only_parse_error(parser_name: str, path: Path) -> None:
    parser = native_parser(parser_name)
    assert parser is not None
    seed = path.read_bytes()
    run(parser, seed, path.name)  # the undamaged file satisfies the same rules

    @settings(
        max_examples=8,
        derandomize=True,
        database=None,
        deadline=None,
        # shrinking a 100 kB file byte by byte takes minutes and the shrunk file is no more readable
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutations(seed))
    def damaged(data: bytes) -> None:
        run(parser, data, path.name)

    damaged()
