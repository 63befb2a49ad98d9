"""The Delta round trip that proves the jars are live: write, MERGE, time travel, DESCRIBE HISTORY."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality

from lab_etl import glue

pytestmark = pytest.mark.spark


def test_delta_round_trip(lakehouse) -> None:  # type: ignore[no-untyped-def]
    from delta.tables import DeltaTable

    spark = lakehouse
    spark.createDataFrame(
        [("P1", "A01", 0.5), ("P1", "A02", 0.7)], "plate_id string, well string, value double"
    ).write.format("delta").saveAsTable("lab_bronze.round_trip")
    updates = spark.createDataFrame(
        [("P1", "A02", 0.9), ("P1", "A03", 1.1)], "plate_id string, well string, value double"
    )
    (
        DeltaTable.forName(spark, "lab_bronze.round_trip")
        .alias("t")
        .merge(updates.alias("s"), "t.plate_id = s.plate_id AND t.well = s.well")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )
    expected = spark.createDataFrame(
        [("P1", "A01", 0.5), ("P1", "A02", 0.9), ("P1", "A03", 1.1)], "plate_id string, well string, value double"
    )
    assert_df_equality(spark.table("lab_bronze.round_trip"), expected, ignore_row_order=True, ignore_nullable=True)
    version0 = spark.sql("SELECT * FROM lab_bronze.round_trip VERSION AS OF 0")
    assert sorted((r.well, r.value) for r in version0.collect()) == [("A01", 0.5), ("A02", 0.7)]
    history = spark.sql("DESCRIBE HISTORY lab_bronze.round_trip").orderBy("version").collect()
    assert [h.operation for h in history] == ["CREATE TABLE AS SELECT", "MERGE"]
    detail = spark.sql("DESCRIBE DETAIL lab_bronze.round_trip").collect()[0]
    assert detail.format == "delta"


def test_session_is_local_and_quiet(spark) -> None:  # type: ignore[no-untyped-def]
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.ui.enabled") == "false"
    assert conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert not glue.glue_jvm_present(spark)


def test_tables_persist_in_the_embedded_metastore(lakehouse, warehouse) -> None:  # type: ignore[no-untyped-def]
    spark = lakehouse
    spark.sql("CREATE TABLE lab_silver.persisted (a INT) USING DELTA")
    assert (warehouse / "_metastore" / "metastore_db").is_dir()
    assert (warehouse / "lab_silver.db" / "persisted" / "_delta_log").is_dir()
    assert "persisted" in [t.name for t in spark.catalog.listTables("lab_silver")]
