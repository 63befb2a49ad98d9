"""The lakehouse's tables as they are on disk: which contract tables exist, where, with which schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab_etl.contracts import TableContract, all_tables, contract

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class LakehouseTable:
    """A contract table that exists: its location and the Delta table's actual columns (name, Spark type)."""

    contract: TableContract
    location: str
    columns: list[tuple[str, str]]
    partitions: list[dict[str, str]]


def existing_tables(spark: SparkSession, databases: tuple[str, ...] | None = None) -> list[LakehouseTable]:
    """Every contract table the session's catalog holds, with location, real schema and partition values."""
    found = []
    for name in all_tables():
        table = contract(name)
        if databases and table.database not in databases:
            continue
        if not spark.catalog.tableExists(table.qualified_name):
            continue
        detail = spark.sql(f"DESCRIBE DETAIL {table.qualified_name}").collect()[0]
        frame = spark.table(table.qualified_name)
        columns = [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]
        partitions = []
        if table.partition_by:
            partitions = [
                {k: str(row[k]) for k in table.partition_by}
                for row in frame.select(*table.partition_by).distinct().collect()
            ]
        found.append(LakehouseTable(table, str(detail["location"]), columns, partitions))
    return found


def register_local(spark: SparkSession, warehouse: str) -> list[str]:
    """Register in the local metastore every contract table whose Delta folder exists under ``warehouse`` but which
    the metastore does not know (a copied warehouse, a lost metastore). Returns the tables registered."""
    from pathlib import Path

    registered = []
    for name in all_tables():
        table = contract(name)
        folder = Path(warehouse) / f"{table.database}.db" / table.table
        if (folder / "_delta_log").is_dir() and not spark.catalog.tableExists(table.qualified_name):
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {table.database}")
            spark.sql(f"CREATE TABLE {table.qualified_name} USING DELTA LOCATION '{folder.resolve()}'")
            registered.append(table.qualified_name)
    return registered
