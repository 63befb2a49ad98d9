"""Generic long well/value CSV: one line per well, one column per measured quantity.

Covers the tables LIMS, ELNs, analysis scripts and HTE workflows write (e.g. the pyGecko yield tables)::

    ,Yield [%],RT-MS [min],RT-FID [min],Analyte          <- header; the well column is named Well, Well Position,
    A1,75.0,5.941,6.92,COC(=O)CCSc1c(Cl)ncn1C              Position, Pos, Location, or left unnamed (first column)
    A10,,,,                                             <- a well that was not run: readings flagged missing

Each numeric column becomes a measurement named from its header in snake case, with the unit pulled out of
brackets (``Yield [%]`` -> ``yield`` in ``%``, ``RT-MS [min]`` -> ``rt_ms`` in ``min``); the channel is the
measurement name. A text column named Analyte / Sample / Compound / Name / SMILES fills ``sample_name``; a
Plate / Plate ID / Barcode column gives ``plate_id`` (else the file stem); a Date / Timestamp column gives
``read_at``. Comma, semicolon or tab separated; decimal commas (semicolon/tab files, or quoted cells); UTF-8
with or without BOM, UTF-16, CRLF. The plate format is the smallest standard plate holding the listed wells.

A column is numeric when at least half of its filled cells are numbers or instrument out-of-range words; its
other cells become readings with ``value=None`` and a flag. Rows with a cell that is no well, duplicate wells and
rows with fewer cells than the header are a :class:`ParseError` naming the line.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime

from lab_etl.errors import ParseError
from lab_etl.parsers.base import InstrumentParser
from lab_etl.parsers.files import decode_text, default_plate_id
from lab_etl.parsers.grids import check_table_width
from lab_etl.parsers.reading import Reading, ValueColumn, parse_value, row_readings
from lab_etl.parsers.utils import numbered_name, parse_timestamp, snake_case, sniff_delimiter
from lab_etl.plates import parse_well, smallest_plate_format, well_name

WELL_HEADERS = ("well", "well position", "wellposition", "well_position", "position", "pos", "location", "well id")
PLATE_HEADERS = ("plate", "plate id", "plate_id", "plateid", "barcode", "plate barcode", "plate name")
SAMPLE_HEADERS = (
    "analyte",
    "sample",
    "sample name",
    "sample_name",
    "sample id",
    "sample_id",
    "compound",
    "compound name",
    "compound id",
    "product",
    "name",
    "smiles",
)
TIME_HEADERS = (
    "date",
    "time",
    "date/time",
    "datetime",
    "timestamp",
    "read date",
    "read at",
    "measured at",
    "acquired",
    "acq. date-time",
)
#: numeric columns that locate a well rather than measure it
INDEX_HEADERS = ("row", "column", "col", "index", "#", "no", "no.", "row index", "column index", "well index")
_DELIMITERS = ("\t", ";", ",")
#: headers that mark a qPCR results table (Bio-Rad CFX, QuantStudio), which a dedicated parser reads
FOREIGN_HEADERS = frozenset({"cq", "ct", "cq mean", "ct mean", "fluor", "reporter", "quencher", "target name"})


def _normal(header: str) -> str:
    return " ".join(header.strip().strip('"').lower().rstrip(".:").split())


def split_unit(header: str) -> tuple[str, str | None]:
    """``'Yield [%]'`` -> ``('Yield', '%')``; a header without brackets keeps no unit."""
    text = header.strip()
    for opening, closing in (("[", "]"), ("(", ")")):
        end = text.rfind(closing)
        start = text.rfind(opening, 0, end)
        if end == len(text) - 1 and start > 0:
            unit = text[start + 1 : end].strip()
            return text[:start].strip(), unit or None
    return text, None


def _delimiter(header_line: str) -> str | None:
    """The separator of the header line; a tab wins a tie (column names may hold commas), None when there is none."""
    return sniff_delimiter(header_line, _DELIMITERS, default=None)


def _is_well(text: str) -> bool:
    try:
        parse_well(text.strip())
    except Exception:  # parse_well raises ParseError; anything else is equally "not a well"
        return False
    return True


def _well_column(header: Sequence[str], rows: Sequence[Sequence[str]]) -> int | None:
    names = [_normal(cell) for cell in header]
    for wanted in WELL_HEADERS:
        if wanted in names:
            return names.index(wanted)
    filled = [row[0] for row in rows if row and row[0].strip()]
    if names and names[0] == "" and filled and all(_is_well(cell) for cell in filled):
        return 0
    return None


def _first_index(names: Sequence[str], wanted: Sequence[str], taken: set[int]) -> int | None:
    for candidate in wanted:
        if candidate in names and names.index(candidate) not in taken:
            return names.index(candidate)
    return None


class LongCsvParser(InstrumentParser):
    """Long well/value CSV (a well column and one or more numeric value columns)."""

    name = "long_csv"
    display_name = "Generic long well/value CSV"
    vendor = "Generic"
    extensions = ("csv", "txt", "tsv")

    def sniff(self, head: str) -> bool:
        lines = [line for line in head.splitlines()[:12] if line.strip()]
        if len(lines) < 2:
            return False
        delimiter = _delimiter(lines[0])
        if delimiter is None:
            return False
        rows = list(csv.reader(lines, delimiter=delimiter))
        header, body = rows[0], rows[1:]
        if len(header) < 2 or len(body) > 10:
            body = body[:10]
        if "" in (cell.strip() for cell in header[1:]) and all(not cell.strip() for cell in header[1:]):
            return False
        if any(_normal(cell) in FOREIGN_HEADERS for cell in header):
            return False
        well = _well_column(header, body)
        if well is None:
            return False
        # complete head lines only: the last one may be cut off by the head limit
        checked = body[:-1] if len(body) > 1 else body
        numbers = 0
        for row in checked:
            if len(row) != len(header) or not _is_well(row[well]):
                return False
            numbers += sum(
                1 for i, cell in enumerate(row) if i != well and parse_value(cell, decimal_comma=True)[0] is not None
            )
        return numbers > 0

    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        text = decode_text(data, name)
        lines = text.splitlines()
        start = next((i for i, line in enumerate(lines) if line.strip()), None)
        if start is None:
            raise ParseError("the file holds no table (only blank lines)", name)
        delimiter = _delimiter(lines[start])
        if delimiter is None:
            raise ParseError(
                "the first line is not a table header: expected column names separated by commas, semicolons or tabs",
                name,
                start + 1,
            )
        try:
            table = list(csv.reader(lines[start:], delimiter=delimiter))
        except csv.Error as exc:
            raise ParseError(f"the table cannot be read as delimited text: {exc}", name) from None
        header = [cell.strip() for cell in table[0]]
        body = [(start + offset + 1, row) for offset, row in enumerate(table[1:], 1) if any(c.strip() for c in row)]
        well_index = _well_column(header, [row for _, row in body])
        if well_index is None:
            raise ParseError(
                "no well column: name one of the columns Well, Well Position, Position, Pos or Location "
                "(or leave the first column unnamed with wells such as A1)",
                name,
                start + 1,
            )
        names = [_normal(cell) for cell in header]
        taken = {well_index}
        plate_index = _first_index(names, PLATE_HEADERS, taken)
        if plate_index is not None:
            taken.add(plate_index)
        sample_index = _first_index(names, SAMPLE_HEADERS, taken)
        if sample_index is not None:
            taken.add(sample_index)
        time_index = _first_index(names, TIME_HEADERS, taken)
        if time_index is not None:
            taken.add(time_index)
        width = len(header)
        check_table_width(body, width, name, values_beyond=False)
        columns = self._value_columns(header, names, [row for _, row in body], taken)
        if not columns:
            raise ParseError(
                "no numeric value column: every column besides the well, plate and sample columns holds text",
                name,
                start + 1,
            )
        stem = default_plate_id(name)
        wells: list[tuple[str, int, int, int]] = []
        extent: dict[str, tuple[int, int]] = {}
        seen: set[tuple[str, int, int]] = set()
        for line_number, row in body:
            plate_id = row[plate_index].strip() if plate_index is not None and row[plate_index].strip() else stem
            well_text = row[well_index].strip()
            try:
                row_index, column_index = parse_well(well_text)
            except ParseError:
                raise ParseError(
                    f"'{well_text[:30]}' in the {header[well_index] or 'first'} column is not a well name "
                    "(expected e.g. A1 or A01)",
                    name,
                    line_number,
                ) from None
            if (plate_id, row_index, column_index) in seen:
                raise ParseError(
                    f"well {well_name(row_index, column_index)} of plate {plate_id} is listed twice", name, line_number
                )
            seen.add((plate_id, row_index, column_index))
            wells.append((plate_id, row_index, column_index, line_number))
            max_row, max_column = extent.get(plate_id, (0, 0))
            extent[plate_id] = (max(max_row, row_index), max(max_column, column_index))
        formats = {plate_id: smallest_plate_format(*shape) for plate_id, shape in extent.items()}
        for (plate_id, row_index, column_index, _), (_, row) in zip(wells, body, strict=True):
            sample = (row[sample_index].strip() or None) if sample_index is not None else None
            read_at: datetime | None = parse_timestamp(row[time_index]) if time_index is not None else None
            yield from row_readings(
                columns, row, plate_id, row_index, column_index, formats[plate_id], sample_name=sample, read_at=read_at
            )

    @staticmethod
    def _value_columns(
        header: Sequence[str], names: Sequence[str], rows: Sequence[Sequence[str]], taken: set[int]
    ) -> list[ValueColumn]:
        columns: list[ValueColumn] = []
        channels: defaultdict[str, set[str]] = defaultdict(set)  # measurement -> its channels
        for index, title in enumerate(header):
            if index in taken or names[index] in INDEX_HEADERS:
                continue
            label, unit = split_unit(title)
            measurement = snake_case(label)
            if not measurement:
                continue
            filled = numbers = 0
            for row in rows:
                cell = row[index]
                if cell.strip():
                    filled += 1
                    if parse_value(cell, decimal_comma=True)[1] != "invalid":
                        numbers += 1
            if not (numbers and numbers * 2 >= filled) and not (filled == 0 and unit):
                continue
            channel = numbered_name(measurement, channels[measurement], "_")
            channels[measurement].add(channel)
            columns.append(ValueColumn(index, measurement, channel, unit))
        return columns


PARSER = LongCsvParser()
