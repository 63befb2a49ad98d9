"""Delta Lake writes: tables created from their contracts, idempotent MERGE on natural keys, retries on
concurrent-write conflicts.

Examples
--------
>>> table = ensure_table(spark, contract("instrument_readings"))     # doctest: +SKIP
>>> merge_new_rows(spark, readings_df, contract("instrument_readings"))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from lab_etl.contracts import TableContract
from lab_etl.lakehouse.locks import table_write_lock

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

#: Table properties every lab_etl table gets: readable by Athena and Redshift Spectrum (no deletion
#: vectors, no column mapping; Spectrum reads the symlink manifests Delta regenerates on every write), with the
#: change history kept for 30 days and removed files for a week of time travel.
TABLE_PROPERTIES = {
    "delta.enableDeletionVectors": "false",
    "delta.compatibility.symlinkFormatManifest.enabled": "true",
    "delta.logRetentionDuration": "interval 30 days",
    "delta.deletedFileRetentionDuration": "interval 7 days",
}

CONFLICT_RETRIES = 5


def table_exists(spark: SparkSession, contract: TableContract) -> bool:
    return bool(spark.catalog.tableExists(contract.qualified_name))


def table_location(spark: SparkSession, contract: TableContract) -> str:
    """Where the contract's Delta folder lives: ``<database location>/<table>``."""
    database = spark.catalog.getDatabase(contract.database)
    return f"{str(database.locationUri).rstrip('/')}/{contract.table}"


def is_delta_folder(spark: SparkSession, location: str) -> bool:
    """True when ``location`` (local or ``s3a://``) holds a Delta table's ``_delta_log``."""
    jvm: Any = spark._jvm
    log_path = jvm.org.apache.hadoop.fs.Path(location.rstrip("/") + "/_delta_log")
    return bool(log_path.getFileSystem(spark._jsc.hadoopConfiguration()).exists(log_path))  # type: ignore[attr-defined]


def ensure_table(spark: SparkSession, contract: TableContract) -> str:
    """The contract's table by name, registered from its Delta folder when the session does not know it yet, else
    created empty from the contract under the table's write lock; returns its qualified name.

    The warehouse folder is the catalog (:mod:`lab_etl.lakehouse.spark`): a session registers a table the first time
    it is used, so a command pays only for the tables it touches.
    """
    if table_exists(spark, contract):
        return contract.qualified_name
    location = table_location(spark, contract)
    if is_delta_folder(spark, location):
        spark.sql(f"CREATE TABLE IF NOT EXISTS {contract.qualified_name} USING DELTA LOCATION '{location}'")
        return contract.qualified_name
    with table_write_lock(spark, contract.qualified_name):
        if is_delta_folder(spark, location):  # another process created it while this one waited for the lock
            spark.sql(f"CREATE TABLE IF NOT EXISTS {contract.qualified_name} USING DELTA LOCATION '{location}'")
            return contract.qualified_name
        partitioned = f"\nPARTITIONED BY ({', '.join(contract.partition_by)})" if contract.partition_by else ""
        properties = ", ".join(f"'{k}' = '{v}'" for k, v in TABLE_PROPERTIES.items())
        comment = contract.description.replace("'", "\\'")
        spark.sql(
            f"CREATE TABLE IF NOT EXISTS {contract.qualified_name} (\n  {contract.ddl_columns()}\n) USING DELTA"
            f"{partitioned}\nLOCATION '{location}'\nCOMMENT '{comment}'\nTBLPROPERTIES ({properties})"
        )
    return contract.qualified_name


def conform(df: DataFrame, contract: TableContract) -> DataFrame:
    """Select the contract's columns in order, cast to the contract's types."""
    from pyspark.sql import functions as F

    return df.select([F.col(c.name).cast(c.type).alias(c.name) for c in contract.columns])


def append(spark: SparkSession, df: DataFrame, contract: TableContract) -> None:
    """Append rows (for logs whose key is new by construction, e.g. run id + path)."""
    ensure_table(spark, contract)
    _with_conflict_retry(
        spark,
        lambda: conform(df, contract).write.format("delta").mode("append").saveAsTable(contract.qualified_name),
        contract,
    )


def merge_new_rows(spark: SparkSession, df: DataFrame, contract: TableContract) -> None:
    """Insert the rows whose natural key the table does not hold yet; existing rows are left alone.

    Running it twice with the same rows changes nothing (no new rows, and Delta writes no data files).
    """
    from delta.tables import DeltaTable

    ensure_table(spark, contract)
    source = conform(df, contract)
    condition = " AND ".join(f"target.`{k}` <=> source.`{k}`" for k in contract.natural_key)

    def run() -> None:
        target = DeltaTable.forName(spark, contract.qualified_name)
        target.alias("target").merge(source.alias("source"), condition).whenNotMatchedInsertAll().execute()

    _with_conflict_retry(spark, run, contract)


def upsert(spark: SparkSession, df: DataFrame, contract: TableContract) -> None:
    """Insert new rows and update the rows whose values changed, on the natural key; nothing is deleted."""
    from delta.tables import DeltaTable

    ensure_table(spark, contract)
    source = conform(df, contract)
    on = " AND ".join(f"target.`{k}` <=> source.`{k}`" for k in contract.natural_key)
    others = [c for c in contract.column_names if c not in contract.natural_key]
    changed = " OR ".join(f"NOT (target.`{c}` <=> source.`{c}`)" for c in others) or "false"

    def run() -> None:
        target = DeltaTable.forName(spark, contract.qualified_name)
        (
            target.alias("target")
            .merge(source.alias("source"), on)
            .whenMatchedUpdateAll(condition=changed)
            .whenNotMatchedInsertAll()
            .execute()
        )

    _with_conflict_retry(spark, run, contract)


def sync_scope(
    spark: SparkSession, df: DataFrame, contract: TableContract, scope_column: str, scope_values: list[str]
) -> None:
    """Make the table's rows whose ``scope_column`` is in ``scope_values`` equal to ``df`` (one MERGE).

    Rows of the scope that changed are updated, new ones inserted, and rows of the scope that ``df`` no longer holds
    deleted; rows outside the scope are untouched. With an empty scope nothing is written at all, which is what
    keeps a rerun with nothing new from adding Delta versions.
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    if not scope_values:
        return
    ensure_table(spark, contract)
    source = conform(df.where(F.col(scope_column).isin(scope_values)), contract)
    on = " AND ".join(f"target.`{k}` <=> source.`{k}`" for k in contract.natural_key)
    others = [c for c in contract.column_names if c not in contract.natural_key]
    changed = " OR ".join(f"NOT (target.`{c}` <=> source.`{c}`)" for c in others) or "false"
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in scope_values)
    in_scope = f"target.`{scope_column}` IN ({quoted})"

    def run() -> None:
        target = DeltaTable.forName(spark, contract.qualified_name)
        (
            target.alias("target")
            .merge(source.alias("source"), on)
            .whenMatchedUpdateAll(condition=changed)
            .whenNotMatchedInsertAll()
            .whenNotMatchedBySourceDelete(condition=in_scope)
            .execute()
        )

    _with_conflict_retry(spark, run, contract)


def _with_conflict_retry(spark: SparkSession, action, contract: TableContract) -> None:  # type: ignore[no-untyped-def]
    """Run a write under the table's write lock (:mod:`lab_etl.lakehouse.locks`), and retry it when it lost a race
    with a writer that does not take the lock (Delta's optimistic concurrency)."""
    for attempt in range(1, CONFLICT_RETRIES + 1):
        try:
            with table_write_lock(spark, contract.qualified_name) as held:
                held.check()
                action()
            return
        except Exception as exc:
            name = type(exc).__name__ + " " + str(exc)[:200]
            if "Concurrent" not in name or attempt == CONFLICT_RETRIES:
                raise
            log.warning(
                "write to %s conflicted with another writer (%s); retry %d", contract.qualified_name, name, attempt
            )
            time.sleep(0.5 * attempt)
