"""Glue Data Catalog registration against the moto server: Delta tables for Athena, Spectrum twins, idempotence."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
from pyspark.sql.types import (
    ArrayType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lab_etl.catalog import glue_catalog as glue_module
from lab_etl.catalog.glue_catalog import (
    PARQUET_SERDE,
    SYMLINK_INPUT_FORMAT,
    GlueColumn,
    TableToPublish,
    escape_partition_value,
    glue_columns,
    glue_type,
    publish_tables,
    table_to_publish,
)
from lab_etl.contracts import TableContract, contract
from lab_etl.errors import ConfigError

pytestmark = pytest.mark.aws

ROOT = "s3://lab-lake/bronze"


def _actual_schema(table: TableContract) -> list[tuple[str, str]]:
    """The Delta schema a table written from its contract has (Spark's own type names)."""
    return [(c.name, c.type) for c in table.columns]


def _readings() -> TableToPublish:
    readings = contract("instrument_readings")
    return table_to_publish(readings, f"{ROOT}/instrument_readings", _actual_schema(readings))


def _partitioned(partitions: list[dict[str, str]], extra: list[tuple[str, str]] = ()) -> TableToPublish:  # type: ignore[assignment]
    """ingest_log partitioned by status, as a lakehouse that partitions it would write it."""
    log_contract = dataclasses.replace(contract("ingest_log"), partition_by=("status",))
    return table_to_publish(
        log_contract, f"{ROOT}/ingest_log", [*_actual_schema(log_contract), *extra], partitions=partitions
    )


def _count_calls(client: Any, operation: str) -> list[str]:
    calls: list[str] = []
    client.meta.events.register(f"before-call.glue.{operation}", lambda **_: calls.append(operation))
    return calls


@pytest.mark.parametrize(
    ("spark_type", "expected"),
    [
        ("integer", "int"),
        ("long", "bigint"),
        (LongType(), "bigint"),
        (IntegerType(), "int"),
        (TimestampType(), "timestamp"),
        ("timestamp_ntz", "timestamp"),
        (DecimalType(12, 3), "decimal(12,3)"),
        ("decimal(5, 2)", "decimal(5,2)"),
        ("decimal", "decimal(10,0)"),
        ("varchar(20)", "varchar(20)"),
        (ArrayType(StringType()), "array<string>"),
        (MapType(StringType(), DoubleType()), "map<string,double>"),
        (
            StructType([StructField("well", StringType()), StructField("reads", ArrayType(LongType()))]),
            "struct<well:string,reads:array<bigint>>",
        ),
        ("array<struct<`plate id`:string,od:float>>", "array<struct<plate id:string,od:float>>"),
    ],
)
def test_spark_types_map_to_glue_types(spark_type: Any, expected: str) -> None:
    assert glue_type(spark_type) == expected


@pytest.mark.parametrize(
    ("spark_type", "reason"), [("void", "no Glue/Hive equivalent"), ("array<int", "'>'"), ("varchar", "needs its size")]
)
def test_types_glue_cannot_hold_are_config_errors(spark_type: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        glue_type(spark_type)


def test_glue_columns_follow_the_actual_schema_with_contract_comments(caplog: pytest.LogCaptureFixture) -> None:
    eln = contract("eln_experiments")
    actual = [("experiment_id", StringType()), ("author", StringType()), ("reviewed_by", ArrayType(StringType()))]
    with caplog.at_level(logging.WARNING, logger="lab_etl.catalog.glue_catalog"):
        columns = glue_columns(eln, actual)
    assert columns == [
        GlueColumn("experiment_id", "string", "Experiment id in the ELN"),
        GlueColumn("author", "string", eln.column("author").comment),
        GlueColumn("reviewed_by", "array<string>", ""),
    ]
    assert "lab_silver.eln_experiments.reviewed_by" in caplog.text
    assert "schemas/eln_experiments.yaml" in caplog.text


def test_publish_twice_creates_then_changes_nothing(glue: Any) -> None:
    readings = _readings()
    logs = _partitioned([{"status": "parsed"}, {"status": "quarantined"}])

    first = publish_tables(glue, [readings, logs])
    assert first.databases_created == ["lab_bronze"]
    assert first.created == [
        "lab_bronze.instrument_readings",
        "lab_bronze.instrument_readings_spectrum",
        "lab_bronze.ingest_log",
        "lab_bronze.ingest_log_spectrum",
    ]
    assert first.partitions_added["lab_bronze.ingest_log_spectrum"] == [("parsed",), ("quarantined",)]

    updates = _count_calls(glue, "UpdateTable")
    creates = _count_calls(glue, "BatchCreatePartition")
    second = publish_tables(glue, [readings, logs])
    assert second.unchanged == first.created
    assert second.databases_created == [] and second.created == [] and second.updated == []
    assert not second.changed_anything
    assert updates == [] and creates == []


def test_delta_table_is_native_delta_with_commented_columns(glue: Any) -> None:
    publish_tables(glue, [_readings()])
    table = glue.get_table(DatabaseName="lab_bronze", Name="instrument_readings")["Table"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Parameters"]["table_type"] == "DELTA"
    assert table["Parameters"]["classification"] == "delta"
    assert table["StorageDescriptor"]["Location"] == f"{ROOT}/instrument_readings"
    columns = table["StorageDescriptor"]["Columns"]
    expected = contract("instrument_readings").glue_columns()
    assert columns == expected
    well = next(c for c in columns if c["Name"] == "well")
    assert well == {"Name": "well", "Type": "string", "Comment": contract("instrument_readings").column("well").comment}
    assert not any(c["Type"] == "array<string>" and c["Name"] == "col" for c in columns)
    assert table["Description"] == contract("instrument_readings").description


def test_spectrum_twin_reads_the_symlink_manifest_with_partitions(glue: Any) -> None:
    publish_tables(glue, [_partitioned([{"status": "parsed"}, {"status": "dup/licate"}])])
    twin = glue.get_table(DatabaseName="lab_bronze", Name="ingest_log_spectrum")["Table"]
    descriptor = twin["StorageDescriptor"]
    assert descriptor["Location"] == f"{ROOT}/ingest_log/_symlink_format_manifest/"
    assert descriptor["InputFormat"] == SYMLINK_INPUT_FORMAT
    assert descriptor["OutputFormat"] == "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE
    assert [c["Name"] for c in twin["PartitionKeys"]] == ["status"]
    assert "status" not in [c["Name"] for c in descriptor["Columns"]]
    assert "table_type" not in twin["Parameters"]

    partitions = glue.get_partitions(DatabaseName="lab_bronze", TableName="ingest_log_spectrum")["Partitions"]
    locations = {tuple(p["Values"]): p["StorageDescriptor"]["Location"] for p in partitions}
    assert locations == {
        ("parsed",): f"{ROOT}/ingest_log/_symlink_format_manifest/status=parsed",
        ("dup/licate",): f"{ROOT}/ingest_log/_symlink_format_manifest/status=dup%2Flicate",
    }
    assert all(p["StorageDescriptor"]["InputFormat"] == SYMLINK_INPUT_FORMAT for p in partitions)


def test_schema_evolution_updates_both_tables(glue: Any) -> None:
    publish_tables(glue, [_partitioned([{"status": "parsed"}])])
    glue.update_table(  # a parameter another tool (Athena, a crawler) keeps on the table
        DatabaseName="lab_bronze",
        TableInput={
            **{
                k: v
                for k, v in glue.get_table(DatabaseName="lab_bronze", Name="ingest_log")["Table"].items()
                if k in {"Name", "Description", "TableType", "StorageDescriptor", "PartitionKeys"}
            },
            "Parameters": {
                **glue.get_table(DatabaseName="lab_bronze", Name="ingest_log")["Table"]["Parameters"],
                "owner_team": "assay_development",
            },
        },
    )
    evolved = _partitioned([{"status": "parsed"}], extra=[("instrument_serial", "string")])

    report = publish_tables(glue, [evolved])

    assert report.updated == ["lab_bronze.ingest_log", "lab_bronze.ingest_log_spectrum"]
    assert all(t.changed == ("StorageDescriptor.Columns",) for t in report.tables)
    for name in ("ingest_log", "ingest_log_spectrum"):
        table = glue.get_table(DatabaseName="lab_bronze", Name=name)["Table"]
        assert table["StorageDescriptor"]["Columns"][-1] == {"Name": "instrument_serial", "Type": "string"}
    delta = glue.get_table(DatabaseName="lab_bronze", Name="ingest_log")["Table"]
    assert delta["Parameters"]["owner_team"] == "assay_development"
    assert delta["Parameters"]["table_type"] == "DELTA"
    assert publish_tables(glue, [evolved]).updated == []


def test_partitions_are_added_and_removed_to_match(glue: Any) -> None:
    publish_tables(glue, [_partitioned([{"status": "parsed"}, {"status": "quarantined"}])])

    report = publish_tables(glue, [_partitioned([{"status": "quarantined"}, {"status": "duplicate"}])])

    assert report.partitions_added == {"lab_bronze.ingest_log_spectrum": [("duplicate",)]}
    assert report.partitions_removed == {"lab_bronze.ingest_log_spectrum": [("parsed",)]}
    assert report.unchanged == ["lab_bronze.ingest_log", "lab_bronze.ingest_log_spectrum"]
    partitions = glue.get_partitions(DatabaseName="lab_bronze", TableName="ingest_log_spectrum")["Partitions"]
    assert sorted(p["Values"][0] for p in partitions) == ["duplicate", "quarantined"]


def test_partitions_beyond_one_batch_are_all_sent(glue: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(glue_module, "_CREATE_BATCH", 2)
    monkeypatch.setattr(glue_module, "_DELETE_BATCH", 2)
    statuses = ["parsed", "quarantined", "duplicate", "failed", "skipped"]
    publish_tables(glue, [_partitioned([{"status": s} for s in statuses])])

    report = publish_tables(glue, [_partitioned([{"status": "parsed"}])])

    assert report.partitions_removed == {"lab_bronze.ingest_log_spectrum": sorted((s,) for s in statuses[1:])}
    partitions = glue.get_partitions(DatabaseName="lab_bronze", TableName="ingest_log_spectrum")["Partitions"]
    assert [p["Values"] for p in partitions] == [["parsed"]]


def test_a_partition_with_the_wrong_keys_stops_before_any_write(glue: Any) -> None:
    with pytest.raises(ConfigError, match=r"lab_bronze.ingest_log: partition \{'plate': 'P1'\}.*\['status'\]"):
        publish_tables(glue, [_partitioned([{"plate": "P1"}])])
    assert glue.get_databases()["DatabaseList"] == []


def test_partition_values_are_escaped_like_hive_folders() -> None:
    assert escape_partition_value("2024-01-02 10:00") == "2024-01-02 10%3A00"
    assert escape_partition_value("a=b/c%") == "a%3Db%2Fc%25"
    assert escape_partition_value("plain_Value-1.5") == "plain_Value-1.5"
