"""PerkinElmer / Revvity EnVision CSV exports of EnVision Workstation 1.x ("Plate" export format), with any field
separator (the "System" separator: comma, or semicolon / tab with decimal commas).

Layout, one block per plate x measured label (and per repeat / kinetic cycle)::

    Plate information
    Plate,Repeat,Barcode,Measured height,...,Group,Label,ScanX,ScanY,Measinfo,Kinetics,Measurement date,
    1,1,="P-001",14.35,...,1,A450(1),0,0,De=1st Ex=Btm Em=N/A Wdw=N/A (8),0,1/15/2024 10:30:00 AM,
                                          <- blank
    Background information                <- optional, skipped
    Plate,Label,Result,Signal,...
                                          <- blank
    Results for A450(1) - channel 1 (A)   <- optional title; "(A)"/"(Counts)"/"(CPS)" is the unit
    ,01,02,...,12,                        <- optional column header, then rows A..H; or bare rows of values only
    A,0.1500,0.0850,...

Blocks whose plate information has a ``Formula`` instead of a ``Label`` hold calculated results (crosstalk
correction, HTRF ratios ...) and give no readings. After the plates come ``Basic assay information``, the
protocol (``Plate type:`` with the number of wells), ``Labels:`` (each label's filters or wavelengths),
``Filters:`` (centre wavelengths), ``Instrument:`` (serial number) and ``Exported with EnVision Workstation ...``.

A block whose data starts with a header row naming a ``Well`` column is read as a list (well, then the
``Result``/``Signal``/``Value`` column, else the last column); no real "List" export was at hand to check this
against, so it is kept deliberately generic. Grids with row letters may cover part of a plate (area reads, e.g.
rows A, E, I, M); bare grids must cover the whole plate the protocol names.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

from lab_etl.errors import ParseError
from lab_etl.parsers.base import InstrumentParser
from lab_etl.parsers.files import decode_text, default_plate_id, head_lines
from lab_etl.parsers.grids import check_well_inside, grid_cells, grid_row_numbers
from lab_etl.parsers.reading import Reading, grid_readings, make_reading
from lab_etl.parsers.utils import DEFAULT_UNITS, first_number, parse_datetime, split_cells
from lab_etl.plates import GEOMETRY, plate_format_for, row_index_of, smallest_plate_format

#: lines that start the protocol/footer part of an export (after the last plate block)
_FOOTER_TITLES = ("Basic assay information", "Protocol information", "Exported with ")
#: header words that start the plate information table, per field separator
_PLATE_HEADERS = {",": "Plate,Repeat,Barcode", ";": "Plate;Repeat;Barcode", "\t": "Plate\tRepeat\tBarcode"}
_CWL_RE = re.compile(r"CWL\s*=\s*(\d+(?:[.,]\d+)?)\s*nm", re.IGNORECASE)
_ABSORBANCE_LABEL_RE = re.compile(r"^A(\d{3})\b|\babs(?:orbance)?\b.*?(\d{3})", re.IGNORECASE)
_LABEL_REPEAT_RE = re.compile(r"\(\d+\)\s*$")
_TITLE_UNIT_RE = re.compile(r"\(([^()]*)\)\s*$")
_DETECTOR_RE = re.compile(r"De=(\S+)")
#: first digit of an EnVision label id -> the detection technology of the label
_TECHNOLOGY_BY_LABEL_ID = {
    "2": "absorbance",
    "4": "fluorescence",
    "6": "fluorescence",
    "7": "luminescence",
    "8": "alphascreen",
}
_LIST_VALUE_COLUMNS = ("result", "signal", "value", "counts", "cps")


@dataclass
class _PlateBlock:
    """One ``Plate information`` block: its information row and its data, still as text cells."""

    line: int
    info: dict[str, str]
    title: str = ""
    grid_line: int = 0
    rows: list[list[str]] = field(default_factory=list)
    row_labels: list[str] | None = None
    column_numbers: list[int] = field(default_factory=list)
    ended_at_eof: bool = False
    list_header: list[str] | None = None

    @property
    def calculated(self) -> bool:
        return not (self.info.get("label") and self.info.get("measinfo"))


@dataclass
class _Footer:
    """What the protocol part after the plates tells: plate type, labels, filters, instrument."""

    values: dict[str, str] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    filters: dict[str, dict[str, str]] = field(default_factory=dict)
    exported_with: str = ""


@dataclass
class _Read:
    """What one raw block measured: the reading fields shared by all its wells."""

    measurement: str
    channel: str
    unit: str
    wavelength_nm: float | None
    excitation_nm: float | None
    label: str
    detector: str


class PerkinElmerEnvisionParser(InstrumentParser):
    """EnVision Workstation CSV exports: one reading per well of every raw plate block (absorbance, fluorescence
    intensity, TRF/HTRF per detector, luminescence, AlphaScreen), with plate repeats and kinetic cycles as reads 1..n.
    Calculated blocks (``Formula`` plates) are skipped.
    """

    name = "perkin_elmer_envision"
    display_name = "PerkinElmer EnVision"
    vendor = "PerkinElmer"
    extensions = ("csv",)

    def sniff(self, head: str) -> bool:
        lines = head_lines(head, 40)
        titled = any(line.startswith("Plate information") for line in lines[:20])
        return titled and any(line.startswith(tuple(_PLATE_HEADERS.values())) for line in lines)

    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        text = decode_text(data, name)
        lines = text.lstrip("\ufeff").splitlines()
        delimiter = _find_delimiter(lines)
        if delimiter is None:
            raise ParseError(
                "no 'Plate,Repeat,Barcode,...' plate information header found; this is not an EnVision plate export",
                name,
            )
        blocks, footer_start = _read_blocks(lines, delimiter, name)
        footer = _read_footer(lines, footer_start, delimiter)
        raw_blocks = [block for block in blocks if not block.calculated]
        if not raw_blocks:
            raise ParseError("the file holds no measured plate (only calculated results or no plate data)", name)
        yield from _readings(raw_blocks, footer, delimiter, default_plate_id(name), name)


def _find_delimiter(lines: list[str]) -> str | None:
    for line in lines[:200]:
        for delimiter, header in _PLATE_HEADERS.items():
            if line.startswith(header):
                return delimiter
    return None


def _is_title(line: str, delimiter: str) -> bool:
    """A section title: text without a field separator (trailing separators aside)."""
    stripped = line.strip().rstrip(delimiter).strip()
    return bool(stripped) and delimiter not in stripped


def _read_blocks(lines: list[str], delimiter: str, name: str) -> tuple[list[_PlateBlock], int]:
    """Every plate block, and the index of the first footer line."""
    blocks: list[_PlateBlock] = []
    header_start = _PLATE_HEADERS[delimiter]
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        if not stripped:
            index += 1
        elif stripped.startswith("Plate information"):
            block, index = _read_block(lines, index, delimiter, name)
            blocks.append(block)
        elif stripped.startswith(_FOOTER_TITLES):
            break
        elif stripped.startswith(header_start):
            raise ParseError(
                "a plate information header has no 'Plate information' title line above it; "
                "the export was edited or is damaged",
                name,
                index + 1,
            )
        elif blocks and not _is_title(stripped, delimiter):
            raise ParseError("plate data found outside any 'Plate information' block", name, index + 1)
        else:
            index = _skip_section(lines, index)
    return blocks, index


def _skip_section(lines: list[str], index: int) -> int:
    """Skip an unknown section up to its blank line, but never into a plate block or a footer section: a stray
    title line (e.g. one a LIMS added above the export) must not swallow the plate that follows it."""
    index += 1
    while index < len(lines) and lines[index].strip():
        if lines[index].strip().startswith(("Plate information", *_FOOTER_TITLES)):
            break
        index += 1
    return index


def _read_block(lines: list[str], index: int, delimiter: str, name: str) -> tuple[_PlateBlock, int]:
    title_line = index + 1
    if index + 2 >= len(lines) or not lines[index + 1].startswith("Plate"):
        raise ParseError(
            "'Plate information' is not followed by its 'Plate,Repeat,Barcode,...' header", name, title_line
        )
    header = split_cells(lines[index + 1], delimiter)
    values = split_cells(lines[index + 2], delimiter)
    if not lines[index + 2].strip() or len(values) < 3:
        raise ParseError("the plate information row under the header is missing", name, index + 3)
    info = {key.strip().lower(): value.strip() for key, value in zip(header, values, strict=False) if key.strip()}
    block = _PlateBlock(line=title_line, info=info)
    index = _skip_section(lines, index + 2)
    while index < len(lines):
        stripped = lines[index].strip()
        if not stripped:
            index += 1
            continue
        if _is_title(stripped, delimiter):
            if stripped.startswith(("Results", "Calculated results")):
                block.title = stripped
                index += 1
                continue
            if stripped.startswith("Plate information") or stripped.startswith(_FOOTER_TITLES):
                break
            index = _skip_section(lines, index)
            continue
        if stripped.startswith(_PLATE_HEADERS[delimiter]):
            break
        index = _read_data(lines, index, delimiter, block, name)
        break
    return block, index


def _read_data(lines: list[str], index: int, delimiter: str, block: _PlateBlock, name: str) -> int:
    """Read the block's grid (or list) starting at ``lines[index]``; return the index after it."""
    block.grid_line = index + 1
    first = _trimmed_cells(lines[index], delimiter)
    if any(cell.strip().lower() == "well" for cell in first):
        block.list_header = [cell.strip().lower() for cell in first]
        index += 1
    elif first and not first[0].strip() and len(first) > 1 and first[1].strip().isdigit():
        numbers = [cell.strip() for cell in first[1:]]
        if (
            any(not number.isdigit() for number in numbers)
            or any(int(a) >= int(b) for a, b in pairwise(numbers))
            or int(numbers[0]) < 1
        ):
            raise ParseError(
                f"the grid's column header {','.join(numbers)} is not a rising list of column numbers", name, index + 1
            )
        block.column_numbers = [int(number) for number in numbers]
        block.row_labels = []
        index += 1
    while index < len(lines):
        line = lines[index]
        if not line.strip() or _is_title(line, delimiter):
            break
        cells = split_cells(line, delimiter)
        if block.row_labels is not None:
            block.row_labels.append(cells[0].strip())
            cells = cells[1:]
        block.rows.append(cells)
        index += 1
    block.ended_at_eof = index >= len(lines)
    return index


def _trimmed_cells(line: str, delimiter: str) -> list[str]:
    cells = split_cells(line, delimiter)
    if len(cells) > 1 and line.rstrip().endswith(delimiter) and not cells[-1].strip():
        cells = cells[:-1]
    return cells


def _read_footer(lines: list[str], start: int, delimiter: str) -> _Footer:
    footer = _Footer()
    section = ""
    item: dict[str, str] | None = None
    for line in lines[start:]:
        stripped = line.strip()
        if not stripped:
            item = None
            continue
        if stripped.startswith("Exported with "):
            footer.exported_with = stripped[len("Exported with ") :].rstrip(delimiter)
            continue
        cells = split_cells(stripped, delimiter)
        key = cells[0].strip().rstrip(":").strip()
        value = next((cell.strip() for cell in reversed(cells[1:]) if cell.strip()), "")
        if len(cells) == 1 or not any(cell.strip() for cell in cells[1:]):
            if stripped.rstrip(delimiter).endswith(":"):
                section, item = key.lower(), None
            continue
        if section in ("labels", "filters") and item is None:
            item = {"id": value}
            (footer.labels if section == "labels" else footer.filters)[key] = item
            continue
        if item is not None:
            item.setdefault(key.lower(), value)
        else:
            footer.values.setdefault(key.lower(), value)
    return footer


def _clean_text(value: str) -> str:
    """EnVision writes text that Excel must not turn into numbers as ``="..."``."""
    value = value.strip()
    if value.startswith('="') and value.endswith('"'):
        value = value[2:-1]
    return value.strip().strip('"').strip()


def _filter_wavelength(footer: _Footer, filter_name: str | None) -> float | None:
    """The centre wavelength of a named filter (longpass cut-offs are no read wavelength)."""
    if not filter_name:
        return None
    description = footer.filters.get(filter_name, {}).get("description", "")
    match = _CWL_RE.search(description)
    return float(match.group(1).replace(",", ".")) if match else None


def _measurement_of(label: str, settings: dict[str, str], measinfo: str) -> str:
    technology = _TECHNOLOGY_BY_LABEL_ID.get(settings.get("id", "")[:1])
    if technology:
        return technology
    lowered = label.lower()
    if "alpha" in lowered:
        return "alphascreen"
    if _ABSORBANCE_LABEL_RE.search(label) or "absorb" in lowered or "photometr" in lowered:
        return "absorbance"
    if "lum" in lowered or "lum" in measinfo.lower():
        return "luminescence"
    if "fluor" in lowered or "trf" in lowered or "lance" in lowered or "delfia" in lowered:
        return "fluorescence"
    if "excitation time" in settings and "emission time" in settings:
        return "alphascreen"
    if "exc. filter" in settings and "ems. filter" not in settings:
        return "absorbance"
    return "fluorescence"


def _describe_read(block: _PlateBlock, footer: _Footer) -> _Read:
    raw_label = block.info.get("label", "")
    label = _LABEL_REPEAT_RE.sub("", raw_label).strip()
    settings = footer.labels.get(label, {})
    measinfo = block.info.get("measinfo", "")
    detector_match = _DETECTOR_RE.search(measinfo)
    detector = detector_match.group(1) if detector_match else ""
    measurement = _measurement_of(label, settings, measinfo)
    excitation = first_number(settings.get("excitation wavelength")) or _filter_wavelength(
        footer, settings.get("exc. filter")
    )
    if detector == "2nd":
        emission = first_number(settings.get("2nd emission wavelength")) or _filter_wavelength(
            footer, settings.get("2nd ems. filter")
        )
    else:
        emission = first_number(settings.get("emission wavelength")) or _filter_wavelength(
            footer, settings.get("ems. filter")
        )
    unit_match = _TITLE_UNIT_RE.search(block.title)
    unit = unit_match.group(1).strip() if unit_match else ""
    unit = "AU" if unit == "A" else unit or DEFAULT_UNITS.get(measurement, "")
    if measurement == "absorbance":
        wavelength = excitation
        if wavelength is None and (match := _ABSORBANCE_LABEL_RE.search(label)):
            wavelength = float(match.group(1) or match.group(2))
        channel = f"{wavelength:g}" if wavelength is not None else measurement
        return _Read(measurement, channel, unit, wavelength, None, raw_label, detector)
    if excitation is not None and emission is not None and measurement == "fluorescence":
        channel = f"{excitation:g}/{emission:g}"
    elif emission is not None:
        channel = f"{emission:g}"
    elif excitation is not None and measurement == "fluorescence":
        channel = f"{excitation:g}"
    else:
        channel = measurement
    return _Read(
        measurement, channel, unit, emission, excitation if measurement == "fluorescence" else None, raw_label, detector
    )


def _plate_ids(blocks: list[_PlateBlock], stem: str) -> dict[str, str]:
    """Plate number -> plate id: the barcode when the file has one, else the file stem (numbered when several)."""
    barcodes: dict[str, str] = {}
    for block in blocks:
        barcodes.setdefault(block.info.get("plate", ""), _clean_text(block.info.get("barcode", "")))
    owners: dict[str, int] = defaultdict(int)
    for barcode in barcodes.values():
        owners[barcode] += 1
    ids = {}
    for number, barcode in barcodes.items():
        if barcode and owners[barcode] == 1:
            ids[number] = barcode
        elif barcode:
            ids[number] = f"{barcode} plate {number}"
        else:
            ids[number] = stem if len(barcodes) == 1 else f"{stem} plate {number}"
    return ids


def _stated_format(footer: _Footer) -> int | None:
    wells = first_number(footer.values.get("number of the wells in the plate"))
    if wells is None:
        return None
    rows, columns = (
        first_number(footer.values.get("number of rows")),
        first_number(footer.values.get("number of columns")),
    )
    if int(wells) in GEOMETRY:
        return int(wells)
    if rows and columns:
        return plate_format_for(int(rows), int(columns))
    raise ParseError(f"the plate type states {wells:g} wells, which is not a standard plate (96, 384, 1536 ...)")


def _grid_cells(block: _PlateBlock, plate_format: int | None, name: str) -> tuple[int, list[tuple[int, int, str]]]:
    """The plate format and ``(row, column, cell)`` of a grid block, after checking its shape.

    A grid with row letters and column numbers may cover part of a plate (EnVision reads a selected area, e.g.
    rows A, E, I, M only); a bare grid of values must cover the whole plate.
    """
    if block.row_labels is not None:
        return _labelled_grid_cells(block, plate_format, name)
    first = block.rows[0] if block.rows else []
    columns = len(first) - 1 if len(first) > 1 and not first[-1].strip() else len(first)
    rows = len(block.rows)
    if plate_format is None:
        try:
            plate_format = plate_format_for(rows, columns)
        except ParseError:
            raise ParseError(
                f"the grid has {rows} rows x {columns} columns, which is not a whole plate, and the file states no "
                "plate type; the file may be truncated or edited",
                name,
                block.grid_line,
            ) from None
    expected_rows, expected_columns = GEOMETRY[plate_format]
    if columns != expected_columns:
        raise ParseError(
            f"the grid has {columns} columns but a {plate_format}-well plate has {expected_columns}",
            name,
            block.grid_line,
        )
    if rows != expected_rows:
        raise ParseError(
            f"the grid has {rows} rows but a {plate_format}-well plate has {expected_rows}; a row is missing or extra "
            "(the file may be truncated or edited)",
            name,
            block.grid_line,
        )
    return plate_format, grid_cells(range(1, rows + 1), range(1, columns + 1), block.rows, block.grid_line, name)


def _labelled_grid_cells(
    block: _PlateBlock, plate_format: int | None, name: str
) -> tuple[int, list[tuple[int, int, str]]]:
    rows = grid_row_numbers(block.row_labels or [], block.grid_line + 1, name, gaps=True)
    columns = block.column_numbers
    if plate_format is None:
        plate_format = smallest_plate_format(rows[-1], columns[-1])
    check_well_inside(rows[-1], columns[-1], plate_format, name, block.grid_line)
    return plate_format, grid_cells(rows, columns, block.rows, block.grid_line + 1, name)


def _list_cells(block: _PlateBlock, plate_format: int | None, name: str) -> tuple[int, list[tuple[str, str]]]:
    header = block.list_header or []
    well_column = header.index("well")
    value_column = next((header.index(word) for word in _LIST_VALUE_COLUMNS if word in header), len(header) - 1)
    pairs: list[tuple[str, str]] = []
    max_row = max_column = 0
    for offset, cells in enumerate(block.rows, 1):
        if len(cells) <= max(well_column, value_column):
            raise ParseError("a list row has fewer cells than its header", name, block.grid_line + offset)
        well = cells[well_column].strip()
        try:
            row = row_index_of(well.rstrip("0123456789"))
            column = int(well[len(well.rstrip("0123456789")) :])
        except (ParseError, ValueError):
            raise ParseError(f"'{well}' is not a well name", name, block.grid_line + offset) from None
        max_row, max_column = max(max_row, row), max(max_column, column)
        pairs.append((well, cells[value_column]))
    if plate_format is None:
        plate_format = smallest_plate_format(max_row, max_column)
    return plate_format, pairs


def _readings(blocks: list[_PlateBlock], footer: _Footer, delimiter: str, stem: str, name: str) -> Iterator[Reading]:
    stated_format = _stated_format(footer)
    plate_ids = _plate_ids(blocks, stem)
    serial = _clean_text(footer.values.get("serial number") or footer.values.get("serial#") or "") or None
    model = footer.exported_with.split(" Workstation")[0].split(" version")[0].strip() or "EnVision"
    decimal_comma = delimiter != ","
    reads = [_describe_read(block, footer) for block in blocks]
    _separate_colliding_channels(blocks, reads, plate_ids)
    measured_times: dict[tuple[str, str, str], int] = defaultdict(int)
    for block, read in zip(blocks, reads, strict=True):
        measured_times[(plate_ids[block.info.get("plate", "")], read.measurement, read.channel)] += 1
    read_numbers: dict[tuple[str, str, str], int] = defaultdict(int)
    first_read_at: dict[tuple[str, str, str], datetime | None] = {}
    for block, read in zip(blocks, reads, strict=True):
        plate_id = plate_ids[block.info.get("plate", "")]
        series = (plate_id, read.measurement, read.channel)
        read_numbers[series] += 1
        read_at = parse_datetime(block.info.get("measurement date", ""))
        start = first_read_at.setdefault(series, read_at)
        # plate repeats and kinetic cycles are reads of one series, timed from the series' first read
        repeated = measured_times[series] > 1
        elapsed = (read_at - start).total_seconds() if repeated and read_at and start else None
        common = {
            "channel": read.channel,
            "unit": read.unit or None,
            "wavelength_nm": read.wavelength_nm,
            "excitation_nm": read.excitation_nm,
            "read_index": read_numbers[series],
            "elapsed_s": elapsed,
            "vendor": "PerkinElmer",
            "instrument_model": model,
            "instrument_serial": serial,
            "read_at": read_at,
        }
        if block.ended_at_eof and not footer.values and not footer.exported_with:
            raise ParseError(
                "the file ends inside the data of this plate block, with no protocol sections after it; "
                "it looks truncated",
                name,
                block.line,
            )
        if block.list_header is not None:
            plate_format, pairs = _list_cells(block, stated_format, name)
            for well, cell in pairs:
                try:
                    yield make_reading(
                        plate_id, well, plate_format, read.measurement, cell, decimal_comma=decimal_comma, **common
                    )
                except ParseError as error:
                    raise ParseError(error.reason, name, block.grid_line) from None
            continue
        plate_format, cells = _grid_cells(block, stated_format, name)
        yield from grid_readings(cells, plate_id, plate_format, read.measurement, common, decimal_comma=decimal_comma)


def _separate_colliding_channels(blocks: list[_PlateBlock], reads: list[_Read], plate_ids: dict[str, str]) -> None:
    """Two blocks of one plate read at the same repeat and kinetic cycle with the same channel name (e.g. two
    detectors without filters, or two labels of one technology) get the detector and label added to the channel."""
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for position, (block, read) in enumerate(zip(blocks, reads, strict=True)):
        key = (
            plate_ids[block.info.get("plate", "")],
            read.measurement,
            read.channel,
            block.info.get("repeat", ""),
            block.info.get("kinetics", ""),
        )
        groups[key].append(position)
    for positions in groups.values():
        if len(positions) < 2:
            continue
        labels = {reads[position].label for position in positions}
        for position in positions:
            read = reads[position]
            parts = [read.channel]
            if len(labels) > 1:
                parts.append(read.label)
            if read.detector:
                parts.append(read.detector)
            read.channel = " ".join(parts)


PARSER = PerkinElmerEnvisionParser()
