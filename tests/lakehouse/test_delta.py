"""The Delta round trip that proves the jars are live: write, MERGE, time travel, DESCRIBE HISTORY."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality

from lab_etl import glue_job

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
    assert not glue_job.glue_jvm_present(spark)


def test_tables_persist_in_the_embedded_metastore(lakehouse, warehouse) -> None:  # type: ignore[no-untyped-def]
    spark = lakehouse
    spark.sql("CREATE TABLE lab_silver.persisted (a INT) USING DELTA")
    assert (warehouse / "_metastore" / "metastore_db").is_dir()
    assert (warehouse / "lab_silver.db" / "persisted" / "_delta_log").is_dir()
    assert "persisted" in [t.name for t in spark.catalog.listTables("lab_silver")]


def test_sync_scope_updates_inserts_deletes_only_in_scope(lakehouse) -> None:  # type: ignore[no-untyped-def]
    from lab_etl.contracts import contract
    from lab_etl.lakehouse import delta

    spark = lakehouse
    qc = contract("plate_qc")
    base = {c: None for c in qc.column_names}

    def row(plate: str, channel: str, wells: int) -> tuple:
        values = dict(
            base,
            source_sha256="a" * 64,
            source_file="f.csv",
            plate_id=plate,
            measurement="absorbance",
            channel=channel,
            read_index=1,
            wells=wells,
            flagged_wells=0,
            positive_controls=0,
            negative_controls=0,
        )
        return tuple(values[c] for c in qc.column_names)

    first = spark.createDataFrame([row("P1", "450", 96), row("P1", "600", 96), row("P2", "450", 96)], qc.spark_schema())
    delta.sync_scope(spark, first, qc, "plate_id", ["P1", "P2"])
    version = spark.sql(f"DESCRIBE HISTORY {qc.qualified_name}").count()
    delta.sync_scope(spark, first, qc, "plate_id", [])  # nothing in scope: no write at all
    assert spark.sql(f"DESCRIBE HISTORY {qc.qualified_name}").count() == version

    second = spark.createDataFrame([row("P1", "450", 95), row("P2", "999", 1)], qc.spark_schema())
    delta.sync_scope(spark, second, qc, "plate_id", ["P1"])  # P2 rows of the frame are out of scope
    got = sorted((r.plate_id, r.channel, r.wells) for r in spark.table(qc.qualified_name).collect())
    assert got == [("P1", "450", 95), ("P2", "450", 96)]
    metrics = spark.sql(f"DESCRIBE HISTORY {qc.qualified_name}").orderBy("version", ascending=False).first()
    assert metrics.operationMetrics["numTargetRowsUpdated"] == "1"
    assert metrics.operationMetrics["numTargetRowsDeleted"] == "1"
