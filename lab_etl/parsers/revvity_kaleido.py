"""Revvity (PerkinElmer) Kaleido CSV exports of the EnSight multimode reader: Kaleido 2.x, 3.0 and the 3.5 "pure CSV"
layout, comma (or semicolon / tab with decimal commas) separated.

Layout, one results block per measurement operation (and per repeat, loop or wavelength the operation made)::

    EnSight Results from                       <- 3.x only
    Result for Fluorescence intensity 1        <- 2.x: "Results for ABS mono 1"
    Barcode,Repeat,Loop no,Well scan x,...     <- 3.x: descriptor header + one row
    V-2022-11-10 12:11:46,1,,,,,,,,,              2.x: "Barcode: X, PlateRepeat: 1, WellRepeat: 1"
    ,1,2,3,...,24                              <- column numbers, then rows A..P
    A,18126,20520,...

then ``Analysis Result`` blocks (calculated image or ratio analyses, which carry an ``AnalysisParameter``),
``Measurement (Basic) Information`` (start time, barcode, serial number), ``Plate Type`` (name such as
``96 General``), ``Platemap`` (sample codes per well) and the operation settings (``Tech`` / ``Operation`` with
excitation and emission wavelengths), ending in ``Exported with Kaleido <version>``.

Optical imaging operations (``IMG 1``) list an image file per well, not a measured value: they give no readings,
and a file holding only imaging results is refused with a :class:`ParseError` saying so.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise

from lab_etl.errors import ParseError
from lab_etl.parsers.base import InstrumentParser
from lab_etl.parsers.files import decode_text, default_plate_id, head_lines
from lab_etl.parsers.grids import check_well_inside, grid_cells, grid_row_numbers
from lab_etl.parsers.reading import Reading, grid_readings
from lab_etl.parsers.utils import DEFAULT_UNITS, first_number, parse_datetime, split_cells
from lab_etl.plates import GEOMETRY, plate_format_for, row_index_of, smallest_plate_format

_RESULT_TITLE_RE = re.compile(r"^Results? for\s+(.+?)\s*$")
_GRID_HEADER_RE = re.compile(r"^([,;\t])0?1\1")
_METADATA_TITLES = ("Measurement Basic Information", "Measurement Information")


@dataclass
class _ResultBlock:
    """One results grid: its operation (``Fluorescence intensity 1``), its descriptor row and its cells."""

    operation: str
    descriptor: dict[str, str]
    line: int
    column_numbers: list[int]
    row_labels: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    analysis: bool = False


@dataclass
class _Metadata:
    values: dict[str, str] = field(default_factory=dict)
    operations: dict[str, dict[str, str]] = field(default_factory=dict)
    platemap: dict[tuple[int, int], str] = field(default_factory=dict)


class RevvityKaleidoParser(InstrumentParser):
    """Kaleido (EnSight) CSV exports: one reading per well of every plate-reader results grid (absorbance,
    fluorescence, luminescence, Alpha), repeats and loops as reads 1..n; analysis results and image lists are skipped.
    """

    name = "revvity_kaleido"
    display_name = "Revvity Kaleido"
    vendor = "Revvity"
    extensions = ("csv",)

    def sniff(self, head: str) -> bool:
        if (
            "Exported with Kaleido" in head
            or "Software Version,,Kaleido" in head
            or "Software version:,,Kaleido" in head
        ):
            return True
        lines = [line.strip() for line in head_lines(head, 30) if line.strip(" ,;\t")]
        if lines and lines[0].startswith("EnSight Results from"):
            return True
        titled = any(_RESULT_TITLE_RE.match(line.replace("\xa0", " ")) for line in lines[:5])
        return titled and any(
            line.replace("\xa0", " ").startswith("Barcode: ") and "PlateRepeat" in line for line in lines
        )

    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        text = decode_text(data, name).lstrip("\ufeff").replace("\xa0", " ")
        lines = text.splitlines()
        delimiter = _find_delimiter(lines)
        if delimiter is None:
            raise ParseError(
                "no results grid (a ',1,2,3,...' column header) found; this is not a Kaleido plate export", name
            )
        blocks, metadata_start = _read_results(lines, delimiter, name)
        if metadata_start is None:
            raise ParseError(
                "the 'Measurement Information' section after the results is missing; the file looks truncated", name
            )
        metadata = _read_metadata(lines, metadata_start, delimiter)
        measured = [
            block for block in blocks if not block.analysis and _measurement_of(block.operation) != "optical_imaging"
        ]
        if not measured:
            if any(_measurement_of(block.operation) == "optical_imaging" for block in blocks):
                raise ParseError(
                    "this Kaleido export holds optical imaging results only (an image file name per well) and image "
                    "analysis; it has no plate-reader values to load",
                    name,
                )
            raise ParseError("the file holds no measured results grid (only analysis results)", name)
        yield from _readings(measured, metadata, delimiter, default_plate_id(name), name)


def _find_delimiter(lines: list[str]) -> str | None:
    for line in lines:
        match = _GRID_HEADER_RE.match(line)
        if match:
            return match.group(1)
    return None


def _read_results(lines: list[str], delimiter: str, name: str) -> tuple[list[_ResultBlock], int | None]:
    """Every results grid before the metadata, and the index where the metadata starts (None when absent)."""
    blocks: list[_ResultBlock] = []
    operation = ""
    descriptor: dict[str, str] = {}
    analysis = False
    index = 0
    while index < len(lines):
        line = lines[index]
        first = line.split(delimiter, 1)[0].strip()
        if first.startswith(_METADATA_TITLES):
            return blocks, index
        if first.startswith("Analysis Result"):
            analysis = True
        elif match := _RESULT_TITLE_RE.match(first):
            operation, descriptor = match.group(1), {}
        elif first.startswith("Barcode:"):
            descriptor = _v2_descriptor(line, delimiter)
        elif first == "Barcode" and index + 1 < len(lines):
            header = [cell.strip().lower() for cell in split_cells(line, delimiter)]
            values = split_cells(lines[index + 1], delimiter)
            descriptor = {key: value.strip() for key, value in zip(header, values, strict=False) if key}
            index += 1
        elif _GRID_HEADER_RE.match(line):
            if not operation:
                raise ParseError("a results grid has no 'Result for ...' title above it", name, index + 1)
            block, index = _read_grid(lines, index, delimiter, operation, descriptor, name)
            block.analysis = analysis or bool(
                descriptor.get("analysisparameter") or descriptor.get("analysis parameter")
            )
            blocks.append(block)
            continue
        index += 1
    return blocks, None


def _v2_descriptor(line: str, delimiter: str) -> dict[str, str]:
    """``Barcode: X, PlateRepeat: 1, WellRepeat: 1, AnalysisParameter: ...`` as lowercase keys."""
    descriptor: dict[str, str] = {}
    for part in split_cells(line, delimiter):
        key, _, value = part.partition(":")
        if key.strip():
            descriptor[key.strip().lower()] = value.strip()
    return descriptor


def _read_grid(
    lines: list[str], index: int, delimiter: str, operation: str, descriptor: dict[str, str], name: str
) -> tuple[_ResultBlock, int]:
    header = [cell.strip() for cell in split_cells(lines[index], delimiter)[1:]]
    while header and not header[-1]:
        header.pop()
    if any(not number.isdigit() for number in header) or any(int(a) >= int(b) for a, b in pairwise(header)):
        raise ParseError("the results grid's column header is not a rising list of column numbers", name, index + 1)
    block = _ResultBlock(operation, dict(descriptor), index + 1, [int(number) for number in header])
    index += 1
    while index < len(lines):
        cells = split_cells(lines[index], delimiter)
        label = cells[0].strip()
        if not label or not label.isalpha() or len(label) > 2 or len(cells) < 2:
            break
        block.row_labels.append(label)
        block.rows.append(cells[1:])
        index += 1
    return block, index


def _read_metadata(lines: list[str], start: int, delimiter: str) -> _Metadata:
    metadata = _Metadata()
    settings: dict[str, str] | None = None
    index = start
    while index < len(lines):
        cells = [cell.strip() for cell in split_cells(lines[index], delimiter)]
        key = cells[0].rstrip(":").strip() if cells else ""
        value = next((cell for cell in cells[1:] if cell), "")
        index += 1
        if not key:
            if not value:
                settings = None
            continue
        if key == "Platemap":
            index = _read_platemap(lines, index, delimiter, metadata)
            continue
        if key in ("Tech", "Operation") and value:
            settings = metadata.operations.setdefault(value, {})
            continue
        if not value:
            continue
        target = settings if settings is not None else metadata.values
        target.setdefault(key.lower(), value)
    return metadata


def _read_platemap(lines: list[str], index: int, delimiter: str, metadata: _Metadata) -> int:
    while index < len(lines) and not _GRID_HEADER_RE.match(lines[index]):
        if lines[index].strip(" ,;\t") and lines[index].split(delimiter, 1)[0].strip() != "Plate":
            return index
        index += 1
    if index >= len(lines):
        return index
    columns = [cell.strip() for cell in split_cells(lines[index], delimiter)[1:]]
    index += 1
    while index < len(lines):
        cells = split_cells(lines[index], delimiter)
        label = cells[0].strip()
        if not label.isalpha() or len(label) > 2:
            break
        try:
            row = row_index_of(label)
        except ParseError:
            break
        for column, code in zip(columns, cells[1:], strict=False):
            if column.isdigit() and code.strip() and code.strip() != "-":
                metadata.platemap[(row, int(column))] = code.strip()
        index += 1
    return index


def _measurement_of(operation: str) -> str:
    lowered = operation.lower()
    if "alpha" in lowered:
        return "alphascreen"
    if lowered.startswith("img") or "imag" in lowered:
        return "optical_imaging"
    if "abs" in lowered:
        return "absorbance"
    if "lum" in lowered:
        return "luminescence"
    if "fluor" in lowered or "trf" in lowered or lowered.startswith(("fi ", "fp ")):
        return "fluorescence"
    words = re.sub(r"[^0-9a-z]+", "_", re.sub(r"\s+\d+$", "", lowered)).strip("_")
    return words or "signal"


@dataclass
class _Read:
    measurement: str
    channel: str
    wavelength_nm: float | None
    excitation_nm: float | None


def _describe_read(block: _ResultBlock, metadata: _Metadata) -> _Read:
    measurement = _measurement_of(block.operation)
    settings = metadata.operations.get(block.operation, {})
    excitation = first_number(block.descriptor.get("exc wl / filter")) or first_number(
        settings.get("excitation wavelength [nm]")
    )
    emission = first_number(block.descriptor.get("ems wl")) or first_number(settings.get("emission wavelength [nm]"))
    if measurement == "absorbance":
        channel = f"{excitation:g}" if excitation is not None else measurement
        return _Read(measurement, channel, excitation, None)
    if measurement == "fluorescence" and excitation is not None and emission is not None:
        return _Read(measurement, f"{excitation:g}/{emission:g}", emission, excitation)
    if emission is not None:
        return _Read(measurement, f"{emission:g}", emission, excitation if measurement == "fluorescence" else None)
    return _Read(measurement, measurement, None, None)


def _plate_format(block: _ResultBlock, metadata: _Metadata, rows: list[int]) -> int:
    stated = first_number(metadata.values.get("plate type name"))
    if stated is not None and int(stated) in GEOMETRY:
        return int(stated)
    try:
        if rows[0] == 1 and block.column_numbers[0] == 1:
            return plate_format_for(len(rows), len(block.column_numbers))
    except ParseError:
        pass
    return smallest_plate_format(rows[-1], block.column_numbers[-1])


def _readings(
    blocks: list[_ResultBlock], metadata: _Metadata, delimiter: str, stem: str, name: str
) -> Iterator[Reading]:
    reads = [_describe_read(block, metadata) for block in blocks]
    operations_by_series: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    plate_ids = [_plate_id(block, metadata, stem) for block in blocks]
    for plate_id, block, read in zip(plate_ids, blocks, reads, strict=True):
        operations_by_series[(plate_id, read.measurement, read.channel)].add(block.operation)
    for plate_id, block, read in zip(plate_ids, blocks, reads, strict=True):
        if len(operations_by_series[(plate_id, read.measurement, read.channel)]) > 1:
            # two operations of one technology without telling wavelengths: the operation name tells them apart
            read.channel = f"{read.channel} {block.operation}"
    series_sizes: dict[tuple[str, str, str], int] = defaultdict(int)
    for plate_id, read in zip(plate_ids, reads, strict=True):
        series_sizes[(plate_id, read.measurement, read.channel)] += 1
    read_numbers: dict[tuple[str, str, str], int] = defaultdict(int)
    serial = metadata.values.get("instrument serial number") or None
    read_at = parse_datetime(
        metadata.values.get("measurement started", "") or metadata.values.get("measurement date", "")
    )
    interval = first_number(metadata.values.get("start plate repeat each [s]"))
    decimal_comma = delimiter != ","
    for plate_id, block, read in zip(plate_ids, blocks, reads, strict=True):
        series = (plate_id, read.measurement, read.channel)
        read_numbers[series] += 1
        repeat = first_number(block.descriptor.get("repeat") or block.descriptor.get("platerepeat"))
        elapsed = None
        if series_sizes[series] > 1 and interval and repeat is not None:
            elapsed = (repeat - 1) * interval
        rows = grid_row_numbers(block.row_labels, block.line + 1, name)
        plate_format = _plate_format(block, metadata, rows)
        columns = block.column_numbers
        check_well_inside(rows[-1], columns[-1], plate_format, name, block.line)
        yield from grid_readings(
            grid_cells(rows, columns, block.rows, block.line + 1, name),
            plate_id,
            plate_format,
            read.measurement,
            {
                "channel": read.channel,
                "unit": DEFAULT_UNITS.get(read.measurement),
                "wavelength_nm": read.wavelength_nm,
                "excitation_nm": read.excitation_nm,
                "read_index": read_numbers[series],
                "elapsed_s": elapsed,
                "vendor": "Revvity",
                "instrument_model": "EnSight",
                "instrument_serial": serial,
                "read_at": read_at,
            },
            decimal_comma=decimal_comma,
            per_well=lambda row, column: {"sample_name": metadata.platemap.get((row, column))},
        )


def _plate_id(block: _ResultBlock, metadata: _Metadata, stem: str) -> str:
    barcode = block.descriptor.get("barcode") or metadata.values.get("barcode") or ""
    return barcode.strip() or stem


PARSER = RevvityKaleidoParser()
