"""MSD Methodical Mind parser: allotropy as the oracle, golden facts read off the raw files, broken files."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.files import head_text
from lab_etl.parsers.methodical_mind import PARSER
from lab_etl.parsers.reading import Reading
from tests.parsers.oracle import DATA, all_instrument_files, allotropy_pairs, files, native_pairs

FOLDER = DATA / "methodical_mind"
PLATE_384 = FOLDER / "methodical_mind_384_wells.txt"
TWO_PLATES = FOLDER / "methodical_test_1.txt"
TEN_SPOTS = FOLDER / "methodical_test_3.txt"
MISSING_SPOTS = FOLDER / "methodical_test_4_missing_spots.txt"
PARTIAL = FOLDER / "methodical_test_data_in_filename.txt"
EDT = timezone(timedelta(hours=-4))


def parse(data: bytes, name: str = "plate.txt") -> list[Reading]:
    return list(PARSER.parse(data, name))


def by_key(readings: list[Reading]) -> dict[tuple[str, str, str, str, int], Reading]:
    return {reading.key: reading for reading in readings}


def spot(n: int) -> str:
    return f"luminescence spot {n}"


# ----------------------------------------------------------------------------- oracle
@pytest.mark.parametrize("path", files("methodical_mind"), ids=lambda p: p.name)
def test_same_values_as_allotropy(path: Path) -> None:
    assert native_pairs(path, PARSER) == allotropy_pairs(path, "methodical_mind")


def test_every_real_file_is_covered() -> None:
    assert len(files("methodical_mind")) == 7


# ----------------------------------------------------------------------------- golden facts
def test_384_well_plate() -> None:
    readings = parse(PLATE_384.read_bytes(), PLATE_384.name)
    assert len(readings) == 384
    keys = by_key(readings)
    a1 = keys[("BARCODE1", "A01", "luminescence", spot(1), 1)]
    assert (a1.value, a1.plate_format, a1.unit) == (958910.0, 384, "RLU")
    assert (a1.instrument_model, a1.instrument_serial) == ("HTS", "1234567891011")
    assert a1.read_at == datetime(2025, 1, 1, 12, 34, 56, tzinfo=EDT)
    assert keys[("BARCODE1", "P24", "luminescence", spot(1), 1)].value == 227.0
    assert keys[("BARCODE1", "B02", "luminescence", spot(1), 1)].value == 27.0


def test_two_plates_with_literal_tab_escapes() -> None:
    # the first block writes 'Barcode1 :\t<*22M0TALA85N*>' with a literal backslash-t
    readings = parse(TWO_PLATES.read_bytes(), TWO_PLATES.name)
    assert Counter(r.plate_id for r in readings) == {"*22M0TALA85N*": 96, "*22M0TAQA86T*": 96}
    keys = by_key(readings)
    assert keys[("*22M0TALA85N*", "A01", "luminescence", spot(1), 1)].value == 12895.0
    assert keys[("*22M0TALA85N*", "H12", "luminescence", spot(1), 1)].value == 997.0
    second = keys[("*22M0TAQA86T*", "A01", "luminescence", spot(1), 1)]
    assert second.value == 12233.0
    assert second.read_at == datetime(2023, 9, 8, 13, 40, 49, tzinfo=EDT)
    assert keys[("*22M0TAQA86T*", "B02", "luminescence", spot(1), 1)].value == 9913.0


def test_ten_spots_per_well() -> None:
    readings = parse(TEN_SPOTS.read_bytes(), TEN_SPOTS.name)
    assert len(readings) == 4 * 12 * 10  # the export holds rows A..D
    keys = by_key(readings)
    a1 = [keys[("2BO40AW290", "A01", "luminescence", spot(n), 1)].value for n in range(1, 11)]
    assert a1 == [315, 3328, 83, 4591, 1819, 4222, 9377, 11157, 5423, 814]
    assert keys[("2BO40AW290", "B01", "luminescence", spot(1), 1)].value == 881.0
    assert keys[("2BO40AW290", "C12", "luminescence", spot(10), 1)].value == 455361.0
    assert {r.plate_format for r in readings} == {96}
    assert readings[0].instrument_model == "QuickPlex"


def test_missing_spots_give_no_readings() -> None:
    # legend: spots 1, 3, 8 and 10 are on the plate; lines 2, 4-7 and 9 of every well are empty
    readings = parse(MISSING_SPOTS.read_bytes(), MISSING_SPOTS.name)
    assert len(readings) == 96 * 4
    assert {r.channel for r in readings} == {spot(1), spot(3), spot(8), spot(10)}
    keys = by_key(readings)
    assert keys[("2CM0BA4513", "A01", "luminescence", spot(1), 1)].value == 489674.0
    assert keys[("2CM0BA4513", "A01", "luminescence", spot(3), 1)].value == 628082.0
    assert keys[("2CM0BA4513", "A01", "luminescence", spot(8), 1)].value == 63813.0
    assert keys[("2CM0BA4513", "A01", "luminescence", spot(10), 1)].value == 134038.0
    assert all(r.flag is None for r in readings)


def test_partial_plate_and_data_in_the_file_name() -> None:
    # 'FileName : ...1=Data=33933.txt' must not open a data table; the plate reads 3 x 2 wells of a 96 plate
    readings = parse(PARTIAL.read_bytes(), PARTIAL.name)
    assert sorted(r.well for r in readings) == ["A01", "A02", "A03", "B01", "B02", "B03"]
    assert by_key(readings)[("*22M0TALA85N*", "B03", "luminescence", spot(1), 1)].value == 7433.0
    assert {r.plate_format for r in readings} == {96}


@pytest.mark.parametrize("path", files("methodical_mind"), ids=lambda p: p.name)
def test_keys_are_unique(path: Path) -> None:
    readings = parse(path.read_bytes(), path.name)
    assert len({r.key for r in readings}) == len(readings)


# ----------------------------------------------------------------------------- sniff
@pytest.mark.parametrize("path", files("methodical_mind"), ids=lambda p: p.name)
def test_sniff_accepts_every_msd_file(path: Path) -> None:
    assert PARSER.sniff(head_text(path.read_bytes(), path.name))


@pytest.mark.parametrize(
    "path",
    [p for p in all_instrument_files() if "methodical_mind" not in p.parts],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_sniff_rejects_other_vendors(path: Path) -> None:
    assert not PARSER.sniff(head_text(path.read_bytes(), path.name))


def test_sniff_never_raises_on_odd_text() -> None:
    assert not PARSER.sniff("")
    assert not PARSER.sniff("==========Data====\n\t1\t2\nA\t1\t2\n")  # no MSD header keys


# ----------------------------------------------------------------------------- corruptions
def test_empty_file() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse(b"")


def test_truncated_in_a_data_line() -> None:
    data = TWO_PLATES.read_bytes()
    cut = data.index(b"C \t        73") + 30
    with pytest.raises(ParseError, match="truncated") as error:
        parse(data[:cut], TWO_PLATES.name)
    assert error.value.line == 27  # line 23 is the Data marker, 24 the column numbers, 25..27 rows A..C


def test_truncated_inside_a_well_of_a_multi_spot_plate() -> None:
    lines = TEN_SPOTS.read_bytes().split(b"\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b"B "))
    with pytest.raises(ParseError, match=r"row B .* 4 spot lines"):
        parse(b"\n".join(lines[: start + 4]) + b"\n", TEN_SPOTS.name)


def test_truncated_before_the_data() -> None:
    data = PLATE_384.read_bytes()
    with pytest.raises(ParseError, match="Data"):
        parse(data[: data.index(b"=====")], PLATE_384.name)


@pytest.mark.parametrize("path", files("methodical_mind"), ids=lambda p: p.name)
def test_encodings_and_line_ends_give_the_same_readings(path: Path) -> None:
    data = path.read_bytes()
    original = parse(data, path.name)
    text = data.decode("utf-8")
    lf = text.replace("\r\n", "\n")
    variants = [
        b"\xef\xbb\xbf" + data,
        "\ufeff".encode("utf-16-le") + text.encode("utf-16-le"),
        text.encode("utf-16"),
        lf.encode(),
        lf.replace("\n", "\r\n").encode(),
    ]
    for variant in variants:
        assert parse(variant, path.name) == original


def test_a_missing_row_is_refused() -> None:
    # MSD exports may stop before the last row (methodical_test_3 holds A..D) but never skip one
    lines = TWO_PLATES.read_bytes().split(b"\r\n")
    row_c = next(i for i, line in enumerate(lines) if line.startswith(b"C "))
    data = b"\r\n".join(lines[:row_c] + lines[row_c + 1 :])
    with pytest.raises(ParseError, match="row D where row C should be"):
        parse(data, TWO_PLATES.name)


def test_an_empty_cell_of_a_spot_on_the_plate_is_flagged_missing() -> None:
    data = TWO_PLATES.read_bytes().replace(b"A \t     12895  \t", b"A \t            \t", 1)
    readings = parse(data, TWO_PLATES.name)
    assert len(readings) == 192
    a1 = by_key(readings)[("*22M0TALA85N*", "A01", "luminescence", spot(1), 1)]
    assert (a1.value, a1.flag) == (None, "missing")


def test_binary_garbage() -> None:
    noise = bytes(random.Random(11).randrange(256) for _ in range(4096))
    with pytest.raises(ParseError):
        parse(noise)


def test_a_table_wider_than_the_plate_is_refused() -> None:
    data = PARTIAL.read_bytes().replace(b"Wells Per Row :\t3", b"Wells Per Row :\t4")
    with pytest.raises(ParseError, match="2 rows x 3 columns"):
        parse(data, PARTIAL.name)


def test_a_non_numeric_column_header_is_refused() -> None:
    data = PLATE_384.read_bytes().replace(b"\t1\t2\t3\t", b"\tone\t2\t3\t", 1)
    with pytest.raises(ParseError, match="column numbers"):
        parse(data, PLATE_384.name)


# ----------------------------------------------------------------------------- format variants (hand-made)
def _block(barcode: str, spot_id: str, value: int, plate: int = 1) -> str:
    rows = "".join(f"{row}\t{value}\t{value + 1}\n" for row in "AB")
    return (
        f"Stack ID :\t0.1\nPlate #  :\t{plate}\nBarcode1 :\t<{barcode}>\nType     :\t96\nWells Per Row :\t2\n"
        f"Wells Per Col :\t2\nRead Time:\t13/02/2024\t09:00:00 XYZ\nModel    :\tQuickPlex\nSpotID   :\t{spot_id}\n"
        f"==========Data==========\n\t1\t2\n{rows}==========Processing==========\nRadius   :\t7.00\n"
    )


def test_one_block_per_spot() -> None:
    readings = parse((_block("P1", "1", 10) + _block("P1", "2", 20)).encode(), "spots.txt")
    assert sorted((r.well, r.channel, r.value) for r in readings if r.well == "A01") == [
        ("A01", spot(1), 10.0),
        ("A01", spot(2), 20.0),
    ]
    # day 13 cannot be a month; the unknown zone 'XYZ' leaves the time naive; Model carries over
    assert readings[0].read_at == datetime(2024, 2, 13, 9, 0, 0)
    assert {r.instrument_model for r in readings} == {"QuickPlex"}


def test_a_plate_read_twice_gets_a_second_read_index() -> None:
    readings = parse((_block("P1", "all", 10) + _block("P1", "all", 20)).encode(), "twice.txt")
    assert Counter((r.plate_id, r.read_index) for r in readings) == {("P1", 1): 4, ("P1", 2): 4}


def test_plates_without_barcodes_are_numbered() -> None:
    readings = parse((_block("", "all", 10, 1) + _block("", "all", 20, 2)).encode(), "run.txt")
    assert Counter(r.plate_id for r in readings) == {"run plate 1": 4, "run plate 2": 4}


def test_non_numeric_cells_are_kept_with_a_flag() -> None:
    text = _block("P1", "all", 10).replace("A\t10\t11", "A\tNaN\t>max")
    keys = by_key(parse(text.encode()))
    assert keys[("P1", "A01", "luminescence", spot(1), 1)].flag == "missing"
    assert keys[("P1", "A02", "luminescence", spot(1), 1)].flag == "overflow"


# ----------------------------------------------------------------------------- multi-spot layouts, any spot count
UNPADDED = FOLDER / "multi_spot_10_unpadded.txt"


def _with_spots(spots: int) -> bytes:
    """The unpadded 10-spot export cut to its first ``spots`` lines per plate row, typed ``96 Multi-Spot <spots>``."""
    kept: list[str] = []
    stage, spot = "header", 0  # header -> columns (the column-number line) -> table -> after
    for line in UNPADDED.read_text().split("\n"):
        if line.startswith("=========="):
            stage = "columns" if line.startswith("==========Data") else "after"
        elif stage == "columns":
            stage = "table"
        elif stage == "table":
            spot = 1 if line[:1].isalpha() else spot + 1
            if spot > spots:
                continue
        kept.append(line.replace("96 Multi-Spot 10", f"96 Multi-Spot {spots}"))
    return "\n".join(kept).encode()


def test_unpadded_multi_spot_export_reads_every_spot_of_every_row() -> None:
    # no blank line between plate rows, no 'Spots Per Well' (the Type names the spot count), unpadded cells
    readings = parse(UNPADDED.read_bytes(), UNPADDED.name)
    ten = parse(TEN_SPOTS.read_bytes(), TEN_SPOTS.name)
    assert [(r.well, r.channel, r.value) for r in readings] == [(r.well, r.channel, r.value) for r in ten]
    assert {r.channel for r in readings} == {spot(n) for n in range(1, 11)}


@pytest.mark.parametrize("spots", [1, 2, 4, 7])
def test_any_number_of_spots_per_well(spots: int, tmp_path: Path) -> None:
    path = tmp_path / f"spots_{spots}.txt"
    path.write_bytes(_with_spots(spots))
    readings = parse(path.read_bytes(), path.name)
    rows = {r.row_index for r in readings}
    assert len(readings) == len(rows) * 12 * spots
    assert {r.channel for r in readings} == {spot(n) for n in range(1, spots + 1)}
    assert native_pairs(path, PARSER) == allotropy_pairs(path, "methodical_mind")


def test_a_header_without_data_says_there_is_no_measurement() -> None:
    data = UNPADDED.read_bytes()
    with pytest.raises(ParseError, match="no measurement data"):
        parse(data[: data.index(b"==========Data")], UNPADDED.name)


def test_spots_off_the_plate_may_have_no_line_at_all() -> None:
    # the legend shows spots 1, 3, 8 and 10 on the plate; this export writes only their 4 lines per row (the real
    # file writes 10, six of them empty): the spot numbers come from the legend, the readings are the same
    unwritten = FOLDER / "multi_spot_absent_spots_unwritten.txt"
    written = FOLDER / "methodical_test_4_missing_spots.txt"
    assert parse(unwritten.read_bytes(), "plate.txt") == parse(written.read_bytes(), "plate.txt")
    assert {r.channel for r in parse(unwritten.read_bytes())} == {spot(n) for n in (1, 3, 8, 10)}
