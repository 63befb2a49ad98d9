"""Agilent (BioTek) Gen5 text exports: the tab-separated ``.txt`` a Gen5 "Export" or "Power Export" writes.

Covers Gen5 2.x-3.x exports of Synergy, Epoch, Cytation and Neo readers: absorbance (filter or monochromator,
several wavelengths, pathlength correction Test/Ref reads), fluorescence (filter sets, monochromator),
fluorescence polarization (Parallel/Perpendicular), luminescence, AlphaLISA, spectral scans (absorbance,
excitation or emission), kinetic loops (``Start Kinetic`` ... ``End Kinetic``) and several plates in one file.

Layout, in a few lines::

    Software Version<TAB>3.12.08          header: key<TAB>value lines (Plate Number, Date, Time, Reader Type: ...)
    Procedure Details                     the protocol: Plate Type, then one "Read" step per read
    Layout / Results / Read 1:450,490     plate grids: "<TAB>1<TAB>2 ..." then "A<TAB>v1 ... <TAB>label" rows
    450 / Read 2:450,490 + "Time<TAB>T° 450<TAB>A1 ..."       kinetic table, one row per time point
    EM Spectrum + "Wavelength<TAB>A1 ..."                      spectrum table, one row per wavelength

Only rows whose label names a raw read of the procedure (``450``, ``Read 1:485/20,528/20``, ``LUM:Lum``,
``Alpha``, ``FP:485,528 [Parallel]``, ``977 [Test]``) become readings; calculated rows (Blank, Conc, Ratio,
Mean V, Polarization, ...) are skipped; :mod:`lab_etl.parsers.agilent_gen5_procedure` reads the procedure's raw reads
and their labels. :mod:`lab_etl.parsers.agilent_gen5_csv` reuses :func:`read_gen5_lines`
and :func:`read_gen5_columns`, which gives the same readings column by column (a kinetic table is read one well
column at a time, its values parsed in one pass).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import PurePath
from typing import ClassVar

import numpy as np
import pyarrow as pa

from lab_etl.errors import ParseError
from lab_etl.parsers.agilent_gen5_procedure import ReadChannel, lookup_read, read_labels, setting_number
from lab_etl.parsers.base import InstrumentParser
from lab_etl.parsers.columns import ReadingColumns, Runs, parse_cells_arrow
from lab_etl.parsers.files import decode_text, default_plate_id, head_lines
from lab_etl.parsers.reading import Reading, parse_value
from lab_etl.parsers.utils import clock_seconds, parse_datetime, plate_size_in_name
from lab_etl.plates import GEOMETRY, parse_well, smallest_plate_format, well_name

VENDOR = "Agilent"
_UNITS = {"absorbance": "OD", "fluorescence": "RFU", "luminescence": "RLU", "alpha": "RFU"}
_NOT_STATED = {"", "n/a", "na", "unknown", "none"}
#: Gen5 names plates in exported file names as ``yymmdd_hhmmss_<barcode>_...``.
_BARCODE_NAME = re.compile(r"^\d{6}_\d{6}_([^_]+)_.*\.txt$", re.IGNORECASE)
#: Lines of the header above ``Procedure Details`` (repeated for every plate of a multi-plate export).
_HEADER_KEYS = {
    "Software Version",
    "Experiment File Path:",
    "Protocol File Path:",
    "Plate Number",
    "Barcode",
    "Date",
    "Time",
    "Reader Type:",
    "Reader Serial Number:",
    "Reading Type",
}


def _read_at(date: str | None, time: str | None) -> datetime | None:
    """The header's ``Date`` and ``Time`` as one datetime (midnight when the time is missing)."""
    return parse_datetime(f"{date} {time or '0:00:00'}") if date else None


def _stated(text: str | None) -> str | None:
    return None if text is None or text.strip().lower() in _NOT_STATED else text.strip()


@dataclass
class _Series:
    """Raw cells of one read from one grid row or one kinetic/spectrum table, before they become readings.

    ``wells`` maps a field position to a well (row, column); ``rows`` holds (read index, axis, fields) where the
    axis is the elapsed time in seconds (kinetic) or the wavelength in nm (spectrum), None for endpoint grids.
    """

    read: ReadChannel
    wells: list[tuple[int, tuple[int, int]]]
    rows: list[tuple[int, float | None, list[str]]]


def _blocks(lines: list[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    """Runs of non-blank lines."""
    block: list[tuple[int, str]] = []
    for number, line in lines:
        if line.strip():
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def _title(line: str) -> str:
    for part in line.split("\t"):
        name = part.strip().strip('"').strip()
        if name:
            return name.rstrip(":")
    return ""


def read_gen5_lines(lines: list[str], source: str) -> Iterator[Reading]:
    """Readings of a Gen5 export already split into tab-separated lines (text export or converted CSV).

    Raises :class:`ParseError` when the file has no Gen5 header, no procedure or no raw read data.
    """
    total = 0
    for plate in _plates(lines, source):
        for reading in _plate_readings(plate):
            total += 1
            yield reading
    if not total:
        raise _no_raw_data(source)


def read_gen5_columns(lines: list[str], source: str) -> ReadingColumns:
    """The readings of :func:`read_gen5_lines`, in the same order, as columns (no :class:`Reading` per cell)."""
    columns = ReadingColumns()
    cache: dict[str, tuple[float | None, str | None]] = {}
    for plate in _plates(lines, source):
        _plate_columns(plate, columns, cache)
    if not len(columns):
        raise _no_raw_data(source)
    return columns


def _no_raw_data(source: str) -> ParseError:
    return ParseError(
        "the export has no raw read data (no Results grid, read grid or kinetic table); "
        "re-export from Gen5 with the raw data of each read selected",
        source,
    )


@dataclass
class _Plate:
    """One plate's reads, ready to become readings: the series of raw cells and what all its readings share."""

    plate_id: str
    plate_format: int
    plate_type: str
    model: str | None
    serial: str | None
    read_at: datetime | None
    series: list[_Series]
    samples: dict[tuple[int, int], str]
    source: str


def _plates(lines: list[str], source: str) -> Iterator[_Plate]:
    """Every plate of the export that holds raw read data."""
    starts = [i for i, line in enumerate(lines) if line.startswith("Software Version")]
    if not starts:
        raise ParseError("no 'Software Version' line: this is not a Gen5 export (re-export it from Gen5)", source)
    blocks = [
        [(n + 1, lines[n]) for n in range(start, starts[i + 1] if i + 1 < len(starts) else len(lines))]
        for i, start in enumerate(starts)
    ]
    seen_ids: dict[str, int] = {}
    stem = default_plate_id(source)
    barcode = _BARCODE_NAME.match(PurePath(source).name)
    previous: list[str] | None = None
    for block in blocks:
        for header, procedure, data in _split_plates(block, source, previous):
            previous = procedure
            plate_id = (
                (barcode.group(1) if barcode and len(blocks) == 1 else None)
                or _stated(header.get("Plate Number"))
                or stem
            )
            if plate_id in seen_ids:
                seen_ids[plate_id] += 1
                plate_id = f"{plate_id} ({seen_ids[plate_id]})"
            else:
                seen_ids[plate_id] = 1
            plate = _read_plate(plate_id, header, procedure, data, source)
            if plate is not None:
                yield plate


def _read_header(numbered: list[tuple[int, str]], start: int, header: dict[str, str]) -> int:
    """Fill ``header`` from the ``key<TAB>value`` lines at ``start`` (blank lines allowed); the first other line."""
    position = start
    while position < len(numbered):
        line = numbered[position][1]
        key, _, value = line.partition("\t")
        if line.strip() and key.strip() not in _HEADER_KEYS:
            break
        if key.strip():
            header[key.strip().rstrip(":")] = value.split("\t")[0].strip()
        position += 1
    return position


def _split_plates(
    numbered: list[tuple[int, str]], source: str, previous: list[str] | None
) -> Iterator[tuple[dict[str, str], list[str], list[tuple[int, str]]]]:
    """Header, procedure lines and data lines of each plate in one 'Software Version' block.

    Multi-plate exports repeat the header (``Software Version`` or just ``Plate Number``) for every plate;
    a plate whose block has no ``Procedure Details`` reuses the procedure of the plate before it.
    """
    header: dict[str, str] = {}
    details = next((i for i, (_, line) in enumerate(numbered) if line.startswith("Procedure Details")), None)
    # every line above Procedure Details is header, whatever its key; without it only the known keys are
    position = _read_header(numbered, 0, header) if details is None else details
    if details is not None:
        for _, line in numbered[:details]:
            key, _, value = line.partition("\t")
            if key.strip():
                header[key.strip().rstrip(":")] = value.split("\t")[0].strip()
    procedure: list[str] = []
    if position < len(numbered) and numbered[position][1].startswith("Procedure Details"):
        position += 1
        while position < len(numbered) and not numbered[position][1].strip():
            position += 1
        while position < len(numbered) and numbered[position][1].strip():
            procedure.append(numbered[position][1])
            position += 1
    elif previous is not None:
        procedure = previous
    else:
        at = numbered[min(position, len(numbered) - 1)][0]
        raise ParseError("the 'Procedure Details' section is missing, so the reads cannot be identified", source, at)
    rest = numbered[position:]
    cuts = [i for i, (_, line) in enumerate(rest) if line.startswith("Plate Number\t")]
    yield header, procedure, rest[: cuts[0]] if cuts else rest
    for index, cut in enumerate(cuts):
        end = cuts[index + 1] if index + 1 < len(cuts) else len(rest)
        plate_header = dict(header)
        body_start = _read_header(rest, cut, plate_header)
        yield plate_header, procedure, rest[body_start:end]


def _read_plate(
    plate_id: str, header: dict[str, str], procedure: list[str], data: list[tuple[int, str]], source: str
) -> _Plate | None:
    """The plate's series of raw reads; None when it holds no raw read data."""
    plate_type = next((line.split("\t", 1)[1] for line in procedure if line.startswith("Plate Type\t")), "")
    labels = read_labels(procedure)
    if not labels and any("Area Scan" in line for line in procedure):
        raise ParseError(
            "area scan reads (several points per well) are not supported; export the endpoint or kinetic reads",
            source,
        )
    if not labels:
        line = data[0][0] if data else None
        raise ParseError(
            "the procedure has no Read step with a known read mode (absorbance, fluorescence, luminescence, alpha)",
            source,
            line,
        )
    series: list[_Series] = []
    samples: dict[tuple[int, int], str] = {}
    pending = ""
    last_line = max((n for n, line in data if line.strip()), default=0)
    for block in _blocks(data):
        first = block[0][1]
        head = first.split("\t")
        lead = 1 if head[0] == "" and len(head) > 1 and head[1] in ("Time", "Wavelength") else 0
        kind = head[lead].strip()
        if kind in ("Time", "Wavelength"):
            read = lookup_read(labels, pending) or _only(labels, spectrum=kind == "Wavelength")
            if read is not None:
                series.append(_table(block, lead, read, kind == "Wavelength", source, last_line))
            pending = ""
            continue
        if len(block) == 1:
            pending = _title(first)
            continue
        if first.startswith("\t") and not first.strip("\t").split("\t")[0].isdigit():
            pending = ""
            continue
        title, grid = (pending, block) if first.startswith("\t") else (_title(first), block[1:])
        if grid and grid[0][1].startswith("\t\t1"):
            # CSV exports shift grids one column right: an empty first column before the row letters
            grid = [(number, line[1:] if line.startswith("\t") else line) for number, line in grid]
        if grid and grid[0][1].startswith("\t1"):
            series.extend(_grid(grid, title, labels, samples, source, last_line, _only_endpoint(labels)))
        pending = ""
    if not any(s.rows and s.wells for s in series):
        return None
    return _Plate(
        plate_id,
        _plate_format(plate_type, series),
        plate_type,
        _stated(header.get("Reader Type")),
        _stated(header.get("Reader Serial Number")),
        _read_at(header.get("Date"), header.get("Time")),
        series,
        samples,
        source,
    )


def _placed(plate: _Plate) -> Iterator[tuple[_Series, list[tuple[int, int, int, str, str, str | None]]]]:
    """Each series with its wells placed on the plate: (field position, row, column, well, channel, sample).

    The same read of a well twice (a repeated label or table) gets its copies numbered apart in the channel.
    """
    rows, columns = GEOMETRY[plate.plate_format]
    taken: dict[tuple[str, tuple[int, int]], set[int]] = {}
    for part in plate.series:
        read = part.read
        indices = {index for index, _, _ in part.rows}
        placed = []
        for position, (row, column) in part.wells:
            if row > rows or column > columns:
                raise ParseError(
                    f"well {well_name(row, column)} lies outside the {plate.plate_format}-well plate "
                    f"('{plate.plate_type.strip()}')",
                    plate.source,
                )
            channel, copy = read.channel, 1
            while not indices.isdisjoint(taken.setdefault((channel, (row, column)), set())):
                copy += 1
                channel = f"{read.channel} #{copy}"
            taken[(channel, (row, column))] |= indices
            placed.append((position, row, column, well_name(row, column), channel, plate.samples.get((row, column))))
        yield part, placed


def _plate_readings(plate: _Plate) -> Iterator[Reading]:
    """One :class:`Reading` per cell of the plate's series (the reference the columnar path must equal)."""
    plate_id, plate_format = plate.plate_id, plate.plate_format
    model, serial, read_at = plate.model, plate.serial, plate.read_at
    for part, placed in _placed(plate):
        read = part.read
        measurement, unit, excitation = read.measurement, _UNITS.get(read.measurement), read.excitation_nm
        spectral = read.spectrum is not None
        for position, row, column, well, channel, sample in placed:
            for index, axis, fields in part.rows:
                if position >= len(fields):
                    continue
                raw = fields[position]
                try:
                    value: float | None = float(raw)
                except ValueError:
                    value = None
                if value is None or value - value != 0 or "_" in raw:  # words, NaN, inf, 1_000
                    value, flag, raw_text = _value(raw)
                else:
                    flag, raw_text = None, raw
                yield Reading(
                    plate_id,
                    well,
                    row,
                    column,
                    plate_format,
                    measurement,
                    value,
                    raw_text,
                    channel,
                    unit,
                    flag,
                    axis if spectral else read.wavelength_nm,
                    excitation,
                    index,
                    None if spectral else axis,
                    sample,
                    VENDOR,
                    model,
                    serial,
                    read_at,
                )


def _plate_columns(plate: _Plate, columns: ReadingColumns, cache: dict[str, tuple[float | None, str | None]]) -> None:
    """Add the plate's readings to ``columns`` in :func:`_plate_readings`'s order: per series, well after well,
    each well's cells down the table (a kinetic table's column), all cells of a series parsed in one pass."""
    for part, placed in _placed(plate):
        read = part.read
        spectral = read.spectrum is not None
        rows = part.rows
        fields_of_rows = [fields for _, _, fields in rows]
        shortest = min(map(len, fields_of_rows), default=0)
        indices = [index for index, _, _ in rows]
        axes = [axis for _, axis, _ in rows]
        read_indices: list[int] | pa.Array
        read_axes: list[float | None] | pa.Array
        if all(position < shortest for position, *_ in placed):
            transposed = list(zip(*fields_of_rows, strict=False))  # one tuple of cells per field position
            cells = list(chain.from_iterable(transposed[position] for position, *_ in placed))
            counts = [len(rows)] * len(placed)
            if len(cells) >= 256 and None not in axes:  # a kinetic or spectrum table: the read axis as arrays
                read_indices = pa.array(np.tile(np.asarray(indices, dtype=np.int64), len(placed)))
                read_axes = pa.array(np.tile(np.asarray(axes, dtype=np.float64), len(placed)))
            else:
                read_indices, read_axes = indices * len(placed), axes * len(placed)
        else:  # ragged rows: a cell past a row's end is not in the file
            cells, counts, read_indices, read_axes = [], [], [], []
            for position, *_ in placed:
                kept = [i for i, fields in enumerate(fields_of_rows) if position < len(fields)]
                cells += [fields_of_rows[i][position] for i in kept]
                read_indices += [indices[i] for i in kept]
                read_axes += [axes[i] for i in kept]
                counts.append(len(kept))
        values, flags, texts = parse_cells_arrow(cells, decimal_comma=True, cache=cache)
        columns.extend(
            len(cells),
            plate_id=plate.plate_id,
            well=Runs([well for _, _, _, well, _, _ in placed], counts),
            row_index=Runs([row for _, row, _, _, _, _ in placed], counts),
            column_index=Runs([column for _, _, column, _, _, _ in placed], counts),
            plate_format=plate.plate_format,
            measurement=read.measurement,
            value=values,
            raw_value=texts,
            channel=Runs([channel for _, _, _, _, channel, _ in placed], counts),
            unit=_UNITS.get(read.measurement),
            flag=flags,  # None: no cell flagged
            wavelength_nm=read_axes if spectral else read.wavelength_nm,
            excitation_nm=read.excitation_nm,
            read_index=read_indices,
            elapsed_s=None if spectral else read_axes,
            sample_name=Runs([sample for _, _, _, _, _, sample in placed], counts),
            vendor=VENDOR,
            instrument_model=plate.model,
            instrument_serial=plate.serial,
            read_at=plate.read_at,
        )


def _only_endpoint(labels: dict[str, list[ReadChannel]]) -> ReadChannel | None:
    """The one endpoint read of the procedure, for a Results grid written without row labels (one read only)."""
    reads = {r for group in labels.values() for r in group if not r.kinetic and r.spectrum is None}
    return reads.pop() if len(reads) == 1 else None


def _only(labels: dict[str, list[ReadChannel]], *, spectrum: bool) -> ReadChannel | None:
    """The one kinetic (or spectrum) read of the procedure, for tables whose title names no label."""
    reads = {r for group in labels.values() for r in group if (r.spectrum is not None if spectrum else r.kinetic)}
    return reads.pop() if len(reads) == 1 else None


def _value(raw: str) -> tuple[float | None, str | None, str]:
    """Value, flag and raw text of a cell that is not a plain number (Gen5 words, decimal commas)."""
    value, flag, raw_text = parse_value(raw, decimal_comma=True)
    return value, flag, raw_text if raw_text is not None else raw


def _well(text: str) -> tuple[int, int] | None:
    try:
        return parse_well(text)
    except ParseError:
        return None


def _table(
    block: list[tuple[int, str]], lead: int, read: ReadChannel, spectral: bool, source: str, last_line: int
) -> _Series:
    """A kinetic (Time) or spectrum (Wavelength) table: one row per time point or wavelength, one column per well."""
    header = block[0][1].split("\t")[lead:]
    wells = [(i, w) for i, w in ((i, _well(h)) for i, h in enumerate(header)) if w is not None]
    if not wells:
        raise ParseError("the kinetic/spectrum table header names no wells (expected A1, A2, ...)", source, block[0][0])
    if len({w for _, w in wells}) != len(wells):
        raise ParseError("the kinetic/spectrum table header names a well twice", source, block[0][0])
    first, last = wells[0][0], wells[-1][0]
    rows: list[tuple[int, float | None, list[str]]] = []
    for number, line in block[1:]:
        fields = line.split("\t")
        if lead:
            fields = fields[lead:]
        if not "".join(fields[first : last + 1]).strip():
            continue  # a time point the run never reached: Gen5 writes it with blank wells
        if number == last_line and len(fields) < len(header) and len(block) > 2:
            raise ParseError("the file ends in the middle of a table row: it looks truncated", source, number)
        axis = setting_number(fields[0]) if spectral else clock_seconds(fields[0])
        if axis is None:
            raise ParseError(f"'{fields[0]}' is not a {'wavelength' if spectral else 'time (h:mm:ss)'}", source, number)
        rows.append((len(rows) + 1, axis, fields))
    return _Series(read, wells, rows)


def _grid(
    grid: list[tuple[int, str]],
    title: str,
    labels: dict[str, list[ReadChannel]],
    samples: dict[tuple[int, int], str],
    source: str,
    last_line: int,
    single_read: ReadChannel | None = None,
) -> Iterator[_Series]:
    """A plate grid (Layout, Results, per-read sections): rows ``A<TAB>v1..vn<TAB>label``."""
    numbers = grid[0][1].split("\t")[1:]
    while numbers and not numbers[-1].strip():
        numbers.pop()
    try:
        columns = [int(n) for n in numbers]
    except ValueError:
        raise ParseError("the grid header is not a row of column numbers", source, grid[0][0]) from None
    if not columns or min(columns) < 1:
        raise ParseError("the grid header has no column numbers from 1 up", source, grid[0][0])
    width = len(columns) + 1
    split = [line.split("\t") for _, line in grid[1:]]
    if title == "Results" and any(len(f) > width and f[width].strip() for f in split):
        single_read = None  # labelled rows: each row's label says which read it holds
    elif title == "Results" and any(not f[0].strip() for f in split):
        single_read = None  # continuation rows without labels cannot be told apart
    labelled = any(len(f) > width and f[width].strip() for f in split)
    row_label = ""
    for number, line in grid[1:]:
        fields = line.split("\t")
        if fields[0].strip():
            row_label = fields[0].strip()
        if not row_label:
            raise ParseError("a grid row comes before any row letter (A, B, ...)", source, number)
        if number == last_line and len(fields) < len(columns) + 1:
            raise ParseError(f"the file ends in the middle of grid row {row_label}: it looks truncated", source, number)
        if number == last_line and labelled and not (len(fields) > width and fields[width].strip()):
            # the other rows end with their read's label: a last row without one was cut off mid-line
            raise ParseError(
                f"the file ends in grid row {row_label} before the row's read label: it looks truncated", source, number
            )
        label = fields[len(columns) + 1].strip() if len(fields) > len(columns) + 1 else title
        if label == "Well ID" or title == "Layout":
            if label == "Well ID":
                for column, text in zip(columns, fields[1:], strict=False):
                    well = _well(f"{row_label}{column}") if text.strip() else None
                    if well:
                        samples[well] = text.strip()
            continue
        read = lookup_read(labels, label) or (single_read if label == "Results" else None)
        if read is None or read.spectrum:
            continue
        well_row = _well(f"{row_label}1")
        if well_row is None:
            raise ParseError(f"'{row_label}' is not a plate row letter", source, number)
        wells = [(offset, (well_row[0], column)) for offset, column in enumerate(columns, start=1)]
        # cells past the end of a short row are blanks inside the read plate area
        padded = fields + [""] * (len(columns) + 1 - len(fields))
        yield _Series(read, wells, [(1, None, padded)])


def _plate_format(plate_type: str, series: list[_Series]) -> int:
    """The plate size the Plate Type line states when the wells fit in it, else the smallest that holds them."""
    max_row = max(w[0] for s in series for _, w in s.wells)
    max_column = max(w[1] for s in series for _, w in s.wells)
    stated = plate_size_in_name(plate_type)
    if stated is not None:
        rows, columns = GEOMETRY[stated]
        if max_row <= rows and max_column <= columns:
            return stated
    return smallest_plate_format(max_row, max_column)


class AgilentGen5Parser(InstrumentParser):
    """Agilent/BioTek Gen5 tab-separated text export (endpoint, kinetic, spectrum, FP, multi-plate)."""

    name = "agilent_gen5"
    display_name = "Agilent Gen5 (text export)"
    vendor = VENDOR
    extensions = ("txt",)
    #: how the export's first lines start, and the texts of which its head must hold one
    software_line: ClassVar[str] = "Software Version\t"
    head_marks: ClassVar[tuple[str, ...]] = ("Procedure Details", "Reader Type:\t", "Plate Number\t")

    def sniff(self, head: str) -> bool:
        if not any(line.startswith(self.software_line) for line in head_lines(head, 12)):
            return False
        return any(mark in head for mark in self.head_marks)

    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        yield from read_gen5_lines(self.tab_lines(data, name), name)

    def parse_columns(self, data: bytes, name: str) -> ReadingColumns:
        return read_gen5_columns(self.tab_lines(data, name), name)

    def tab_lines(self, data: bytes, name: str) -> list[str]:
        """The export's lines, cells separated by tabs, without line ends."""
        return [line.rstrip("\r") for line in decode_text(data, name).split("\n")]


PARSER = AgilentGen5Parser()
