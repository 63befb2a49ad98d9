"""Records (dataclasses from the parsers and readers) -> DataFrames shaped like a table contract."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from typing import TYPE_CHECKING, Any

from lab_etl.contracts import TableContract

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


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
    return spark.createDataFrame(rows, contract.spark_schema())
