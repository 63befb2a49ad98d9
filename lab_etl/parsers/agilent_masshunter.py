"""Agilent MassHunter Quantitative Analysis: the batch table exported as CSV (QQQ / Q-TOF quant, any version).

The export has a two-row header::

    Sample,,,,,,,,,Corticosterone Method,,,Corticosterone Results,,,Qualifier (347.3 -> 329.3) Results,,...
    ,,Name,Data File,Type,Level,Acq. Date-Time,Vol.,Pos.,Exp. Conc.,...,RT,Area,FWHM,Final Conc.,...,RT,...
    !,,CalA,CalA.d,Cal,A,26/11/2024 3:54 pm,10,P1-A5,0.3,...

Row 1 names column groups (``Sample``, then ``<compound> Method`` and ``<compound> Results`` per compound and
qualifier), row 2 the fields; the two leading unnamed columns hold MassHunter's outlier markers (``!``).
One reading is yielded per injection x compound x numeric result field: measurement = field in snake case
(``rt``, ``area``, ``height``, ``fwhm``, ``final_conc``, ``calc_conc``, ``signal_to_noise`` ...), channel =
compound name (qualifiers as ``<compound> Qualifier (m/z -> m/z)``), sample_name = Name, read_at = Acq.
Date-Time (``4/19/2018 6:37 PM``, ``26/11/2024 3:05 pm`` and German ``27.06.2022 11:01``; slashed dates are
read day- or month-first as the whole file shows), plate_id = file stem + ``_`` + the plate of the ``Pos.``
(``P1-A1`` -> plate ``P1``, well A1). Method columns (transitions, collision energy, expected concentration)
and text fields (MI, Ion Polarity) are not readings; an empty result cell is a reading flagged missing
(the compound was not found). Decimal commas (German systems quote them) are read.

Injections without a plate position (``Vial 12``) are not plate wells and are skipped; a file where no
injection has a plate position (or with no ``Pos.`` column at all) is a :class:`ParseError`. A well injected
more than once gives read_index 1, 2, ... in file order.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime

from lab_etl.errors import ParseError
from lab_etl.parsers.base import InstrumentParser
from lab_etl.parsers.files import decode_text, default_plate_id, head_lines
from lab_etl.parsers.grids import check_table_width
from lab_etl.parsers.reading import Reading, ValueColumn, parse_value, row_readings
from lab_etl.parsers.utils import DELIMITERS, numbered_name, parse_timestamp, snake_case
from lab_etl.plates import parse_well, smallest_plate_format

#: result fields that are text or method settings, not measured values
_NOT_MEASURED = frozenset(
    {
        "mi",
        "ion polarity",
        "precursor ion",
        "product ion",
        "collision energy",
        "fragmentor",
        "exp. conc.",
        "int. type",
        "outlier summary",
        "transition",
        "manual integration",
        "name",
        "method",
    }
)
_MEASUREMENT_NAMES = {"s/n": "signal_to_noise", "rt": "rt", "ret. time": "rt"}
_UNITS = {"rt": "min", "fwhm": "min", "width": "min"}
_POSITION_RE = re.compile(r"^\s*([A-Za-z]*\d+[A-Za-z]?)\s*-\s*([A-Za-z]{1,2})\s*-?\s*(\d{1,2})\s*$")
_SLASH_DATE_RE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/\d{2,4}")


def _delimiter(first_line: str) -> str | None:
    for delimiter in DELIMITERS:
        if first_line.startswith("Sample" + delimiter):
            return delimiter
    return None


def _day_first(dates: Sequence[str]) -> bool:
    """Whether the file's slashed dates are day-first: decided by any day > 12, else day-first (dd/mm/yyyy)."""
    for text in dates:
        match = _SLASH_DATE_RE.match(text)
        if match:
            first, second = int(match.group(1)), int(match.group(2))
            if first > 12:
                return True
            if second > 12:
                return False
    return True


def plate_position(text: str) -> tuple[str, str] | None:
    """``'P1-A1'`` -> ``('P1', 'A1')``; ``'D1F-B12'`` -> ``('D1F', 'B12')``; vials and blanks -> ``None``."""
    match = _POSITION_RE.match(text)
    if not match:
        return None
    return match.group(1).upper(), f"{match.group(2)}{match.group(3)}"


class AgilentMassHunterParser(InstrumentParser):
    """Agilent MassHunter Quantitative Analysis batch-table CSV export."""

    name = "agilent_masshunter"
    display_name = "Agilent MassHunter Quantitative Analysis (CSV)"
    vendor = "Agilent"
    extensions = ("csv",)

    def sniff(self, head: str) -> bool:
        lines = head_lines(head, 2)
        if len(lines) < 2:
            return False
        delimiter = _delimiter(lines[0])
        if delimiter is None:
            return False
        groups = lines[0].split(delimiter)
        if not any(group.strip().endswith(" Results") for group in groups):
            return False
        fields = {field.strip().strip('"') for field in lines[1].split(delimiter)}
        return "Data File" in fields or ("Name" in fields and "Acq. Date-Time" in fields)

    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        text = decode_text(data, name).lstrip("\ufeff")
        lines = text.splitlines()
        delimiter = _delimiter(lines[0]) if lines else None
        if delimiter is None or len(lines) < 2:
            raise ParseError(
                "not a MassHunter Quant export: the first line must start with the 'Sample' column group "
                "followed by '<compound> Results' groups",
                name,
                1,
            )
        try:
            table = list(csv.reader(lines, delimiter=delimiter))
        except csv.Error as exc:
            raise ParseError(f"the table cannot be read as delimited text: {exc}", name) from None
        groups, fields = table[0], [field.strip() for field in table[1]]
        width = len(fields)
        sample_fields = self._sample_fields(groups, fields)
        if "name" not in sample_fields:
            raise ParseError("the Sample columns have no 'Name' field on the second header line", name, 2)
        if "pos." not in sample_fields:
            raise ParseError(
                "the export has no 'Pos.' (sample position) column, so no injection can be placed on a plate well; "
                "add Pos. to the sample columns of the batch table in MassHunter Quant and export again",
                name,
                2,
            )
        columns = self._result_columns(groups, fields, table[2:])
        if not columns:
            raise ParseError("no '<compound> Results' column group with numeric fields (RT, Area ...)", name, 1)
        name_index, position_index = sample_fields["name"], sample_fields["pos."]
        time_index = sample_fields.get("acq. date-time")
        body = [(number, row) for number, row in enumerate(table[2:], 3) if any(cell.strip() for cell in row)]
        check_table_width(body, width, name)
        day_first = _day_first([row[time_index] for _, row in body] if time_index is not None else [])
        stem = default_plate_id(name)
        placed: list[tuple[int, list[str], str, int, int]] = []
        extent: dict[str, tuple[int, int]] = {}
        for number, row in body:
            position = plate_position(row[position_index])
            if position is None:
                continue  # a vial or an unplaced injection is no plate well
            plate, well = position
            try:
                row_index, column_index = parse_well(well)
            except ParseError:
                continue
            plate_id = f"{stem}_{plate}"
            placed.append((number, row, plate_id, row_index, column_index))
            max_row, max_column = extent.get(plate_id, (0, 0))
            extent[plate_id] = (max(max_row, row_index), max(max_column, column_index))
        if not placed:
            raise ParseError(
                "no injection has a plate position in the 'Pos.' column (expected e.g. P1-A1); vial positions "
                "are not plate wells: export a batch run from a well plate, or read this file as a sample list",
                name,
            )
        formats = {plate_id: smallest_plate_format(*shape) for plate_id, shape in extent.items()}
        injections: dict[tuple[str, int, int], int] = {}
        for _number, row, plate_id, row_index, column_index in placed:
            read_index = injections.get((plate_id, row_index, column_index), 0) + 1
            injections[(plate_id, row_index, column_index)] = read_index
            sample = row[name_index].strip() or None
            read_at: datetime | None = (
                parse_timestamp(row[time_index], day_first=day_first) if time_index is not None else None
            )
            yield from row_readings(
                columns,
                row,
                plate_id,
                row_index,
                column_index,
                formats[plate_id],
                read_index=read_index,
                sample_name=sample,
                vendor="Agilent",
                read_at=read_at,
            )

    @staticmethod
    def _groups(groups: Sequence[str], width: int) -> list[str]:
        """The group name that covers each column (a group spans until the next named one)."""
        spans: list[str] = []
        current = ""
        for index in range(width):
            cell = groups[index].strip() if index < len(groups) else ""
            if cell:
                current = cell
            spans.append(current)
        return spans

    def _sample_fields(self, groups: Sequence[str], fields: Sequence[str]) -> dict[str, int]:
        spans = self._groups(groups, len(fields))
        found: dict[str, int] = {}
        for index, (group, field) in enumerate(zip(spans, fields, strict=True)):
            if group in ("Sample", "") and field and field.lower() not in found:
                found[field.lower()] = index
        return found

    def _result_columns(
        self, groups: Sequence[str], fields: Sequence[str], rows: Sequence[Sequence[str]]
    ) -> list[ValueColumn]:
        spans = self._groups(groups, len(fields))
        columns: list[ValueColumn] = []
        seen: defaultdict[str, set[str]] = defaultdict(set)  # measurement -> its channels
        compound = ""
        for index, (group, field) in enumerate(zip(spans, fields, strict=True)):
            base, _, kind = group.rpartition(" ")
            if kind not in ("Results", "Method") or not base:
                continue
            if not base.startswith("Qualifier"):
                compound = base
            if kind != "Results" or not field or field.lower() in _NOT_MEASURED:
                continue
            cells = [row[index] for row in rows if index < len(row) and row[index].strip()]
            if cells and all(parse_value(cell, decimal_comma=True)[1] == "invalid" for cell in cells):
                continue  # a text field such as a flag or an integration type
            channel = f"{compound} {base}" if base.startswith("Qualifier") and compound else base
            measurement = _MEASUREMENT_NAMES.get(field.lower()) or snake_case(field)
            if not measurement:
                continue
            unique = numbered_name(channel, seen[measurement], " #")
            seen[measurement].add(unique)
            columns.append(ValueColumn(index, measurement, unique, _UNITS.get(measurement)))
        return columns


PARSER = AgilentMassHunterParser()
