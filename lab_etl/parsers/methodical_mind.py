"""MSD (Meso Scale Discovery) Methodical Mind text exports of MESO QuickPlex / SECTOR readers (MMPR 1.x).

A file holds one block per plate read, each a tab-separated ``Key :<TAB>value`` header (``Barcode1``,
``Type`` such as ``96`` or ``96 Multi-Spot 10``, ``Wells Per Row`` / ``Wells Per Col``, ``Spots Per
Well``, ``Read Time``, ``Serial #``, ``Model``, ``SpotID``, an optional spot legend), then::

    ==========Data=======...
      <TAB>1  <TAB>2  <TAB>3 ...        <- column numbers
    A <TAB>  315 <TAB>  341 ...         <- row A, spot 1
      <TAB> 3328 <TAB> 3513 ...         <- row A, spot 2 (unlabelled lines: one per spot of the well)
    B <TAB> ...
    ==========Processing=== ...         <- instrument diagnostics until the next plate's header

Some exports write ``\\t`` literally instead of a tab in header lines. Spots that are not on the plate
(``<>`` in the legend) are written as empty lines and give no readings, or not written at all: then each row has
one line per spot the legend shows, numbered by the legend; an empty cell of a spot that
is on the plate is kept as a reading flagged ``missing``. One block per spot (``SpotID : 3``) is read
as that spot. The values are ECL signal counts (luminescence).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from datetime import datetime, timedelta, timezone
from typing import ClassVar

from lab_etl.errors import ParseError
from lab_etl.parsers.base import LinePass, LinePassParser
from lab_etl.parsers.reading import Reading, make_reading
from lab_etl.parsers.utils import is_digits, parse_timestamp
from lab_etl.plates import GEOMETRY, row_label, smallest_plate_format

#: Where the header keeps the spot legend's drawing (``Spot`` and ``Legend`` lines): ``<n>`` marks a spot on the
#: plate, ``<>`` a position without one.
_LEGEND = "Spot legend"
#: Header keys that describe one plate read; every other key (instrument, software) carries over.
_PLATE_KEYS = {
    "Stack ID",
    "Plate #",
    "Barcode1",
    "Barcode2",
    "Barcode3",
    "Type",
    "Wells Per Row",
    "Wells Per Col",
    "Spots Per Well",
    "Read Time",
    "Creation",
    "SpotID",
    "Comments",
    "Assays",
    "Visible Spots",
    _LEGEND,
}
#: Header keys only an MSD export starts lines with.
_HEADER_MARKS = ("Barcode1", "Det Param", "Stack ID", "Spots Per Well")
#: North American zone names MSD workstations write after the read time.
_ZONES = {
    "UTC": 0,
    "GMT": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "CET": 1,
    "CEST": 2,
    "BST": 1,
}


class _Parse(LinePass):
    """One pass over the lines of one file, yielding one luminescence reading per well x spot of every plate block."""

    def __init__(self, text: str, name: str) -> None:
        super().__init__(text, name)
        self.blocks = sum(1 for line in self.lines if _is_data_marker(line))
        self.reads: dict[tuple[str, int], int] = {}
        self.block = 0

    def readings(self) -> Iterator[Reading]:
        if self.blocks == 0 and any(line.strip().startswith(_HEADER_MARKS) for line in self.lines):
            raise ParseError(
                "the file has an MSD plate header but no '==========Data====' table: it holds no measurement data",
                self.source,
            )
        if self.blocks == 0:
            raise ParseError(
                "no '==========Data====' line: this is not a Methodical Mind plate export, or its data was cut off",
                self.source,
            )
        carried: dict[str, str] = {}
        header: dict[str, str] = {}
        number = 0
        lines = self.lines
        while number < len(lines):
            line = lines[number]
            number += 1
            if _is_data_marker(line):
                self.block += 1
                plate_header = {**carried, **header}
                number = yield from self._table(plate_header, number)
                carried = {key: value for key, value in plate_header.items() if key not in _PLATE_KEYS}
                header = {}
                continue
            if ":" in line and not line.startswith("="):
                key, _, value = line.replace("\\t", "\t").partition(":")
                key, value = key.strip(), value.strip()
                if key in ("Spot", "Legend"):
                    header[_LEGEND] = " ".join(filter(None, (header.get(_LEGEND), value)))
                elif key and value and "Digital_Signature" not in key:
                    header[key] = value
            elif _LEGEND in header and "<" in line and not line.split("\t", 1)[0].strip():
                header[_LEGEND] += " " + line.strip()  # the legend drawing goes on under an empty key

    def _table(self, header: dict[str, str], number: int) -> Generator[Reading, None, int]:
        """Read the data table after the marker on line ``number``; return the line after it."""
        lines = self.lines
        while number < len(lines) and not lines[number].strip():
            number += 1
        if number >= len(lines):
            raise ParseError(
                "the file ends right after the '====Data====' line; the plate's values are missing", self.source, number
            )
        columns = _column_numbers(lines[number])
        if not columns:
            raise ParseError(
                "the line after '====Data====' should list the plate's column numbers (1, 2, 3 ...), each once",
                self.source,
                number + 1,
            )
        number += 1
        groups: list[tuple[str, list[tuple[int, list[str]]]]] = []
        while number < len(lines):
            line = lines[number]
            if line.startswith("=") or (":" in line.split("\t", 1)[0]):
                break
            number += 1
            if not line.strip() and "\t" not in line:
                continue  # the empty line MSD writes between plate rows
            cells = line.split("\t")
            label = cells[0].strip()
            if len(cells) <= max(columns):
                if self.truncated and number == len(lines):
                    raise ParseError(
                        "the file ends in the middle of a data line; the export looks truncated", self.source, number
                    )
                raise ParseError(
                    f"the data line has {len(cells) - 1} values but the table has {len(columns)} columns",
                    self.source,
                    number,
                )
            if label:
                groups.append((label, []))
            elif not groups:
                raise ParseError("a data line without a row letter comes before row A", self.source, number)
            groups[-1][1].append((number, cells))
        if not groups:
            raise ParseError("the '====Data====' table has no rows", self.source, number)
        yield from self._readings(header, columns, groups, number)
        return number

    def _readings(
        self,
        header: dict[str, str],
        columns: dict[int, int],
        groups: list[tuple[str, list[tuple[int, list[str]]]]],
        end: int,
    ) -> Iterator[Reading]:
        plate_id = self._plate_id(header)
        stated_spots = _spots_per_well(header)
        spots = stated_spots or max(len(lines) for _, lines in groups)
        spot_numbers = list(range(1, spots + 1))
        on_plate = sorted({int(n) for n in re.findall(r"<(\d+)>", header.get(_LEGEND, ""))})
        if on_plate and len(on_plate) < spots and {len(lines) for _, lines in groups} == {len(on_plate)}:
            # some exports write no line at all for the spots the legend leaves out ('<>'): each row then has one
            # line per spot on the plate, in spot order
            spots, spot_numbers = len(on_plate), on_plate
        for label, spot_lines in groups:
            if len(spot_lines) != spots:
                raise ParseError(
                    f"row {label} of plate {plate_id} has {len(spot_lines)} spot lines but the plate has {spots} "
                    "spots per well; the table is cut off or damaged",
                    self.source,
                    spot_lines[-1][0],
                )
        plate_format = _plate_format(header, len(groups), max(columns.values()))
        rows, width = GEOMETRY[plate_format]
        rows = _int(header.get("Wells Per Col")) or rows
        width = _int(header.get("Wells Per Row")) or width
        if len(groups) > rows or len(columns) != width or max(columns.values()) != width:
            raise ParseError(
                f"the data table of plate {plate_id} has {len(groups)} rows x {len(columns)} columns but the "
                f"plate is read as {rows} x {width}; the table is damaged",
                self.source,
                end,
            )
        # exports may stop before the plate's last row, but never skip one
        for expected, (label, spot_lines) in enumerate(groups, start=1):
            if label != row_label(expected):
                raise ParseError(
                    f"the data table of plate {plate_id} has row {label} where row {row_label(expected)} "
                    "should be; a row is missing or mislabelled",
                    self.source,
                    spot_lines[0][0],
                )
        spot_id = _int(header.get("SpotID"))
        # a spot that holds no value in any well is not on this plate type (a '<>' in the legend)
        present = [
            any(
                cells[position].strip()
                for _, spot_lines in groups
                for cells in [spot_lines[index][1]]
                for position in columns
            )
            for index in range(spots)
        ]
        if spot_id and spots == 1:
            spot_numbers = [spot_id]
        read_index = 1 + max((self.reads.get((plate_id, spot), 0) for spot in spot_numbers), default=0)
        for spot in spot_numbers:
            self.reads[(plate_id, spot)] = read_index
        common: dict[str, object] = {
            "unit": "RLU",
            "vendor": MethodicalMindParser.vendor,
            "instrument_model": header.get("Model") or None,
            "instrument_serial": header.get("Serial #") or None,
            "read_at": _read_at(header.get("Read Time", "")),
            "read_index": read_index,
        }
        for label, spot_lines in groups:
            for index, (line_number, cells) in enumerate(spot_lines):
                if not present[index]:
                    continue
                channel = f"luminescence spot {spot_numbers[index]}"
                for position, column in columns.items():
                    try:
                        reading = make_reading(
                            plate_id,
                            f"{label}{column}",
                            plate_format,
                            "luminescence",
                            cells[position].strip(),
                            decimal_comma=False,
                            channel=channel,
                            **common,
                        )
                    except ParseError as exc:
                        raise ParseError(exc.reason, self.source, line_number) from None
                    if reading.key in self.seen:
                        raise ParseError(
                            f"well {reading.well} of plate {plate_id} has two values for {channel}",
                            self.source,
                            line_number,
                        )
                    self.seen.add(reading.key)
                    yield reading

    def _plate_id(self, header: dict[str, str]) -> str:
        barcode = header.get("Barcode1", "").strip().strip("<>").strip()
        if barcode:
            return barcode
        if self.blocks > 1:
            return f"{self.stem} plate {header.get('Plate #', '').strip() or self.block}"
        return self.stem


def _is_data_marker(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("===") and stripped.strip("=") == "Data"


def _column_numbers(line: str) -> dict[int, int]:
    cells = line.split("\t")
    if cells[0].strip():
        return {}
    columns: dict[int, int] = {}
    for position, cell in enumerate(cells[1:], start=1):
        text = cell.strip()
        if not text:
            continue
        if not is_digits(text) or int(text) in columns.values():
            return {}  # not a list of distinct column numbers
        columns[position] = int(text)
    return columns


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    digits = text.strip()
    return int(digits) if is_digits(digits) else None


def _spots_per_well(header: dict[str, str]) -> int | None:
    stated = _int(header.get("Spots Per Well"))
    if stated:
        return stated
    kind = header.get("Type", "")
    if "spot" in kind.lower():
        tail = kind.lower().split("spot")[-1].strip()
        return _int(tail)
    return None


def _plate_format(header: dict[str, str], rows: int, columns: int) -> int:
    """``Type : 96 Multi-Spot 10`` -> 96; the smallest plate holding the table when the type says nothing."""
    kind = header.get("Type", "").split()
    stated = _int(kind[0]) if kind else None
    if stated in GEOMETRY:
        return stated  # type: ignore[return-value]
    return smallest_plate_format(rows, columns)


def _read_at(text: str) -> datetime | None:
    """``09/08/2023<TAB>13:39:33 EDT`` (month first) -> a datetime, zone-aware when the zone is known."""
    parts = text.split()
    moment = parse_timestamp(" ".join(parts[:2]), day_first=False) if len(parts) >= 2 else None
    if moment is None:
        return None
    if len(parts) > 2 and parts[2].upper() in _ZONES:
        moment = moment.replace(tzinfo=timezone(timedelta(hours=_ZONES[parts[2].upper()])))
    return moment


class MethodicalMindParser(LinePassParser):
    """MSD Methodical Mind export: one or more plate blocks, 96 or 384 wells, 1 to 10 spots per well.

    ``plate_id`` is ``Barcode1`` without its ``<>`` (the file's stem, numbered by ``Plate #`` when
    several blocks have none); ``channel`` is ``luminescence spot <n>`` with ``n`` the spot's line in
    the well (or the block's ``SpotID``); ``plate_format`` comes from ``Type``.
    """

    name: ClassVar[str] = "methodical_mind"
    display_name: ClassVar[str] = "MSD Methodical Mind"
    vendor: ClassVar[str] = "Meso Scale Discovery"
    extensions: ClassVar[tuple[str, ...]] = ("txt",)
    line_pass: ClassVar[type[LinePass]] = _Parse

    def sniff(self, head: str) -> bool:
        """A ``====Data====`` marker line below MSD header keys such as ``Barcode1`` or ``Det Param``."""
        has_keys = False
        for line in head.splitlines()[:120]:
            stripped = line.strip()
            if stripped.startswith(_HEADER_MARKS):
                has_keys = True
            elif stripped.startswith("===") and stripped.strip("=") == "Data":
                return has_keys
        return False


PARSER = MethodicalMindParser()
