"""Generic plate-grid CSV: the layout people build by hand or export from any reader as "matrix".

Covers text files (comma, semicolon or tab separated; UTF-8 with or without BOM, UTF-16, cp1252; decimal commas
when the delimiter is not a comma or the values are quoted) laid out as::

    Plate ID: P-0001                 <- optional header, one "key: value" / "key,value" / "key;value" per line
    Measurement: Absorbance             (Plate ID / Barcode / Plate, Measurement, Wavelength, Unit, Date,
    Wavelength: 450                      Instrument, Serial, Plate Type ...)
                                     <- blank lines anywhere
    Absorbance 450 nm                <- optional label naming this grid's measurement or read
    ,1,2,3,4,5,6,7,8,9,10,11,12      <- header row of column numbers 1..N (N = 12, 24 or 48; 3..8 for small plates)
    A,0.1,0.2,...                    <- one row per plate row, labelled A..H / A..P / A..AF (BMG's a..f accepted)
    ...

Several grids are several measurements or reads: each grid takes its measurement, wavelengths and read number
from its label line (or the grid's top-left cell), falling back to the header. Grids repeating the same
measurement and channel without a read number are numbered reads 1..n in file order. Header lines may reappear
between grids (e.g. a new ``Plate ID``, or a label line ``Plate 2``), changing the plate of the grids that follow.

A grid must be complete: a missing, extra, out-of-order or short row is a :class:`ParseError` naming the row.
Cells that hold no number (``OVRFLW``, ``n/a``, an empty cell inside the grid) become readings with
``value=None`` and a flag, never dropped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from lab_etl.errors import ParseError
from lab_etl.parsers.base import InstrumentParser
from lab_etl.parsers.columns import ReadingColumns, parse_cells
from lab_etl.parsers.files import decode_text, default_plate_id
from lab_etl.parsers.reading import OpticalRead, Reading, parse_value
from lab_etl.parsers.utils import parse_timestamp, snake_case
from lab_etl.plates import GEOMETRY, row_label, well_name

#: columns of a grid -> plate format (every standard format has a distinct column count)
_FORMAT_BY_COLUMNS: dict[int, int] = {columns: plate_format for plate_format, (_, columns) in GEOMETRY.items()}
_DELIMITERS = ("\t", ";", ",")

#: words in a file head that mark another vendor's export, whose grids must not be claimed by this parser
_FOREIGN_MARKERS = (
    "software version",
    "##blocks",
    "plate information",
    "gen5",
    "softmax",
    "magellan",
    "skanit",
    "envision",
    "[header]",
    "block type",
    "filename :",
    "measurement results",
    ".skax",
    "autoloading range",
)

_HEADER_KEYS: dict[str, str] = {
    "plate id": "plate_id",
    "plate": "plate_id",
    "plate name": "plate_id",
    "plate barcode": "plate_id",
    "barcode": "plate_id",
    "plateid": "plate_id",
    "measurement": "measurement",
    "read": "measurement",
    "read mode": "measurement",
    "mode": "measurement",
    "assay": "measurement",
    "wavelength": "wavelength",
    "wavelengths": "wavelength",
    "wavelength (nm)": "wavelength",
    "ex/em": "wavelength",
    "excitation/emission": "wavelength",
    "channel": "channel",
    "unit": "unit",
    "units": "unit",
    "date": "read_at",
    "read date": "read_at",
    "date/time": "read_at",
    "datetime": "read_at",
    "timestamp": "read_at",
    "measured": "read_at",
    "instrument": "instrument_model",
    "reader": "instrument_model",
    "model": "instrument_model",
    "instrument model": "instrument_model",
    "serial": "instrument_serial",
    "serial number": "instrument_serial",
    "instrument serial": "instrument_serial",
    "vendor": "vendor",
    "manufacturer": "vendor",
    "plate type": "plate_type",
    "plate format": "plate_type",
    "format": "plate_type",
}

_KIND_WORDS: tuple[tuple[str, str], ...] = (
    ("absorbance", "absorbance"),
    ("optical density", "absorbance"),
    ("abs", "absorbance"),
    ("od", "absorbance"),
    ("fluorescence", "fluorescence"),
    ("fluor", "fluorescence"),
    ("rfu", "fluorescence"),
    ("fi", "fluorescence"),
    ("luminescence", "luminescence"),
    ("lum", "luminescence"),
    ("rlu", "luminescence"),
)
_KIND_RE = re.compile(r"\b(" + "|".join(re.escape(word) for word, _ in _KIND_WORDS) + r")(?=\b|\d)", re.IGNORECASE)
_EX_EM_RE = re.compile(r"(?<!\d)(\d{3,4})(?:\s*nm)?\s*/\s*(\d{3,4})(?:\s*nm)?(?!\d)", re.IGNORECASE)
_WAVELENGTH_RE = re.compile(r"(?<![\d.])(?:od|a|abs)?\s*(\d{3,4})(?:\s*nm)?(?![\d.])", re.IGNORECASE)
_READ_RE = re.compile(r"\b(?:read|cycle|repeat|scan|kinetic(?: read)?)\s*(?:no\.?|#)?\s*(\d+)\b", re.IGNORECASE)
_TIME_RE = re.compile(
    r"\b(?:t|time)\s*[=:]?\s*(?:(\d+):(\d{2})(?::(\d{2}))?|(\d+(?:[.,]\d+)?)\s*(s|sec|min|h)\b)", re.IGNORECASE
)
_UNIT_RE = re.compile(r"[\[(]([^\])]{1,12})[\])]")
#: a label line naming the plate of the grids that follow ("Plate 2", "Plate: BC-0001", "Plate #3")
_PLATE_LABEL_RE = re.compile(r"^plate\s*(?:#|no\.?|id)?\s*[:=]?\s*(\S.*)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ReadDescription(OpticalRead):
    """What a grid holds: the optical read, its unit, and an explicit read number/time if named."""

    unit: str | None = None
    read_index: int | None = None
    elapsed_s: float | None = None


def describe_read(label: str, default_measurement: str | None = None) -> ReadDescription:
    """Interpret a label such as ``'Absorbance 450 nm'``, ``'Fluorescence 485/528'``, ``'Read 2'`` or ``'Yield [%]'``.

    Labels naming no known read type become a snake-case measurement of their own (``'Yield [%]'`` ->
    ``yield`` with unit ``%``); labels naming only a read number or time keep ``default_measurement``.
    """
    rest = label
    unit: str | None = None
    unit_match = _UNIT_RE.search(rest)
    if unit_match:
        unit = unit_match.group(1).strip() or None
        rest = rest[: unit_match.start()] + " " + rest[unit_match.end() :]
    read_index: int | None = None
    read_match = _READ_RE.search(rest)
    if read_match:
        read_index = int(read_match.group(1))
        rest = rest[: read_match.start()] + " " + rest[read_match.end() :]
    elapsed: float | None = None
    time_match = _TIME_RE.search(rest)
    if time_match:
        hh, mm, ss, amount, time_unit = time_match.groups()
        if amount is not None:
            scale = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0}[time_unit.lower()]
            elapsed = float(amount.replace(",", ".")) * scale
        else:
            elapsed = int(hh) * 3600.0 + int(mm) * 60.0 + int(ss or 0) if ss else int(hh) * 60.0 + int(mm)
        rest = rest[: time_match.start()] + " " + rest[time_match.end() :]
    wavelength: float | None = None
    excitation: float | None = None
    channel: str | None = None
    ex_em = _EX_EM_RE.search(rest)
    if ex_em:
        excitation, wavelength = float(ex_em.group(1)), float(ex_em.group(2))
        channel = f"{ex_em.group(1)}/{ex_em.group(2)}"
        rest = rest[: ex_em.start()] + " " + rest[ex_em.end() :]
    else:
        single = _WAVELENGTH_RE.search(rest)
        if single and 190 <= int(single.group(1)) <= 1100:
            wavelength = float(single.group(1))
            channel = single.group(1)
            rest = rest[: single.start()] + " " + rest[single.end() :]
    kind = _KIND_RE.search(rest)
    measurement: str | None = None
    if kind:
        word = kind.group(1).lower()
        measurement = next(name for key, name in _KIND_WORDS if key == word)
        if word in ("rfu", "rlu", "od") and unit is None:
            unit = word.upper()
        rest = rest[: kind.start()] + " " + rest[kind.end() :]
    leftover = snake_case(rest.replace("nm", " ") if wavelength is not None else rest)
    if measurement is None:
        if leftover and not leftover.isdigit():
            measurement = leftover
        elif default_measurement:
            measurement = default_measurement
        elif wavelength is not None:
            measurement = "fluorescence" if excitation is not None else "absorbance"
        else:
            measurement = "value"
    return ReadDescription(
        measurement=measurement,
        channel=channel or measurement,
        wavelength_nm=wavelength,
        excitation_nm=excitation,
        unit=unit,
        read_index=read_index,
        elapsed_s=elapsed,
    )


def _column_count(cells: Sequence[str]) -> int | None:
    """N when ``cells`` is a grid header: an optional corner cell, then exactly 1..N, then only empty cells."""
    if len(cells) < 4 or cells[0].strip() == "1":
        return None
    expected = 1
    index = 1
    while index < len(cells):
        cell = cells[index].strip()
        if not cell:
            break
        if cell != str(expected):
            return None
        expected += 1
        index += 1
    count = expected - 1
    if count not in _FORMAT_BY_COLUMNS:
        return None
    if any(cell.strip() for cell in cells[index:]):
        return None
    return count


def _row_matches(label: str, row: int, plate_format: int) -> bool:
    label = label.strip()
    expected = row_label(row)
    if label.upper() == expected:
        return True
    # BMG writes rows 27..32 of a 1536-well plate as a..f
    return plate_format == 1536 and row > 26 and label == chr(96 + row - 26)


def _find_delimiter(lines: Sequence[str]) -> tuple[str, int] | None:
    """The delimiter and line number (0-based) of the first grid header row."""
    for number, line in enumerate(lines):
        if not line or line[-1:] == ":":
            continue
        for delimiter in _DELIMITERS:
            if delimiter in line and _column_count(next(csv.reader([line], delimiter=delimiter))) is not None:
                return delimiter, number
    return None


def _split(line: str, delimiter: str) -> list[str]:
    if '"' not in line:
        return line.split(delimiter)
    return next(csv.reader([line], delimiter=delimiter), [])


@dataclass(frozen=True, slots=True)
class _Grid:
    """One complete grid: its rows' cells (row label first) and what all its readings share."""

    plate_id: str
    plate_format: int
    columns: int
    read: ReadDescription
    read_index: int
    unit: str | None
    vendor: str
    model: str | None
    serial: str | None
    read_at: datetime | None
    rows: list[list[str]]

    def shared(self) -> dict[str, Any]:
        """The :class:`Reading` fields every reading of this grid shares."""
        read = self.read
        return {
            "plate_id": self.plate_id,
            "plate_format": self.plate_format,
            "measurement": read.measurement,
            "channel": read.channel,
            "unit": self.unit,
            "wavelength_nm": read.wavelength_nm,
            "excitation_nm": read.excitation_nm,
            "read_index": self.read_index,
            "elapsed_s": read.elapsed_s,
            "vendor": self.vendor,
            "instrument_model": self.model,
            "instrument_serial": self.serial,
            "read_at": self.read_at,
        }


@lru_cache(maxsize=16)
def _grid_wells(rows: int, columns: int) -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    """Well names, row and column numbers of a grid, row by row (A01, A02, ... B01 ...)."""
    cells = [(row, column) for row in range(1, rows + 1) for column in range(1, columns + 1)]
    return (
        tuple(well_name(row, column) for row, column in cells),
        tuple(row for row, _ in cells),
        tuple(column for _, column in cells),
    )


class PlateGridParser(InstrumentParser):
    """Plate-grid CSV (one or more 8x12 / 16x24 / 32x48 matrices with an optional key/value header)."""

    name = "plate_grid"
    display_name = "Generic plate-grid CSV"
    vendor = "Generic"
    extensions = ("csv", "txt", "tsv")

    def sniff(self, head: str) -> bool:
        lowered = head[:4096].lower()
        if any(marker in lowered for marker in _FOREIGN_MARKERS):
            return False
        lines = head.splitlines()[:400]
        found = _find_delimiter(lines)
        if found is None:
            return False
        delimiter, header_line = found
        # what precedes the first grid must be a short header of key/value or label lines
        preamble = [line for line in lines[:header_line] if line.strip(" \t;,")]
        if len(preamble) > 40:
            return False
        for line in preamble:
            if sum(1 for cell in _split(line, delimiter) if cell.strip()) > 2:
                return False
        columns = _column_count(_split(lines[header_line], delimiter)) or 0
        plate_format = _FORMAT_BY_COLUMNS[columns]
        rows_to_check = min(GEOMETRY[plate_format][0], len(lines) - header_line - 2)
        if rows_to_check < 2:
            return False
        numbers = 0
        for row in range(1, rows_to_check + 1):
            cells = _split(lines[header_line + row], delimiter)
            if not cells or not _row_matches(cells[0], row, plate_format) or len(cells) < columns + 1:
                return False
            if any(cell.strip() for cell in cells[columns + 1 :]):
                return False
            numbers += sum(1 for cell in cells[1 : columns + 1] if parse_value(cell, decimal_comma=True)[0] is not None)
        return numbers > 0

    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        for grid in self._grids(data, name):
            shared = grid.shared()
            for row, row_cells in enumerate(grid.rows, start=1):
                for column in range(1, grid.columns + 1):
                    value, flag, raw = parse_value(row_cells[column], decimal_comma=True)
                    yield Reading(
                        well=well_name(row, column),
                        row_index=row,
                        column_index=column,
                        value=value,
                        raw_value=raw,
                        flag=flag,
                        **shared,
                    )

    def parse_columns(self, data: bytes, name: str) -> ReadingColumns:
        columns = ReadingColumns()
        cache: dict[str, tuple[float | None, str | None]] = {}
        for grid in self._grids(data, name):
            cells = [cell for row_cells in grid.rows for cell in row_cells[1 : grid.columns + 1]]
            values, flags = parse_cells(cells, decimal_comma=True, cache=cache)
            wells, row_indices, column_indices = _grid_wells(len(grid.rows), grid.columns)
            columns.extend(
                len(cells),
                well=wells,
                row_index=row_indices,
                column_index=column_indices,
                value=values,
                raw_value=cells,
                flag=flags,
                **grid.shared(),
            )
        return columns

    def _grids(self, data: bytes, name: str) -> Iterator[_Grid]:
        """Every grid of the file, checked complete, with what its readings share."""
        text = decode_text(data, name)
        lines = text.splitlines()
        found = _find_delimiter(lines)
        if found is None:
            raise ParseError(
                "no plate grid found: expected a header row of column numbers 1..12 (96-well), 1..24 (384-well) "
                "or 1..48 (1536-well) followed by one row per plate row A, B, C ...",
                name,
            )
        delimiter, _ = found
        header: dict[str, str] = {}
        plate_id = default_plate_id(name)
        label: str | None = None
        counters: dict[tuple[str, str, str], int] = {}
        used: set[tuple[str, str, str, int]] = set()
        number = 0
        total = len(lines)
        grids = 0
        while number < total:
            line = lines[number]
            number += 1
            if not line.strip(" \t;,"):
                continue
            cells = _split(line, delimiter)
            columns = _column_count(cells)
            if columns is None:
                if grids == 0 and cells[0].strip().upper() == "A" and sum(1 for c in cells[1:] if c.strip()) >= 3:
                    raise ParseError(
                        "found plate row A before any header row of column numbers 1..N; add the column "
                        "numbers row above the grid",
                        name,
                        number,
                    )
                key, setting = self._key_value(cells)
                field = _HEADER_KEYS.get(key.lower().rstrip(":").strip()) if key else None
                if field is not None and setting:
                    header[field] = setting
                    if field == "plate_id":
                        plate_id = setting
                elif key and not setting:
                    plate_label = _PLATE_LABEL_RE.match(key)
                    if plate_label:
                        # a bare number ("Plate 2") is kept with its word so that it reads as a plate name
                        number_only = plate_label.group(1).strip().isdigit()
                        plate_id = key if number_only else plate_label.group(1).strip()
                    else:
                        label = key
                continue
            grids += 1
            corner = cells[0].strip()
            grid_label = corner if corner and corner not in ("<>", "Well", "Row") else label
            label = None
            plate_format = _FORMAT_BY_COLUMNS[columns]
            n_rows = GEOMETRY[plate_format][0]
            read = self._describe(grid_label, header)
            key3 = (plate_id, read.measurement, read.channel)
            if read.read_index is None:
                index = counters.get(key3, 0) + 1
                while (*key3, index) in used:
                    index += 1
            else:
                index = read.read_index
                if (*key3, index) in used:
                    raise ParseError(
                        f"two grids of plate {plate_id} are both {read.measurement} '{read.channel}' read {index}; "
                        "give each grid a distinct label",
                        name,
                        number,
                    )
            counters[key3] = index
            used.add((*key3, index))
            unit = read.unit or header.get("unit")
            read_at = parse_timestamp(header.get("read_at", ""))
            vendor = header.get("vendor", "")
            model = header.get("instrument_model")
            serial = header.get("instrument_serial")
            header_line = number
            grid_rows: list[list[str]] = []
            for row in range(1, n_rows + 1):
                if number >= total or not lines[number].strip(" \t;,"):
                    raise ParseError(
                        f"the {plate_format}-well grid under the header on line {header_line} ends after "
                        f"{row - 1} of {n_rows} rows: row {row_label(row)} is missing",
                        name,
                        number + 1,
                    )
                row_cells = _split(lines[number], delimiter)
                number += 1
                if not _row_matches(row_cells[0], row, plate_format):
                    raise ParseError(
                        f"expected plate row {row_label(row)} of the {plate_format}-well grid, found "
                        f"'{row_cells[0].strip()[:20]}'; a row is missing or out of order",
                        name,
                        number,
                    )
                if len(row_cells) < columns + 1:
                    raise ParseError(
                        f"plate row {row_label(row)} has {len(row_cells) - 1} of {columns} cells; the grid is ragged",
                        name,
                        number,
                    )
                if any(cell.strip() for cell in row_cells[columns + 1 :]):
                    raise ParseError(
                        f"plate row {row_label(row)} has more than {columns} values; the grid is ragged",
                        name,
                        number,
                    )
                grid_rows.append(row_cells)
            yield _Grid(plate_id, plate_format, columns, read, index, unit, vendor, model, serial, read_at, grid_rows)
            if number < total:
                extra = _split(lines[number], delimiter)
                if extra and _row_matches(extra[0], n_rows + 1, 1536) and sum(1 for c in extra if c.strip()) > 2:
                    raise ParseError(
                        f"plate row {row_label(n_rows + 1)} follows a complete {plate_format}-well grid; "
                        "the column header does not match the number of rows",
                        name,
                        number + 1,
                    )

    @staticmethod
    def _key_value(cells: Sequence[str]) -> tuple[str, str]:
        """(key, value) of a header line; (label, '') for a one-cell line that is no ``key: value``."""
        filled = [cell.strip() for cell in cells if cell.strip()]
        if not filled:
            return "", ""
        if len(filled) == 1:
            text = filled[0]
            key, colon, value = text.partition(":")
            if colon and key.strip().lower() in _HEADER_KEYS:
                return key.strip(), value.strip()
            return text, ""
        if len(filled) == 2 and cells[0].strip():
            return filled[0], filled[1]
        return "", ""

    @staticmethod
    def _describe(label: str | None, header: dict[str, str]) -> ReadDescription:
        measurement_text = header.get("measurement", "")
        base = describe_read(measurement_text) if measurement_text else None
        wavelength_text = header.get("wavelength") or header.get("channel") or ""
        if label:
            read = describe_read(label, base.measurement if base else None)
        elif base is not None:
            read = base
        else:
            read = describe_read(wavelength_text) if wavelength_text else describe_read("value")
        if read.wavelength_nm is None and wavelength_text:
            from_header = describe_read(wavelength_text, read.measurement)
            if from_header.wavelength_nm is not None:
                read = replace(
                    read,
                    wavelength_nm=from_header.wavelength_nm,
                    excitation_nm=from_header.excitation_nm,
                    channel=from_header.channel if read.channel == read.measurement else read.channel,
                )
        elif read.channel == read.measurement and header.get("channel"):
            read = replace(read, channel=header["channel"])
        return read


PARSER = PlateGridParser()
