"""The bronze step: landing files -> ``lab_bronze.instrument_readings``, ``ingest_log``, ``quarantine``,
``ingest_runs``.

Spark lists the landing area (``binaryFile``), hashes every new file and parses the files in parallel
with the same parsers the CLI uses (``mapInArrow`` calling :func:`lab_etl.parsers.registry.parse_bytes`).
Nothing is lost: every new file is logged as ``parsed``, ``quarantined`` (with the reason, its bytes kept in
the quarantine table) or ``duplicate`` (same bytes as a file already ingested). A file already logged under
the same path, size and modification time is skipped, so a rerun reads only what is new — the ingest log is
the job bookmark.

Writes are ordered for crash safety: readings (MERGE on their natural key), then quarantine (MERGE), then the
log. A run killed half-way leaves no partial Delta commit; the rerun re-parses the unlogged files and the
MERGE adds nothing twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from lab_etl.contracts import contract
from lab_etl.errors import ConfigError
from lab_etl.lakehouse import delta

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

READINGS = "instrument_readings"
LOG = "ingest_log"
QUARANTINE = "quarantine"
RUNS = "ingest_runs"

#: Columns the parse step adds beside the reading columns: one "file" row per file, many "reading" rows.
_OUTCOME_FIELDS = (
    ("row_kind", "string"),
    ("status", "string"),
    ("reason", "string"),
    ("rows", "bigint"),
    ("engine", "string"),
)


class FileOutcome(NamedTuple):
    """What became of one new landing file."""

    status: str  # parsed | quarantined | duplicate
    reason: str | None
    parser: str | None
    rows: int
    engine: str | None


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


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def ingest_landing(
    spark: SparkSession,
    landing: str,
    *,
    run_id: str | None = None,
    vendor: str | None = None,
    engine: str = "auto",
) -> IngestSummary:
    """Ingest every new file under ``landing`` (a folder, or an ``s3a://`` prefix) into bronze.

    Parameters
    ----------
    spark:
        The session from :func:`lab_etl.lakehouse.spark.get_spark`.
    landing:
        Folder or URI read recursively; hidden files (``.x``, ``_x``) are ignored as Spark does.
    vendor, engine:
        As for ``lab-etl parse``: force one parser, or choose the allotropy engine.
    """
    from pyspark.sql import functions as F

    run_id = run_id or new_run_id()
    started = datetime.now(UTC)
    for table in (READINGS, LOG, QUARANTINE, RUNS):
        delta.ensure_table(spark, contract(table))

    listing = list_landing(spark, landing)
    files_seen = len(listing)
    logged = {
        (row["path"], row["size_bytes"], _ms(row["modified_at"]))
        for row in spark.table(contract(LOG).qualified_name).select("path", "size_bytes", "modified_at").collect()
    }
    new_entries = [entry for entry in listing if (entry.path, entry.size_bytes, _ms(entry.modified_at)) not in logged]
    files = _read_landing(spark, landing) if any(e.size_bytes for e in new_entries) else None
    digests = _digests(spark, files, [e for e in new_entries if e.size_bytes]) if files is not None else {}
    digests.update({e.path: EMPTY_SHA256 for e in new_entries if not e.size_bytes})

    known = {
        row["sha256"]: row["path"]
        for row in spark.table(contract(LOG).qualified_name)
        .where(F.col("status").isin("parsed", "quarantined"))
        .groupBy("sha256")
        .agg(F.min("path").alias("path"))
        .collect()
    }
    duplicates: dict[str, str] = {}
    to_parse: list[str] = []
    first_of_sha: dict[str, str] = {}
    for entry in sorted(new_entries, key=lambda e: e.path):
        sha = digests[entry.path]
        if sha in known:
            duplicates[entry.path] = f"same bytes as {known[sha]}, already ingested"
        elif sha in first_of_sha:
            duplicates[entry.path] = f"same bytes as {first_of_sha[sha]} in this run"
        else:
            first_of_sha[sha] = entry.path
            to_parse.append(entry.path)
    empty = [e.path for e in new_entries if not e.size_bytes and e.path in to_parse]
    to_parse = [p for p in to_parse if p not in set(empty)]

    now = datetime.now(UTC)
    parse_input = None
    if to_parse and files is not None:
        wanted = spark.createDataFrame([(p,) for p in to_parse], "path string")
        # one file per task: parsing is the expensive part and files differ wildly in size
        parse_input = (
            files.join(F.broadcast(wanted), "path")
            .select("path", "content")
            .repartition(min(len(to_parse), spark.sparkContext.defaultParallelism * 4), "path")
        )
    outcomes = _parse_files(spark, parse_input, vendor, engine).persist() if parse_input is not None else None

    readings_written = 0
    parsed_rows: dict[str, FileOutcome] = {
        path: FileOutcome("quarantined", "the file is empty (0 bytes)", None, 0, None) for path in empty
    }
    if outcomes is not None:
        file_rows = (
            outcomes.where(F.col("row_kind") == "file")
            .select("source_file", "status", "reason", "rows", "parser", "engine")
            .collect()
        )
        parsed_rows.update(
            {
                r["source_file"]: FileOutcome(r["status"], r["reason"], r["parser"], r["rows"], r["engine"])
                for r in file_rows
            }
        )
        readings = outcomes.where(F.col("row_kind") == "reading").withColumn("run_id", F.lit(run_id))
        readings_written = sum(o.rows for o in parsed_rows.values() if o.status == "parsed")
        if readings_written:
            delta.merge_new_rows(spark, readings, contract(READINGS))
        outcomes.unpersist()
    _quarantine(spark, files, parsed_rows, new_entries, run_id, now)

    log_rows = []
    for entry in new_entries:
        path = entry.path
        if path in duplicates:
            outcome = FileOutcome("duplicate", duplicates[path], None, 0, None)
        else:
            outcome = parsed_rows[path]
        status, reason, parser, rows, used_engine = outcome
        log_rows.append(
            (
                run_id,
                path,
                path.rsplit("/", 1)[-1],
                entry.size_bytes,
                entry.modified_at,
                digests[path],
                parser,
                used_engine,
                status,
                reason,
                int(rows),
                now,
            )
        )
    if log_rows:
        delta.append(spark, spark.createDataFrame(log_rows, contract(LOG).spark_schema()), contract(LOG))

    counts = {status: sum(1 for r in log_rows if r[8] == status) for status in ("parsed", "quarantined", "duplicate")}
    summary = IngestSummary(
        run_id=run_id,
        landing=landing,
        files_seen=files_seen,
        files_skipped=files_seen - len(new_entries),
        files_parsed=counts["parsed"],
        files_quarantined=counts["quarantined"],
        files_duplicate=counts["duplicate"],
        readings_written=readings_written,
    )
    run_row = [
        (
            run_id,
            landing,
            started,
            datetime.now(UTC),
            summary.files_seen,
            summary.files_skipped,
            summary.files_parsed,
            summary.files_quarantined,
            summary.files_duplicate,
            summary.readings_written,
        )
    ]
    delta.append(spark, spark.createDataFrame(run_row, contract(RUNS).spark_schema()), contract(RUNS))
    log.info("ingest %s: %s", run_id, summary)
    return summary


@dataclass(frozen=True)
class LandingFile:
    """One file of the landing area as the file system lists it."""

    path: str
    size_bytes: int
    modified_at: datetime


EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def list_landing(spark: SparkSession, landing: str) -> list[LandingFile]:
    """Every file under ``landing``, recursively, through Hadoop's FileSystem (local paths and ``s3a://`` alike).

    Spark's file sources skip 0-byte files; this listing does not, so that empty uploads are accounted for.
    Hidden files and folders (``.x``, ``_x``) are left out, as Spark leaves them out.
    """
    jvm: Any = spark._jvm
    root = jvm.org.apache.hadoop.fs.Path(landing)
    fs = root.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
    if not fs.exists(root):
        raise ConfigError(f"landing area {landing} does not exist")
    root_text = fs.makeQualified(root).toString().rstrip("/")
    found = []
    iterator = fs.listFiles(root, True)
    while iterator.hasNext():
        status = iterator.next()
        path = status.getPath().toString()
        relative = path[len(root_text) :].lstrip("/") if path.startswith(root_text) else status.getPath().getName()
        if any(part.startswith((".", "_")) for part in relative.split("/")):
            continue
        found.append(
            LandingFile(path, int(status.getLen()), datetime.fromtimestamp(status.getModificationTime() / 1000, UTC))
        )
    return sorted(found, key=lambda f: f.path)


def _ms(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # Spark returns session-local (UTC) naive timestamps
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _read_landing(spark: SparkSession, landing: str) -> DataFrame:
    return spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(landing)


def _digests(spark: SparkSession, files: DataFrame, entries: list[LandingFile]) -> dict[str, str]:
    """SHA-256 of each listed non-empty file, computed by Spark where the bytes are."""
    from pyspark.sql import functions as F

    if not entries:
        return {}
    wanted = spark.createDataFrame([(e.path,) for e in entries], "path string")
    rows = files.join(F.broadcast(wanted), "path").select("path", F.sha2("content", 256).alias("sha256")).collect()
    digests = {row["path"]: row["sha256"] for row in rows}
    missing = [e.path for e in entries if e.path not in digests]
    if missing:
        raise ConfigError(
            f"{len(missing)} listed file(s) could not be read, e.g. {missing[0]}; were they removed during the run?"
        )
    return digests


def _quarantine(
    spark: SparkSession,
    files: DataFrame | None,
    outcomes: dict[str, FileOutcome],
    entries: list[LandingFile],
    run_id: str,
    now: datetime,
) -> None:
    """Keep every quarantined file's bytes with its reason (MERGE on sha256: a file is kept once)."""
    from pyspark.sql import functions as F

    reasons = {path: o.reason for path, o in outcomes.items() if o.status == "quarantined"}
    if not reasons:
        return
    sizes = {e.path: e.size_bytes for e in entries}
    empty_rows = [
        (EMPTY_SHA256, p, p.rsplit("/", 1)[-1], 0, reasons[p], b"", run_id, now) for p in reasons if sizes[p] == 0
    ]
    frames = []
    if empty_rows:
        frames.append(spark.createDataFrame(empty_rows, contract(QUARANTINE).spark_schema()))
    non_empty = [(p, reasons[p]) for p in reasons if sizes[p] > 0]
    if non_empty and files is not None:
        reason_df = spark.createDataFrame(non_empty, "path string, reason string")
        frames.append(
            files.join(F.broadcast(reason_df), "path").select(
                F.sha2("content", 256).alias("sha256"),
                "path",
                F.element_at(F.split("path", "/"), -1).alias("file_name"),
                F.col("length").alias("size_bytes"),
                "reason",
                "content",
                F.lit(run_id).alias("run_id"),
                F.lit(now).cast("timestamp").alias("quarantined_at"),
            )
        )
    quarantine = frames[0]
    for frame in frames[1:]:
        quarantine = quarantine.unionByName(frame)
    delta.merge_new_rows(spark, quarantine, contract(QUARANTINE))


def _parse_files(spark: SparkSession, files: DataFrame, vendor: str | None, engine: str) -> DataFrame:
    """One output row per reading plus one ``file`` row per input file with its status."""
    from pyspark.sql.types import StructField, StructType, _parse_datatype_string

    reading_fields = [f for f in contract(READINGS).spark_schema().fields if f.name != "run_id"]
    extra = [StructField(name, _parse_datatype_string(kind), True) for name, kind in _OUTCOME_FIELDS]
    # Reading columns are nullable here: file rows carry only lineage.
    schema = StructType([StructField(f.name, f.dataType, True) for f in reading_fields] + extra)
    names = [f.name for f in reading_fields]

    def parse_batches(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        from lab_etl.errors import ParseError
        from lab_etl.parsers.registry import parse_bytes, sha256_hex

        arrow_schema = pa.schema([pa.field(f.name, _arrow_type(f.dataType.simpleString())) for f in schema.fields])
        for batch in batches:
            for path, content in zip(
                batch.column("path").to_pylist(), batch.column("content").to_pylist(), strict=True
            ):
                columns: dict[str, list[object]] = {name: [] for name in arrow_schema.names}
                try:
                    parsed = parse_bytes(content or b"", path, vendor=vendor, engine=engine)
                except ParseError as exc:
                    _file_row(
                        columns, names, path, sha256_hex(content or b""), "quarantined", exc.reason, 0, None, None
                    )
                else:
                    for reading in parsed.readings:
                        for name in names:
                            columns[name].append(getattr(reading, name))
                        for name, _ in _OUTCOME_FIELDS:
                            columns[name].append("reading" if name == "row_kind" else None)
                    _file_row(
                        columns,
                        names,
                        path,
                        parsed.source_sha256,
                        "parsed",
                        None,
                        len(parsed.readings),
                        parsed.parser,
                        parsed.engine,
                    )
                yield pa.RecordBatch.from_pydict(columns, schema=arrow_schema)

    return files.mapInArrow(parse_batches, schema)


def _file_row(
    columns: dict[str, list[object]],
    names: list[str],
    path: str,
    sha: str,
    status: str,
    reason: str | None,
    rows: int,
    parser: str | None,
    engine: str | None,
) -> None:
    values = {
        "source_file": path,
        "source_sha256": sha,
        "parser": parser,
        "row_kind": "file",
        "status": status,
        "reason": reason,
        "rows": rows,
        "engine": engine,
    }
    for name in columns:
        columns[name].append(values.get(name))


def _arrow_type(spark_type: str) -> pa.DataType:
    import pyarrow as pa

    return {
        "string": pa.string(),
        "int": pa.int32(),
        "bigint": pa.int64(),
        "double": pa.float64(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "boolean": pa.bool_(),
        "binary": pa.binary(),
    }[spark_type]
