"""The columnar form of a file's readings: :class:`ReadingColumns` (one column per :class:`Reading` field, what
repeats stored as runs, Arrow arrays built without a :class:`Reading` per cell) and :func:`parse_cells` /
:func:`parse_cells_arrow`, which parse many cells at once exactly as :func:`parse_value` parses one.

Parsers of files with many cells (plate grids, kinetic tables) fill a :class:`ReadingColumns` directly in
:meth:`~lab_etl.parsers.base.InstrumentParser.parse_columns`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat, starmap
from operator import attrgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

from lab_etl.parsers.reading import (
    _READING_DEFAULTS,
    KEY_FIELDS,
    LINEAGE_FIELDS,
    READING_FIELDS,
    Reading,
    parse_value,
)


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
