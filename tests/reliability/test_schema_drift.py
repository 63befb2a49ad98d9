"""Schema drift: a new ELN column is kept and warned about; a vendor export with an extra line gives the same
readings or a quarantine with a clear reason, never different values."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.registry import parse_bytes

DATA = Path(__file__).resolve().parents[1] / "data"
INSTRUMENTS = DATA / "instruments"
BMG = "bmg_mars/PHERAstar output file.CSV"
ENVISION = "perkin_elmer_envision/PE_Envision_absorbance_A450_example.csv"
GEN5 = "agilent_gen5/endpoint_singleplate.txt"


def _eln_with_new_column() -> bytes:
    """The thiolation ELN export with a column lab_etl does not know, one value per well."""
    text = (DATA / "eln" / "hte_thiolation_eln.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    well = rows[0].index("well")
    rows[0].append("robot_deck_slot")
    for row in rows[1:]:
        row.append(f"deck-{row[well]}" if row[well] else "")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.mark.spark
def test_new_eln_column_is_kept_in_attributes_and_warned(  # type: ignore[no-untyped-def]
    lakehouse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from lab_etl.pipeline.run import step_eln

    folder = tmp_path / "eln"
    folder.mkdir()
    (folder / "hte_thiolation_eln.csv").write_bytes(_eln_with_new_column())
    with caplog.at_level(logging.WARNING, logger="lab_etl"):
        (report,) = step_eln(lakehouse, str(folder), None, "drift-run")

    assert report.plates == {"THIO-1"}
    assert "1 ELN file(s) read, 0 quarantined" in report.lines[0]
    assert any("unknown column 'robot_deck_slot' kept in the well attributes" in m for m in caplog.messages)
    wells = {row.well: row for row in lakehouse.table("lab_silver.plate_layouts").collect()}
    assert len(wells) == 96
    assert json.loads(wells["A01"].attributes) == {"robot_deck_slot": "deck-A01"}
    assert json.loads(wells["H12"].attributes) == {"robot_deck_slot": "deck-H12"}
    assert wells["A01"].role == "sample" and wells["A01"].experiment_id == "HTE-THIO-001"
    assert lakehouse.table("lab_silver.eln_experiments").count() == 1


def _lines(name: str) -> tuple[list[bytes], bytes, bytes]:
    raw = (INSTRUMENTS / name).read_bytes()
    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    return raw.split(newline), newline, b"\t" if name.endswith(".txt") else b","


def _grid_header(lines: list[bytes], sep: bytes) -> int:
    """Index of the first plate grid's column header line (``,1,2,...`` / ``,01,02,...`` / ``\\t1\\t2...``)."""
    return next(
        i for i, line in enumerate(lines) if line.strip(sep + b" ").startswith((b"1" + sep + b"2", b"01" + sep))
    )


def _variant(name: str, where: str) -> bytes:
    lines, newline, sep = _lines(name)
    if where == "first line":
        lines = [b"Exported by: LabLink 2.0", *lines]
    elif where == "second line":
        lines = [lines[0], b"Instrument firmware" + sep + b"1.2.3", *lines[1:]]
    elif where == "above the grid":
        grid = _grid_header(lines, sep)
        lines = [*lines[:grid], b"Units" + sep + b"OD", *lines[grid:]]
    elif where == "inside the grid":
        grid = _grid_header(lines, sep)
        lines = [*lines[: grid + 2], b"Note" + sep + b"re-read", *lines[grid + 2 :]]
    return newline.join(lines)


def _readings(data: bytes, name: str) -> list[tuple[object, ...]]:
    parsed = parse_bytes(data, name)
    return sorted(
        (r.well, r.measurement, r.channel, r.read_index, r.value, r.flag, r.wavelength_nm) for r in parsed.readings
    )


#: (file, where the extra line goes) -> None when the readings must be unchanged, else words of the ParseError
OUTCOMES: dict[tuple[str, str], str | None] = {
    (BMG, "first line"): None,
    (BMG, "second line"): None,
    (BMG, "above the grid"): None,
    (GEN5, "first line"): None,
    (GEN5, "second line"): None,
    (GEN5, "above the grid"): None,
    (GEN5, "inside the grid"): None,
    (ENVISION, "second line"): "'Plate information' is not followed by its 'Plate,Repeat,Barcode,...' header",
    (ENVISION, "above the grid"): "the grid has 2 columns but a 96-well plate has 12",
    (ENVISION, "inside the grid"): "'Note' is not the next row letter of the grid",
}


@pytest.mark.parametrize(("name", "where"), list(OUTCOMES), ids=lambda v: v.split("/")[0].replace(" ", "_"))
def test_extra_line_in_vendor_export_gives_same_readings_or_a_clear_refusal(name: str, where: str) -> None:
    original = _readings((INSTRUMENTS / name).read_bytes(), "plate.txt")
    assert len(original) >= 96
    changed = _variant(name, where)
    assert changed != (INSTRUMENTS / name).read_bytes()
    words = OUTCOMES[(name, where)]
    if words is None:
        assert _readings(changed, "plate.txt") == original
    else:
        with pytest.raises(ParseError) as error:
            parse_bytes(changed, "plate.txt")
        assert words in error.value.reason


def test_envision_extra_first_line_keeps_both_plates() -> None:
    original = parse_bytes((INSTRUMENTS / ENVISION).read_bytes(), "plate.csv")
    changed = parse_bytes(_variant(ENVISION, "first line"), "plate.csv")
    assert len(original.readings) == 192
    assert sorted((r.plate_id, r.well, r.value) for r in changed.readings) == sorted(
        (r.plate_id, r.well, r.value) for r in original.readings
    )


def test_bmg_stray_line_inside_grid_is_refused_or_read_through() -> None:
    original = _readings((INSTRUMENTS / BMG).read_bytes(), "plate.csv")
    try:
        changed = _readings(_variant(BMG, "inside the grid"), "plate.csv")
    except ParseError as error:
        assert "row" in error.reason
    else:
        assert changed == original, f"{len(changed)} of {len(original)} readings, silently"
