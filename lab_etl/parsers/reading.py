"""The reading model: the :class:`Reading` record every parser yields, and how one cell becomes its value.

A parser yields one :class:`Reading` per well x measurement x read (or fills a
:class:`~lab_etl.parsers.columns.ReadingColumns` with the same fields); :func:`parse_value` turns a cell into the
value, flag and raw text of a reading the same way for every vendor, and :func:`make_reading`,
:class:`ValueColumn` and :func:`row_readings` build readings from wells and cells.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from functools import lru_cache
from typing import Any

from lab_etl.plates import parse_well, row_label, well_name

#: The flags a reading may carry; ``None`` means a plain numeric value.
FLAGS = ("overflow", "underflow", "missing", "invalid", "saturated", "masked")


@dataclass(slots=True)
class Reading:
    """One measured value: one well x measurement x read of one plate.

    ``value`` is the number as a float, ``None`` when the cell held no number; ``raw_value`` keeps the
    cell's text exactly as the instrument wrote it, and ``flag`` says why ``value`` is missing or
    suspect (see :data:`FLAGS`). ``channel`` names the read inside the file (e.g. ``"450"``,
    ``"Lum"``, ``"485/528"``) and is never null so that it can serve in merge keys.
    """

    plate_id: str
    well: str
    row_index: int
    column_index: int
    plate_format: int
    measurement: str
    value: float | None
    raw_value: str | None
    channel: str = ""
    unit: str | None = None
    flag: str | None = None
    wavelength_nm: float | None = None
    excitation_nm: float | None = None
    read_index: int = 1
    elapsed_s: float | None = None
    sample_name: str | None = None
    vendor: str = ""
    instrument_model: str | None = None
    instrument_serial: str | None = None
    read_at: datetime | None = None
    # lineage, stamped by the registry
    source_file: str = ""
    source_sha256: str = ""
    parser: str = ""
    parser_version: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        """The natural key inside one file: plate, well, measurement, channel, read."""
        return (self.plate_id, self.well, self.measurement, self.channel, self.read_index)


def make_reading(
    plate_id: str,
    well: str,
    plate_format: int,
    measurement: str,
    raw: str | float | int | None,
    *,
    decimal_comma: bool = False,
    **fields: object,
) -> Reading:
    """Build a :class:`Reading` from a well name in any spelling and a raw cell.

    The well is canonicalised (``a1`` -> ``A01``), the cell parsed with :func:`parse_value`.
    Extra keyword arguments set the other :class:`Reading` fields.
    """
    row, column, canonical = _canonical_well(well, plate_format)
    value, flag, raw_text = parse_value(raw, decimal_comma=decimal_comma)
    if "flag" in fields and fields["flag"] is not None:
        flag = str(fields.pop("flag"))
    else:
        fields.pop("flag", None)
    return Reading(
        plate_id=plate_id,
        well=canonical,
        row_index=row,
        column_index=column,
        plate_format=plate_format,
        measurement=measurement,
        value=value,
        raw_value=raw_text,
        flag=flag,
        **fields,  # type: ignore[arg-type]
    )


def grid_readings(
    cells: Iterable[tuple[int, int, str | float | int | None]],
    plate_id: str,
    plate_format: int,
    measurement: str,
    fields: Mapping[str, object],
    *,
    decimal_comma: bool = False,
    per_well: Callable[[int, int], dict[str, object]] | None = None,
) -> Iterator[Reading]:
    """The readings of a plate grid's cells, ``(row, column, cell)`` as :func:`~lab_etl.parsers.grids.grid_cells`
    yields them: every cell a :func:`make_reading` of the same plate and read, with ``fields``;
    ``per_well(row, column)`` adds the fields that differ by well (e.g. a sample name from a plate map).

    Examples
    --------
    >>> [(r.well, r.value) for r in grid_readings([(1, 1, "0.5"), (2, 3, "1,5")], "p", 96, "absorbance", {},
    ...                                          decimal_comma=True)]
    [('A01', 0.5), ('B03', 1.5)]
    """
    for row, column, cell in cells:
        extra = per_well(row, column) if per_well is not None else {}
        yield make_reading(
            plate_id,
            f"{row_label(row)}{column}",
            plate_format,
            measurement,
            cell,
            decimal_comma=decimal_comma,
            **fields,
            **extra,
        )


@dataclass(frozen=True, slots=True)
class OpticalRead:
    """The optical read a plate reader's values come from, as a parser works it out from the export's labels and
    settings: the measurement, the channel and the wavelengths (nm) that become the :class:`Reading` fields of the
    same names."""

    measurement: str
    channel: str
    wavelength_nm: float | None = None
    excitation_nm: float | None = None


@dataclass(frozen=True, slots=True)
class ValueColumn:
    """One numeric column of a table with a row per well, and the measurement its cells become.

    Examples
    --------
    >>> column = ValueColumn(2, "area", "caffeine", None)
    >>> column.reading(["S1", "A1", "1,5"], plate_id="p", well="A01", row_index=1, column_index=1, plate_format=96)
    ... # doctest: +ELLIPSIS
    Reading(plate_id='p', well='A01', row_index=1, column_index=1, plate_format=96, measurement='area', value=1.5, ...)
    """

    index: int
    measurement: str
    channel: str
    unit: str | None

    def reading(self, row: Sequence[str], **fields: Any) -> Reading:
        """The reading of this column's cell in ``row`` (a decimal comma read as a point); ``fields`` give where the
        row's well is (``plate_id``, ``well``, ``row_index``, ``column_index``, ``plate_format``) and any other
        :class:`Reading` field the row sets."""
        value, flag, raw = parse_value(row[self.index], decimal_comma=True)
        return Reading(
            measurement=self.measurement,
            channel=self.channel,
            unit=self.unit,
            value=value,
            raw_value=raw,
            flag=flag,
            **fields,
        )


def row_readings(
    columns: Sequence[ValueColumn],
    row: Sequence[str],
    plate_id: str,
    row_index: int,
    column_index: int,
    plate_format: int,
    **fields: Any,
) -> Iterator[Reading]:
    """The readings of one table row that holds one well: one per value column, in the columns' order.

    ``fields`` set the other :class:`Reading` fields the row shares (sample, read time, ...).
    """
    well = well_name(row_index, column_index)
    for column in columns:
        yield column.reading(
            row,
            plate_id=plate_id,
            well=well,
            row_index=row_index,
            column_index=column_index,
            plate_format=plate_format,
            **fields,
        )


@lru_cache(maxsize=4096)
def _canonical_well(well: str, plate_format: int | None) -> tuple[int, int, str]:
    """Row, column and canonical name of a well spelling (cached: a file names the same wells again and again)."""
    row, column = parse_well(well, plate_format)
    return row, column, well_name(row, column)


_OVERFLOW = {"overflow", "ovrflw", "over", "ovfl", "ovr", ">max", "sat", "saturated", "out of range", "range?", "oor>"}
_UNDERFLOW = {"underflow", "under", "<min", "oor<"}
_MISSING = {
    "",
    "-",
    "--",
    "n/a",
    "na",
    "nan",
    "none",
    "null",
    "#n/a",
    "not measured",
    "nd",
    "n.d.",
    "empty",
    "?",
    "missed",
}
_INVALID_PATTERN = re.compile(r"^[?*#!]+$")
_NUMBER_PATTERN = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def parse_value(
    raw: str | float | int | None, *, decimal_comma: bool = False
) -> tuple[float | None, str | None, str | None]:
    """Turn one cell into ``(value, flag, raw_text)``.

    Numbers (also ``1,5`` with ``decimal_comma``, ``1.2E+03``, ``+3``) give ``(float, None, text)``.
    Vendor words for out-of-range reads give ``(None, 'overflow'|'underflow', text)``; empty cells and
    ``n/a`` give ``(None, 'missing', text)``; anything else ``(None, 'invalid', text)``.
    Infinite or NaN numbers are never returned as values.

    Examples
    --------
    >>> parse_value("0,532", decimal_comma=True)
    (0.532, None, '0,532')
    >>> parse_value("OVRFLW")
    (None, 'overflow', 'OVRFLW')
    """
    if raw is None:
        return None, "missing", None
    if isinstance(raw, bool):
        return None, "invalid", str(raw)
    if isinstance(raw, (int, float)):
        number = float(raw)
        if math.isnan(number):
            return None, "missing", str(raw)
        if math.isinf(number):
            return None, "overflow" if number > 0 else "underflow", str(raw)
        return number, None, number_text(raw)
    text = str(raw)
    stripped = text.strip().strip('"').strip()
    if _NUMBER_PATTERN.match(stripped):
        if "," in stripped:
            if not decimal_comma:
                return None, "invalid", text
            stripped = stripped.replace(",", ".")
        number = float(stripped)
        if math.isinf(number) or math.isnan(number):
            return None, "invalid", text
        return number, None, text
    lowered = stripped.lower()
    if lowered in _MISSING:
        return None, "missing", text
    if lowered in _OVERFLOW or lowered.startswith(">"):
        return None, "overflow", text
    if lowered in _UNDERFLOW or lowered.startswith("<"):
        return None, "underflow", text
    if _INVALID_PATTERN.match(stripped):
        return None, "invalid", text
    return None, "invalid", text


def number_text(value: int | float) -> str:
    """A number as a person would read it in the cell: ``5.0 -> '5'``, ``0.25 -> '0.25'``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


#: The lineage fields of a :class:`Reading`: stamped by the registry, never set by a parser.
LINEAGE_FIELDS = ("source_file", "source_sha256", "parser", "parser_version")
#: The fields a parser fills, in :class:`Reading`'s field order (the lineage fields come last there).
READING_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Reading) if f.name not in LINEAGE_FIELDS)
_READING_DEFAULTS: dict[str, object] = {
    f.name: f.default for f in fields(Reading) if f.name in READING_FIELDS and f.default is not MISSING
}
#: The natural key of a reading inside one file (see :attr:`Reading.key`).
KEY_FIELDS = ("plate_id", "well", "measurement", "channel", "read_index")
