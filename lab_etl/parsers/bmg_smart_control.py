"""BMG LABTECH SMART Control Excel exports (``.xlsx``; end-point reads, fluorescence, absorbance, luminescence).

Layout: every sheet opens with ``Key: value`` lines (``User``, ``Path``, ``Test ID``, ``Test Name``, ``Date``,
``Time``, ``ID1``..``ID3``) and the read mode (``Fluorescence (FI)``). ``Table End point`` holds the wells
as columns: a ``Well`` row (``A01`` ...), a ``Content`` row (``Standard S1``, ``Sample X1``, ``Blank B``),
then one row per data set (``Raw Data (480-14/520-30)``, ``Blank corrected based on ...``, ``Dilutions``).
``Microplate End point`` shows the same data sets as numbered plate grids (``4. Raw Data (...)``), and
``Protocol Information`` the settings (``Microplate name: NUNC 96``, ``Excitation: 480-14``, ``Emission``).

Only ``Raw Data`` rows are readings; corrected values, concentrations and dilutions are calculated. The
table sheet is read when present, else the raw grids of the microplate sheet. The plate id is ``ID3``
(the plate name SMART Control asks for), else the file stem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lab_etl.errors import ParseError
from lab_etl.parsers.base import InstrumentParser
from lab_etl.parsers.files import cell_raw, cell_text, default_plate_id, is_xlsx, xlsx_sheets
from lab_etl.parsers.grids import check_well_inside
from lab_etl.parsers.reading import Reading, make_reading, number_text
from lab_etl.parsers.utils import first_number, parse_datetime, title_measurement
from lab_etl.plates import GEOMETRY, ROW_INDEX, parse_well, row_label, smallest_plate_format

Row = Sequence[object]

_UNITS = {"fluorescence": "RFU", "luminescence": "RLU", "absorbance": "OD"}
_HEADER_KEYS = ("User", "Path", "Test ID", "Test Name", "Date", "Time", "ID1", "ID2", "ID3")


def _measurement(mode: str) -> str:
    """The measurement of a read mode; a mode of no known technology by its own words (``Nephelometry``)."""
    measurement = title_measurement(mode)
    if measurement is not None:
        return measurement
    words = re.findall(r"[a-z0-9]+", mode.lower().split("(")[0])
    return "_".join(words) or "fluorescence"


@dataclass
class _Channel:
    """What one ``Raw Data (...)`` label says: channel text and wavelengths."""

    channel: str
    wavelength: float | None = None
    excitation: float | None = None


def _raw_channel(label: str, measurement: str) -> _Channel:
    """``Raw Data (480-14/520-30)`` -> 480/520; ``Raw Data (450)`` -> 450; ``Raw Data`` -> the measurement."""
    inside = label.partition("(")[2].rpartition(")")[0].strip()
    if not inside:
        return _Channel(measurement)
    if "/" in inside:
        excitation_text, _, emission_text = inside.partition("/")
        excitation, emission = first_number(excitation_text), first_number(emission_text)
        if excitation is not None and emission is not None:
            return _Channel(f"{number_text(excitation)}/{number_text(emission)}", emission, excitation)
    wavelength = first_number(inside)
    if wavelength is not None and inside.replace(" ", "").replace("-", "").replace(".", "").isdigit():
        return _Channel(number_text(wavelength), wavelength)
    return _Channel(inside)


@dataclass
class _Run:
    header: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    mode: str = ""

    @property
    def plate_format(self) -> int | None:
        for token in reversed(self.settings.get("Microplate name", "").split()):
            if token.isdigit() and int(token) in GEOMETRY:
                return int(token)
        return None

    @property
    def read_at(self) -> datetime | None:
        return parse_datetime(f"{self.header.get('Date', '')} {self.header.get('Time', '')}")


class BmgSmartControlParser(InstrumentParser):
    """BMG LABTECH SMART Control Excel exports."""

    name = "bmg_labtech_smart_control"
    display_name = "BMG LABTECH SMART Control"
    vendor = "BMG LABTECH"
    extensions = ("xlsx",)

    def sniff(self, head: str) -> bool:
        if not head:
            return False
        if "\\SMART Control\\" in head or "SMART Control" in head[:3000]:
            return True
        # a SMART Control workbook without the default path: the table sheet's Well / Content / Raw Data rows
        return "Test Name:" in head and "\nWell\tA01" in head and "Raw Data (" in head and "\nContent\t" in head

    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        if not is_xlsx(data):
            raise ParseError("a SMART Control export is an Excel workbook (.xlsx); this file is not one", name)
        sheets = {title.strip().lower(): rows for title, rows in xlsx_sheets(data, name).items()}
        run = _run_facts(sheets)
        stem = default_plate_id(name)
        plate_id = run.header.get("ID3") or stem
        measurement = _measurement(run.mode or run.settings.get("Measurement type", ""))
        table = next((rows for title, rows in sheets.items() if title.startswith("table")), None)
        if table is not None:
            yield from _table_readings(table, run, plate_id, measurement, name)
            return
        grid_sheet = next((rows for title, rows in sheets.items() if title.startswith("microplate")), None)
        if grid_sheet is not None:
            yield from _grid_readings(grid_sheet, run, plate_id, measurement, name)
            return
        raise ParseError(
            "neither a 'Table End point' nor a 'Microplate End point' sheet was found; export again from "
            "SMART Control with the result sheets included",
            name,
        )


def _run_facts(sheets: dict[str, list[list[object]]]) -> _Run:
    run = _Run()
    for rows in sheets.values():
        for row in rows[:15]:
            first = cell_text(row[0]) if row else ""
            key, colon, value = first.partition(":")
            if colon and key.strip() in _HEADER_KEYS and key.strip() not in run.header:
                run.header[key.strip()] = value.strip()
            elif first and not colon and not run.mode and title_measurement(first):
                run.mode = first
        if run.header:
            break
    protocol = sheets.get("protocol information", [])
    for row in protocol:
        texts = [cell_text(cell) for cell in row if cell_text(cell)]
        if len(texts) >= 2 and texts[0].endswith(":"):
            run.settings.setdefault(texts[0].rstrip(":").strip(), texts[1])
    if not run.mode:
        run.mode = run.settings.get("Measurement type", "")
    return run


def _fields(run: _Run, channel: _Channel, measurement: str) -> dict[str, Any]:
    return {
        "channel": channel.channel,
        "unit": _UNITS.get(measurement),
        "wavelength_nm": channel.wavelength,
        "excitation_nm": channel.excitation,
        "vendor": "BMG LABTECH",
        "read_at": run.read_at,
    }


def _table_readings(rows: Sequence[Row], run: _Run, plate_id: str, measurement: str, source: str) -> Iterator[Reading]:
    """Readings from the ``Table End point`` sheet (wells across, one row per data set)."""
    well_index = next((i for i, row in enumerate(rows) if row and cell_text(row[0]) == "Well"), None)
    if well_index is None:
        raise ParseError("the 'Table End point' sheet has no 'Well' row naming the wells", source)
    well_row = rows[well_index]
    wells: list[tuple[int, str, tuple[int, int]]] = []
    for position in range(1, len(well_row)):
        text = cell_text(well_row[position])
        if not text:
            continue
        try:
            wells.append((position, text, parse_well(text)))
        except ParseError:
            raise ParseError(
                f"'{text}' in the 'Well' row of the 'Table End point' sheet is not a well name", source, well_index + 1
            ) from None
    if not wells:
        raise ParseError("the 'Well' row of the 'Table End point' sheet lists no wells", source, well_index + 1)
    plate_format = run.plate_format or smallest_plate_format(
        max(r for _, _, (r, _c) in wells), max(c for _, _, (_r, c) in wells)
    )
    content: Row = ()
    raw_rows: list[tuple[str, Row]] = []
    for row in rows[well_index + 1 :]:
        label = cell_text(row[0]) if row else ""
        if label == "Content":
            content = row
        elif label.startswith("Raw Data"):
            raw_rows.append((label, row))
    if not raw_rows:
        raise ParseError("the 'Table End point' sheet has no 'Raw Data' row", source)
    used: dict[str, int] = {}
    for label, row in raw_rows:
        channel = _raw_channel(label, measurement)
        used[channel.channel] = used.get(channel.channel, 0) + 1
        read_index = used[channel.channel]
        fields = _fields(run, channel, measurement)
        for position, well, (row_index, column) in wells:
            check_well_inside(row_index, column, plate_format, source)
            sample = cell_text(content[position]) if position < len(content) else ""
            yield make_reading(
                plate_id,
                well,
                plate_format,
                measurement,
                cell_raw(row[position]) if position < len(row) else None,
                read_index=read_index,
                sample_name=sample or None,
                **fields,
            )


def _grid_readings(rows: Sequence[Row], run: _Run, plate_id: str, measurement: str, source: str) -> Iterator[Reading]:
    """Readings from the ``Microplate End point`` sheet's ``n. Raw Data (...)`` grids."""
    layout: dict[tuple[int, int], str] = {}
    used: dict[str, int] = {}
    found = False
    index = 0
    while index < len(rows):
        row = rows[index]
        title = cell_text(row[1]) if len(row) > 1 else ""
        name = title.partition(". ")[2] if title[:1].isdigit() else ""
        if name and index + 1 < len(rows):
            header = [
                (p, int(cell_text(c))) for p, c in enumerate(rows[index + 1]) if p >= 1 and cell_text(c).isdigit()
            ]
            grid, index = _read_grid(rows, index + 2, header, name, source)
            if name == "Layout":
                layout = {position: cell_text(cell) for position, cell in grid.items()}
            elif name.startswith("Raw Data"):
                found = True
                channel = _raw_channel(name, measurement)
                used[channel.channel] = used.get(channel.channel, 0) + 1
                rows_used = max((r for r, _ in grid), default=1)
                columns_used = max((c for _, c in header), default=1)
                plate_format = run.plate_format or smallest_plate_format(rows_used, columns_used)
                fields = _fields(run, channel, measurement)
                # a well is part of the read when the layout names it or it holds a value
                for position in sorted(set(grid) | set(layout)):
                    row_index, column = position
                    yield make_reading(
                        plate_id,
                        f"{row_label(row_index)}{column}",
                        plate_format,
                        measurement,
                        cell_raw(grid.get(position)),
                        read_index=used[channel.channel],
                        sample_name=layout.get(position),
                        **fields,
                    )
            continue
        index += 1
    if not found:
        raise ParseError("the 'Microplate End point' sheet has no 'Raw Data' grid", source)


def _read_grid(
    rows: Sequence[Row], start: int, header: list[tuple[int, int]], name: str, source: str
) -> tuple[dict[tuple[int, int], object], int]:
    grid: dict[tuple[int, int], object] = {}
    expected = 1
    index = start
    while index < len(rows):
        row = rows[index]
        letter = cell_text(row[0]) if row else ""
        if len(letter) != 1 or letter not in ROW_INDEX:
            break
        if ROW_INDEX[letter] != expected:
            raise ParseError(f"the '{name}' grid skips from row {expected - 1} to row {letter}", source, index + 1)
        for position, column in header:
            if position < len(row) and cell_text(row[position]):
                grid[(expected, column)] = row[position]
        expected += 1
        index += 1
    if expected == 1:
        raise ParseError(f"the '{name}' grid has no row A", source, start + 1)
    return grid, index


PARSER = BmgSmartControlParser()
