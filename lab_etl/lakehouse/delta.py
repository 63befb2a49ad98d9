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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lab_etl.contracts import TableContract
from lab_etl.lakehouse.locks import table_write_lock

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

#: Table properties every lab_etl table gets: readable by Athena and Redshift Spectrum (no deletion
#: vectors, no column mapping), with the change history kept for 30 days and removed files for a week of time travel.
#: Spectrum reads a table through its symlink manifest, which is written once per workflow run, not on every commit:
#: by the workflow's crawlers (``WriteManifest``) on Glue and by ``lab-etl catalog publish``
#: (:func:`write_manifests`). Delta's automatic manifest update costs a fixed ~0.7 s per commit, several times the
#: cost of a small append, and Spectrum readers are as well served by one manifest at the end of a run.
TABLE_PROPERTIES = {
    "delta.enableDeletionVectors": "false",
    "delta.compatibility.symlinkFormatManifest.enabled": "false",
    "delta.logRetentionDuration": "interval 30 days",
    "delta.deletedFileRetentionDuration": "interval 7 days",
}

#: Column types Delta keeps min/max statistics for (data skipping).
_STATS_TYPES = ("string", "int", "bigint", "smallint", "tinyint", "double", "float", "date", "timestamp", "decimal")


def stats_columns(contract: TableContract) -> list[str]:
    """The columns whose statistics a table keeps in its Delta log (``delta.dataSkippingStatsColumns``): ``plate_id``,
    by which every step reads and replaces its scope, and the natural key, by which rows are found; not the first 32
    columns, Delta's default.

    Statistics are gathered for each written file by code generated per write task, and read back to plan every
    filtered scan: on the wide silver and gold tables the default set made every write and read pay for columns no
    query skips by (values, units, descriptors). ``numRecords`` is kept whatever the columns.
    """
    types = {c.name: c.type.lower() for c in contract.columns}
    wanted = ["plate_id", *contract.natural_key]
    return [
        name
        for name in dict.fromkeys(wanted)
        if name in types and name not in contract.partition_by and types[name].startswith(_STATS_TYPES)
    ]


def table_properties(contract: TableContract) -> dict[str, str]:
    """:data:`TABLE_PROPERTIES` and the table's :func:`stats_columns`."""
    chosen = stats_columns(contract)
    return {**TABLE_PROPERTIES, **({"delta.dataSkippingStatsColumns": ",".join(chosen)} if chosen else {})}


CONFLICT_RETRIES = 5


def table_exists(spark: SparkSession, contract: TableContract) -> bool:
    return bool(spark.catalog.tableExists(contract.qualified_name))


def table_location(spark: SparkSession, contract: TableContract) -> str:
    """Where the contract's Delta folder lives: ``<database location>/<table>``."""
    database = spark.catalog.getDatabase(contract.database)
    return f"{str(database.locationUri).rstrip('/')}/{contract.table}"


def is_delta_folder(spark: SparkSession, location: str) -> bool:
    """True when ``location`` (local or ``s3a://``) holds a Delta table: a ``_delta_log`` with at least one commit
    (``<version>.json``) or checkpoint.

    A ``_delta_log`` folder alone is not a table: a process killed while creating the table leaves the folder
    without its first commit, and registering that folder by location fails; such a folder is created afresh.
    """
    from lab_etl.lakehouse.spark import hadoop_fs

    fs, pattern = hadoop_fs(spark, location.rstrip("/") + "/_delta_log/[0-9]*.{json,parquet}")
    found = fs.globStatus(pattern)
    return found is not None and len(found) > 0


def create_if_missing(spark: SparkSession, contract: TableContract) -> None:
    """Create the contract's table, empty, when its Delta folder does not exist yet (one file-system check when it
    does: the table is not registered, so a command that does not use it pays nothing more)."""
    if not table_exists(spark, contract) and not is_delta_folder(spark, table_location(spark, contract)):
        ensure_table(spark, contract)


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
        _clear_unfinished_create(spark, location)
        partitioned = f"\nPARTITIONED BY ({', '.join(contract.partition_by)})" if contract.partition_by else ""
        properties = ", ".join(f"'{k}' = '{v}'" for k, v in table_properties(contract).items())
        comment = contract.description.replace("'", "\\'")
        spark.sql(
            f"CREATE TABLE IF NOT EXISTS {contract.qualified_name} (\n  {contract.ddl_columns()}\n) USING DELTA"
            f"{partitioned}\nLOCATION '{location}'\nCOMMENT '{comment}'\nTBLPROPERTIES ({properties})"
        )
    return contract.qualified_name


def write_manifests(spark: SparkSession, names: Sequence[str]) -> None:
    """Write the symlink manifests Redshift Spectrum reads (``<table>/_symlink_format_manifest/``) for the tables
    ``names`` (qualified names), as of their current version: once per publish, not on every commit (see
    :data:`TABLE_PROPERTIES`)."""
    for name in names:
        spark.sql(f"GENERATE symlink_format_manifest FOR TABLE {name}")


def _clear_unfinished_create(spark: SparkSession, location: str) -> None:
    """Remove what a process killed during ``CREATE TABLE`` leaves at ``location``: a ``_delta_log`` folder without a
    commit (:func:`is_delta_folder` is False) and nothing else. Delta refuses to create a table on a location that
    is not empty, so without this every later run would fail. A folder holding anything else is left alone."""
    from lab_etl.lakehouse.spark import hadoop_fs

    fs, root = hadoop_fs(spark, location)
    if not fs.exists(root):
        return
    if [status.getPath().getName() for status in fs.listStatus(root)] == ["_delta_log"]:
        log.warning("%s holds a _delta_log without a commit (a CREATE TABLE killed half-way); removed", location)
        fs.delete(hadoop_fs(spark, location.rstrip("/") + "/_delta_log")[1], True)


def conform(df: DataFrame, contract: TableContract) -> DataFrame:
    """Select the contract's columns in order, cast to the contract's types."""
    from pyspark.sql import functions as F

    return df.select([F.col(c.name).cast(c.type).alias(c.name) for c in contract.columns])


@dataclass(frozen=True)
class Commit:
    """One Delta commit a lab_etl write made: the table, its new version, the operation and Delta's own metrics
    (``numOutputRows``, ``numTargetRowsInserted`` …), so that reports need no ``count()``."""

    table: str
    version: int
    operation: str
    metrics: dict[str, int]

    @property
    def rows_written(self) -> int:
        """Rows the commit added or changed (inserted + updated + copied rows are not counted)."""
        m = self.metrics
        if "numTargetRowsInserted" in m:
            return m.get("numTargetRowsInserted", 0) + m.get("numTargetRowsUpdated", 0)
        return m.get("numOutputRows", 0)

    @property
    def rows_inserted(self) -> int:
        return self.metrics.get("numTargetRowsInserted", self.metrics.get("numOutputRows", 0))

    @property
    def committed(self) -> bool:
        """False for a write Delta recorded no commit for (it changed nothing)."""
        return bool(self.operation)

    @classmethod
    def nothing(cls, table: str, version: int) -> Commit:
        """A write that changed nothing: the table stays at ``version``, no rows written."""
        return cls(table, version, "", {})


#: Callbacks told of every commit lab_etl makes (the run profiler listens here).
COMMIT_LISTENERS: list[Callable[[Commit], None]] = []


def _delta_log(spark: SparkSession, location: str) -> Any:
    """The session's Delta log of the table at ``location`` (Delta caches one per table)."""
    jvm: Any = spark._jvm
    return jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, location)


def _latest_snapshot(spark: SparkSession, contract: TableContract) -> Any:
    """The table's newest snapshot as its log says now (a listing of ``_delta_log``; its state is computed lazily)."""
    jvm: Any = spark._jvm
    delta_log = _delta_log(spark, table_location(spark, contract))
    return delta_log.update(False, jvm.scala.Option.empty(), jvm.scala.Option.empty())


def _version(spark: SparkSession, contract: TableContract) -> int:
    """The table's newest version as its log says now (no Spark job); -1 for none."""
    return int(_latest_snapshot(spark, contract).version())


def _last_commit(spark: SparkSession, contract: TableContract, before: int) -> Commit:
    """The commit the write just made, with its metrics, read from the commit file itself (no Spark job); a
    :meth:`Commit.nothing` when the write committed nothing.

    The version comes from the session's Delta log (updated by the write just made); the metrics from the
    ``commitInfo`` action of ``_delta_log/<version>.json``. Delta records no commit for a write that changes nothing
    (an empty ``replaceWhere`` batch that matched no file, a MERGE that inserted nothing): the version is then still
    ``before``, and the newest commit is an older write's, not this one's.
    """
    import json

    from lab_etl.lakehouse.spark import hadoop_fs

    location = table_location(spark, contract)
    version = int(_delta_log(spark, location).unsafeVolatileSnapshot().version())
    if version == before:
        return Commit.nothing(contract.qualified_name, version)
    fs, commit_path = hadoop_fs(spark, f"{location.rstrip('/')}/_delta_log/{version:020d}.json")
    stream = fs.open(commit_path)
    try:
        jvm: Any = spark._jvm
        text = bytes(jvm.org.apache.commons.io.IOUtils.toByteArray(stream)).decode("utf-8")
    finally:
        stream.close()
    info: dict[str, Any] = {}
    for line in text.splitlines():
        action = json.loads(line) if line.strip() else {}
        if "commitInfo" in action:
            info = action["commitInfo"]
            break
    metrics = {k: int(v) for k, v in (info.get("operationMetrics") or {}).items() if str(v).lstrip("-").isdigit()}
    commit = Commit(contract.qualified_name, version, str(info.get("operation", "")), metrics)
    for listener in COMMIT_LISTENERS:
        listener(commit)
    return commit


def key_condition(keys: Sequence[str], target: str = "target", source: str = "source") -> str:
    """The null-safe equality of two aliases on ``keys``: the ON clause of every lab_etl MERGE.

    Examples
    --------
    >>> key_condition(["plate_id", "well"])
    'target.`plate_id` <=> source.`plate_id` AND target.`well` <=> source.`well`'
    """
    return " AND ".join(f"{target}.`{k}` <=> {source}.`{k}`" for k in keys)


def _quoted(values: Sequence[str]) -> str:
    """SQL string literals for an IN list, sorted."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values))


def _changed_condition(contract: TableContract) -> str:
    others = [c for c in contract.column_names if c not in contract.natural_key]
    return " OR ".join(f"NOT (target.`{c}` <=> source.`{c}`)" for c in others) or "false"


def append(spark: SparkSession, df: DataFrame, contract: TableContract) -> Commit:
    """Append rows (for logs whose key is new by construction, e.g. run id + path)."""
    ensure_table(spark, contract)
    return _with_conflict_retry(
        spark,
        lambda: conform(df, contract).write.format("delta").mode("append").saveAsTable(contract.qualified_name),
        contract,
    )


def merge_new_rows(
    spark: SparkSession, df: DataFrame, contract: TableContract, *, scope: tuple[str, Sequence[str]] | None = None
) -> Commit:
    """Insert the rows whose natural key the table does not hold yet; existing rows are left alone.

    Running it twice with the same rows changes nothing (no new rows, and Delta writes no data files).
    ``scope`` (a key column and the values every source row has in it, e.g. the run's plates) is added to the match
    condition so that Delta's data skipping reads only the target files that can hold those values.
    """
    return _merge(spark, df, contract, update=False, scope=scope)


def upsert(spark: SparkSession, df: DataFrame, contract: TableContract) -> Commit:
    """Insert new rows and update the rows whose values changed, on the natural key; nothing is deleted."""
    return _merge(spark, df, contract, update=True)


def holds_no_data(spark: SparkSession, contract: TableContract) -> bool:
    """True when the table's current version has no data files (a table just created, or never written).

    A MERGE into such a table inserts every source row, duplicates included, so an append writes the same rows;
    callers hold the table's write lock, so no other lab_etl writer can add files between this look and the write.

    The file count of the newest snapshot comes from its checksum (``_delta_log/<version>.crc``, which Delta writes
    after each commit with the table's ``numFiles``): no Spark job. Without one (a writer that writes none, or a
    process killed between its commit and the checksum), Delta counts the snapshot's files: three Spark jobs of
    state reconstruction, which a write into a table holding data would run anyway, but an append into a table just
    created needs none of.
    """
    snapshot = _latest_snapshot(spark, contract)
    checksum = snapshot.checksumOpt()
    if checksum.isDefined():
        return int(checksum.get().numFiles()) == 0
    return int(snapshot.numOfFiles()) == 0


def _merge(
    spark: SparkSession,
    df: DataFrame,
    contract: TableContract,
    *,
    update: bool,
    scope: tuple[str, Sequence[str]] | None = None,
) -> Commit:
    from delta.tables import DeltaTable

    ensure_table(spark, contract)
    source = conform(df, contract)
    condition = key_condition(contract.natural_key)
    if scope is not None:
        column, values = scope
        if column not in contract.natural_key:
            raise ValueError(f"scope column {column} is not part of {contract.qualified_name}'s natural key")
        condition += f" AND target.`{column}` IN ({_quoted(values)})"

    def run() -> None:
        if holds_no_data(spark, contract):
            # nothing to match: every source row would be inserted, which an append does without the MERGE's join
            source.write.format("delta").mode("append").saveAsTable(contract.qualified_name)
            return
        target = DeltaTable.forName(spark, contract.qualified_name)
        builder = target.alias("target").merge(source.alias("source"), condition)
        if update:
            builder = builder.whenMatchedUpdateAll(condition=_changed_condition(contract))
        builder.whenNotMatchedInsertAll().execute()

    return _with_conflict_retry(spark, run, contract)


def replace_scope(
    spark: SparkSession, df: DataFrame, contract: TableContract, scope_column: str, scope_values: Sequence[str]
) -> Commit | None:
    """Make the table's rows whose ``scope_column`` is in ``scope_values`` exactly the rows of ``df`` in that scope,
    in one commit (Delta's ``replaceWhere``); rows outside the scope are untouched.

    With an empty scope nothing is written at all, which is what keeps a rerun with nothing new from adding Delta
    versions. Rebuilding a plate is one selective overwrite, not a MERGE that joins the whole table.
    """
    from pyspark.sql import functions as F

    if not scope_values:
        return None
    name = ensure_table(spark, contract)
    predicate = f"`{scope_column}` IN ({_quoted(scope_values)})"
    source = conform(df.where(F.col(scope_column).isin(list(scope_values))), contract)
    location = table_location(spark, contract)

    def write() -> None:
        if holds_no_data(spark, contract):  # nothing to replace: the same rows, without the scan for old ones
            source.write.format("delta").mode("append").save(location)
        else:
            source.write.format("delta").mode("overwrite").option("replaceWhere", predicate).save(location)

    commit = _with_conflict_retry(spark, write, contract)
    spark.catalog.refreshTable(name)
    return commit


def _with_conflict_retry(spark: SparkSession, action, contract: TableContract) -> Commit:  # type: ignore[no-untyped-def]
    """Run a write under the table's write lock (:mod:`lab_etl.lakehouse.locks`), and retry it when it lost a race
    with a writer that does not take the lock (Delta's optimistic concurrency). Returns the write's commit, read
    while the lock is still held (so it is this write's, not a concurrent writer's)."""
    for attempt in range(1, CONFLICT_RETRIES + 1):
        try:
            with table_write_lock(spark, contract.qualified_name) as held:
                held.check()
                before = _version(spark, contract)
                action()
                return _last_commit(spark, contract, before)
        except Exception as exc:
            name = type(exc).__name__ + " " + str(exc)[:200]
            if "Concurrent" not in name or attempt == CONFLICT_RETRIES:
                raise
            log.warning(
                "write to %s conflicted with another writer (%s); retry %d", contract.qualified_name, name, attempt
            )
            time.sleep(0.5 * attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")
