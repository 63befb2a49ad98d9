"""Driver-side rows reach Spark through Arrow (``local_frame``) with exactly the values ``createDataFrame`` gives,
and without Python workers on the executors."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pyspark.sql import types as T

from lab_etl.contracts import all_tables, contract
from lab_etl.lakehouse.frames import local_frame

_ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]


def _value(data_type: T.DataType, rng: random.Random, nullable: bool) -> Any:
    """A value ``createDataFrame`` accepts for ``data_type``, or None where allowed; edge cases included."""
    if nullable and rng.random() < 0.2:
        return None
    if isinstance(data_type, T.StringType):
        return rng.choice(["", "plate 1/A01", "Ünïcode µM", "x" * 300, "quote ' and \" and \n newline"])
    if isinstance(data_type, (T.LongType,)):
        return rng.choice([0, -1, 2**53 + 1, 2**63 - 1, -(2**63), rng.randrange(10**12)])
    if isinstance(data_type, T.IntegerType):
        return rng.choice([0, -1, 2**31 - 1, -(2**31), rng.randrange(1000)])
    if isinstance(data_type, (T.DoubleType, T.FloatType)):
        return rng.choice([0.0, -0.0, 1e-300, 1.7976931348623157e308, 0.1 + 0.2, float("inf"), -float("inf"), 123.456])
    if isinstance(data_type, T.BooleanType):
        return rng.choice([True, False])
    if isinstance(data_type, T.BinaryType):
        return rng.choice([b"", b"\x00\xff bytes", bytes(range(256))])
    if isinstance(data_type, T.DateType):
        return rng.choice([date(1970, 1, 1), date(2026, 12, 1), date(1, 1, 1)])
    if isinstance(data_type, T.TimestampType):
        moment = datetime(2026, 3, 29, 1, 30, 15, rng.randrange(10**6))
        choice = rng.randrange(3)
        if choice == 0:
            return moment  # naive: the driver's local time, as PySpark reads it
        return moment.replace(tzinfo=rng.choice(_ZONES))
    raise AssertionError(f"no sample value for {data_type}")


def _rows(schema: T.StructType, count: int, seed: int) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        row = []
        for field in schema.fields:
            try:
                row.append(_value(field.dataType, rng, field.nullable))
            except AssertionError:
                row.append(None)
        rows.append(tuple(row))
    return rows


@pytest.mark.parametrize("table", all_tables())
def test_every_contract_gives_createDataFrame_values(spark, table: str) -> None:  # type: ignore[no-untyped-def]
    schema = contract(table).spark_schema()
    rows = _rows(schema, 60, seed=len(table))
    expected = spark.createDataFrame(rows, schema)
    got = local_frame(spark, rows, schema)
    assert got.schema == expected.schema
    assert got.collect() == expected.collect()


def test_nan_and_odd_types_keep_createDataFrame_values(spark) -> None:  # type: ignore[no-untyped-def]
    """A NaN (Arrow would make it null) takes the list path."""
    schema = "value double, count bigint, at timestamp"
    rows = [(float("nan"), 1, datetime(2026, 1, 1)), (1.5, 7, datetime(2026, 1, 1, tzinfo=UTC))]
    got = local_frame(spark, rows, schema).collect()
    expected = spark.createDataFrame(rows, schema).collect()
    assert str(got) == str(expected)  # NaN != NaN: compare the printed rows
    assert got[0]["value"] != got[0]["value"]  # still NaN, not null


def test_a_naive_datetime_is_the_drivers_local_time(spark, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """As in ``createDataFrame`` (PySpark's ``time.mktime``), also on a driver whose clock is not on UTC."""
    import time

    rows = [(datetime(2026, 3, 8, 2, 30),), (datetime(2026, 11, 1, 1, 30, 0, 250_000),), (datetime(2026, 7, 1),)]
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        expected = spark.createDataFrame(rows, "at timestamp").collect()
        got = local_frame(spark, rows, "at timestamp").collect()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert got == expected
    assert expected != spark.createDataFrame(rows, "at timestamp").collect()  # the zone mattered: the test can fail


def test_wrong_types_are_refused_as_createDataFrame_refuses_them(spark) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="LongType"):
        local_frame(spark, [(1.5,)], "n bigint")
    with pytest.raises(ValueError, match="LENGTH_SHOULD_BE_THE_SAME"):
        local_frame(spark, [("a", 1)], "path string")
    assert (
        local_frame(spark, [(1.5,)], "path string").collect()
        == spark.createDataFrame([(1.5,)], "path string").collect()
    )
    required = T.StructType([T.StructField("plate_id", T.StringType(), nullable=False)])
    with pytest.raises(ValueError, match="CANNOT_BE_NONE"):
        local_frame(spark, [(None,)], required)


def test_no_python_worker_reads_an_arrow_frame(spark) -> None:  # type: ignore[no-untyped-def]
    """A job on the frame runs on the JVM alone: its plan has no Python RDD scan."""
    frame = local_frame(
        spark, [("a.csv", 12, datetime(2026, 1, 1, tzinfo=UTC))], "path string, size bigint, at timestamp"
    )
    plan = frame._jdf.queryExecution().executedPlan().toString()
    assert "PythonRDD" not in plan and "ExistingRDD" not in plan, plan
    listed = spark.createDataFrame(
        [("a.csv", 12, datetime(2026, 1, 1, tzinfo=UTC))], "path string, size bigint, at timestamp"
    )
    assert "ExistingRDD" in listed._jdf.queryExecution().executedPlan().toString()  # the check can fail


def test_a_large_frame_has_the_partitions_of_a_list(spark) -> None:  # type: ignore[no-untyped-def]
    rows = [(f"P{i:05d}", i) for i in range(25_000)]  # three Arrow batches of 10,000 rows
    frame = local_frame(spark, rows, "plate_id string, n bigint")
    assert frame.rdd.getNumPartitions() <= spark.sparkContext.defaultParallelism
    assert sorted(frame.collect()) == sorted(spark.createDataFrame(rows, "plate_id string, n bigint").collect())


def test_no_rows(spark) -> None:  # type: ignore[no-untyped-def]
    assert local_frame(spark, [], "path string").collect() == []


def test_a_record_row_is_its_fields_by_name_a_constant_first_and_none_for_the_rest() -> None:
    """records_frame's rows, as it always built them (a dict of the record's fields, updated with the constants,
    read in the contract's order), for record classes of any field order, one column and none."""
    from dataclasses import asdict, dataclass

    from lab_etl.lakehouse.frames import _row_builder

    @dataclass
    class Plate:
        plate_id: str
        well: str
        run_id: str = "own"
        unused: int = 0

    @dataclass
    class Other:
        well: str
        plate_id: str

    def expected(record: object, names: list[str], constants: dict[str, object]) -> tuple[object, ...]:
        values = {**asdict(record), **constants}  # type: ignore[call-overload]
        return tuple(values.get(name) for name in names)

    cases = [
        (["plate_id", "well", "run_id", "missing"], {}),
        (["run_id", "well", "plate_id"], {"run_id": "r1"}),
        (["missing", "step", "well"], {"step": "silver"}),
        (["well"], {}),
        (["run_id"], {"run_id": "r2"}),
        (["missing"], {}),
        ([], {}),
    ]
    for record in (Plate("P1", "A01", "x", 3), Other("B02", "P2")):
        for names, constants in cases:
            assert _row_builder(type(record), names, constants)(record) == expected(record, names, constants)


def test_records_frame_refuses_what_is_not_a_dataclass(spark) -> None:  # type: ignore[no-untyped-def]
    from lab_etl.contracts import contract
    from lab_etl.lakehouse.frames import records_frame

    with pytest.raises(TypeError, match="dataclass records, not dict"):
        records_frame(spark, [{"run_id": "r"}], contract("ingest_runs"))
