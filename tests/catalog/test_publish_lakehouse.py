"""`lab-etl catalog publish` on the demo lakehouse against a moto Glue: every table, twice, idempotent."""

from __future__ import annotations

import boto3
import pytest
from click.testing import CliRunner

from lab_etl.cli import cli
from lab_etl.lakehouse.delta import write_manifests
from lab_etl.lakehouse.tables import existing_tables

pytestmark = [pytest.mark.spark, pytest.mark.aws]


def test_publish_twice_registers_every_table_for_athena_and_spectrum(demo_lakehouse, warehouse, moto_server) -> None:  # type: ignore[no-untyped-def]
    region = "eu-west-3"  # a region of its own on the shared moto server
    args = ["catalog", "publish", "--warehouse", str(warehouse), "--endpoint-url", moto_server, "--region", region]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert "created" not in second.output and "updated" not in second.output

    tables = existing_tables(demo_lakehouse)
    assert len(tables) >= 13
    glue = boto3.client("glue", endpoint_url=moto_server, region_name=region)
    for table in tables:
        c = table.contract
        athena = glue.get_table(DatabaseName=c.database, Name=c.table)["Table"]
        assert athena["Parameters"]["table_type"] == "DELTA"
        columns = athena["StorageDescriptor"]["Columns"]
        assert [col["Name"] for col in columns] == [n for n, _ in table.columns if n not in c.partition_by]
        assert all(col.get("Comment") for col in columns), c.qualified_name
        assert athena["StorageDescriptor"]["Location"] == table.location
        spectrum = glue.get_table(DatabaseName=c.database, Name=f"{c.table}_spectrum")["Table"]
        assert spectrum["StorageDescriptor"]["InputFormat"] == "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
        assert spectrum["StorageDescriptor"]["Location"].rstrip("/").endswith("_symlink_format_manifest")
    well = next(
        col
        for col in glue.get_table(DatabaseName="lab_gold", Name="assay_results_flat")["Table"]["StorageDescriptor"][
            "Columns"
        ]
        if col["Name"] == "scaffold_mw"
    )
    assert well == {"Name": "scaffold_mw", "Type": "double", "Comment": "Scaffold molecular weight (g/mol)"}


def test_tables_use_only_features_athena_and_spectrum_read(demo_lakehouse, warehouse) -> None:  # type: ignore[no-untyped-def]
    tables = existing_tables(demo_lakehouse)
    write_manifests(demo_lakehouse, [table.contract.qualified_name for table in tables])
    for table in tables:
        name = table.contract.qualified_name
        detail = demo_lakehouse.sql(f"DESCRIBE DETAIL {name}").collect()[0]
        assert detail.minReaderVersion == 1, name  # no column mapping, no deletion vectors
        assert "deletionVectors" not in (detail.tableFeatures or []), name
        properties = detail.properties
        assert properties.get("delta.enableDeletionVectors") == "false"
        # manifests are written once per publish, not by every commit
        assert properties.get("delta.compatibility.symlinkFormatManifest.enabled") == "false"
        root = warehouse / f"{table.contract.database}.db" / table.contract.table
        listed = {
            line.strip()
            for manifest in (root / "_symlink_format_manifest").rglob("manifest")
            for line in manifest.read_text().splitlines()
        }
        current = {
            row.path
            for row in demo_lakehouse.read.format("delta")
            .load(str(root))
            .selectExpr("input_file_name() AS path")
            .distinct()
            .collect()
        }
        assert listed == current, name  # exactly the data files of the table's current version


def test_maintain_compacts_and_refuses_unsafe_retention(demo_lakehouse, warehouse) -> None:  # type: ignore[no-untyped-def]
    unsafe = CliRunner().invoke(cli, ["maintain", "--warehouse", str(warehouse), "--retain-hours", "1"])
    assert unsafe.exit_code != 0 and "below 168" in str(unsafe.exception)
    result = CliRunner().invoke(cli, ["maintain", "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "lab_bronze.ingest_log:" in result.output
    history = demo_lakehouse.sql("DESCRIBE HISTORY lab_bronze.ingest_log").select("operation").collect()
    assert {"OPTIMIZE", "VACUUM START", "VACUUM END"} <= {h.operation for h in history}
