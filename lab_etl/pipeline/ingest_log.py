"""``lab_bronze.ingest_log``, the job bookmark: which listed files are new, which bytes were ingested before, and
the log rows a run writes for every file it read.

A file already logged under the same path, size and modification time is not read again. The comparison runs in
Spark (an anti-join of the listing with the log), so a warehouse that has logged 100,000 files costs one small
job, not 100,000 rows collected to the driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from lab_etl.contracts import contract
from lab_etl.lakehouse import delta
from lab_etl.lakehouse.frames import local_frame
from lab_etl.run_ids import new_run_id

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lab_etl.pipeline.landing import LandingFile

LOG = "ingest_log"

__all__ = [
    "LOG",
    "FileOutcome",
    "IngestSummary",
    "classify",
    "known_digests",
    "log_rows",
    "new_run_id",
    "unlogged",
    "write_log",
]


class FileOutcome(NamedTuple):
    """What became of one new landing file."""

    status: str  # parsed | quarantined | duplicate
    reason: str | None
    parser: str | None
    rows: int
    engine: str | None


def _log_exists(spark: SparkSession) -> bool:
    """True when the ingest log has been written in this warehouse (registered on first use)."""
    table = contract(LOG)
    if delta.table_exists(spark, table):
        return True
    if delta.is_delta_folder(spark, delta.table_location(spark, table)):
        delta.ensure_table(spark, table)
        return True
    return False


def unlogged(spark: SparkSession, entries: list[LandingFile]) -> list[LandingFile]:
    """The entries the ingest log does not hold under the same path, size and modification time."""
    from pyspark.sql import functions as F

    if not entries or not _log_exists(spark):
        return list(entries)
    listed = local_frame(
        spark,
        [(e.path, e.size_bytes, e.modified_at) for e in entries],
        "path string, size_bytes bigint, modified_at timestamp",
    )
    logged = spark.table(contract(LOG).qualified_name).select("path", "size_bytes", "modified_at")
    # modification times are compared to the millisecond, as the file system reports them
    new_paths = {
        row[0]
        for row in listed.join(
            logged.withColumn("modified_at", F.date_trunc("millisecond", "modified_at")),
            ["path", "size_bytes", "modified_at"],
            "left_anti",
        )
        .select("path")
        .collect()
    }
    return [e for e in entries if e.path in new_paths]


def known_digests(spark: SparkSession, digests: set[str]) -> dict[str, str]:
    """For each of ``digests`` already ingested (parsed or quarantined) by an earlier run, the first such path."""
    from pyspark.sql import functions as F

    if not digests or not _log_exists(spark):
        return {}
    wanted = local_frame(spark, [(d,) for d in sorted(digests)], "sha256 string")
    rows = (
        spark.table(contract(LOG).qualified_name)
        .where(F.col("status").isin("parsed", "quarantined"))
        .join(F.broadcast(wanted), "sha256")
        .groupBy("sha256")
        .agg(F.min("path").alias("path"))
        .collect()
    )
    return {row["sha256"]: row["path"] for row in rows}


def classify(
    entries: list[LandingFile], digests: dict[str, str], known: dict[str, str], seen: dict[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Split new files into duplicates (bytes already ingested, or seen earlier in this run) and files to read.

    ``seen`` maps the digests read earlier in this run to their path; it is updated with the files to read.
    """
    first_of_sha = seen if seen is not None else {}
    duplicates: dict[str, str] = {}
    to_read: list[str] = []
    for entry in sorted(entries, key=lambda e: e.path):
        sha = digests[entry.path]
        if sha in known:
            duplicates[entry.path] = f"same bytes as {known[sha]}, already ingested"
        elif sha in first_of_sha:
            duplicates[entry.path] = f"same bytes as {first_of_sha[sha]} in this run"
        else:
            first_of_sha[sha] = entry.path
            to_read.append(entry.path)
    return duplicates, to_read


def log_rows(
    run_id: str,
    entries: list[LandingFile],
    digests: dict[str, str],
    outcomes: dict[str, FileOutcome],
    now: datetime,
) -> list[tuple[Any, ...]]:
    """One ``ingest_log`` row per entry, in the contract's column order."""
    rows = []
    for entry in entries:
        status, reason, parser, count, engine = outcomes[entry.path]
        rows.append(
            (
                run_id,
                entry.path,
                entry.path.rsplit("/", 1)[-1],
                entry.size_bytes,
                entry.modified_at,
                digests[entry.path],
                parser,
                engine,
                status,
                reason,
                int(count),
                now,
            )
        )
    return rows


def write_log(spark: SparkSession, rows: list[tuple[Any, ...]]) -> None:
    """Append the run's log rows (one commit; nothing when there are none)."""
    if rows:
        delta.append(spark, local_frame(spark, rows, contract(LOG).spark_schema()), contract(LOG))


@dataclass(frozen=True)
class IngestSummary:
    """What one ingest run did; files_seen = skipped + parsed + quarantined + duplicate."""

    run_id: str
    landing: str
    files_seen: int
    files_skipped: int
    files_parsed: int
    files_quarantined: int
    files_duplicate: int
    readings_written: int

    @property
    def files_new(self) -> int:
        return self.files_parsed + self.files_quarantined + self.files_duplicate
