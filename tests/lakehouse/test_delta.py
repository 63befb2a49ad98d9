"""The Delta round trip that proves the jars are live: write, MERGE, time travel, DESCRIBE HISTORY."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

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


def test_local_jars_are_on_the_class_path_not_copied(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Local mode puts the jars on the driver's class path: nothing is copied into the session's temporary folder
    (the AWS SDK alone is 280 MB, left in /tmp by every killed JVM). A cluster master ships them as spark.jars."""
    from pyspark import SparkFiles

    from lab_etl.lakehouse.jars import jar_paths
    from lab_etl.lakehouse.spark import spark_conf

    jars = [str(p) for p in jar_paths()]
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.driver.extraClassPath").split(os.pathsep) == jars
    assert not conf.get("spark.jars", "")
    assert not list(Path(SparkFiles.getRootDirectory()).glob("*.jar"))
    jvm_class_path = spark._jvm.System.getProperty("java.class.path").split(os.pathsep)
    assert set(jars) <= set(jvm_class_path)
    for master in ("spark://127.0.0.1:7077", "local-cluster[1,1,1024]"):  # executors in other JVMs
        cluster = spark_conf(tmp_path, master=master)
        assert cluster["spark.jars"].split(",") == jars and "spark.driver.extraClassPath" not in cluster
    assert "spark.driver.extraClassPath" in spark_conf(tmp_path, master="local")


def test_the_warehouse_folder_is_the_catalog(lakehouse, warehouse) -> None:  # type: ignore[no-untyped-def]
    """A table is its Delta folder: a session that does not know it (a new process, or after the catalog lost it)
    registers it by name from the folder, rows and all; nothing but the folders is kept."""
    from lab_etl.contracts import contract
    from lab_etl.lakehouse import delta
    from lab_etl.lakehouse.tables import attach_tables, tables_named_in

    spark = lakehouse
    runs = contract("ingest_runs")
    name = delta.ensure_table(spark, runs)
    folder = warehouse / "lab_bronze.db" / "ingest_runs"
    assert (folder / "_delta_log").is_dir()
    assert not (warehouse / "_metastore").exists()
    now = datetime.now(UTC)
    delta.append(spark, spark.createDataFrame([("r1", "x", now, now, 1, 0, 1, 0, 0, 5)], runs.spark_schema()), runs)
    spark.sql(f"DROP TABLE {name}")  # an external table: the catalog forgets it, the folder stays
    assert (folder / "_delta_log").is_dir() and not spark.catalog.tableExists(name)
    assert attach_tables(spark, tables_named_in(f"SELECT * FROM {name}")) == [name]
    assert [r.run_id for r in spark.table(name).collect()] == ["r1"]
    spark.sql(f"DROP TABLE {name}")
    assert delta.ensure_table(spark, runs) == name  # registered again, not re-created empty
    assert spark.table(name).count() == 1
    assert attach_tables(spark) == []  # every table with a folder is known now


def test_replace_scope_rewrites_only_the_scope(lakehouse) -> None:  # type: ignore[no-untyped-def]
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
    commit = delta.replace_scope(spark, first, qc, "plate_id", ["P1", "P2"])
    assert commit is not None and commit.rows_written == 3
    version = spark.sql(f"DESCRIBE HISTORY {qc.qualified_name}").count()
    assert delta.replace_scope(spark, first, qc, "plate_id", []) is None  # nothing in scope: no write at all
    assert spark.sql(f"DESCRIBE HISTORY {qc.qualified_name}").count() == version

    second = spark.createDataFrame([row("P1", "450", 95), row("P2", "999", 1)], qc.spark_schema())
    commit = delta.replace_scope(spark, second, qc, "plate_id", ["P1"])  # P2 rows of the frame are out of scope
    got = sorted((r.plate_id, r.channel, r.wells) for r in spark.table(qc.qualified_name).collect())
    assert got == [("P1", "450", 95), ("P2", "450", 96)]  # P1's 600 channel is gone, P2 untouched
    assert commit is not None and commit.version == version and commit.rows_written == 1


def test_a_table_keeps_statistics_of_its_scope_and_key_columns_only(lakehouse) -> None:  # type: ignore[no-untyped-def]
    """Each written file's statistics in the Delta log cover plate_id and the natural key (what scans filter by), with
    the row count; not Delta's default of the first 32 columns."""
    import json
    from pathlib import Path

    from lab_etl.contracts import contract
    from lab_etl.lakehouse import delta

    spark = lakehouse
    readings = contract("instrument_readings")
    keyed = ["plate_id", "source_sha256", "well", "measurement", "channel", "read_index"]
    assert delta.stats_columns(readings) == keyed
    delta.ensure_table(spark, readings)
    fixed = {c: None for c in readings.column_names} | {
        "source_sha256": "b" * 64,
        "source_file": "f.csv",
        "measurement": "absorbance",
        "channel": "450",
        "plate_format": 96,
        "row_index": 1,
        "read_index": 1,
        "parser": "p",
        "parser_version": "1",
        "run_id": "r",
        "value": 0.5,
        "unit": "OD",
    }
    for plate in ("S1", "S2"):
        rows = [fixed | {"plate_id": plate, "well": w, "column_index": i} for i, w in enumerate(("A01", "A02"), 1)]
        values = [tuple(r[c] for c in readings.column_names) for r in rows]
        batch = spark.createDataFrame(values, readings.spark_schema())
        delta.replace_scope(spark, batch, readings, "plate_id", [plate])
    log_folder = Path(delta.table_location(spark, readings).removeprefix("file:")) / "_delta_log"
    commits = sorted(log_folder.glob("*.json"))
    actions = [json.loads(line) for commit in commits for line in commit.read_text().splitlines()]
    stats = [json.loads(a["add"]["stats"]) for a in actions if "add" in a]
    assert stats and sum(s["numRecords"] for s in stats) == 4
    assert all(set(s["minValues"]) | set(s["nullCount"]) == set(keyed) for s in stats), stats[0]
    assert spark.table(readings.qualified_name).where("plate_id = 'S2'").count() == 2


def test_a_merge_into_a_table_without_data_is_an_append_with_the_same_rows(lakehouse) -> None:  # type: ignore[no-untyped-def]
    """The first write into an empty table skips the MERGE's join (an append inserts the same rows); every later
    write is a real MERGE: new keys inserted, changed rows updated, the rest kept."""
    from lab_etl.contracts import contract
    from lab_etl.lakehouse import delta

    spark = lakehouse
    experiments = contract("eln_experiments")
    assert tuple(experiments.natural_key) == ("experiment_id",)

    def frame(*rows: tuple[str, str]):  # type: ignore[no-untyped-def]
        base = dict.fromkeys(experiments.column_names)
        values = [{**base, "experiment_id": key, "title": title, "source_file": "eln.csv"} for key, title in rows]
        return spark.createDataFrame(
            [tuple(v[c] for c in experiments.column_names) for v in values], experiments.spark_schema()
        )

    def titles() -> dict[str, str]:
        return {r.experiment_id: r.title for r in spark.table(experiments.qualified_name).collect()}

    delta.ensure_table(spark, experiments)
    assert delta.holds_no_data(spark, experiments)
    first = delta.upsert(spark, frame(("a", "one"), ("b", "two")), experiments)
    assert first.operation == "WRITE" and first.rows_written == 2
    assert not delta.holds_no_data(spark, experiments)
    second = delta.upsert(spark, frame(("b", "two, revised"), ("c", "three")), experiments)
    assert second.operation == "MERGE" and second.rows_written == 2
    assert titles() == {"a": "one", "b": "two, revised", "c": "three"}
    again = delta.merge_new_rows(spark, frame(("a", "changed"), ("d", "four")), experiments)
    assert again.operation == "MERGE" and again.rows_inserted == 1
    assert titles() == {"a": "one", "b": "two, revised", "c": "three", "d": "four"}


def test_a_write_that_changes_nothing_reports_no_commit(lakehouse) -> None:  # type: ignore[no-untyped-def]
    """Delta records no commit for a write that changes nothing; its report must not be the previous write's
    (which the newest commit file holds): no rows written, no commit for the profiler."""
    from lab_etl.contracts import contract
    from lab_etl.lakehouse import delta

    spark = lakehouse
    runs = contract("run_plates")
    rows = [("r1", "silver", f"P{i}") for i in range(50)]
    first = delta.replace_scope(spark, spark.createDataFrame(rows, runs.spark_schema()), runs, "plate_id", ["P1", "P2"])
    assert first is not None and first.committed and first.rows_written == 2
    heard: list[delta.Commit] = []
    delta.COMMIT_LISTENERS.append(heard.append)
    try:
        empty = spark.createDataFrame([], runs.spark_schema())
        nothing = delta.replace_scope(spark, empty, runs, "plate_id", ["P99"])  # no rows, no file holds P99
        assert nothing is not None and not nothing.committed
        assert (nothing.version, nothing.rows_written, nothing.rows_inserted) == (first.version, 0, 0)
        again = delta.merge_new_rows(spark, spark.createDataFrame(rows[1:3], runs.spark_schema()), runs)
        assert again.rows_inserted == 0  # the two rows are there: whether Delta records a commit or not
        assert heard == ([again] if again.committed else [])
    finally:
        delta.COMMIT_LISTENERS.remove(heard.append)
    history = spark.sql(f"DESCRIBE HISTORY {runs.qualified_name}").count()
    assert history == first.version + 1 + (1 if again.committed else 0)


def test_whether_a_table_holds_data_is_read_from_its_checksum_else_counted(lakehouse) -> None:  # type: ignore[no-untyped-def]
    """A table just created holds no data: its checksum says so, with no Spark job (no state reconstruction). Without
    a checksum for its newest version (a writer that writes none, a process killed before writing it) the files are
    counted, and the answer is the same."""
    from pathlib import Path

    from lab_etl.contracts import contract
    from lab_etl.lakehouse import delta

    spark = lakehouse
    runs = contract("run_plates")
    delta.ensure_table(spark, runs)
    tracker = spark.sparkContext.statusTracker()
    spark.sparkContext.setJobGroup("holds-no-data", "holds_no_data on a table just created")
    try:
        assert delta.holds_no_data(spark, runs)
        assert list(tracker.getJobIdsForGroup("holds-no-data")) == []
    finally:
        spark.sparkContext.setJobGroup("", "")
    log_dir = Path(delta.table_location(spark, runs).removeprefix("file:")) / "_delta_log"

    def without_checksums() -> bool:
        for crc in log_dir.glob("*.crc"):
            crc.unlink()
        spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()  # type: ignore[union-attr]
        return delta.holds_no_data(spark, runs)

    assert without_checksums()
    delta.append(spark, spark.createDataFrame([("r1", "silver", "P1")], runs.spark_schema()), runs)
    assert not delta.holds_no_data(spark, runs)
    assert not without_checksums()
