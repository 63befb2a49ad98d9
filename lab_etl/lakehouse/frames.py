"""Records (dataclasses from the parsers and readers) and driver-side rows -> DataFrames shaped like a table
contract.

Rows that live on the driver (the landing listing, the run's log rows, the layouts an ELN export describes) reach
Spark through Arrow (:func:`local_frame`): a DataFrame built from a Python list is a Python RDD, and every job that
reads it starts Python workers on the executors to unpickle the rows (about 0.2 s a job in a warm process, the
Python daemon's start in a cold one); an Arrow-built frame is read by the JVM alone, with the same values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lab_etl.contracts import TableContract

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType


def records_frame(spark: SparkSession, records: Iterable[Any], contract: TableContract, **constants: Any) -> DataFrame:
    """A DataFrame with exactly the contract's columns from dataclass records.

    A contract column the records lack must be given in ``constants`` (e.g. ``run_id``); record fields the contract
    does not name are left out.

    Examples
    --------
    >>> frame = records_frame(spark, parsed.readings, contract("instrument_readings"), run_id="r1")  # doctest: +SKIP
    """
    names = contract.column_names
    rows = []
    for record in records:
        if not is_dataclass(record):
            raise TypeError(f"records_frame takes dataclass records, not {type(record).__name__}")
        values = {f.name: getattr(record, f.name) for f in fields(record)}
        values.update(constants)
        rows.append(tuple(values.get(name) for name in names))
    return local_frame(spark, rows, contract.spark_schema())


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
    :func:`local_frame`)."""
    converters = [_converter(field.dataType) for field in struct.fields]
    if any(convert is None for convert in converters):
        return None
    width = len(struct.fields)
    nullable = [field.nullable for field in struct.fields]
    columns: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        if len(row) != width:
            return None  # createDataFrame raises its own error for a row of the wrong length
        for column, convert, may_be_null, value in zip(columns, converters, nullable, row, strict=True):
            if value is None:
                if not may_be_null:
                    return None  # createDataFrame refuses it, with its own error
                column.append(None)
                continue
            converted = convert(value)  # type: ignore[misc]
            if converted is _UNCHANGED_IMPOSSIBLE:
                return None
            column.append(converted)
    return columns


_UNCHANGED_IMPOSSIBLE = object()


def _of(*types: type) -> Any:
    """A value of exactly one of ``types`` crosses as it is; anything else goes through ``createDataFrame``'s own
    checks (which accept or refuse it as they always did)."""
    return lambda value: value if type(value) in types else _UNCHANGED_IMPOSSIBLE


def _float(value: Any) -> Any:
    if not isinstance(value, float) or math.isnan(value):
        return _UNCHANGED_IMPOSSIBLE
    return value


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
        return _float
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
    accepted = simple.get(type(data_type))
    return None if accepted is None else _of(*accepted)
