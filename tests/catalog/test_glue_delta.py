"""The catalog against a real Delta table: its schema, and partition folders as Delta's manifest writer names them."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from lab_etl.catalog.glue_catalog import glue_columns, publish_tables, table_to_publish
from lab_etl.contracts import contract

pytestmark = [pytest.mark.spark, pytest.mark.aws, pytest.mark.slow]

STATUSES = ["parsed", "dup/licate: 1", "100% quarantined"]


def test_a_delta_tables_schema_and_manifests_are_what_glue_gets(spark: Any, tmp_path: Path, glue: Any) -> None:
    ingest_log = dataclasses.replace(contract("ingest_log"), partition_by=("status",))
    root = tmp_path / "ingest_log"
    # ``retries`` stands for schema evolution: a column the table has and the contract does not know yet.
    rows = [(f"run{i}", f"f{i}.csv", i * 10, status, [i]) for i, status in enumerate(STATUSES)]
    schema = "run_id string, file_name string, size_bytes bigint, status string, retries array<int>"
    spark.createDataFrame(rows, schema).write.format("delta").partitionBy("status").save(str(root))
    spark.sql(f"GENERATE symlink_format_manifest FOR TABLE delta.`{root}`")

    delta = spark.read.format("delta").load(str(root))
    actual = [(f.name, f.dataType) for f in delta.schema]
    partitions = [{"status": row.status} for row in delta.select("status").distinct().collect()]
    table = table_to_publish(ingest_log, str(root), actual, partitions)
    publish_tables(glue, [table])

    columns = glue.get_table(DatabaseName="lab_bronze", Name="ingest_log")["Table"]["StorageDescriptor"]["Columns"]
    assert [(c["Name"], c["Type"]) for c in columns] == [
        ("run_id", "string"),
        ("file_name", "string"),
        ("size_bytes", "bigint"),
        ("retries", "array<int>"),
    ]
    assert columns[0]["Comment"] == ingest_log.column("run_id").comment
    assert glue_columns(ingest_log, actual)[-1].comment == ""

    manifest = root / "_symlink_format_manifest"
    written = sorted(str(p.parent.relative_to(manifest)) for p in manifest.rglob("manifest"))
    listed = glue.get_partitions(DatabaseName="lab_bronze", TableName="ingest_log_spectrum")["Partitions"]
    registered = sorted(p["StorageDescriptor"]["Location"].removeprefix(table.manifest_location) for p in listed)
    assert registered == written
    assert len(written) == len(STATUSES)
