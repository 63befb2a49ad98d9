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
    """Every contract table of the warehouse, with location, real schema and partition values."""
    attach_tables(spark)
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


def attach_tables(spark: SparkSession, names: list[str] | None = None) -> list[str]:
    """Register by name the contract tables (all, or the qualified ``names``) whose Delta folder exists in the
    warehouse but which this session does not know yet; returns the tables registered.

    The warehouse folder is the catalog (:mod:`lab_etl.lakehouse.spark`); commands that read tables by name (``lab-etl
    sql``, the report, publishing) attach what they use, and a command that names one table pays for one.
    """
    from lab_etl.lakehouse.delta import is_delta_folder, table_location
    from lab_etl.lakehouse.spark import ensure_databases

    wanted = [name for name in all_tables() if names is None or contract(name).qualified_name in names]
    ensure_databases(spark, tuple(sorted({contract(name).database for name in wanted})))
    registered = []
    for name in wanted:
        table = contract(name)
        if spark.catalog.tableExists(table.qualified_name):
            continue
        location = table_location(spark, table)
        if is_delta_folder(spark, location):
            spark.sql(f"CREATE TABLE IF NOT EXISTS {table.qualified_name} USING DELTA LOCATION '{location}'")
            registered.append(table.qualified_name)
    return registered


def tables_named_in(query: str) -> list[str]:
    """The contract tables a SQL text names (``lab_bronze.ingest_log`` …), in the order of the contracts.

    Examples
    --------
    >>> tables_named_in("SELECT count(*) FROM lab_bronze.instrument_readings r JOIN LAB_GOLD.plate_qc q")
    ['lab_bronze.instrument_readings', 'lab_gold.plate_qc']
    """
    import re

    named = {f"{db}.{table}".lower() for db, table in re.findall(r"`?(\w+)`?\s*\.\s*`?(\w+)`?", query)}
    return [contract(n).qualified_name for n in all_tables() if contract(n).qualified_name in named]
