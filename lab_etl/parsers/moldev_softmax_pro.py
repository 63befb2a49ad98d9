"""Molecular Devices SoftMax Pro text exports: the tab-separated ``.txt`` that "Export" writes (export version 1.3,
SoftMax Pro 5.x-7.x, SpectraMax / FlexStation / FilterMax / Emax readers), in UTF-16 (the default), UTF-8 or cp1252.

Covers absorbance, fluorescence and luminescence plates read as endpoint, kinetic or spectrum, exported in Plate
format (plate-shaped grids) or Time format (one column per well), one or several wavelengths per plate, partial plates
(a read area smaller than the plate) and several plates in one file.

Layout, in a few lines::

    ##BLOCKS= 4                                      how many blocks follow, each closed by a ``~End`` line
    Note: ... ~End                                   free text (skipped)
    Plate:<TAB>Plate01<TAB>1.3<TAB>PlateFormat<TAB>Endpoint<TAB>Absorbance<TAB>Raw ...   the read settings
    <TAB>Temperature(°C)<TAB>1<TAB>2 ... 12<TAB><TAB>1 ... 12  Plate format: column numbers, a group per wavelength
    <label><TAB><temp><TAB>v ...                     one grid of plate rows per kinetic point / spectrum wavelength
    Time<TAB>Temperature(°C)<TAB>A1<TAB>A2 ...       Time format: one line per point, a blank line between wavelengths
    <TAB><TAB>1<TAB>2 ... / <TAB><TAB>A1 ...         then the reduced (calculated) values: skipped
    Group: Standards ... ~End                        calculated results: skipped, but their Sample column names wells
    Original Filename: x; Date Last Saved: 11/27/2023 10:43:25 AM

Only the raw reads become readings. A ``Reduced``-only plate holds no raw reads: each well of its read area is given
as a reading with value None and flag ``missing`` so that the run still shows up. Cells outside the stated read area
are read when they hold something and skipped when blank; blanks inside it are kept, flagged ``missing``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from lab_etl.errors import ParseError
from lab_etl.parsers.base import InstrumentParser
from lab_etl.parsers.columns import ReadingColumns, parse_cells
from lab_etl.parsers.files import decode_text, default_plate_id, head_lines
from lab_etl.parsers.reading import Reading, parse_value
from lab_etl.parsers.utils import clock_seconds, parse_datetime, to_float
from lab_etl.plates import GEOMETRY, parse_well, well_name

log = logging.getLogger(__name__)

VENDOR = "Molecular Devices"
_UNITS = {"absorbance": "OD", "fluorescence": "RFU", "luminescence": "RLU"}
_DATA_TYPES = ("Raw", "Reduced", "Both")
_READ_TYPES = ("Endpoint", "Kinetic", "Spectrum")
_FORMATS = ("PlateFormat", "TimeFormat")


@dataclass(frozen=True, slots=True)
class Channel:
    """One raw read of a plate block: a wavelength (pair) of an endpoint/kinetic read, or the whole spectrum."""

    channel: str
    wavelength_nm: float | None = None
    excitation_nm: float | None = None
    sweeps_excitation: bool = False  # a fluorescence excitation scan: its points are excitation wavelengths


@dataclass
class PlateHeader:
    """The settings a ``Plate:`` line states, already interpreted."""

    name: str
    export_format: str
    read_type: str
    measurement: str
    data_type: str
    points: int
    channels: list[Channel]
    plate_format: int
    rows: int
    columns: int
    read_area: tuple[int, int, int, int]  # first row, last row, first column, last column
    scan_nm: list[float] = field(default_factory=list)  # the wavelengths of a spectrum, in read order


@dataclass
class _Block:
    kind: str
    start: int  # 0-based index of the block's first line
    lines: list[str]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("\t")]


def _int(text: str, default: int | None = None) -> int | None:
    try:
        return int(float(text.replace(",", ".")))
    except (ValueError, OverflowError):
        return default


def _nm(number: float | None) -> str:
    return "" if number is None else f"{number:g}"


def _is_blank(line: str) -> bool:
    return not line.strip()


class SoftMaxProParser(InstrumentParser):
    """Reads SoftMax Pro text exports (``##BLOCKS=`` files) into one reading per well x wavelength x read.

    ``plate_id`` is the plate section's name (unique within a file; a repeated name is a :class:`ParseError` because
    plate maps join on it), ``sample_name`` comes from the ``Sample`` column of the file's Group tables, ``read_at``
    from the "Date Last Saved" footer (the export states no read time). Absorbance is in OD, fluorescence in RFU,
    luminescence in RLU. Kinetic reads number their points 1..n with ``elapsed_s``; spectra number theirs 1..n with
    the point's ``wavelength_nm`` and channel ``scan`` (fluorescence: ``485/scan`` or ``scan/520``).
    """

    name = "moldev_softmax_pro"
    display_name = "Molecular Devices SoftMax Pro"
    vendor = VENDOR
    extensions = (".txt",)

    def sniff(self, head: str) -> bool:
        for line in head_lines(head):
            text = line.strip()
            if text:
                if not text.startswith("##BLOCKS="):
                    return False
                return text[9:].strip()[:1].isdigit()
        return False

    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        for plate in self._plates(data, name):
            yield from plate.readings()

    def parse_columns(self, data: bytes, name: str) -> ReadingColumns:
        columns = ReadingColumns()
        cache: dict[str, tuple[float | None, str | None]] = {}
        for plate in self._plates(data, name):
            plate.add_columns(columns, cache)
        return columns

    def _plates(self, data: bytes, name: str) -> Iterator[_PlateReadings]:
        text = decode_text(data, name).lstrip("\ufeff")
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        blocks, saved_at = _split_blocks(lines, name)
        plates = [block for block in blocks if block.kind == "Plate"]
        if not plates:
            kinds = ", ".join(sorted({block.kind for block in blocks})) or "none"
            raise ParseError(
                f"the file has no measurement data: it holds no 'Plate:' section (blocks: {kinds}); export the plate "
                "data from SoftMax Pro, not only notes or group tables",
                name,
            )
        headers = [_parse_header(block, name) for block in plates]
        seen: dict[str, int] = {}
        for header, block in zip(headers, plates, strict=True):
            if header.name in seen:
                raise ParseError(
                    f"two plate sections are both named '{header.name}' (lines {seen[header.name] + 1} and "
                    f"{block.start + 1}); plate ids must be unique in a file: rename one plate section in SoftMax Pro "
                    "and export again",
                    name,
                    block.start + 1,
                )
            seen[header.name] = block.start
        samples = _samples(blocks, [h.name for h in headers])
        for header, block in zip(headers, plates, strict=True):
            yield _PlateReadings(header, block, samples, saved_at, name)


def _split_blocks(lines: list[str], source: str) -> tuple[list[_Block], datetime | None]:
    """The file's blocks (``Plate``, ``Group``, ``Note``, ...) in order, and the "Date Last Saved" footer's time."""
    index = 0
    while index < len(lines) and _is_blank(lines[index]):
        index += 1
    first = lines[index].strip() if index < len(lines) else ""
    declared = _int(first[9:].strip()) if first.startswith("##BLOCKS=") else None
    if declared is None:
        raise ParseError(
            f"this is not a SoftMax Pro text export: its first line should be '##BLOCKS= n', found '{first[:40]}'",
            source,
            index + 1,
        )
    blocks: list[_Block] = []
    saved_at: datetime | None = None
    current: _Block | None = None
    extra = 0
    for number in range(index + 1, len(lines)):
        line = lines[number]
        if current is not None:
            ending = line.rstrip()
            if ending.endswith("~End"):
                # older exports may close a block on the last data line itself ("...<TAB>0.123~End")
                if ending[:-4].strip():
                    current.lines.append(ending[:-4])
                blocks.append(current)
                current = None
            else:
                current.lines.append(line)
            continue
        if _is_blank(line):
            continue
        if "Date Last Saved:" in line:
            saved_at = _saved_at(line)
            continue
        if len(blocks) == declared:
            extra += 1
            continue
        kind = line.split(":", 1)[0].strip() if ":" in line.split("\t", 1)[0] else "Unknown"
        current = _Block(kind, number, [line])
    if current is not None:
        raise ParseError(
            f"the file ends inside the '{current.kind}' block that starts on line {current.start + 1} (no '~End' "
            "line closes it): the export is truncated; export it again from SoftMax Pro",
            source,
            current.start + 1,
        )
    if not blocks and declared:
        raise ParseError(
            f"the file has no measurement data: nothing follows its '##BLOCKS= {declared}' line (no 'Plate:' "
            "section); export the plate data from SoftMax Pro again",
            source,
            index + 1,
        )
    if len(blocks) < declared:
        raise ParseError(
            f"the file declares {declared} blocks ('##BLOCKS= {declared}') but holds only {len(blocks)}: the export "
            "is truncated; export it again from SoftMax Pro",
            source,
            index + 1,
        )
    if extra:
        # SoftMax writes the count itself; lines past the declared blocks are not part of the export
        log.warning("%s: %s lines after the %s declared blocks are ignored", source, extra, declared)
    return blocks, saved_at


def _saved_at(line: str) -> datetime | None:
    return parse_datetime(line.split("Date Last Saved:", 1)[1])


def _parse_header(block: _Block, source: str) -> PlateHeader:
    """Interpret a ``Plate:`` line. Fluorescence headers carry one more field (read from bottom) before the data
    type; absorbance headers end after the read area, fluorescence/luminescence ones go on with filter settings.
    """
    fields = _cells(block.lines[0])
    line = block.start + 1
    stem = default_plate_id(source)

    def get(index: int) -> str:
        return fields[index] if index < len(fields) else ""

    name = get(1) or stem
    if get(6) in _DATA_TYPES:
        offset = 0
    elif get(7) in _DATA_TYPES:
        offset = 1
    else:
        raise ParseError(f"plate '{name}': the Plate line names no data type (Raw, Reduced or Both)", source, line)
    export_format, read_type, mode = get(3), get(4), get(5)
    if export_format not in _FORMATS:
        raise ParseError(
            f"plate '{name}': unknown export format '{export_format}' (expected PlateFormat or TimeFormat)",
            source,
            line,
        )
    if read_type not in _READ_TYPES:
        raise ParseError(
            f"plate '{name}': read type '{read_type}' is not supported (Endpoint, Kinetic or Spectrum)", source, line
        )
    if not mode:
        raise ParseError(f"plate '{name}': the Plate line names no read mode (Absorbance, ...)", source, line)
    measurement = mode.lower().replace(" ", "_")
    absorbance = measurement == "absorbance"
    wells = _int(get(18 + offset), 0) or 0
    if wells not in GEOMETRY:
        known = ", ".join(str(k) for k in GEOMETRY)
        raise ParseError(
            f"plate '{name}': '{get(18 + offset)}' is not a plate size (number of wells: {known})", source, line
        )
    rows, columns = GEOMETRY[wells]
    first_row_at = 19 if absorbance else 28 + offset
    first_col = _int(get(16 + offset), 1) or 1
    n_cols = _int(get(17 + offset), columns) or columns
    first_row = _int(get(first_row_at), 1) or 1
    n_rows = _int(get(first_row_at + 1), rows) or rows
    area = (first_row, first_row + n_rows - 1, first_col, first_col + n_cols - 1)
    if not (1 <= area[0] <= area[1] <= rows and 1 <= area[2] <= area[3] <= columns):
        area = (1, rows, 1, columns)
    points = _int(get(8 + offset), 1) or 1
    emission = _wavelengths(get(15 + offset), name, source, line)
    excitation = [] if absorbance else _wavelengths(get(19 + offset), name, source, line)
    scan: list[float] = []
    if read_type == "Spectrum":
        scan = _scan_wavelengths(get(11 + offset), get(12 + offset), get(13 + offset), name, source, line)
        channels = [
            _scan_channel(
                measurement, get(22 + offset), to_float(get(23 + offset), decimal_comma=True), emission, excitation
            )
        ]
    else:
        declared = _int(get(14 + offset), 1) or 1
        if not emission and not absorbance and declared == 1:
            emission = [None]  # luminescence without an emission filter may leave the wavelength out
        if len(emission) != declared or (excitation and len(excitation) != declared):
            raise ParseError(
                f"plate '{name}': the Plate line states {declared} wavelength(s) but lists {len(emission)} "
                f"('{get(15 + offset)}') and {len(excitation)} excitation wavelength(s)",
                source,
                line,
            )
        channels = _read_channels(measurement, emission, excitation)
    return PlateHeader(
        name, export_format, read_type, measurement, get(6 + offset), points, channels, wells, rows, columns, area, scan
    )


def _wavelengths(text: str, plate: str, source: str, line: int) -> list[float | None]:
    """A Plate line's space-separated wavelength list; 0 (luminescence without a filter) becomes None."""
    found: list[float | None] = []
    for part in text.split():
        number = to_float(part, decimal_comma=True)
        if number is None:
            raise ParseError(f"plate '{plate}': wavelength '{part}' on the Plate line is not a number", source, line)
        found.append(number or None)
    return found


def _read_channels(measurement: str, emission: list[float | None], excitation: list[float | None]) -> list[Channel]:
    channels = []
    for index, em in enumerate(emission):
        ex = excitation[index] if excitation else None
        label = f"{_nm(ex)}/{_nm(em)}" if ex and em else _nm(em) or measurement
        channels.append(Channel(label, em, ex))
    labels = [c.channel for c in channels]
    if len(set(labels)) < len(labels):
        # SoftMax calls the reads of a plate Lm1, Lm2, ...; that label keeps repeated wavelengths apart
        channels = [Channel(f"{c.channel} Lm{i}", c.wavelength_nm, c.excitation_nm) for i, c in enumerate(channels, 1)]
    return channels


def _scan_wavelengths(
    start_text: str, end_text: str, step_text: str, plate: str, source: str, line: int
) -> list[float]:
    start, end, step = (
        to_float(start_text, decimal_comma=True),
        to_float(end_text, decimal_comma=True),
        to_float(step_text, decimal_comma=True),
    )
    if start is None or end is None or not step or (end - start) / step < 0:
        raise ParseError(
            f"plate '{plate}': a spectrum read needs start, end and step wavelengths on the Plate line, found "
            f"'{start_text}', '{end_text}', '{step_text}'",
            source,
            line,
        )
    return [start + step * i for i in range(round((end - start) / step) + 1)]


def _scan_channel(
    measurement: str, sweep: str, fixed_nm: float | None, emission: list[float | None], excitation: list[float | None]
) -> Channel:
    """The channel of a spectrum: ``scan`` for absorbance and luminescence; a fluorescence scan names its fixed side,
    ``485/scan`` for an emission sweep (``EmSweep``), ``scan/520`` for an excitation sweep (``ExSweep``)."""
    if measurement != "fluorescence":
        return Channel("scan")
    if sweep.lower().startswith("ex"):
        em = fixed_nm or next((e for e in emission if e), None)
        return Channel(f"scan/{_nm(em)}" if em else "excitation scan", em, None, sweeps_excitation=True)
    ex = fixed_nm or next((e for e in excitation if e), None)
    return Channel(f"{_nm(ex)}/scan" if ex else "scan", None, ex)


def _samples(blocks: list[_Block], plate_names: list[str]) -> dict[tuple[str, str], str]:
    """Sample names by (plate, well) from the Group tables' ``Sample`` and ``Well(s)`` columns.

    With a single plate every group row names a well of it; with several, only rows that give ``WellPlateName`` do.
    """
    found: dict[tuple[str, str], str] = {}
    single = plate_names[0] if len(plate_names) == 1 else None
    for block in blocks:
        if block.kind != "Group" or len(block.lines) < 2:
            continue
        header = _cells(block.lines[1])
        if "Sample" not in header:
            continue
        sample_at = header.index("Sample")
        well_at = next((header.index(k) for k in ("Well", "Wells") if k in header), None)
        plate_at = header.index("WellPlateName") if "WellPlateName" in header else None
        if well_at is None:
            continue
        sample = ""
        for line in block.lines[2:]:
            if _is_blank(line):
                break
            cells = _cells(line)
            if sample_at < len(cells) and cells[sample_at]:
                sample = cells[sample_at]
            if well_at >= len(cells) or not sample:
                continue
            try:
                well = well_name(*parse_well(cells[well_at]))
            except ParseError:
                continue
            plate = cells[plate_at] if plate_at is not None and plate_at < len(cells) and cells[plate_at] else None
            plate = single or plate
            if plate is not None:
                found[(plate, well)] = sample
    return found


#: One cell that becomes a reading: row, column, text (None: not in the file), channel, read index and the
#: read point (wavelength_nm, excitation_nm, elapsed_s) of :meth:`_PlateReadings.point`.
_Cell = tuple[int, int, str | None, Channel, int, tuple[float | None, float | None, float | None]]


class _PlateReadings:
    """Turns the cells of one plate block into readings: knows the plate's settings, samples and read area."""

    def __init__(
        self,
        header: PlateHeader,
        block: _Block,
        samples: dict[tuple[str, str], str],
        saved_at: datetime | None,
        source: str,
    ) -> None:
        self.header = header
        self.block = block
        self.samples = samples
        self.saved_at = saved_at
        self.source = source
        self.unit = _UNITS.get(header.measurement)
        self.wells: dict[tuple[int, int], str] = {}

    def error(self, reason: str, index: int) -> ParseError:
        """A ParseError about the plate, at line ``index`` of its block (0 = the Plate line)."""
        return ParseError(f"plate '{self.header.name}': {reason}", self.source, self.block.start + index + 1)

    def in_area(self, row: int, column: int) -> bool:
        first_row, last_row, first_col, last_col = self.header.read_area
        return first_row <= row <= last_row and first_col <= column <= last_col

    def point(self, channel: Channel, read_index: int, label: str) -> tuple[float | None, float | None, float | None]:
        """(wavelength_nm, excitation_nm, elapsed_s) of one read point; ``label`` is the first cell of its line or
        grid: the time of a kinetic point, the wavelength of a spectrum point."""
        header = self.header
        wavelength_nm, excitation_nm, elapsed_s = channel.wavelength_nm, channel.excitation_nm, None
        if header.read_type == "Kinetic":
            elapsed_s = clock_seconds(label, decimal_comma=True) if label else None
        elif header.read_type == "Spectrum":
            point_nm = to_float(label, decimal_comma=True) if label else None
            if point_nm is None and read_index <= len(header.scan_nm):
                point_nm = header.scan_nm[read_index - 1]
            if channel.sweeps_excitation:
                excitation_nm = point_nm
            else:
                wavelength_nm = point_nm
        return wavelength_nm, excitation_nm, elapsed_s

    def reading(
        self,
        row: int,
        column: int,
        cell: str | None,
        channel: Channel,
        read_index: int = 1,
        point: tuple[float | None, float | None, float | None] = (None, None, None),
    ) -> Reading:
        """One reading of a cell (None: the cell is not in the file); ``point`` comes from :meth:`point`."""
        header = self.header
        value: float | None = None
        flag: str | None = None
        if not cell:
            flag = "missing"  # a blank inside the read area, or a cell the file does not hold (None)
        else:
            try:
                value = float(cell)
            except ValueError:
                value = None
            if value is None or not math.isfinite(value) or "_" in cell:
                value, flag, _ = parse_value(cell, decimal_comma=True)
                if cell.lower() == "masked":
                    flag = "masked"
        well = self.wells.get((row, column)) or self.wells.setdefault((row, column), well_name(row, column))
        return Reading(
            plate_id=header.name,
            well=well,
            row_index=row,
            column_index=column,
            plate_format=header.plate_format,
            measurement=header.measurement,
            value=value,
            raw_value=cell,
            channel=channel.channel,
            unit=self.unit,
            flag=flag,
            wavelength_nm=point[0],
            excitation_nm=point[1],
            read_index=read_index,
            elapsed_s=point[2],
            sample_name=self.samples.get((header.name, well)),
            vendor=VENDOR,
            read_at=self.saved_at,
        )

    def readings(self) -> Iterator[Reading]:
        for cell in self.cells():
            yield self.reading(*cell)

    def add_columns(self, columns: ReadingColumns, cache: dict[str, tuple[float | None, str | None]]) -> None:
        """Add the readings of :meth:`readings`, in the same order, to ``columns`` (no :class:`Reading` per cell)."""
        found = list(self.cells())
        if not found:
            return
        rows, column_indices, cells, channels, read_indices, points = (list(part) for part in zip(*found, strict=True))
        values, flags = parse_cells(["" if cell is None else cell for cell in cells], decimal_comma=True, cache=cache)
        if any(flags):
            flags = [
                "masked" if flag and cell and cell.lower() == "masked" else flag for flag, cell in zip(flags, cells)
            ]
        names = self.wells
        wells = [
            names.get(key) or names.setdefault(key, well_name(*key)) for key in zip(rows, column_indices, strict=True)
        ]
        plate = self.header.name
        wavelengths, excitations, elapsed = (list(part) for part in zip(*points, strict=True))
        columns.extend(
            len(found),
            plate_id=plate,
            well=wells,
            row_index=rows,
            column_index=column_indices,
            plate_format=self.header.plate_format,
            measurement=self.header.measurement,
            value=values,
            raw_value=cells,
            channel=[channel.channel for channel in channels],
            unit=self.unit,
            flag=flags,
            wavelength_nm=wavelengths,
            excitation_nm=excitations,
            read_index=read_indices,
            elapsed_s=elapsed,
            sample_name=[self.samples.get((plate, well)) for well in wells] if self.samples else None,
            vendor=VENDOR,
            read_at=self.saved_at,
        )

    def cells(self) -> Iterator[_Cell]:
        """Every cell that becomes a reading, in file order, with its read channel and point."""
        header = self.header
        if header.data_type == "Reduced":
            # a Reduced-only export holds calculated values, no raw read: report the read area's wells as missing
            first_row, last_row, first_col, last_col = header.read_area
            for channel in header.channels:
                for row in range(first_row, last_row + 1):
                    for column in range(first_col, last_col + 1):
                        yield (row, column, None, channel, 1, self.point(channel, 1, ""))
        elif header.export_format == "PlateFormat":
            yield from self.plate_format()
        else:
            yield from self.time_format()

    def plate_format(self) -> Iterator[_Cell]:
        """Plate format: a column header, then one grid of plate rows per kinetic point or spectrum wavelength, the
        wavelengths of an endpoint/kinetic read side by side in column groups."""
        header, lines = self.header, self.block.lines
        if len(lines) < 2:
            raise self.error("the plate block has no data", 0)
        labels = _cells(lines[1])
        groups: list[list[tuple[int, int]]] = [[]]
        for index in range(2, len(labels)):
            if not labels[index]:
                if groups[-1]:
                    groups.append([])
                continue
            column = _int(labels[index])
            if column is None or not 1 <= column <= header.columns:
                raise self.error(
                    f"column header '{labels[index]}' is not a column of a {header.plate_format}-well plate", 1
                )
            groups[-1].append((index, column))
        groups = [group for group in groups if group]
        if len(groups) != len(header.channels):
            raise self.error(
                f"the Plate line states {len(header.channels)} read(s) but the grid header has "
                f"{len(groups)} column group(s)",
                1,
            )
        # the reduced grid that may follow the raw ones has one column group: "<TAB><TAB>1<TAB>2 ..."
        reduced_header = ["", ""] + [labels[index] for index, _ in groups[0]]
        grids = 1 if header.read_type == "Endpoint" else header.points
        position = 2
        for grid in range(1, grids + 1):
            while position < len(lines) and "\t" not in lines[position] and not lines[position].strip():
                position += 1
            if position >= len(lines) or _cells(lines[position])[: len(reduced_header)] == reduced_header:
                if header.read_type == "Kinetic" and grid > 1:
                    log.warning(
                        "%s: plate '%s' holds %s of %s kinetic reads (run stopped early?)",
                        self.source,
                        header.name,
                        grid - 1,
                        grids,
                    )
                    return
                raise self.error(f"expected {grids} data grid(s) of {header.rows} rows, found {grid - 1}", position)
            rows: list[list[str]] = []
            for line in lines[position : position + header.rows]:
                if "\t" not in line and not line.strip():
                    break
                rows.append(line.split("\t"))
            if len(rows) < header.rows:
                raise self.error(
                    f"the data grid starting on line {self.block.start + position + 1} has {len(rows)} "
                    f"rows, a {header.plate_format}-well plate has {header.rows}",
                    position,
                )
            # in a partial plate the time / wavelength and temperature sit on the first row read
            label = next((cells[0].strip() for cells in rows if cells[0].strip()), "")
            read_index = 1 if header.read_type == "Endpoint" else grid
            for group, channel in zip(groups, header.channels, strict=True):
                point = self.point(channel, read_index, label)
                for row, cells in enumerate(rows, start=1):
                    for index, column in group:
                        cell = cells[index].strip() if index < len(cells) else None
                        if not cell and not self.in_area(row, column):
                            continue
                        if cell is None:
                            raise self.error(
                                f"row {row} of the data grid stops before column {column} of the read area",
                                position + row - 1,
                            )
                        yield (row, column, cell, channel, read_index, point)
            position += header.rows

    def time_format(self) -> Iterator[_Cell]:
        """Time format: a header of well names, then one line per kinetic point or spectrum wavelength; the
        wavelengths of an endpoint/kinetic read follow each other, separated by blank lines."""
        header, lines = self.header, self.block.lines
        if len(lines) < 2:
            raise self.error("the plate block has no data", 0)
        labels = _cells(lines[1])
        while labels and not labels[-1]:
            labels.pop()
        wells: list[tuple[int, int, int]] = []
        named: set[tuple[int, int]] = set()
        for index in range(2, len(labels)):
            if labels[index]:
                try:
                    row, column = parse_well(labels[index], header.plate_format)
                except ParseError:
                    raise self.error(
                        f"column header '{labels[index]}' is not a well of a {header.plate_format}-well plate", 1
                    ) from None
                if (row, column) in named:
                    raise self.error(f"the header names well {labels[index]} twice", 1)
                named.add((row, column))
                wells.append((index, row, column))
        reduced_header = ["", "", *labels[2:]]
        runs: list[list[tuple[int, list[str]]]] = [[]]
        for number in range(2, len(lines)):
            line = lines[number]
            if _is_blank(line):
                if runs[-1]:
                    runs.append([])
                continue
            cells = line.split("\t")
            if [cell.strip() for cell in cells[: len(reduced_header)]] == reduced_header:
                break  # the reduced (calculated) values start here
            runs[-1].append((number, cells))
        runs = [run for run in runs if run]
        data_lines = [item for run in runs for item in run]
        channels = header.channels
        if not data_lines:
            raise self.error("the plate block has no data lines", 1)
        if header.read_type == "Spectrum":
            per_channel = [data_lines]
        elif header.read_type == "Endpoint":
            if len(data_lines) != len(channels):
                raise self.error(
                    f"expected one data line per wavelength ({len(channels)}), found {len(data_lines)}",
                    data_lines[0][0],
                )
            per_channel = [[item] for item in data_lines]
        elif len(runs) == len(channels):
            per_channel = runs
        elif len(data_lines) % len(channels) == 0:
            size = len(data_lines) // len(channels)
            per_channel = [data_lines[i : i + size] for i in range(0, len(data_lines), size)]
        else:
            raise self.error(
                f"cannot split {len(data_lines)} kinetic lines into {len(channels)} wavelengths", data_lines[0][0]
            )
        for channel, items in zip(channels, per_channel, strict=True):
            for read_index, (number, cells) in enumerate(items, start=1):
                point = self.point(channel, read_index, cells[0].strip())
                for index, row, column in wells:
                    cell = cells[index].strip() if index < len(cells) else None
                    if not cell and not self.in_area(row, column):
                        continue
                    if cell is None:
                        raise self.error(
                            f"the data line has {len(cells) - 2} values but the header names "
                            f"{len(wells)} wells; the line stops before well {labels[index]}",
                            number,
                        )
                    yield (row, column, cell, channel, read_index, point)


PARSER = SoftMaxProParser()
