"""What every instrument parser shares: the :class:`Reading` record, the :class:`ReadingColumns`
container, the parser base class, and the helpers that turn raw bytes and cells into text and numbers the
same way for every vendor.

A parser knows bytes and one vendor's layout, nothing about Spark. It yields one :class:`Reading`
per well x measurement x read, or, where a file holds many cells (plate grids, kinetic tables), fills a
:class:`ReadingColumns` directly (:meth:`InstrumentParser.parse_columns`); :mod:`lab_etl.parsers.registry`
stamps the readings with their lineage (source file, sha256, parser name and version).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from itertools import repeat, starmap
from operator import attrgetter
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pyarrow as pa

from lab_etl.errors import ParseError
from lab_etl.plates import GEOMETRY, parse_well, row_index_of, row_label, well_name

#: How many bytes of a file detection looks at.
HEAD_BYTES = 65536

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


class _Run:
    """``count`` copies of one value: how a column stores what repeats (plate id, vendor, a well's channel)."""

    __slots__ = ("count", "value")

    def __init__(self, value: object, count: int) -> None:
        self.value = value
        self.count = count


@dataclass(frozen=True, slots=True)
class Runs:
    """A column value for :meth:`ReadingColumns.extend` that repeats in runs: ``values[i]`` ``counts[i]`` times.

    For what changes from one block of readings to the next (the well of a kinetic column, its sample name).

    Examples
    --------
    >>> Runs(["A01", "A02"], [3, 2]).total
    5
    """

    values: Sequence[object]
    counts: Sequence[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


def _same(a: object, b: object) -> bool:
    # 1 == 1.0 == True, so equality alone would merge a run of ints into a run of floats
    return a is b or (type(a) is type(b) and a == b)


class ReadingColumns:
    """The readings of one file, column by column: one list per :class:`Reading` field (lineage aside).

    A parser that reads many cells (a plate grid row, a kinetic table) adds them with :meth:`extend`,
    giving the fields that vary as sequences and those that repeat (plate id, measurement, unit, vendor)
    as one value, stored once as a run. :meth:`readings` builds :class:`Reading` objects only when a
    caller wants them; :meth:`arrow` builds Arrow arrays without them.

    Examples
    --------
    >>> columns = ReadingColumns()
    >>> columns.extend(2, plate_id="P1", well=["A01", "A02"], row_index=1, column_index=[1, 2],
    ...                plate_format=96, measurement="absorbance", value=[0.1, None], raw_value=["0.1", "OVER"],
    ...                flag=[None, "overflow"], channel="450")
    >>> len(columns), columns.column("well"), columns.column("plate_id")
    (2, ['A01', 'A02'], ['P1', 'P1'])
    """

    __slots__ = ("_chunks", "_length", "_readings")

    def __init__(self) -> None:
        self._chunks: dict[str, list[Any]] = {name: [] for name in READING_FIELDS}
        self._length = 0
        self._readings: list[Reading] | None = None

    def __len__(self) -> int:
        return self._length

    def extend(self, count: int, **values: object) -> None:
        """Add ``count`` readings: each field a sequence of ``count`` values (list, tuple or Arrow array),
        :class:`Runs`, or one value that all of them share. Fields left out take :class:`Reading`'s default.

        Raises ``TypeError`` for an unknown field or a missing one that has no default, ``ValueError`` when a
        sequence is not ``count`` long.
        """
        if count <= 0:
            if count < 0:
                raise ValueError(f"cannot add {count} readings")
            return
        unknown = values.keys() - _READING_DEFAULTS.keys() - _REQUIRED
        if unknown:
            raise TypeError(f"ReadingColumns has no field {', '.join(sorted(unknown))}")
        missing = _REQUIRED - values.keys()
        if missing:
            raise TypeError(f"ReadingColumns.extend needs the field {', '.join(sorted(missing))}")
        # check every field before storing any, so that a rejected call leaves the columns as they were
        for name, value in values.items():
            if isinstance(value, Runs):
                if value.total != count or len(value.values) != len(value.counts):
                    raise ValueError(f"{name} runs hold {value.total} values for {count} readings")
            elif isinstance(value, (list, tuple)) or _is_arrow(value):
                if len(value) != count:  # type: ignore[arg-type]
                    raise ValueError(f"{name} has {len(value)} values for {count} readings")  # type: ignore[arg-type]
        for name in READING_FIELDS:
            value = values[name] if name in values else _READING_DEFAULTS[name]
            chunks = self._chunks[name]
            last = chunks[-1] if chunks else None
            if isinstance(value, (list, tuple)):
                if type(last) is list:
                    last.extend(value)  # our own list (copied below), never the caller's
                else:
                    chunks.append(list(value))
            elif isinstance(value, Runs):
                for run_value, run_count in zip(value.values, value.counts, strict=True):
                    if run_count <= 0:
                        continue
                    if chunks and type(chunks[-1]) is _Run and _same(chunks[-1].value, run_value):
                        chunks[-1].count += run_count
                    else:
                        chunks.append(_Run(run_value, run_count))
            elif _is_arrow(value):
                chunks.append(value)
            elif type(last) is _Run and _same(last.value, value):
                last.count += count
            else:
                chunks.append(_Run(value, count))
        self._length += count
        self._readings = None

    def extend_columns(self, other: ReadingColumns) -> None:
        """Add every reading of ``other`` after the ones held."""
        for name in READING_FIELDS:
            for chunk in other._chunks[name]:
                chunks = self._chunks[name]
                if type(chunk) is _Run:
                    chunks.append(_Run(chunk.value, chunk.count))
                elif type(chunk) is list:
                    chunks.append(list(chunk))
                else:
                    chunks.append(chunk)
        self._length += other._length
        self._readings = None

    @classmethod
    def from_readings(cls, readings: Iterable[Reading]) -> ReadingColumns:
        """The columns of :class:`Reading` objects (how every parser without a columnar path is read)."""
        held = readings if isinstance(readings, list) else list(readings)
        columns = cls()
        if held:
            for name in READING_FIELDS:
                columns._chunks[name].append(list(map(attrgetter(name), held)))
            columns._length = len(held)
            columns._readings = held
        return columns

    def column(self, name: str) -> list[Any]:
        """One field's values as a list, one per reading."""
        chunks = self._chunks[name]
        if len(chunks) == 1 and type(chunks[0]) is list:
            return list(chunks[0])
        values: list[Any] = []
        for chunk in chunks:
            if type(chunk) is _Run:
                values.extend(repeat(chunk.value, chunk.count))
            elif type(chunk) is list:
                values.extend(chunk)
            else:
                values.extend(chunk.to_pylist())
        return values

    def is_constant(self, name: str) -> bool:
        """True when every reading has the same value of ``name`` (stored as one run)."""
        chunks = self._chunks[name]
        return len(chunks) == 1 and type(chunks[0]) is _Run

    def readings(self, **lineage: str) -> list[Reading]:
        """:class:`Reading` objects, in order, stamped with ``lineage`` (``source_file=...``, ``parser=...``)."""
        unknown = lineage.keys() - set(LINEAGE_FIELDS)
        if unknown:
            raise TypeError(f"not a lineage field: {', '.join(sorted(unknown))}")
        if self._readings is not None:
            # the parser's own objects (no columnar path): stamp them rather than build copies
            for reading in self._readings:
                for name, value in lineage.items():
                    setattr(reading, name, value)
            return list(self._readings)
        stamps = [repeat(lineage.get(name, "")) for name in LINEAGE_FIELDS]
        return list(starmap(Reading, zip(*(self.column(name) for name in READING_FIELDS), *stamps)))

    def arrow(self, name: str, type: pa.DataType) -> pa.Array:
        """One field as an Arrow array of ``type`` (repeated values are not turned into Python objects)."""
        import pyarrow as pa

        parts: list[pa.Array] = []
        runs: list[_Run] = []
        for chunk in self._chunks[name]:
            if isinstance(chunk, _Run):
                runs.append(chunk)
                continue
            if runs:
                parts.append(_runs_array(runs, type))
                runs = []
            if isinstance(chunk, list):
                parts.append(pa.array(chunk, type=type))
            else:
                parts.append(chunk if chunk.type == type else chunk.cast(type))
        if runs:
            parts.append(_runs_array(runs, type))
        if not parts:
            return pa.array([], type=type)
        return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)

    def duplicate_key(self) -> tuple[str, str, str, str, int] | None:
        """The first (plate, well, measurement, channel, read) key two readings share, or None when all differ.

        Computed on integer codes of the key columns (no tuple per reading); a key field stored as runs costs
        one code per run.
        """
        n = self._length
        if n < 2:
            return None
        if n < 4096:
            return _first_duplicate(self)  # a set of a few thousand tuples costs less than the arrays
        import numpy as np

        combined: np.ndarray | None = None
        span = 1
        for name in KEY_FIELDS:
            if self.is_constant(name):
                continue
            codes, cardinality = self._codes(name)
            if span * cardinality >= 2**62:
                return _first_duplicate(self)
            span *= cardinality
            combined = codes if combined is None else combined * cardinality + codes
        if combined is None:
            return _first_duplicate(self)  # every key field constant: n >= 2 readings share one key
        if span <= 8 * n + 4096:
            unique = int(np.bincount(combined, minlength=1).max()) <= 1
        else:
            ordered = np.sort(combined)
            unique = not bool((ordered[1:] == ordered[:-1]).any())
        return None if unique else _first_duplicate(self)

    def _codes(self, name: str) -> tuple[Any, int]:
        """Integer codes 0..cardinality-1 of one column, equal codes for equal values."""
        import numpy as np

        chunks = self._chunks[name]
        if all(type(chunk) is _Run for chunk in chunks):
            lookup: dict[object, int] = {}
            run_codes = [lookup.setdefault(chunk.value, len(lookup)) for chunk in chunks]
            counts = [chunk.count for chunk in chunks]
            return np.repeat(np.asarray(run_codes, dtype=np.int64), counts), len(lookup)
        if name == "read_index":
            parts = [
                np.full(chunk.count, chunk.value, dtype=np.int64)
                if type(chunk) is _Run
                else np.asarray(chunk, dtype=np.int64)
                if type(chunk) is list
                else chunk.to_numpy(zero_copy_only=False).astype(np.int64)
                for chunk in chunks
            ]
            codes = np.concatenate(parts)
            codes -= codes.min()
            return codes, int(codes.max()) + 1
        import pyarrow as pa

        encoded = self.arrow(name, pa.string()).dictionary_encode()
        return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), len(encoded.dictionary)


_REQUIRED = frozenset(READING_FIELDS) - _READING_DEFAULTS.keys()


def _first_duplicate(columns: ReadingColumns) -> tuple[str, str, str, str, int] | None:
    seen: set[tuple[str, str, str, str, int]] = set()
    for key in zip(*(columns.column(name) for name in KEY_FIELDS)):
        if key in seen:
            return key
        seen.add(key)
    return None


def _is_arrow(value: object) -> bool:
    return type(value).__module__.startswith("pyarrow")


def _runs_array(runs: list[_Run], type: pa.DataType) -> pa.Array:
    """Consecutive runs as one array: each distinct value converted once, then repeated by index (``take``)."""
    if len(runs) <= 4:
        import pyarrow as pa

        parts = [_repeat(run.value, run.count, type) for run in runs]
        return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
    import numpy as np
    import pyarrow as pa

    codes: dict[tuple[object, object], int] = {}
    distinct: list[object] = []
    run_codes = []
    for run in runs:
        key = (run.value.__class__, run.value)
        code = codes.get(key)
        if code is None:
            code = codes[key] = len(distinct)
            distinct.append(run.value)
        run_codes.append(code)
    indices = np.repeat(np.asarray(run_codes, dtype=np.int64), [run.count for run in runs])
    return pa.array(distinct, type=type).take(pa.array(indices))


def _repeat(value: object, count: int, type: pa.DataType) -> pa.Array:
    import pyarrow as pa

    if value is None:
        return pa.nulls(count, type=type)
    return pa.repeat(pa.scalar(value, type=type), count)


def parse_cells_arrow(
    cells: Sequence[str],
    *,
    decimal_comma: bool = False,
    cache: dict[str, tuple[float | None, str | None]] | None = None,
) -> tuple[pa.Array | list[float | None], list[str | None] | None, pa.Array | Sequence[str]]:
    """:func:`parse_cells` for many cells at once, giving ``(values, flags, texts)``.

    When there are many cells and every one is a plain finite number: the values as one Arrow ``float64`` array,
    ``None`` for the flags (none flagged) and the cells as an Arrow string array. Else :func:`parse_cells`'s lists
    and the cells as given. Arrow's text-to-double cast takes a subset of what ``float`` takes (no blanks, no
    ``+``, no ``_``) and rounds the same (correctly); what it refuses goes through :func:`parse_value`.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(cells) >= 256:
        texts = pa.array(cells, type=pa.string())
        try:
            values = pc.cast(texts, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        else:
            if values.null_count == 0 and pc.all(pc.is_finite(values)).as_py():
                return values, None, texts
    listed_values, flags = parse_cells(cells, decimal_comma=decimal_comma, cache=cache)
    return listed_values, flags, cells


def parse_cells(
    cells: Sequence[str],
    *,
    decimal_comma: bool = False,
    cache: dict[str, tuple[float | None, str | None]] | None = None,
) -> tuple[list[float | None], list[str | None]]:
    """Values and flags of many text cells, each exactly as :func:`parse_value` gives it (the raw text is the cell).

    Plain numbers take one ``float`` per cell; the rest (words, decimal commas, blanks) go through
    :func:`parse_value`, once per distinct text when a ``cache`` dict is passed (keep one per file).

    Examples
    --------
    >>> parse_cells(["0.1", "1,5", "OVRFLW"], decimal_comma=True)
    ([0.1, 1.5, None], [None, None, 'overflow'])
    """
    try:
        values: list[float | None] = list(map(float, cells))
    except ValueError:
        pass
    else:
        # float() also takes 'nan', 'inf' and '1_000', which parse_value does not read as numbers
        if math.isfinite(sum(values)) and "_" not in "".join(cells):  # type: ignore[arg-type]
            return values, [None] * len(values)
    if cache is None:
        cache = {}
    values, flags = [], []
    for cell in cells:
        hit = cache.get(cell)
        if hit is None:
            value, flag, _ = parse_value(cell, decimal_comma=decimal_comma)
            hit = cache[cell] = (value, flag)
        values.append(hit[0])
        flags.append(hit[1])
    return values, flags


def cell_raw(cell: object) -> str | float | int | None:
    """A workbook cell as :func:`make_reading` takes it: numbers and text as they are, anything else as text."""
    if cell is None or isinstance(cell, (str, float, int)):
        return cell
    return str(cell)


def cell_text(cell: object) -> str:
    """A workbook cell as stripped text; whole numbers print without ``.0`` (column headers 1..12)."""
    if cell is None:
        return ""
    if isinstance(cell, float):
        return number_text(cell)
    return str(cell).strip()


def check_row_length(cells: Sequence[str], columns: int, source: str, line: int, label: str) -> None:
    """Raise :class:`ParseError` unless a grid row has a cell for each of ``columns`` columns and nothing after them
    (trailing blank cells are allowed); ``label`` names the row (``"B"``) in the message."""
    if len(cells) < columns or any(cell.strip() for cell in cells[columns:]):
        raise ParseError(f"row {label} has {len(cells)} cells where {columns} are expected", source, line)


def grid_row_numbers(labels: Sequence[str], first_line: int, source: str, *, gaps: bool = False) -> list[int]:
    """The 1-based row numbers of a plate grid's row labels (``A``, ``B`` ..., one a line from ``first_line``).

    The rows must follow one another (A, B, C ...), or with ``gaps`` only rise (A, E, I, M: an export of every fourth
    row). Raises :class:`ParseError` naming the line of a label that is no row letter or out of order, and when there
    are no labels (naming the header line above ``first_line``).

    Examples
    --------
    >>> grid_row_numbers(["A", "B", "C"], 5, "plate.csv"), grid_row_numbers(["A", "E"], 5, "plate.csv", gaps=True)
    ([1, 2, 3], [1, 5])
    """
    rows: list[int] = []
    for line, label in enumerate(labels, first_line):
        try:
            # isalpha: a two-character cell such as 'A1' is a well, not row AA..AF
            row = row_index_of(label) if label.isalpha() else 0
        except ParseError:
            row = 0
        if gaps and (row < 1 or (rows and row <= rows[-1])):
            raise ParseError(
                f"'{label}' is not the next row letter of the grid (rows must rise: A, B, ...)", source, line
            )
        if not gaps and (row < 1 or (rows and row != rows[-1] + 1)):
            expected = row_label(rows[-1] + 1) if rows else "A"
            raise ParseError(
                f"found row '{label}' where row {expected} should be; a row of the grid is missing or out of order",
                source,
                line,
            )
        rows.append(row)
    if not rows:
        raise ParseError("the grid has a column header but no rows under it", source, first_line - 1)
    return rows


def grid_cells(
    rows: Sequence[int], columns: Sequence[int], lines: Sequence[Sequence[str]], first_line: int, source: str
) -> list[tuple[int, int, str]]:
    """``(row, column, cell)`` of every cell of a plate grid, row by row.

    ``lines[i]`` holds the cells of plate row ``rows[i]`` under the column numbers ``columns`` and stands on line
    ``first_line + i`` of the file; each is checked to hold a cell per column and nothing after them
    (:func:`check_row_length`).

    Examples
    --------
    >>> grid_cells([1, 2], [1, 2], [["0.1", "0.2"], ["0.3", "0.4", ""]], 4, "plate.csv")
    [(1, 1, '0.1'), (1, 2, '0.2'), (2, 1, '0.3'), (2, 2, '0.4')]
    """
    cells: list[tuple[int, int, str]] = []
    for line, (row, values) in enumerate(zip(rows, lines, strict=True), first_line):
        check_row_length(values, len(columns), source, line, row_label(row))
        cells.extend((row, column, value) for column, value in zip(columns, values, strict=False))
    return cells


def check_well_inside(row: int, column: int, plate_format: int, source: str, line: int | None = None) -> None:
    """Raise :class:`ParseError` (naming ``line`` when given) when the well at ``row``, ``column`` (1-based) lies
    outside the plate; for a grid, pass its last row and column.

    Examples
    --------
    >>> check_well_inside(8, 13, 96, "plate.csv", 3)
    Traceback (most recent call last):
    ...
    lab_etl.errors.ParseError: plate.csv:3: well H13 lies outside a 96-well plate (8 rows x 12 columns)
    """
    plate_rows, plate_columns = GEOMETRY[plate_format]
    if row > plate_rows or column > plate_columns:
        raise ParseError(
            f"well {row_label(row)}{column} lies outside a {plate_format}-well plate ({plate_rows} rows x "
            f"{plate_columns} columns)",
            source,
            line,
        )


def check_table_width(
    body: Iterable[tuple[int, Sequence[str]]], width: int, source: str, *, values_beyond: bool = True
) -> None:
    """Raise :class:`ParseError` at the first ``(line number, cells)`` row of a table that has fewer cells than its
    header's ``width`` (a cut or ragged file); with ``values_beyond=False`` also at one with a value past them
    (trailing blank cells pass).

    Examples
    --------
    >>> check_table_width([(2, ["A1", "5"]), (3, ["A2", "6", ""])], 2, "plate.csv", values_beyond=False)
    >>> check_table_width([(2, ["A1"])], 2, "p.csv")
    Traceback (most recent call last):
    ...
    lab_etl.errors.ParseError: p.csv:2: the line has 1 cells but the header has 2; the file looks truncated or ragged
    """
    for line, cells in body:
        if len(cells) < width:
            raise ParseError(
                f"the line has {len(cells)} cells but the header has {width}; the file looks truncated or ragged",
                source,
                line,
            )
        if not values_beyond and any(cell.strip() for cell in cells[width:]):
            raise ParseError(f"the line has values beyond the {width} columns of the header", source, line)


def default_plate_id(name: str) -> str:
    """The plate id of a file that names none: its file name without folders (``/`` or ``\\``) and extension."""
    return PurePath(name.replace("\\", "/")).stem or "plate"


#: characters below 32 other than tab, CR, LF and form feed: many of them mean binary data
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0e-\x1f]")


def decode_text(data: bytes, source: str = "") -> str:
    """Decode a text export: UTF-8 (with or without BOM), UTF-16 (with BOM or by NUL pattern), else cp1252.

    Raises :class:`ParseError` for empty files and for binary files that are no text.
    """
    if not data:
        raise ParseError("the file is empty (0 bytes)", source)
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ParseError(f"the file starts like UTF-16 text but does not decode: {exc}", source) from None
    sample = data[:4096]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4 and sample[0::2].count(0) == 0:
        return data.decode("utf-16-le", errors="replace")
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4 and sample[1::2].count(0) == 0:
        return data.decode("utf-16-be", errors="replace")
    if b"\x00" in sample:
        raise ParseError("the file is binary, not a text export (it contains NUL bytes)", source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    controls = len(_CONTROL_CHARACTERS.findall(text, 0, 4096))
    if controls > max(8, len(text[:4096]) // 20):
        raise ParseError("the file is binary, not a text export (too many control characters)", source)
    return text


def is_xlsx(data: bytes) -> bool:
    """True when the bytes are an Office Open XML workbook (a zip holding ``xl/workbook.xml``)."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except Exception:  # a damaged or hostile zip is simply not a workbook; detection must never raise
        return False


def xlsx_sheets(data: bytes, source: str = "") -> dict[str, list[list[object]]]:
    """Every sheet of a workbook as rows of cell values (``None`` for empty cells), in file order.

    Read with calamine (a Rust reader, ~10x faster than openpyxl, which stays the fallback). Raises
    :class:`ParseError` when the workbook cannot be opened or is damaged.
    """
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - calamine comes with the allotropy extra
        return _openpyxl_sheets(data, source)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        return {
            name: [
                [None if cell == "" else cell for cell in row] for row in workbook.get_sheet_by_name(name).to_python()
            ]
            for name in workbook.sheet_names
        }
    except Exception as exc:  # calamine raises its own error types for broken zips and XML
        raise ParseError(f"the Excel workbook cannot be read: {exc}", source) from None


def _openpyxl_sheets(data: bytes, source: str) -> dict[str, list[list[object]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        raise ParseError(f"the Excel workbook cannot be opened: {exc}", source) from None
    try:
        return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets}
    except Exception as exc:  # a damaged zip member (bad CRC, cut XML) only fails while rows are read
        raise ParseError(f"the Excel workbook is damaged: {type(exc).__name__}: {exc}", source) from None
    finally:
        workbook.close()


def head_text(data: bytes, source: str = "") -> str:
    """The text that detection looks at: the decoded first :data:`HEAD_BYTES` of a text file, or the
    first 60 rows of every sheet of a workbook written tab-separated. Empty string when neither.
    """
    if is_xlsx(data):
        try:
            sheets = xlsx_sheets(data, source)
        except ParseError:
            return ""
        lines: list[str] = []
        for rows in sheets.values():
            for row in rows[:60]:
                lines.append("\t".join("" if cell is None else str(cell) for cell in row))
        return "\n".join(lines)
    try:
        return decode_text(data[:HEAD_BYTES], source)
    except ParseError:
        return ""


def head_lines(head: str, count: int | None = None) -> list[str]:
    r"""The lines of a detection head (see :func:`head_text`) without a leading byte-order mark: the first ``count``
    of them, or all.

    Examples
    --------
    >>> head_lines("\ufeffSoftware Version\t3.16\nPlate Number\tPlate 1\n", 1)
    ['Software Version\t3.16']
    """
    return head.lstrip("\ufeff").splitlines()[:count]


class LinePass(ABC):
    """One pass over the lines of one text file, for parsers that walk a file line by line.

    Holds the file's name (``source``, for errors), the plate id its name gives (``stem``), its ``lines``, whether
    it was cut off mid-line (``truncated``: the last line has no line end, so a short last row is a cut, not a
    layout) and the keys of the readings made so far (``seen``, to refuse a well read twice).
    """

    def __init__(self, text: str, name: str) -> None:
        self.source = name
        self.stem = default_plate_id(name)
        self.lines = text.splitlines()
        self.truncated = bool(text) and not text.endswith(("\n", "\r"))
        self.seen: set[tuple[str, str, str, str, int]] = set()

    @abstractmethod
    def readings(self) -> Iterator[Reading]:
        """Walk the lines and yield the file's readings; raise :class:`ParseError` where the file is broken."""


@dataclass(frozen=True)
class ParserInfo:
    """What ``lab-etl instruments`` shows for one parser."""

    name: str
    display_name: str
    vendor: str
    engine: str
    extensions: tuple[str, ...] = field(default_factory=tuple)


class InstrumentParser(ABC):
    """One vendor file family. Subclasses set the class attributes and implement both methods.

    ``version`` starts at ``"1"`` (the default); a parser whose readings change for the same file sets a higher one,
    which the registry stamps into every reading's ``parser_version``.

    ``sniff`` sees the decoded head of the file (see :func:`head_text`), not raw bytes, so that BOMs,
    UTF-16 and workbooks are handled once for every vendor. ``parse`` sees the whole file.
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    vendor: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]] = ()
    version: ClassVar[str] = "1"

    @abstractmethod
    def sniff(self, head: str) -> bool:
        """True when ``head`` looks like this parser's format. Must be cheap and never raise."""

    @abstractmethod
    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        """Yield the file's readings; raise :class:`ParseError` (only) when the file is broken."""

    def parse_columns(self, data: bytes, name: str) -> ReadingColumns:
        """The file's readings as columns; the same readings, in the same order, as :meth:`parse`.

        Parsers of files with many cells override this to fill the columns without one :class:`Reading`
        per cell; the default collects :meth:`parse`.
        """
        return ReadingColumns.from_readings(self.parse(data, name))

    def info(self) -> ParserInfo:
        return ParserInfo(self.name, self.display_name, self.vendor, "native", self.extensions)


class LinePassParser(InstrumentParser):
    """A parser of text exports whose readings one :class:`LinePass` subclass (``line_pass``) collects.

    ``parse`` decodes the file (:func:`decode_text`) and runs one pass over it; subclasses set ``line_pass``
    besides the usual class attributes and implement ``sniff``.
    """

    line_pass: ClassVar[type[LinePass]]

    def parse(self, data: bytes, name: str) -> Iterator[Reading]:
        yield from self.line_pass(decode_text(data, name), name).readings()
