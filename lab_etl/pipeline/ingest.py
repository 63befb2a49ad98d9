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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from lab_etl.contracts import contract
from lab_etl.errors import ConfigError
from lab_etl.lakehouse import delta

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)
T = TypeVar("T")

READINGS = "instrument_readings"
LOG = "ingest_log"
QUARANTINE = "quarantine"
RUNS = "ingest_runs"

#: top-level folders of a landing area that hold no instrument files: ELN exports, plate layouts, reference data
SIDE_FOLDERS = ("eln", "layouts", "reference")

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
        Folder or URI read recursively; hidden files (``.x``, ``_x``) are ignored as Spark does, and so are the
        side folders :data:`SIDE_FOLDERS` (read by their own steps).
    vendor, engine:
        As for ``lab-etl parse``: force one parser, or choose the allotropy engine.
    """
    from pyspark.sql import functions as F

    run_id = run_id or new_run_id()
    started = datetime.now(UTC)
    for table in (READINGS, LOG, QUARANTINE, RUNS):
        delta.ensure_table(spark, contract(table))

    listing = list_landing(spark, landing, exclude=SIDE_FOLDERS)
    files_seen = len(listing)
    logged = {
        (row["path"], row["size_bytes"], _ms(row["modified_at"]))
        for row in spark.table(contract(LOG).qualified_name).select("path", "size_bytes", "modified_at").collect()
    }
    new_entries = [entry for entry in listing if (entry.path, entry.size_bytes, _ms(entry.modified_at)) not in logged]
    files = _read_landing(spark, landing) if any(e.size_bytes for e in new_entries) else None
    digests = _digests(spark, files, [e for e in new_entries if e.size_bytes]) if files is not None else {}
    digests.update({e.path: EMPTY_SHA256 for e in new_entries if not e.size_bytes})

    duplicates, to_parse = _classify(spark, new_entries, digests)
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

    for path, reason in duplicates.items():
        parsed_rows[path] = FileOutcome("duplicate", reason, None, 0, None)
    log_rows = _write_log(spark, run_id, new_entries, digests, parsed_rows, now)

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


def _classify(
    spark: SparkSession, entries: list[LandingFile], digests: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Split new files into duplicates (bytes already ingested, or seen earlier in this run) and files to read."""
    from pyspark.sql import functions as F

    known = {
        row["sha256"]: row["path"]
        for row in spark.table(contract(LOG).qualified_name)
        .where(F.col("status").isin("parsed", "quarantined"))
        .groupBy("sha256")
        .agg(F.min("path").alias("path"))
        .collect()
    }
    duplicates: dict[str, str] = {}
    to_read: list[str] = []
    first_of_sha: dict[str, str] = {}
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


@dataclass
class SideInputs(Generic[T]):
    """What :func:`ingest_side_files` read: each new, parsed file's path with its reader's result, and the counts."""

    items: list[tuple[str, T]]
    files_seen: int
    parsed: int
    quarantined: int
    duplicate: int


def ingest_side_files(
    spark: SparkSession, folder: str, run_id: str, kind: str, read: Callable[[bytes, str], T]
) -> SideInputs[T]:
    """Read the new files of a side folder (ELN exports, layouts, reference downloads) on the driver.

    The same accounting as for instrument files: each new file is logged in ``lab_bronze.ingest_log`` with
    ``vendor = kind`` as parsed, quarantined (``read`` raised a :class:`LabEtlError`; bytes kept with the reason) or
    duplicate; files logged before are skipped. A folder that does not exist holds no files.
    """
    from lab_etl.errors import LabEtlError
    from lab_etl.parsers.registry import sha256_hex

    for table in (LOG, QUARANTINE):
        delta.ensure_table(spark, contract(table))
    if not path_exists(spark, folder):
        return SideInputs([], 0, 0, 0, 0)
    listing = list_landing(spark, folder)
    logged = {
        (row["path"], row["size_bytes"], _ms(row["modified_at"]))
        for row in spark.table(contract(LOG).qualified_name).select("path", "size_bytes", "modified_at").collect()
    }
    new_entries = [e for e in listing if (e.path, e.size_bytes, _ms(e.modified_at)) not in logged]
    contents = {e.path: b"" for e in new_entries}
    if any(e.size_bytes for e in new_entries):
        wanted = {e.path for e in new_entries}
        for row in _read_landing(spark, folder).select("path", "content").collect():
            if row["path"] in wanted:
                contents[row["path"]] = bytes(row["content"])
    digests = {path: sha256_hex(data) for path, data in contents.items()}
    duplicates, to_read = _classify(spark, new_entries, digests)
    now = datetime.now(UTC)
    outcomes: dict[str, FileOutcome] = {}
    items: list[tuple[str, T]] = []
    quarantine_rows = []
    for path in to_read:
        try:
            items.append((path, read(contents[path], path)))
            outcomes[path] = FileOutcome("parsed", None, kind, 0, None)
        except LabEtlError as exc:
            reason = str(exc)
            outcomes[path] = FileOutcome("quarantined", reason, kind, 0, None)
            name = path.rsplit("/", 1)[-1]
            quarantine_rows.append(
                (digests[path], path, name, len(contents[path]), reason, contents[path], run_id, now)
            )
    for path, reason in duplicates.items():
        outcomes[path] = FileOutcome("duplicate", reason, None, 0, None)
    if quarantine_rows:
        frame = spark.createDataFrame(quarantine_rows, contract(QUARANTINE).spark_schema())
        delta.merge_new_rows(spark, frame, contract(QUARANTINE))
    _write_log(spark, run_id, new_entries, digests, outcomes, now)
    counts = {
        status: sum(1 for o in outcomes.values() if o.status == status)
        for status in ("parsed", "quarantined", "duplicate")
    }
    return SideInputs(items, len(listing), counts["parsed"], counts["quarantined"], counts["duplicate"])


def _write_log(
    spark: SparkSession,
    run_id: str,
    entries: list[LandingFile],
    digests: dict[str, str],
    outcomes: dict[str, FileOutcome],
    now: datetime,
) -> list[tuple[Any, ...]]:
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
    if rows:
        delta.append(spark, spark.createDataFrame(rows, contract(LOG).spark_schema()), contract(LOG))
    return rows


def landing_key(bucket: str, key: str, landing_prefix: str) -> str:
    """The ``s3a://`` path of an S3 event's object key, refused unless it lies inside the landing prefix.

    S3 event notifications URL-encode keys (``+`` for a space, ``%xx``); the key is decoded first, then checked, so
    that an encoded ``..`` cannot climb out of the landing area into, say, the warehouse.

    Examples
    --------
    >>> landing_key("lab-landing", "landing/run%201/plate.csv", "landing/")
    's3a://lab-landing/landing/run 1/plate.csv'
    """
    from urllib.parse import unquote_plus

    prefix = landing_prefix.strip("/") + "/"
    decoded = unquote_plus(key)
    parts = decoded.split("/")
    if not decoded or decoded.startswith("/") or any(part in ("..", ".") for part in parts):
        raise ConfigError(f"S3 key {key!r} is not a plain path inside the landing prefix {prefix!r}; refused")
    if not decoded.startswith(prefix) or decoded == prefix:
        raise ConfigError(f"S3 key {key!r} is outside the landing prefix {prefix!r}; refused")
    return f"s3a://{bucket}/{decoded}"


def path_exists(spark: SparkSession, path: str) -> bool:
    """True when ``path`` (local or ``s3a://``) exists."""
    jvm: Any = spark._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return bool(hadoop_path.getFileSystem(spark._jsc.hadoopConfiguration()).exists(hadoop_path))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class LandingFile:
    """One file of the landing area as the file system lists it."""

    path: str
    size_bytes: int
    modified_at: datetime


EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def list_landing(spark: SparkSession, landing: str, exclude: tuple[str, ...] = ()) -> list[LandingFile]:
    """Every file under ``landing``, recursively, through Hadoop's FileSystem (local paths and ``s3a://`` alike).

    Spark's file sources skip 0-byte files; this listing does not, so that empty uploads are accounted for.
    Hidden files and folders (``.x``, ``_x``) are left out, as Spark leaves them out, and so are the top-level
    folders named in ``exclude``.
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
        parts = relative.split("/")
        if any(part.startswith((".", "_")) for part in parts) or (len(parts) > 1 and parts[0] in exclude):
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
