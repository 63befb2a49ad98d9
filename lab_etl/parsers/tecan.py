"""Tecan plate-reader exports: Magellan workbooks and i-control / SparkControl workbooks and CSV files.

Two layouts share one row scanner (:func:`_scan_rows` sees xlsx rows and CSV rows alike, as lists of cells):

* **Magellan** (``.xlsx``, Magellan 7.x "table" export): a header row with ``Well positions`` and one
  column per measurement label (``Raw data``, ``Label1`` ...), optional ``Plate`` column, one or two
  rows of cycle times (``0s``) and temperatures (``24.8 °C``) under the header, one row per well, then
  the metadata block (``Date of measurement: ...``, instrument, serial, ``Measurement 1:`` settings,
  ``Meas. temperature: <label>: <t> °C``) below the table. Only label columns are raw reads; other
  columns (concentrations, means) are calculated and skipped. A label repeated over several columns
  is a kinetic read (one column per cycle).
* **i-control / SparkControl** (``.xlsx`` or ``.csv``; comma, semicolon or tab; decimal commas with
  ``;`` and tab): ``key ... value`` header lines (``Device: infinite 200Pro``, ``Serial number: ...``,
  ``Date:``, ``Time:``, ``Plate``, ``Plate-ID (Stacker)``), measurement settings blocks (``Label: ..``,
  ``Mode``, ``Wavelength``/``Measurement Wavelength``, ``Excitation/Emission Wavelength``), then per
  label either an endpoint grid (corner cell ``<>``, columns 1..n, rows A..P), or a kinetic table
  (``Cycle Nr.`` / ``Time [s]`` / ``Temp. [°C]``) with wells as columns or as rows, or a spectrum
  (``Wavel.`` / ``Wavelength [nm]``) laid out the same two ways. Data sections are matched to settings
  blocks by label name, else in order.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lab_etl.errors import ParseError
from lab_etl.parsers.base import InstrumentParser
from lab_etl.parsers.files import cell_raw, cell_text, decode_text, default_plate_id, is_xlsx, xlsx_sheets
from lab_etl.parsers.grids import check_well_inside
from lab_etl.parsers.reading import Reading, make_reading, number_text
from lab_etl.parsers.utils import parse_datetime, plate_size_in_name, sniff_delimiter, to_float
from lab_etl.plates import ROW_INDEX, parse_well, row_label, smallest_plate_format

Cell = object
Row = Sequence[Cell]

_WELL_RE = re.compile(r"^([A-Z]{1,2})0*(\d{1,2})$")
_SECONDS_RE = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*s\s*$")
_MODES = {
    "absorbance": "absorbance",
    "fluorescence": "fluorescence",
    "fluorescence top reading": "fluorescence",
    "fluorescence bottom reading": "fluorescence",
    "luminescence": "luminescence",
    "alphascreen": "alphascreen",
    "fluorescence polarization": "fluorescence_polarization",
    "time resolved fluorescence": "time_resolved_fluorescence",
}


def _as_int(cell: Cell) -> int | None:
    text = cell_text(cell)
    return int(text) if text.isdigit() else None


def _well(text: str) -> tuple[int, int] | None:
    """(row, column) of a well header such as ``A1``/``B12``/``AF48``; None when the text is no well."""
    match = _WELL_RE.match(text)
    if not match or match.group(1) not in ROW_INDEX:
        return None
    column = int(match.group(2))
    return (ROW_INDEX[match.group(1)], column) if column >= 1 else None


def _parse_datetime(text: str) -> datetime | None:
    return parse_datetime(text.replace("/Time of measurement:", " "))


@dataclass
class _Label:
    """One measurement label's settings (a ``Label:`` / ``Mode`` block or a Magellan ``Measurement n:``)."""

    name: str = ""
    mode: str = ""
    wavelength: float | None = None
    excitation: float | None = None
    emission: float | None = None
    unit: str | None = None
    started: datetime | None = None

    @property
    def measurement(self) -> str:
        mode = self.mode.lower().strip()
        if mode in _MODES:
            return _MODES[mode]
        if "fluorescence" in mode:
            return "fluorescence"
        if "absorbance" in mode:
            return "absorbance"
        if "lumin" in mode:
            return "luminescence"
        if mode:
            return "_".join(re.findall(r"[a-z0-9]+", mode)) or "absorbance"
        return "absorbance" if self.wavelength is not None else "unknown"

    def channel(self) -> str:
        if self.excitation is not None and self.emission is not None:
            return f"{number_text(self.excitation)}/{number_text(self.emission)}"
        if self.wavelength is not None:
            return number_text(self.wavelength)
        return self.measurement


@dataclass
class _Header:
    """What the file says about the run, shared by all its readings."""

    stem: str
    model: str | None = None
    serial: str | None = None
    date: str = ""
    time: str = ""
    plate_type: str = ""
    plate_id: str = ""

    @property
    def read_at(self) -> datetime | None:
        return _parse_datetime(f"{self.date} {self.time}") if self.date else None

    @property
    def plate_format(self) -> int | None:
        return plate_size_in_name(self.plate_type) if self.plate_type else None


class TecanParser(InstrumentParser):
    """Tecan Magellan, i-control and SparkControl plate-reader exports (xlsx and csv)."""

    name = "tecan"
    display_name = "Tecan Magellan / i-control / Spark"
    vendor = "Tecan"
    extensions = ("xlsx", "csv", "txt")

    def sniff(self, head: str) -> bool:
        if not head:
            return False
        first = head[:4000]
        if "Tecan i-control" in first or "Application: SparkControl" in first or "SparkControl" in first[:600]:
            return True
        if "Well positions" in first:
            return True
        return "Date of measurement:" in head and "Time of measurement:" in head

    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        stem = default_plate_id(name)
        if is_xlsx(data):
            rows: list[Row] = [row for sheet in xlsx_sheets(data, name).values() for row in sheet]
            decimal_comma = False
        else:
            if data.startswith(b"PK\x03\x04"):
                raise ParseError("the file looks like an Excel workbook but the workbook is damaged", name)
            text = decode_text(data, name)
            rows, decimal_comma = _csv_rows(text)
        yield from _scan_rows(rows, name, stem, decimal_comma)


def _check_complete(rows: Sequence[Row], end: int, width: int, what: str, source: str) -> None:
    """Refuse a table the file ends inside of: its last line is shorter than its header."""
    if end == len(rows) and end > 0 and len(rows[end - 1]) < width:
        raise ParseError(
            f"the file ends in the middle of the {what} (line {end} is cut short); the export is incomplete",
            source,
            end,
        )


def _csv_rows(text: str) -> tuple[list[Row], bool]:
    """Split a text export into cells, guessing the delimiter from the header lines."""
    lines = text.splitlines()
    delimiter = sniff_delimiter("\n".join(lines[:60])) or ","
    rows: list[Row] = []
    try:
        for row in csv.reader(lines, delimiter=delimiter):
            rows.append([cell if cell.strip() else None for cell in row])
    except csv.Error as exc:
        raise ParseError(f"the text export cannot be split into cells: {exc}") from None
    return rows, delimiter != ","


def _scan_rows(rows: Sequence[Row], source: str, stem: str, decimal_comma: bool) -> Iterator[Reading]:
    """Dispatch to the Magellan table or the i-control/Spark sections."""
    for index, row in enumerate(rows[:200]):
        if any(cell_text(cell) == "Well positions" for cell in row):
            yield from _magellan(rows, index, source, stem)
            return
    if any(cell_text(row[0]).startswith("Date of measurement:") for row in rows if row):
        raise ParseError(
            "the Magellan export has no 'Well positions' column, so its values cannot be put in wells; "
            "export again with well positions switched on",
            source,
        )
    yield from _icontrol(rows, source, stem, decimal_comma)


# --------------------------------------------------------------------------------------------- Magellan


def _magellan(rows: Sequence[Row], header_index: int, source: str, stem: str) -> Iterator[Reading]:
    header = [cell_text(cell) for cell in rows[header_index]]
    well_column = header.index("Well positions")
    plate_column = header.index("Plate") if "Plate" in header else None
    body_end = len(rows)
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        if row and cell_text(row[0]).startswith("Date of measurement:"):
            body_end = index
            break
    labels, run = _magellan_metadata(rows[body_end:], stem)
    # rows between the header and the first well hold per-column cycle times and temperatures
    times: dict[int, float] = {}
    well_rows: list[Row] = []
    for row in rows[header_index + 1 : body_end]:
        cell = cell_text(row[well_column]) if well_column < len(row) else ""
        if _well(cell.upper()) is not None:
            well_rows.append(row)
        elif not well_rows:
            for column, value in enumerate(row):
                match = _SECONDS_RE.match(cell_text(value))
                if match:
                    times[column] = float(match.group(1).replace(",", "."))
    columns = _magellan_columns(header, labels, times, well_column, plate_column, source)
    if not well_rows:
        raise ParseError("the Magellan table has a 'Well positions' column but no well rows under it", source)
    plates = {cell_text(row[plate_column]) for row in well_rows if plate_column is not None and plate_column < len(row)}
    plates.discard("")
    single_plate = plates.pop() if len(plates) == 1 else None
    parsed = [parse_well(cell_text(row[well_column]).upper()) for row in well_rows]
    plate_format = run.plate_format or smallest_plate_format(max(r for r, _ in parsed), max(c for _, c in parsed))
    current_plate = single_plate or stem
    for row, (row_index, column_index) in zip(well_rows, parsed, strict=True):
        if (
            single_plate is None
            and plate_column is not None
            and plate_column < len(row)
            and cell_text(row[plate_column])
        ):
            current_plate = cell_text(row[plate_column])
        well = cell_text(row[well_column]).upper()
        check_well_inside(row_index, column_index, plate_format, source)
        for column, label, channel, read_index, elapsed in columns:
            raw = cell_raw(row[column]) if column < len(row) else None
            yield make_reading(
                current_plate,
                well,
                plate_format,
                label.measurement,
                raw,
                channel=channel,
                unit=label.unit,
                wavelength_nm=label.wavelength if label.excitation is None else label.emission,
                excitation_nm=label.excitation,
                read_index=read_index,
                elapsed_s=elapsed,
                vendor="Tecan",
                instrument_model=run.model,
                instrument_serial=run.serial,
                read_at=run.read_at,
            )


def _magellan_columns(
    header: list[str],
    labels: dict[str, _Label],
    times: dict[int, float],
    well_column: int,
    plate_column: int | None,
    source: str,
) -> list[tuple[int, _Label, str, int, float | None]]:
    """The raw-read columns: (column, label settings, channel, read index, elapsed seconds if kinetic)."""
    if labels:
        chosen = [(column, labels[name]) for column, name in enumerate(header) if name in labels]
    else:
        # no settings block: the columns that carry a cycle time are the measured labels
        chosen = [
            (column, _Label(name=header[column]))
            for column in sorted(times)
            if column not in (well_column, plate_column) and column < len(header) and header[column]
        ]
    if not chosen:
        raise ParseError(
            "the Magellan table names no measurement label columns (expected columns such as 'Raw data' "
            "that the settings block below the table lists)",
            source,
        )
    counts: dict[str, int] = {}
    for _, label in chosen:
        counts[label.name] = counts.get(label.name, 0) + 1
    names_by_channel: dict[str, set[str]] = {}
    for _, label in chosen:
        names_by_channel.setdefault(label.channel(), set()).add(label.name)
    seen: dict[str, int] = {}
    columns = []
    for column, label in chosen:
        seen[label.name] = seen.get(label.name, 0) + 1
        channel = label.channel()
        if len(names_by_channel[channel]) > 1:
            # two labels read the same wavelength: keep them apart by label name
            channel = f"{channel} {label.name}"
        elapsed = times.get(column) if counts[label.name] > 1 else None
        columns.append((column, label, channel, seen[label.name], elapsed))
    return columns


def _magellan_metadata(lines: Sequence[Row], stem: str) -> tuple[dict[str, _Label], _Header]:
    """Measurement labels and run facts from the block under a Magellan table."""
    texts = [cell_text(row[0]) for row in lines if row and cell_text(row[0])]
    run = _Header(stem=stem)
    blocks: list[_Label] = []
    label_names: list[str] = []
    compact_label = ""
    for index, text in enumerate(texts):
        key, _, value = text.partition(":")
        key, value = key.strip(), value.strip()
        if text.startswith("Date of measurement:"):
            run.date = text.replace("Date of measurement:", "").strip()
        elif key == "Instrument serial number":
            run.serial = value
            if index > 0 and ":" not in texts[index - 1]:
                run.model = texts[index - 1]
        elif key in ("Measurement mode", "Mode") or text == "Absorbance" or text in ("Fluorescence", "Luminescence"):
            blocks.append(_Label(mode=value or text))
        elif blocks and key in ("Measurement wavelength", "Wavelength"):
            blocks[-1].wavelength = to_float(value.split()[0]) if value else None
        elif blocks and key == "Excitation wavelength":
            blocks[-1].excitation = to_float(value.split()[0]) if value else None
        elif blocks and key == "Emission wavelength":
            blocks[-1].emission = to_float(value.split()[0]) if value else None
        elif blocks and key == "Unit":
            blocks[-1].unit = value or None
        elif key in ("Plate definition file", "Plate Description") and not run.plate_type:
            run.plate_type = value
        elif key == "Label":
            compact_label = value
        elif key == "Meas. temperature":
            label_name = value.rpartition(":")[0].strip()
            if label_name:
                label_names.append(label_name)
    if compact_label and compact_label not in label_names:
        label_names.insert(0, compact_label)
    labels: dict[str, _Label] = {}
    for position, label_name in enumerate(label_names):
        block = blocks[position] if position < len(blocks) else (blocks[-1] if blocks else _Label())
        labels[label_name] = _Label(**{**block.__dict__, "name": label_name})
    return labels, run


# ------------------------------------------------------------------------------------- i-control / Spark


def _key_value(row: Row) -> tuple[str, str, int]:
    """The row's key (first filled cell, text before ``:`` when the cell holds ``key: value``), its
    value (the rest of that cell, else the next filled cell) and the key's column."""
    for position, cell in enumerate(row):
        key = cell_text(cell)
        if not key:
            continue
        value = ""
        if ":" in key and not key.endswith(":"):
            key, _, value = key.partition(":")
        else:
            key = key.rstrip(":")
        if not value.strip():
            value = next((cell_text(other) for other in row[position + 1 :] if cell_text(other)), "")
        return key.strip(), value.strip(), position
    return "", "", -1


class _Sections:
    """Matches data sections to settings blocks and keeps (plate, channel) pairs unique."""

    def __init__(self) -> None:
        self.labels: list[_Label] = []
        self.used = 0
        self.channels: dict[tuple[str, str, str], int] = {}

    def label_for(self, title: str) -> _Label:
        names = {label.name: label for label in self.labels if label.name}
        candidates = [title, title.partition(":")[0].strip()] if title else []
        for candidate in candidates:
            if candidate in names:
                self.used = max(self.used, self.labels.index(names[candidate]) + 1)
                return names[candidate]
        if self.used < len(self.labels):
            self.used += 1
            return self.labels[self.used - 1]
        return self.labels[-1] if self.labels else _Label(name=title)

    def channel(self, plate_id: str, label: _Label, title: str, base: str | None = None) -> str:
        channel = base or label.channel()
        key = (plate_id, label.measurement, channel)
        count = self.channels.get(key, 0) + 1
        self.channels[key] = count
        if count == 1:
            return channel
        return f"{channel} {label.name or title or count}"


@dataclass(frozen=True, slots=True)
class _Sheet:
    """What every table of one i-control sheet is read with: the sheet's rows, the file's name (for errors) and
    number style, the run header and the settings sections read so far (both filled in as the sheet is walked)."""

    rows: Sequence[Row]
    source: str
    decimal_comma: bool
    run: _Header
    sections: _Sections


def _icontrol(rows: Sequence[Row], source: str, stem: str, decimal_comma: bool) -> Iterator[Reading]:
    run = _Header(stem=stem)
    sections = _Sections()
    sheet = _Sheet(rows, source, decimal_comma, run, sections)
    title = ""
    found_section = False
    index = 0
    while index < len(rows):
        row = rows[index]
        key, value, position = _key_value(row)
        if not key:
            index += 1
            continue
        lowered = key.lower()
        if lowered == "device":
            run.model = value or None
            for cell in row[position + 1 :]:
                text = cell_text(cell)
                if text.startswith("Serial number:") and not run.serial:
                    run.serial = text.partition(":")[2].strip() or None
        elif lowered == "serial number" and not run.serial:
            run.serial = value or None
        elif lowered == "date" and not run.date:
            run.date = value
        elif lowered == "time" and not run.time:
            run.time = value
        elif lowered == "plate" and value:
            run.plate_type = value
        elif lowered in ("plate-id (stacker)", "plate id", "plate-id", "barcode") and value:
            run.plate_id = value
        elif lowered == "label" and value:
            sections.labels.append(_Label(name=value))
            title = value
        elif lowered == "mode":
            if not sections.labels or sections.labels[-1].mode:
                sections.labels.append(_Label())
            sections.labels[-1].mode = value
        elif sections.labels and lowered in ("wavelength", "measurement wavelength"):
            sections.labels[-1].wavelength = to_float(value, decimal_comma=decimal_comma)
        elif sections.labels and lowered == "excitation wavelength":
            sections.labels[-1].excitation = to_float(value, decimal_comma=decimal_comma)
        elif sections.labels and lowered == "emission wavelength":
            sections.labels[-1].emission = to_float(value, decimal_comma=decimal_comma)
        elif sections.labels and lowered == "start time" and value:
            sections.labels[-1].started = _parse_datetime(value)
        elif key == "<>":
            label = sections.label_for(title)
            index = yield from _endpoint_grid(sheet, index, position, label, title)
            found_section = True
            title = ""
            continue
        elif lowered in ("cycle nr.", "cycle nr", "wavel.", "wavelength [nm]", "wavel. [nm]"):
            label = sections.label_for(title)
            spectral = lowered.startswith("wavel")
            index = yield from _series_table(sheet, index, position, label, title, spectral)
            found_section = True
            title = ""
            continue
        elif position == 0 and len([cell for cell in row if cell_text(cell)]) == 1:
            title = cell_text(row[position])
        index += 1
    if not found_section:
        raise ParseError(
            "no result table found (expected a plate grid starting with '<>' or a kinetic table starting "
            "with 'Cycle Nr.'); is this a complete Tecan i-control / Spark export?",
            source,
        )


def _common(run: _Header, label: _Label, channel: str) -> dict[str, Any]:
    return {
        "channel": channel,
        "unit": label.unit,
        "wavelength_nm": label.wavelength if label.excitation is None else label.emission,
        "excitation_nm": label.excitation,
        "vendor": "Tecan",
        "instrument_model": run.model,
        "instrument_serial": run.serial,
        "read_at": label.started or run.read_at,
    }


def _endpoint_grid(sheet: _Sheet, start: int, corner: int, label: _Label, title: str) -> Generator[Reading, None, int]:
    """Readings of one ``<>`` plate grid; returns the index of the row after the grid."""
    rows, run, source, decimal_comma = sheet.rows, sheet.run, sheet.source, sheet.decimal_comma
    header = rows[start]
    numbers = [(position, _as_int(cell)) for position, cell in enumerate(header) if position > corner]
    columns = [(position, number) for position, number in numbers if number is not None]
    if not columns:
        raise ParseError("a plate grid header ('<>') has no column numbers", source, start + 1)
    grid: list[tuple[int, Row]] = []
    index = start + 1
    while index < len(rows):
        row = rows[index]
        letter = cell_text(row[corner]).upper() if corner < len(row) else ""
        if letter not in ROW_INDEX:
            break
        grid.append((ROW_INDEX[letter], row))
        index += 1
    if not grid:
        raise ParseError("a plate grid ('<>') has no row A", source, start + 2)
    _check_complete(rows, index, columns[-1][0] + 1, "plate grid", source)
    expected = list(range(1, len(grid) + 1))
    if [row_index for row_index, _ in grid] != expected:
        raise ParseError(
            f"the plate grid starting on line {start + 1} skips a row (rows {', '.join(str(r) for r, _ in grid)})",
            source,
            start + 1,
        )
    plate_format = run.plate_format or smallest_plate_format(len(grid), max(number for _, number in columns))
    plate_id = run.plate_id or run.stem
    channel = sheet.sections.channel(plate_id, label, title)
    filled = [
        (row_index, number)
        for row_index, row in grid
        for position, number in columns
        if position < len(row) and cell_text(row[position])
    ]
    if not filled:
        return index
    # blanks inside the block of measured wells are missing reads; outside it, wells were not read
    top, bottom = min(r for r, _ in filled), max(r for r, _ in filled)
    left, right = min(c for _, c in filled), max(c for _, c in filled)
    fields = _common(run, label, channel)
    for row_index, row in grid:
        if not top <= row_index <= bottom:
            continue
        for position, number in columns:
            if not left <= number <= right:
                continue
            raw = cell_raw(row[position]) if position < len(row) else None
            well = f"{row_label(row_index)}{number}"
            check_well_inside(row_index, number, plate_format, source, start + 1)
            yield make_reading(
                plate_id, well, plate_format, label.measurement, raw, decimal_comma=decimal_comma, **fields
            )
    return index


def _series_table(
    sheet: _Sheet, start: int, corner: int, label: _Label, title: str, spectral: bool
) -> Generator[Reading, None, int]:
    """Readings of a kinetic (``Cycle Nr.``) or spectrum (``Wavel.``) table, wells as columns or as rows."""
    rows, run, source, decimal_comma = sheet.rows, sheet.run, sheet.source, sheet.decimal_comma
    header = rows[start]
    header_texts = [cell_text(cell) for cell in header]
    well_columns = [
        (position, text.upper())
        for position, text in enumerate(header_texts)
        if position > corner and _well(text.upper())
    ]
    # series: (read_index, axis value, elapsed seconds) and the cells of each well along it
    series: dict[str, list[Cell]] = {}
    axis: list[float | None] = []
    elapsed: list[float | None] = []
    index = start + 1
    named = [well for _, well in well_columns]
    if len(set(named)) != len(named):
        raise ParseError(f"the table header on line {start + 1} names a well twice", source, start + 1)
    if well_columns:
        time_column = next((p for p, t in enumerate(header_texts) if t.lower().startswith("time")), None)
        for _, well in well_columns:
            series[well] = []
        while index < len(rows):
            row = rows[index]
            step = to_float(row[corner], decimal_comma=decimal_comma) if corner < len(row) else None
            if step is None:
                break
            axis.append(step)
            elapsed.append(
                to_float(row[time_column], decimal_comma=decimal_comma)
                if time_column is not None and time_column < len(row)
                else None
            )
            for position, well in well_columns:
                series[well].append(row[position] if position < len(row) else None)
            index += 1
    else:
        steps = [(p, to_float(cell, decimal_comma=decimal_comma)) for p, cell in enumerate(header) if p > corner]
        steps = [(p, value) for p, value in steps if value is not None]
        axis = [value for _, value in steps]
        elapsed = [None] * len(steps)
        while index < len(rows):
            row = rows[index]
            key = cell_text(row[corner]).upper() if corner < len(row) else ""
            cells = [row[p] if p < len(row) else None for p, _ in steps]
            if key.startswith("TIME"):
                elapsed = [to_float(cell, decimal_comma=decimal_comma) for cell in cells]
            elif key.startswith("TEMP"):
                pass
            elif _well(key):
                if key in series:
                    raise ParseError(f"well {key} has two rows in the table (line {index + 1})", source, index + 1)
                series[key] = cells
            else:
                break
            index += 1
    _check_complete(rows, index, max(len(header), 2), "spectrum" if spectral else "kinetic table", source)
    if not series or not axis:
        raise ParseError(
            f"the {'spectrum' if spectral else 'kinetic'} table on line {start + 1} has no wells or no reads",
            source,
            start + 1,
        )
    wells = {well: _well(well) for well in series}
    max_row = max(position[0] for position in wells.values() if position)
    max_column = max(position[1] for position in wells.values() if position)
    plate_format = run.plate_format or smallest_plate_format(max_row, max_column)
    plate_id = run.plate_id or run.stem
    channel = sheet.sections.channel(plate_id, label, title, "spectrum" if spectral else None)
    fields = _common(run, label, channel)
    # reads never taken (a run stopped early) are trailing all-empty cycles; keep the rest, blanks as missing
    last = max(
        (position for cells in series.values() for position, cell in enumerate(cells) if cell_text(cell)),
        default=-1,
    )
    measurement = label.measurement
    # per read: (read index, wavelength, elapsed seconds), the same for every well
    reads: list[tuple[int, float | None, float | None]] = []
    for position, step in enumerate(axis):
        if spectral:
            reads.append((position + 1, step, None))
        else:
            cycle = int(step) if step is not None and step.is_integer() and step >= 1 else position + 1
            if reads and cycle <= reads[-1][0]:
                raise ParseError(
                    f"the kinetic table on line {start + 1} lists cycle {cycle} after cycle {reads[-1][0]}: "
                    "a row is split, repeated or out of order",
                    source,
                    start + 2 + position if well_columns else start + 1,
                )
            reads.append((cycle, fields["wavelength_nm"], elapsed[position] if position < len(elapsed) else None))
    del fields["wavelength_nm"]
    for well, cells in series.items():
        row_index, column = wells[well]  # type: ignore[misc]
        check_well_inside(row_index, column, plate_format, source, start + 1)
        for (read_index, wavelength, seconds), raw in zip(reads, cells[: last + 1], strict=False):
            yield make_reading(
                plate_id,
                well,
                plate_format,
                measurement,
                cell_raw(raw),
                decimal_comma=decimal_comma,
                read_index=read_index,
                wavelength_nm=wavelength,
                elapsed_s=seconds,
                **fields,
            )
    return index


PARSER = TecanParser()
