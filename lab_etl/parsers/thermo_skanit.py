"""Thermo Fisher SkanIt (Varioskan, Multiskan, Fluoroskan, Luminoskan) Excel reports, SkanIt 6/7 ``.xlsx``.

Layout: one sheet per protocol step (``Absorbance 260_01``, ``Luminescence 1_01``, ``Blank Subtraction 1_02``,
``Concentration mg_mL_07`` ...), each opening with ``Measurement results`` / session file / date / step
title, then per plate and wavelength: ``Wavelength: 260 nm`` (or ``Excitation``/``Emission``), the plate
name (``Plate 1``, ``Blank plate``), a grid whose corner names the unit (``Abs``, ``RLU``, ``RFU``) with
columns 1..n and rows A..P, and a ``Sample`` grid naming each well's sample. A plate pattern leaves the
unused wells empty. Side sheets hold ``Instrument information`` (name, serial number), ``Session
information`` (execution time) and ``Layout definitions``.

Only measurement steps (absorbance, fluorescence, luminescence, photometric ...) are raw reads; calculated
steps (blank subtraction, concentration, averages, ratios) are skipped. Several grids of one plate and
wavelength in a step (repeated or kinetic reads) get read_index 1..n.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from lab_etl.errors import ParseError
from lab_etl.parsers.base import InstrumentParser
from lab_etl.parsers.files import cell_raw, cell_text, default_plate_id, is_xlsx, xlsx_sheets
from lab_etl.parsers.reading import Reading, make_reading, number_text
from lab_etl.parsers.utils import first_number, parse_datetime, title_measurement
from lab_etl.plates import GEOMETRY, ROW_INDEX, row_label, smallest_plate_format

Row = Sequence[object]

#: grids of a measurement sheet that describe the plate layout rather than hold reads
_LAYOUT_GRIDS = {"group", "sample type", "dilution", "concentration", "replicate", "volume"}
_UNITS = {"abs": "AU", "rlu": "RLU", "rfu": "RFU", "od": "OD"}


def _number(text: str) -> float | None:
    """The first number anywhere in a wavelength line (``Wavelength: 260 nm`` -> 260); 0 is no wavelength."""
    return first_number(text, anywhere=True) or None


def _parse_datetime(cell: object) -> datetime | None:
    if isinstance(cell, datetime):
        return cell
    return parse_datetime(cell_text(cell))


@dataclass
class _Optics:
    wavelength: float | None = None
    excitation: float | None = None
    emission: float | None = None

    def channel(self, measurement: str) -> str:
        if self.excitation is not None and self.emission is not None:
            return f"{number_text(self.excitation)}/{number_text(self.emission)}"
        if self.wavelength is not None:
            return number_text(self.wavelength)
        if self.emission is not None:
            return number_text(self.emission)
        return measurement


@dataclass
class _Grid:
    """One plate grid: ``cells[(row, column)]`` with the raw cell, plus its size."""

    corner: str
    rows: int
    columns: int
    cells: dict[tuple[int, int], object] = field(default_factory=dict)


@dataclass
class _Run:
    model: str | None = None
    serial: str | None = None
    executed: datetime | None = None
    layouts: dict[str, dict[tuple[int, int], str]] = field(default_factory=dict)


class ThermoSkanItParser(InstrumentParser):
    """Thermo Fisher SkanIt Excel reports (``Measurement results`` sheets)."""

    name = "thermo_skanit"
    display_name = "Thermo Fisher Scientific SkanIt"
    vendor = "Thermo Fisher Scientific"
    extensions = ("xlsx",)

    def sniff(self, head: str) -> bool:
        if not head:
            return False
        if head.lstrip().startswith("Measurement results") and ".ska" in head[:2000]:
            return True
        return "SkanIt Software" in head or ("Session information" in head and "Instrument information" in head)

    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        if not is_xlsx(data):
            raise ParseError("a SkanIt report is an Excel workbook (.xlsx); this file is not one", name)
        sheets = xlsx_sheets(data, name)
        stem = default_plate_id(name)
        run = _run_facts(sheets)
        steps = [
            (sheet_name, rows)
            for sheet_name, rows in sheets.items()
            if rows and cell_text(rows[0][0] if rows[0] else None) == "Measurement results"
        ]
        if not steps:
            raise ParseError(
                "no 'Measurement results' sheet found; export the SkanIt session to Excel with results included",
                name,
            )
        measured = []
        for sheet_name, rows in steps:
            title = _step_title(rows)
            measurement = title_measurement(title) or title_measurement(sheet_name)
            if measurement is not None:
                measured.append((sheet_name, title or sheet_name, measurement, rows))
        if not measured:
            raise ParseError(
                "the report holds only calculated steps (no absorbance, fluorescence or luminescence results sheet)",
                name,
            )
        used: dict[tuple[str, str, str], str] = {}
        for sheet_name, title, measurement, rows in measured:
            if run.executed is None and len(rows) > 2:
                run.executed = _parse_datetime(rows[2][0] if rows[2] else None)
            yield from _step_readings(rows, sheet_name, title, measurement, run, used, stem, name)


def _step_title(rows: Sequence[Row]) -> str:
    for row in rows[1:8]:
        text = cell_text(row[0]) if row else ""
        if text and title_measurement(text):
            return text
    return cell_text(rows[4][0]) if len(rows) > 4 and rows[4] else ""


def _run_facts(sheets: dict[str, list[list[object]]]) -> _Run:
    run = _Run()
    for sheet_name, rows in sheets.items():
        if sheet_name == "Instrument information":
            for row in rows:
                key, value = _key_value(row)
                if key == "Name" and run.model is None:
                    run.model = value or None
                elif key == "Serial number" and run.serial is None:
                    run.serial = value or None
        elif sheet_name == "Session information":
            for row in rows:
                texts = [cell for cell in row if cell_text(cell)]
                if len(texts) >= 2 and cell_text(texts[0]) == "Execution time":
                    run.executed = _parse_datetime(texts[1])
        elif sheet_name == "Layout definitions":
            run.layouts = _layouts(rows)
    return run


def _key_value(row: Row) -> tuple[str, str]:
    texts = [cell_text(cell) for cell in row if cell_text(cell)]
    if len(texts) >= 2:
        return texts[0], texts[-1]
    return (texts[0], "") if texts else ("", "")


def _layouts(rows: Sequence[Row]) -> dict[str, dict[tuple[int, int], str]]:
    """Sample names per plate from the ``Layout definitions`` sheet (first line of each well's cell block)."""
    layouts: dict[str, dict[tuple[int, int], str]] = {}
    plate = ""
    header: list[tuple[int, int]] = []
    for row in rows:
        first = cell_text(row[0]) if row else ""
        if first == "Name" and len(row) > 1:
            plate = cell_text(row[1])
            layouts[plate] = {}
            header = []
        elif not first and any(cell_text(cell) == "1" for cell in row[1:3]):
            header = [
                (position, int(cell_text(cell))) for position, cell in enumerate(row) if cell_text(cell).isdigit()
            ]
        elif plate and header and first in ROW_INDEX:
            for position, column in header:
                if position < len(row) and cell_text(row[position]):
                    layouts[plate][(ROW_INDEX[first], column)] = cell_text(row[position])
    return layouts


def _grid_header(row: Row) -> list[tuple[int, int]] | None:
    """Column positions and numbers when ``row`` is a grid header (text corner, then 1, 2, 3 ...)."""
    if len(row) < 2 or not cell_text(row[0]):
        return None
    columns = []
    for position in range(1, len(row)):
        text = cell_text(row[position])
        if not text:
            continue
        if not text.isdigit():
            return None
        columns.append((position, int(text)))
    if not columns or columns[0][1] != 1:
        return None
    return columns


def _read_grid(rows: Sequence[Row], start: int, header: list[tuple[int, int]], source: str) -> tuple[_Grid, int]:
    corner = cell_text(rows[start][0])
    grid = _Grid(corner=corner, rows=0, columns=max(number for _, number in header))
    index = start + 1
    while index < len(rows):
        row = rows[index]
        letter = cell_text(row[0]) if row else ""
        if letter not in ROW_INDEX:
            if not letter and row and any(cell_text(cell) for cell in row[1:]):
                # continuation lines of a layout cell (group, dilution) sit under the well's row
                index += 1
                continue
            break
        row_index = ROW_INDEX[letter]
        if row_index != grid.rows + 1:
            raise ParseError(
                f"the '{corner}' grid starting on line {start + 1} jumps from row {grid.rows} to row {letter}; "
                "a plate row is missing",
                source,
                index + 1,
            )
        grid.rows = row_index
        for position, column in header:
            if position < len(row) and cell_text(row[position]):
                grid.cells[(row_index, column)] = row[position]
        index += 1
    if grid.rows == 0:
        raise ParseError(f"the '{corner}' grid starting on line {start + 1} has no row A", source, start + 2)
    return grid, index


def _step_readings(
    rows: Sequence[Row],
    sheet_name: str,
    title: str,
    measurement: str,
    run: _Run,
    used: dict[tuple[str, str, str], str],
    stem: str,
    source: str,
) -> Iterator[Reading]:
    """Readings of one measurement step sheet, plate by plate, with sample names from its Sample grids."""
    optics = _Optics()
    plate = stem
    # plate -> [(optics, grid)], plate -> sample grid
    data: dict[str, list[tuple[_Optics, _Grid]]] = {}
    samples: dict[str, _Grid] = {}
    index = 5
    while index < len(rows):
        row = rows[index]
        header = _grid_header(row)
        if header is not None:
            grid, index = _read_grid(rows, index, header, f"{source} (sheet '{sheet_name}')")
            corner = grid.corner.lower()
            if corner == "sample":
                samples[plate] = grid
            elif corner not in _LAYOUT_GRIDS:
                data.setdefault(plate, []).append((_Optics(**optics.__dict__), grid))
            continue
        texts = [cell_text(cell) for cell in row if cell_text(cell)]
        if len(texts) == 1:
            text = texts[0]
            lowered = text.lower()
            if lowered.startswith("wavelength"):
                value = text.partition(":")[2]
                if "/" in value:
                    excitation, _, emission = value.partition("/")
                    optics = _Optics(excitation=_number(excitation), emission=_number(emission))
                else:
                    optics = _Optics(wavelength=_number(value))
            elif lowered.startswith("excitation"):
                optics.excitation = _number(text.partition(":")[2])
            elif lowered.startswith("emission"):
                optics.emission = _number(text.partition(":")[2])
            elif lowered.startswith(("autoloading range", "reading", "time", "kinetic", "cycle")):
                pass
            elif ":" not in text:
                plate = text
        index += 1
    if not data:
        raise ParseError(f"the '{title}' results sheet '{sheet_name}' holds no plate grid", source)
    for plate_id, grids in data.items():
        layout = samples.get(plate_id)
        names = (
            {position: cell_text(cell) for position, cell in layout.cells.items()}
            if layout is not None
            else run.layouts.get(plate_id, {})
        )
        reads: dict[str, int] = {}
        for grid_optics, grid in grids:
            base = grid_optics.channel(measurement)
            channel = base
            owner = used.setdefault((plate_id, measurement, base), sheet_name)
            if owner != sheet_name:
                # another step read the same plate and channel: name the step to keep both
                channel = f"{base} {title}"
            reads[channel] = reads.get(channel, 0) + 1
            yield from _grid_readings(grid, grid_optics, plate_id, measurement, channel, reads[channel], names, run)


def _grid_readings(
    grid: _Grid,
    optics: _Optics,
    plate_id: str,
    measurement: str,
    channel: str,
    read_index: int,
    names: dict[tuple[int, int], str],
    run: _Run,
) -> Iterator[Reading]:
    shape = (grid.rows, grid.columns)
    plate_format = next((fmt for fmt, dims in GEOMETRY.items() if dims == shape), None) or smallest_plate_format(*shape)
    unit = _UNITS.get(grid.corner.lower())
    wells = sorted(set(grid.cells) | {position for position in names if position[0] <= grid.rows})
    for row_index, column in wells:
        if column > grid.columns:
            continue
        # an empty cell is an unread well of the plate pattern unless the layout put a sample there
        raw = cell_raw(grid.cells.get((row_index, column)))
        yield make_reading(
            plate_id,
            f"{row_label(row_index)}{column}",
            plate_format,
            measurement,
            raw,
            channel=channel,
            unit=unit,
            wavelength_nm=optics.wavelength if optics.excitation is None else optics.emission,
            excitation_nm=optics.excitation,
            read_index=read_index,
            sample_name=names.get((row_index, column)),
            vendor="Thermo Fisher Scientific",
            instrument_model=run.model,
            instrument_serial=run.serial,
            read_at=run.executed,
        )


PARSER = ThermoSkanItParser()
