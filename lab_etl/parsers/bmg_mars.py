"""BMG Labtech MARS CSV exports (PHERAstar, CLARIOstar, FLUOstar/POLARstar/LUMIstar Omega, SPECTROstar).

MARS writes one test run per file: ``Key: value`` header cells (``User``, ``Path``, ``Test run no.`` /
``Test ID``, ``Test name``, ``Date``, ``Time``, ``ID1`` .. ``ID3``), a mode line (``Absorbance``,
``Fluorescence (FI)``, ``Luminescence``, ``Absorbance spectrum`` ...), then the data in one of two views::

    Raw Data (485/520)                      <- section title: what was read, filters in brackets
    ,1,2,3,...,24                           <- microplate view: one grid per section
    A,23864,23796,...                          rows A..Z, then BMG's lowercase a..f in 1536 plates

    Well,Content,Raw Data (470 1),Raw Data (600 2)      <- table view: one line per well
    A01,Sample X1,0.158,0.042                           (or ``Well Row,Well Col,Content,...``)

In the table view an axis line under the titles (``,,Time,0 h ,0 h 15 min`` or
``,Wavelength [nm],350,351``) makes each column a kinetic point or a spectrum point. Cells are
separated by commas or semicolons (then decimal commas are allowed). Only raw reads become readings:
sections and columns MARS calculated (``Blank corrected based on ...``, ``Average over replicates ...``,
concentrations, ratios) are skipped. Several header blocks in one file are read as several plates.
"""

from __future__ import annotations

import csv
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from lab_etl.errors import ParseError
from lab_etl.parsers.base import LinePass, LinePassParser
from lab_etl.parsers.reading import Reading, make_reading
from lab_etl.parsers.utils import is_digits, parse_timestamp, sniff_delimiter, to_float
from lab_etl.plates import GEOMETRY, smallest_plate_format

#: Title prefixes of sections and table columns that hold what the reader measured.
_RAW_TITLES = ("raw data", "well scan")
#: Words in a title that mark a value MARS calculated from the raw data.
_CALCULATED_WORDS = ("based on", "corrected", "average over", "ratio", "concentration", "mean", "fit")
#: Mode line keyword -> measurement, checked in this order (``fluorescence polarization`` is fluorescence).
_MODES = (
    ("absorbance", "absorbance"),
    ("luminescence", "luminescence"),
    ("alphascreen", "alphascreen"),
    ("alphalisa", "alphascreen"),
    ("nephelometry", "nephelometry"),
    ("fluorescence", "fluorescence"),
    ("time-resolved", "fluorescence"),
    ("(fi)", "fluorescence"),
    ("(fp)", "fluorescence"),
    ("(trf)", "fluorescence"),
)
_UNITS = {"absorbance": "OD", "fluorescence": "RFU", "luminescence": "RLU", "alphascreen": "RLU"}
#: Header keys that open a new plate when they appear after data (a second run in the same file).
_PLATE_START_KEYS = {"user", "test name", "test run no.", "test id"}
_TIME_UNITS = {"h": 3600.0, "hr": 3600.0, "min": 60.0, "m": 60.0, "s": 1.0, "sec": 1.0, "ms": 0.001}


@dataclass
class _Filters:
    """What a section title says about the read: wavelengths, and whether it is a spectrum scan."""

    emission: float | None = None
    excitation: float | None = None
    scan: str | None = None  # "abs", "ex" or "em" for spectra
    label: str = ""


@dataclass
class _Plate:
    """The header of one run: where readings get their plate id, time and instrument from."""

    header: dict[str, str] = field(default_factory=dict)
    measurement: str | None = None
    has_data: bool = False


@dataclass
class _Column:
    """One value column of a table view."""

    index: int
    title: str
    raw: bool
    elapsed_s: float | None = None
    wavelength: float | None = None


class _Parse(LinePass):
    """One pass over the lines of one file, yielding one reading per well x section (x kinetic or spectral point) of
    every plate; keeps the current plate, section and table."""

    def __init__(self, text: str, name: str) -> None:
        super().__init__(text, name)
        self.delimiter = _delimiter(self.lines)
        self.decimal_comma = self.delimiter != ","
        self.plates: list[_Plate] = []
        self.plate_ids: dict[int, str] = {}
        self.title_counts: dict[tuple[int, str], int] = {}
        self.channels = _collided_channels(self.lines, self.delimiter)
        self.any_header = False

    # ----------------------------------------------------------------- driving loop
    def readings(self) -> Iterator[Reading]:
        plate = self._new_plate()
        title: str | None = None  # the current section title (microplate view)
        number = 0
        lines = self.lines
        total = len(lines)
        while number < total:
            line = lines[number]
            number += 1
            cells = self._cells(line)
            first = cells[0] if cells else ""
            if not any(cells):
                continue
            lowered = first.lower()
            if lowered in ("well", "well row"):
                number = yield from self._table(plate, cells, number, title)
                title = None
                continue
            if lowered.startswith(_RAW_TITLES) or _is_calculated_title(first, cells):
                title = first
                continue
            if first == "" and _is_column_header(cells):
                number = yield from self._grid(plate, title, cells, number)
                continue
            if ":" in first and _looks_like_key(first):
                pairs = _pairs(cells)
                if plate.has_data and any(key.lower() in _PLATE_START_KEYS for key in pairs):
                    plate = self._new_plate()
                    title = None
                self.any_header = self.any_header or bool(pairs)
                plate.header.update(pairs)
                continue
            mode = _mode_of(first)
            if mode is not None and not plate.has_data:
                plate.measurement = mode
        if not self.seen:
            raise ParseError(
                "no raw data found: expected a 'Raw Data (...)' section with a plate grid, or a "
                "'Well,Content,Raw Data (...)' table (calculated results alone are not read)",
                self.source,
            )

    # ----------------------------------------------------------------- microplate view
    def _grid(self, plate: _Plate, title: str | None, header: list[str], number: int) -> Generator[Reading, None, int]:
        """Read the grid whose column header is on line ``number``; return the number of the line after it."""
        columns = _column_numbers(header)
        width = max(columns.values())
        lines = self.lines
        end = number
        if title is not None and not title.lower().startswith(_RAW_TITLES):
            # a grid MARS calculated: step over its rows
            while end < len(lines) and _is_row_label(self._cells(lines[end])[0]):
                end += 1
            return end
        self._check_header(plate, number)
        measurement = self._measurement(plate, title, number)
        plate_format = self._stated_format(plate) or smallest_plate_format(1, width)
        filters = _filters(title or "", measurement)
        channel = self.channels.get(title or "") or _channel(filters, measurement)
        read_index = self._next_read(plate, channel)
        plate_id = self._plate_id(plate)
        common = self._common(plate, measurement, filters)
        rows_seen: set[str] = set()
        while end < len(lines):
            cells = self._cells(lines[end])
            label = cells[0] if cells else ""
            if not any(cells) and end + 1 < len(lines):
                # MARS may put an empty line after every line; a grid goes on if a row follows
                following = self._cells(lines[end + 1])
                if following and _is_row_label(following[0]):
                    end += 1
                    continue
            if not _is_row_label(label):
                self._refuse_interrupted_grid(end, rows_seen, title)
                break
            end += 1
            if label in rows_seen:
                raise ParseError(f"row {label} appears twice in the grid under '{title}'", self.source, end)
            rows_seen.add(label)
            if self.truncated and end == len(lines) and len(cells) - 1 < len(columns):
                raise ParseError(
                    f"the file ends in the middle of row {label} of the grid (it has {len(cells) - 1} of "
                    f"{len(columns)} values); the export looks truncated",
                    self.source,
                    end,
                )
            row_text = _bmg_row(label, plate_format)
            for position, column in columns.items():
                cell = cells[position] if position < len(cells) else ""
                well = f"{row_text}{column}"
                yield self._reading(plate_id, well, plate_format, measurement, cell, channel, read_index, common, end)
            plate.has_data = True
        return end

    def _refuse_interrupted_grid(self, end: int, rows_seen: set[str], title: str | None) -> None:
        """A grid row right after a line that ended the grid means a line was inserted into the grid: reading
        on would silently drop the rows after it, so refuse the file."""
        following = end + 1
        while following < len(self.lines) and not any(self._cells(self.lines[following])):
            following += 1
        if following >= len(self.lines) or not rows_seen:
            return
        cells = self._cells(self.lines[following])
        if cells and _is_row_label(cells[0]) and cells[0] not in rows_seen:
            raise ParseError(
                f"grid row {cells[0]} of '{title}' follows a line that is not a grid row "
                f"({self.lines[end].strip()[:40]!r}); the grid is interrupted, so the export was edited or damaged",
                self.source,
                following + 1,
            )

    # ----------------------------------------------------------------- table view
    def _table(
        self, plate: _Plate, titles: list[str], number: int, section: str | None
    ) -> Generator[Reading, None, int]:
        """Read the table whose title line is line ``number``; return the number of the line after it.

        Columns titled only by a chromatic/cycle index (``1 - 1``) belong to the ``section`` title above.
        """
        lines = self.lines
        split_well = len(titles) > 1 and titles[1].lower() == "well col"
        first_value = 3 if split_well else 2
        if section:
            titles = [
                section if index >= first_value and _is_index_label(title) else title
                for index, title in enumerate(titles)
            ]
        measurement = self._measurement(plate, next((t for t in titles[first_value:] if t), None), number)
        self._check_header(plate, number)
        columns, axis_kind, end = self._table_columns(titles, first_value, number)
        rows: list[tuple[int, str, str, list[str]]] = []
        while end < len(lines):
            cells = self._cells(lines[end])
            end += 1
            if not any(cells):
                continue
            well = _table_well(cells, split_well)
            if well is None:
                end -= 1
                break
            content = cells[first_value - 1] if len(cells) >= first_value else ""
            if self.truncated and end == len(lines) and len(cells) < first_value + len(columns):
                raise ParseError(
                    f"the file ends in the middle of the line of well {well}; the export looks truncated",
                    self.source,
                    end,
                )
            rows.append((end, well, content, cells))
        if not rows:
            return end
        plate_format = self._stated_format(plate) or _format_for_wells(row[1] for row in rows)
        plate_id = self._plate_id(plate)
        plan = []
        reads: dict[str, int] = {}
        for column in columns:
            if not column.raw:
                continue
            filters = _filters(column.title, measurement)
            if axis_kind == "wavelength":
                channel = (
                    f"{measurement} spectrum"
                    if filters.scan in (None, "abs")
                    else f"{measurement} {filters.scan} spectrum"
                )
                if filters.scan == "ex":
                    filters.excitation = column.wavelength
                else:
                    filters.emission = column.wavelength
            else:
                channel = self.channels.get(column.title) or _channel(filters, measurement)
            common = self._common(plate, measurement, filters)
            if column.elapsed_s is not None:
                common["elapsed_s"] = column.elapsed_s
            # repeated columns of one channel are its kinetic points or repeated reads
            reads[channel] = reads.get(channel, 0) + 1
            plan.append((column, channel, reads[channel], common))
        if not plan:
            return end
        for line_number, well, content, cells in rows:
            for column, channel, read_index, common in plan:
                cell = cells[column.index] if column.index < len(cells) else ""
                yield self._reading(
                    plate_id,
                    well,
                    plate_format,
                    measurement,
                    cell,
                    channel,
                    read_index,
                    common,
                    line_number,
                    sample_name=content or None,
                )
        plate.has_data = True
        return end

    def _table_columns(self, titles: list[str], first_value: int, number: int) -> tuple[list[_Column], str | None, int]:
        """The value columns of a table view, with their kinetic times or scan wavelengths."""
        lines = self.lines
        end = number
        axis: list[str] | None = None
        axis_kind: str | None = None
        axis_unit: str | None = None
        while end < len(lines):
            cells = self._cells(lines[end])
            if not any(cells):
                end += 1
                continue
            label = cells[first_value - 1].lower() if len(cells) >= first_value else ""
            if all(not cell for cell in cells[: first_value - 1]) and (
                label.startswith(("time", "wavelength", "cycle"))
            ):
                axis = cells
                axis_kind = "wavelength" if label.startswith("wavelength") else "time"
                axis_unit = _bracket_unit(label)
                end += 1
            break
        columns: list[_Column] = []
        current = ""
        last = max(len(titles), len(axis) if axis else 0)
        for index in range(first_value, last):
            title = titles[index] if index < len(titles) else ""
            point = axis[index] if axis is not None and index < len(axis) else ""
            if title:
                current = title
            elif not (axis is not None and point):
                continue
            if not current:
                continue
            column = _Column(index=index, title=current, raw=current.lower().startswith(_RAW_TITLES))
            if axis is not None:
                if not point:
                    continue
                if axis_kind == "wavelength":
                    column.wavelength = to_float(point, decimal_comma=self.decimal_comma)
                    if column.wavelength is None:
                        raise ParseError(f"the wavelength '{point}' of the table is not a number", self.source, end)
                else:
                    column.elapsed_s = _elapsed_seconds(point, axis_unit, self.decimal_comma)
            columns.append(column)
        return columns, axis_kind, end

    # ----------------------------------------------------------------- helpers
    def _cells(self, line: str) -> list[str]:
        if '"' in line:
            try:
                return [cell.strip() for cell in next(csv.reader([line], delimiter=self.delimiter))]
            except (csv.Error, StopIteration):
                return [cell.strip().strip('"') for cell in line.split(self.delimiter)]
        return [cell.strip() for cell in line.split(self.delimiter)]

    def _new_plate(self) -> _Plate:
        """A plate for the next header block; it measures what the previous one did until a mode line says."""
        plate = _Plate()
        if self.plates:
            plate.measurement = self.plates[-1].measurement
        self.plates.append(plate)
        return plate

    def _check_header(self, plate: _Plate, number: int) -> None:
        if not self.any_header:
            first = next((line.strip() for line in self.lines if line.strip()), "")
            raise ParseError(
                "no 'Key: value' header lines (User:, Test name:, Date:, ID1:) above the data; "
                f"the export's header is not in MARS form (first line: '{first[:60]}')",
                self.source,
                number,
            )

    def _measurement(self, plate: _Plate, title: str | None, number: int) -> str:
        if plate.measurement is not None:
            return plate.measurement
        lowered = (title or "").lower()
        if "abs" in lowered:
            return "absorbance"
        if "lum" in lowered:
            return "luminescence"
        raise ParseError(
            "the export does not say what was measured: no 'Absorbance', 'Fluorescence (FI)' or "
            "'Luminescence' line above the data",
            self.source,
            number,
        )

    def _next_read(self, plate: _Plate, channel: str) -> int:
        """1 for a channel's first grid in a plate, 2 for its repeat (a kinetic cycle), and so on."""
        key = (id(plate), channel)
        count = self.title_counts.get(key, 0) + 1
        self.title_counts[key] = count
        return count

    def _plate_id(self, plate: _Plate) -> str:
        key = id(plate)
        if key in self.plate_ids:
            return self.plate_ids[key]
        base = plate.header.get("ID1", "").strip() or self.stem
        plate_id = base
        taken = set(self.plate_ids.values())
        suffix = 2
        while plate_id in taken:
            plate_id = f"{base} ({suffix})"
            suffix += 1
        self.plate_ids[key] = plate_id
        return plate_id

    def _stated_format(self, plate: _Plate) -> int | None:
        for key, value in plate.header.items():
            lowered = key.lower()
            if ("plate" in lowered and "type" in lowered) or lowered.startswith("microplate"):
                for token in value.replace("-", " ").replace("_", " ").split():
                    digits = token.rstrip("wW")
                    if is_digits(digits) and int(digits) in GEOMETRY:
                        return int(digits)
        return None

    def _common(self, plate: _Plate, measurement: str, filters: _Filters) -> dict[str, object]:
        return {
            "unit": _UNITS.get(measurement),
            "wavelength_nm": filters.emission,
            "excitation_nm": filters.excitation,
            "vendor": BmgMarsParser.vendor,
            "instrument_model": _model_from_path(plate.header.get("Path", "")),
            "read_at": _read_at(plate.header.get("Date", ""), plate.header.get("Time", "")),
        }

    def _reading(
        self,
        plate_id: str,
        well: str,
        plate_format: int,
        measurement: str,
        cell: str,
        channel: str,
        read_index: int,
        common: dict[str, object],
        line: int,
        sample_name: str | None = None,
    ) -> Reading:
        try:
            reading = make_reading(
                plate_id,
                well,
                plate_format,
                measurement,
                cell,
                decimal_comma=self.decimal_comma,
                channel=channel,
                read_index=read_index,
                sample_name=sample_name,
                **common,
            )
        except ParseError as exc:
            raise ParseError(exc.reason, self.source, line) from None
        key = reading.key
        if key in self.seen:
            raise ParseError(
                f"well {reading.well} of plate {plate_id} appears twice for {channel}, read {read_index}",
                self.source,
                line,
            )
        self.seen.add(key)
        return reading


# --------------------------------------------------------------------- line-level helpers
def _delimiter(lines: list[str]) -> str:
    """The separator of the first non-blank line (MARS writes the locale's list separator; ``;`` wins ties)."""
    first = next((line for line in lines[:10] if line.strip()), "")
    return sniff_delimiter(first, (";", ",", "\t")) or ","


def _looks_like_key(cell: str) -> bool:
    key = cell.split(":", 1)[0]
    return 0 < len(key) <= 40 and key[0].isalpha()


def _pairs(cells: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for cell in cells:
        if ":" in cell and _looks_like_key(cell):
            key, value = cell.split(":", 1)
            pairs[_canonical_key(key.strip())] = value.strip()
    return pairs


def _canonical_key(key: str) -> str:
    lowered = key.lower()
    known = {
        "user": "User",
        "path": "Path",
        "test name": "Test name",
        "date": "Date",
        "time": "Time",
        "id1": "ID1",
        "id2": "ID2",
        "id3": "ID3",
        "test id": "Test ID",
        "test run no.": "Test run no.",
    }
    return known.get(lowered, key)


def _mode_of(cell: str) -> str | None:
    lowered = cell.lower()
    for word, measurement in _MODES:
        if word in lowered:
            return measurement
    return None


def _is_calculated_title(first: str, cells: list[str]) -> bool:
    """A section title MARS computed (``Blank corrected based on Raw Data (450)``) alone on its line."""
    lowered = first.lower()
    return (
        "(" in first
        and first.rstrip("# ").endswith(")")
        and any(word in lowered for word in _CALCULATED_WORDS)
        and not any(cells[1:])
    )


def _is_column_header(cells: list[str]) -> bool:
    numbers = [cell for cell in cells[1:] if cell]
    return bool(numbers) and all(is_digits(cell) for cell in numbers) and (numbers[0] == "1" or len(numbers) > 1)


def _column_numbers(cells: list[str]) -> dict[int, int]:
    return {position: int(cell) for position, cell in enumerate(cells) if position and is_digits(cell)}


def _is_row_label(label: str) -> bool:
    """A plate row: ``A``..``Z``, BMG's ``a``..``f`` (1536 rows 27..32), or ``AA``..``AF``."""
    if len(label) == 1:
        return label.isascii() and label.isalpha()
    return len(label) == 2 and label[0] == "A" and label[1] in "ABCDEF"


def _bmg_row(label: str, plate_format: int) -> str:
    """BMG writes 1536-well rows 27..32 as lowercase a..f; spell them AA..AF."""
    if plate_format == 1536 and len(label) == 1 and label in "abcdef":
        return "A" + label.upper()
    return label.upper()


def _table_well(cells: list[str], split_well: bool) -> str | None:
    if split_well:
        if len(cells) < 2 or not _is_row_label(cells[0]) or not is_digits(cells[1]):
            return None
        return f"{cells[0]}{cells[1]}"
    well = cells[0]
    letters = well.rstrip("0123456789")
    if not letters or letters == well or not _is_row_label(letters):
        return None
    return well


def _format_for_wells(wells: Iterable[str]) -> int:
    max_row = max_column = 1
    for well in wells:
        letters = well.rstrip("0123456789")
        column = int(well[len(letters) :])
        if len(letters) == 1 and letters in "abcdef":
            row = 26 + ord(letters) - 96
        else:
            row = ord(letters[-1].upper()) - 64 + (26 if len(letters) == 2 else 0)
        max_row, max_column = max(max_row, row), max(max_column, column)
    return smallest_plate_format(max_row, max_column)


def _collided_channels(lines: list[str], delimiter: str) -> dict[str, str]:
    """Channels for section titles whose filters would give the same channel (``(600 1)`` and
    ``(600 2)``): those are named by their whole bracket text instead."""
    titles: list[str] = []
    for line in lines:
        for cell in line.split(delimiter):
            cell = cell.strip().strip('"').strip()
            if cell.lower().startswith(_RAW_TITLES) and cell not in titles:
                titles.append(cell)
    names: dict[str, str] = {}
    by_channel: dict[str, dict[str, list[str]]] = {}
    for title in titles:
        filters = _filters(title, "")
        by_channel.setdefault(_channel(filters, ""), {}).setdefault(filters.label, []).append(title)
    for labels in by_channel.values():
        if len(labels) > 1:
            for label, group in labels.items():
                for title in group:
                    names[title] = label or title
    return names


def _is_index_label(title: str) -> bool:
    """``1 - 1``, ``2``: a column title that only numbers the chromatic or cycle."""
    return bool(title) and all(character in "0123456789 -" for character in title)


def _filters(title: str, measurement: str) -> _Filters:
    """Wavelengths from a title's brackets: ``(485/520)``, ``(450)``, ``(450 1)``, ``(570-8/615-8)``,
    ``(Em 520)``, ``(No filter)``, ``(Abs Spectrum)``. Numbers under 100 are MARS's chromatic index."""
    start, stop = title.find("("), title.rfind(")")
    if start < 0 or stop < start:
        return _Filters()
    label = " ".join(title[start + 1 : stop].split())
    lowered = label.lower()
    if "spectrum" in lowered:
        scan = "ex" if lowered.startswith("ex") else "em" if lowered.startswith("em") else "abs"
        return _Filters(scan=scan, label=label)
    parts = label.split("/")
    numbers: list[float | None] = []
    for part in parts:
        value = None
        for token in part.replace("-", " ").split():
            candidate = to_float(token, decimal_comma=True)
            if candidate is not None and candidate >= 100:
                value = candidate
                break
        numbers.append(value)
    if len(parts) >= 2:
        return _Filters(emission=numbers[1], excitation=numbers[0], label=label)
    # one number: absorbance or emission filter; "Ex Em" pairs without a slash
    tokens = [to_float(t, decimal_comma=True) for t in label.replace("-", " ").split()]
    wavelengths = [t for t in tokens if t is not None and t >= 100]
    if len(wavelengths) >= 2 and measurement != "absorbance" and " " in label and "-" not in label:
        return _Filters(emission=wavelengths[1], excitation=wavelengths[0], label=label)
    return _Filters(emission=numbers[0], label=label)


def _channel(filters: _Filters, measurement: str) -> str:
    if filters.excitation is not None and filters.emission is not None:
        return f"{filters.excitation:g}/{filters.emission:g}"
    if filters.emission is not None:
        return f"{filters.emission:g}"
    if filters.excitation is not None:
        return f"{filters.excitation:g}/"
    return measurement


def _bracket_unit(label: str) -> str | None:
    start, stop = label.find("["), label.find("]")
    if start < 0 or stop < start:
        return None
    return label[start + 1 : stop].strip().lower()


def _elapsed_seconds(point: str, unit: str | None, decimal_comma: bool) -> float | None:
    """MARS prints kinetic times as ``0 h 15 min``, ``1 min``, ``30 s``, or a bare number under ``Time [s]``."""
    tokens = point.replace(",", ".").split() if decimal_comma else point.split()
    if len(tokens) == 1:
        value = to_float(tokens[0], decimal_comma=True)
        if value is not None:
            return value * _TIME_UNITS[unit] if unit in _TIME_UNITS else None
    total = 0.0
    pending: float | None = None
    for token in tokens:
        value = to_float(token, decimal_comma=True)
        if value is not None:
            pending = value
            continue
        factor = _TIME_UNITS.get(token.lower())
        if factor is None or pending is None:
            return None
        total += pending * factor
        pending = None
    return total if pending is None and tokens else None


def _model_from_path(path: str) -> str | None:
    """``C:\\Program Files (x86)\\BMG\\CLARIOstar\\User\\Data`` -> ``CLARIOstar``."""
    parts = [part for part in path.replace("/", "\\").split("\\") if part]
    for position, part in enumerate(parts[:-1]):
        if part.upper() == "BMG":
            return parts[position + 1]
    return None


def _read_at(date: str, time: str) -> datetime | None:
    """MARS writes the date in the PC's locale: ``29/02/2016`` with a 24 h clock, ``5/14/2021`` with AM/PM,
    ``29.02.2016``, ``2026-07-29``. Ambiguous slashed dates follow the clock style (month first with AM/PM, as
    US Windows writes them, else day first); dashed and dotted dates are day first unless they start with the year.
    """
    date, time = date.strip(), " ".join(time.split())
    if not date:
        return None
    us_clock = time.upper().endswith(("AM", "PM"))
    return parse_timestamp(f"{date} {time}", day_first="/" not in date or not us_clock)


class BmgMarsParser(LinePassParser):
    """BMG Labtech MARS CSV export: microplate (grid) view or table (well list) view, endpoint, kinetic
    and spectral reads, absorbance, fluorescence (FI, FP, TRF) and luminescence, 96 to 1536 wells.

    ``plate_id`` is ``ID1`` (the file's stem when empty); ``channel`` is ``ex/em`` for fluorescence,
    the wavelength for absorbance, the measurement name without filters; ``instrument_model`` is the
    reader's folder in ``Path`` (``...\\BMG\\PHERAstar\\...``). Blank cells of a grid or table are
    kept as readings flagged ``missing``.
    """

    name: ClassVar[str] = "bmg_mars"
    display_name: ClassVar[str] = "BMG Labtech MARS"
    vendor: ClassVar[str] = "BMG Labtech"
    extensions: ClassVar[tuple[str, ...]] = ("csv", "txt")
    line_pass: ClassVar[type[LinePass]] = _Parse

    def sniff(self, head: str) -> bool:
        """A MARS export has BMG header keys in its first lines and a raw data section or table title."""
        lines = head.splitlines()[:80]
        top = "\n".join(lines[:12]).lower()
        if not ("test name" in top or "test run no." in top or "test id" in top or "\\bmg\\" in top):
            return False
        if not ("id1" in top or "user" in top or "date" in top):
            return False
        if "smart control" in top:
            return False  # BMG's SMART Control workbooks have their own parser
        for line in lines:
            stripped = line.lstrip(' ,;\t"').lower()
            if stripped.startswith(_RAW_TITLES) or stripped.startswith(("well row", "well,", "well;")):
                return True
        return False


PARSER = BmgMarsParser()
