"""Records (dataclasses from the parsers and readers) and driver-side rows -> DataFrames shaped like a table
contract.

Rows that live on the driver (the landing listing, the run's log rows, the layouts an ELN export describes) reach
Spark through Arrow (:func:`local_frame`): a DataFrame built from a Python list is a Python RDD, and every job that
reads it starts Python workers on the executors to unpickle the rows (about 0.2 s a job in a warm process, the
Python daemon's start in a cold one); an Arrow-built frame is read by the JVM alone, with the same values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from operator import attrgetter, is_not, itemgetter
from typing import TYPE_CHECKING, Any

from lab_etl.contracts import TableContract

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType


def records_frame(spark: SparkSession, records: Iterable[Any], contract: TableContract, **constants: Any) -> DataFrame:
    """A DataFrame with exactly the contract's columns from dataclass records.

    A contract column the records lack must be given in ``constants`` (e.g. ``run_id``); record fields the contract
    does not name are left out. A constant wins over a record field of the same name.

    Examples
    --------
    >>> frame = records_frame(spark, parsed.readings, contract("instrument_readings"), run_id="r1")  # doctest: +SKIP
    """
    names = contract.column_names
    row_of: dict[type, Callable[[Any], tuple[Any, ...]]] = {}
    rows = []
    for record in records:
        kind = type(record)
        build = row_of.get(kind)
        if build is None:
            if not is_dataclass(record):
                raise TypeError(f"records_frame takes dataclass records, not {kind.__name__}")
            build = row_of[kind] = _row_builder(kind, names, constants)
        rows.append(build(record))
    return local_frame(spark, rows, contract.spark_schema())


def _row_builder(kind: type, names: Sequence[str], constants: dict[str, Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving a record's row in ``names`` order: its fields, the constants, None for a column it lacks.

    Built once per record class of a call: the fields are read by one ``attrgetter`` and put in order by one
    ``itemgetter`` (no dictionary per record), the values being the same as reading each field by name.
    """
    own = {f.name for f in fields(kind)}
    taken = [name for name in names if name in own and name not in constants]
    extras = (None, *(constants[name] for name in names if name in constants))
    position: list[int] = []
    constant_index = 1
    for name in names:
        if name in constants:
            position.append(len(taken) + constant_index)
            constant_index += 1
        elif name in own:
            position.append(taken.index(name))
        else:
            position.append(len(taken))  # the None in extras
    if not names:
        return lambda record: ()
    # attrgetter and itemgetter give a bare value, not a 1-tuple, when asked for one item
    read = attrgetter(*taken) if len(taken) > 1 else (lambda r: (getattr(r, taken[0]),)) if taken else (lambda r: ())
    order = itemgetter(*position) if len(position) > 1 else (lambda values: (values[position[0]],))
    return lambda record: order((*read(record), *extras))  # type: ignore[no-any-return]


def local_frame(spark: SparkSession, rows: Sequence[Sequence[Any]], schema: StructType | str) -> DataFrame:
    """``spark.createDataFrame(rows, schema)`` with the same values, sent to the JVM as Arrow columns.

    ``schema`` is a ``StructType`` or a DDL string (``"path string, size_bytes bigint"``). Values are those
    ``createDataFrame`` gives for the same rows: a naive ``datetime`` is the driver's local time (as PySpark reads
    it), integers stay exact. Rows Arrow would not carry unchanged go through ``createDataFrame`` as a list, which
    accepts or refuses them as it always did: a float NaN (Arrow's pandas conversion makes it a null), a value of
    another Python type than the column's own, a null in a column that may not hold one, a type outside the simple
    ones. A frame of more than ``spark.sql.execution.arrow.maxRecordsPerBatch`` rows (one partition per batch) is
    coalesced to the session's default parallelism, the partitions a list would have had.

    Examples
    --------
    >>> local_frame(spark, [("a.csv", 12)], "path string, size_bytes bigint").collect()  # doctest: +SKIP
    [Row(path='a.csv', size_bytes=12)]
    """
    from pyspark.sql.types import StructType, _parse_datatype_string

    struct = schema if isinstance(schema, StructType) else _parse_datatype_string(schema)
    if not isinstance(struct, StructType):
        raise TypeError(f"local_frame needs a struct schema, not {struct.simpleString()}")
    rows = list(rows)
    columns = _arrow_columns(rows, struct) if rows else None
    if columns is None:
        return spark.createDataFrame(rows, struct)
    import pandas as pd

    table = pd.DataFrame({f"_{i}": pd.Series(values, dtype=object) for i, values in enumerate(columns)})
    table.columns = struct.names
    frame = spark.createDataFrame(table, struct)
    batch = int(spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch", "10000") or 10000)
    partitions = -(-len(rows) // batch) if batch > 0 else 1  # one per Arrow batch; no plan is built to count them
    parallelism = spark.sparkContext.defaultParallelism
    return frame.coalesce(parallelism) if partitions > parallelism else frame


def _arrow_columns(rows: list[Sequence[Any]], struct: StructType) -> list[list[Any]] | None:
    """The rows as columns ready for Arrow, or None when a value would not cross unchanged (see
    :func:`local_frame`).

    Column by column: the rows are transposed once and each column's value types are checked as a set, so that a
    column of plain strings or integers costs no Python call per value; only floats (for NaN) and timestamps (converted
    to the instant PySpark stores) are looked at one by one.
    """
    converters = [_converter(field.dataType) for field in struct.fields]
    if any(convert is None for convert in converters):
        return None
    width = len(struct.fields)
    if any(len(row) != width for row in rows):
        return None  # createDataFrame raises its own error for a row of the wrong length
    columns: list[list[Any]] = [list(values) for values in zip(*rows, strict=True)] if rows else []
    for index, (field, convert) in enumerate(zip(struct.fields, converters, strict=True)):
        column = columns[index]
        kinds = set(map(type, column))
        if type(None) in kinds:
            if not field.nullable:
                return None  # createDataFrame refuses it, with its own error
            kinds.discard(type(None))
        if isinstance(convert, frozenset):  # values of exactly these types cross as they are
            if not kinds <= convert:
                return None
        elif convert is _FLOATS:
            if not all(issubclass(kind, float) for kind in kinds):
                return None
            if any(map(math.isnan, filter(partial(is_not, None), column))):
                return None
        else:
            converted = [None if value is None else convert(value) for value in column]  # type: ignore[misc]
            if any(value is _UNCHANGED_IMPOSSIBLE for value in converted):
                return None
            columns[index] = converted
    return columns


_UNCHANGED_IMPOSSIBLE = object()


#: A float column's mark for :func:`_arrow_columns`: its values cross as they are when they are floats and none is
#: NaN (Arrow's pandas conversion would make a NaN a null).
_FLOATS = object()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _timestamp(value: Any) -> Any:
    """The instant PySpark stores for ``value`` (its own ``TimestampType.toInternal``: a naive datetime is the
    driver's local time, a time in a clock change's gap is moved as ``time.mktime`` moves it), as a UTC datetime."""
    from pyspark.sql.types import TimestampType

    if not isinstance(value, datetime):
        return _UNCHANGED_IMPOSSIBLE
    return _EPOCH + timedelta(microseconds=TimestampType().toInternal(value))


def _converter(data_type: DataType) -> Any:
    """How a value of ``data_type`` is handed to Arrow, or None for a type handed over as a list."""
    from datetime import date

    from pyspark.sql import types as T

    if isinstance(data_type, (T.FloatType, T.DoubleType)):
        return _FLOATS
    if isinstance(data_type, T.TimestampType):
        return _timestamp
    simple: dict[type, tuple[type, ...]] = {
        T.StringType: (str,),
        T.LongType: (int,),
        T.IntegerType: (int,),
        T.ShortType: (int,),
        T.ByteType: (int,),
        T.BooleanType: (bool,),
        T.BinaryType: (bytes, bytearray),
        T.DateType: (date,),
    }
    # a value of exactly one of these types crosses as it is; anything else goes through createDataFrame's own
    # checks (which accept or refuse it as they always did)
    accepted = simple.get(type(data_type))
    return None if accepted is None else frozenset(accepted)
