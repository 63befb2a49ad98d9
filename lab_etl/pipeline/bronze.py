"""The bronze stage: new instrument files -> ``lab_bronze.instrument_readings`` (and their quarantine and log rows).

One pass over the bytes: Spark reads each new file once (``binaryFile`` on exactly the new paths), and the same
task hashes it and parses it with the parsers the CLI uses (``mapInArrow`` calling
:func:`lab_etl.parsers.registry.parse_bytes`). The pass yields one row per reading and one ``file`` row per file
with its digest, outcome and plates; a quarantined file's row also carries its bytes. Nothing is lost: every new
file ends as ``parsed``, ``quarantined`` (with the reason, its bytes kept) or ``duplicate`` (same bytes as a file
already ingested, or as an earlier file of the same run).

Writes are ordered for crash safety: the readings MERGE (on their natural key) and the quarantine MERGE (on the
digest) come first; the ingest log is written by the caller at the end of the run. A run killed half-way leaves no
partial Delta commit and no log rows, so the rerun reads the same files again, the MERGEs add nothing twice, and
the later stages rebuild the plates of those files.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lab_etl.contracts import contract
from lab_etl.errors import ConfigError
from lab_etl.lakehouse import delta
from lab_etl.lakehouse.frames import local_frame
from lab_etl.pipeline.ingest_log import FileOutcome
from lab_etl.pipeline.landing import EMPTY_SHA256, LandingFile, Routing

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

READINGS = "instrument_readings"
QUARANTINE = "quarantine"

#: Columns the parse pass adds beside the reading columns: one "file" row per file, many "reading" rows.
_FILE_FIELDS = (
    ("row_kind", "string"),
    ("status", "string"),
    ("reason", "string"),
    ("rows", "bigint"),
    ("engine", "string"),
    ("plates", "string"),
    ("content", "binary"),
)
_PLATE_SEPARATOR = "\x1f"


@dataclass
class ParsedFiles:
    """The parse pass over a run's new non-empty instrument files, kept in memory until bronze is written.

    ``frame`` holds the reading rows and one ``file`` row per file (persisted: the bytes are read once);
    ``files`` maps each path to its digest, outcome and plates.
    """

    frame: DataFrame | None
    digests: dict[str, str]
    outcomes: dict[str, FileOutcome]
    plates: dict[str, set[str]]

    def release(self) -> None:
        if self.frame is not None:
            self.frame.unpersist()
            self.frame = None


def parse_new_files(
    spark: SparkSession,
    entries: list[LandingFile],
    *,
    vendor: str | None = None,
    engine: str = "auto",
    routing: Routing | None = None,
) -> ParsedFiles:
    """Read, hash and parse the new instrument files ``entries`` in one Spark pass; nothing is written yet.

    Each file's instrument is the one the landing's ``routing`` names for its path, else ``vendor`` (one for the
    whole run), else detected from its content. Empty files get the empty digest and a quarantine outcome without
    being read (Spark's file source skips them).
    """
    from pyspark.sql import functions as F

    empty = [e for e in entries if not e.size_bytes]
    parsed = ParsedFiles(None, {e.path: EMPTY_SHA256 for e in empty}, {}, {})
    for entry in empty:
        parsed.outcomes[entry.path] = FileOutcome("quarantined", "the file is empty (0 bytes)", None, 0, None)
    non_empty = [e.path for e in entries if e.size_bytes]
    if not non_empty:
        return parsed
    files = spark.read.format("binaryFile").load(non_empty).select("path", "content")
    parsed.frame = _parse_files(files, vendor, engine, routing).persist()
    rows = (
        parsed.frame.where(F.col("row_kind") == "file")
        .select("source_file", "source_sha256", "status", "reason", "rows", "parser", "engine", "plates")
        .collect()
    )
    for r in rows:
        path = r["source_file"]
        parsed.digests[path] = r["source_sha256"]
        parsed.outcomes[path] = FileOutcome(r["status"], r["reason"], r["parser"], r["rows"], r["engine"])
        parsed.plates[path] = set((r["plates"] or "").split(_PLATE_SEPARATOR)) - {""}
    missing = [p for p in non_empty if p not in parsed.digests]
    if missing:
        parsed.release()
        raise ConfigError(
            f"{len(missing)} listed file(s) could not be read, e.g. {missing[0]}; were they removed during the run?"
        )
    return parsed


@dataclass
class BronzeWrite:
    """What :func:`write_bronze` committed."""

    readings_written: int = 0
    plates: set[str] = field(default_factory=set)


def write_bronze(
    spark: SparkSession,
    parsed: ParsedFiles,
    to_read: list[str],
    run_id: str,
    *,
    now: datetime | None = None,
    side_quarantine: list[tuple[Any, ...]] = (),  # type: ignore[assignment]
) -> BronzeWrite:
    """MERGE the readings of the files in ``to_read`` (the new files that are not duplicates) into
    ``lab_bronze.instrument_readings``, and every quarantined file (these and ``side_quarantine`` rows, in the
    quarantine contract's column order) into ``lab_bronze.quarantine``: one commit per table at most.

    Releases the parse pass. The plates returned are those of every file parsed here, whether or not its readings
    were new (a rerun after a crash rebuilds them).
    """
    from pyspark.sql import functions as F

    now = now or datetime.now(UTC)
    wanted = set(to_read)
    written = BronzeWrite()
    parsed_paths = sorted(p for p in wanted if parsed.outcomes[p].status == "parsed")
    quarantined = sorted(p for p in wanted if parsed.outcomes[p].status == "quarantined")
    try:
        if parsed_paths and parsed.frame is not None:
            readings = parsed.frame.where(F.col("row_kind") == "reading")
            if len(parsed_paths) < sum(1 for o in parsed.outcomes.values() if o.status == "parsed"):
                readings = readings.where(F.col("source_file").isin(parsed_paths))  # duplicates are not written
            for path in parsed_paths:
                written.plates |= parsed.plates.get(path, set())
            delta.merge_new_rows(
                spark,
                readings.withColumn("run_id", F.lit(run_id)),
                contract(READINGS),
                scope=("plate_id", sorted(written.plates)),
            )
            # the readings of the files this run parsed and logs (the log's per-file ``rows``), now in the table:
            # after a crash the MERGE inserts none of those the killed run had added, and the rerun accounts for
            # them (a killed run writes no run row), as a clean run would
            written.readings_written = sum(parsed.outcomes[p].rows for p in parsed_paths)
        quarantine = _quarantine_frame(spark, parsed, quarantined, run_id, now, list(side_quarantine))
        if quarantine is not None:
            delta.merge_new_rows(spark, quarantine, contract(QUARANTINE))
    finally:
        parsed.release()
    return written


def _quarantine_frame(
    spark: SparkSession,
    parsed: ParsedFiles,
    quarantined: list[str],
    run_id: str,
    now: datetime,
    side_rows: list[tuple[Any, ...]],
) -> DataFrame | None:
    """The ``lab_bronze.quarantine`` rows: quarantined instrument files (bytes from the parse pass) and side files."""
    from pyspark.sql import functions as F

    schema = contract(QUARANTINE).spark_schema()
    rows = list(side_rows)
    rows += [
        (EMPTY_SHA256, p, p.rsplit("/", 1)[-1], 0, parsed.outcomes[p].reason, b"", run_id, now)
        for p in quarantined
        if parsed.digests[p] == EMPTY_SHA256
    ]
    frames = [local_frame(spark, rows, schema)] if rows else []
    read = [p for p in quarantined if parsed.digests[p] != EMPTY_SHA256]
    if read and parsed.frame is not None:
        frames.append(
            parsed.frame.where((F.col("row_kind") == "file") & F.col("source_file").isin(read)).select(
                F.col("source_sha256").alias("sha256"),
                F.col("source_file").alias("path"),
                F.element_at(F.split("source_file", "/"), -1).alias("file_name"),
                F.length("content").cast("bigint").alias("size_bytes"),
                "reason",
                "content",
                F.lit(run_id).alias("run_id"),
                F.lit(now).cast("timestamp").alias("quarantined_at"),
            )
        )
    if not frames:
        return None
    quarantine = frames[0]
    for frame in frames[1:]:
        quarantine = quarantine.unionByName(frame)
    return quarantine


def _parse_files(files: DataFrame, vendor: str | None, engine: str, routing: Routing | None = None) -> DataFrame:
    """One output row per reading plus one ``file`` row per input file with its digest, status and plates.

    ``routing`` (a few patterns, not a row per file) travels in the task's closure and names each path's
    instrument there; unrouted paths fall back to ``vendor``.
    """
    from pyspark.sql.types import StructField, StructType, _parse_datatype_string

    reading_fields = [f for f in contract(READINGS).spark_schema().fields if f.name != "run_id"]
    extra = [StructField(name, _parse_datatype_string(kind), True) for name, kind in _FILE_FIELDS]
    # Reading columns are nullable here: file rows carry only lineage.
    schema = StructType([StructField(f.name, f.dataType, True) for f in reading_fields] + extra)
    names = [f.name for f in reading_fields]

    def parse_batches(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import pyarrow.compute as pc

        from lab_etl.errors import ParseError
        from lab_etl.parsers.registry import parse_bytes, sha256_hex

        arrow_schema = pa.schema([pa.field(f.name, _arrow_type(f.dataType.simpleString())) for f in schema.fields])
        reading_schema = pa.schema([arrow_schema.field(name) for name in names])
        for batch in batches:
            for path, content in zip(
                batch.column("path").to_pylist(), batch.column("content").to_pylist(), strict=True
            ):
                data = content or b""
                digest = sha256_hex(data)  # once per file: the parser is handed it
                file_vendor = (routing.vendor_for(path) if routing else None) or vendor
                try:
                    parsed = parse_bytes(data, path, vendor=file_vendor, engine=engine, sha256=digest)
                except ParseError as exc:
                    yield _file_batch(arrow_schema, path, digest, "quarantined", exc.reason, 0, None, None, "", data)
                    continue
                readings = parsed.to_arrow(reading_schema)
                count = readings.num_rows
                kinds = [pa.repeat(pa.scalar("reading"), count)]
                empty = [pa.nulls(count, type=arrow_schema.field(n).type) for n, _ in _FILE_FIELDS[1:]]
                table = pa.Table.from_arrays([*readings.columns, *kinds, *empty], schema=arrow_schema)
                yield from table.to_batches(max_chunksize=65536)
                plates = sorted(str(p) for p in pc.unique(readings.column("plate_id")).to_pylist())
                yield _file_batch(
                    arrow_schema,
                    path,
                    digest,
                    "parsed",
                    None,
                    count,
                    parsed.parser,
                    parsed.engine,
                    _PLATE_SEPARATOR.join(plates),
                    None,
                )

    return files.mapInArrow(parse_batches, schema)


def _file_batch(
    schema: pa.Schema,
    path: str,
    sha: str,
    status: str,
    reason: str | None,
    rows: int,
    parser: str | None,
    engine: str | None,
    plates: str,
    content: bytes | None,
) -> pa.RecordBatch:
    """The one ``file`` row of a file: its digest, outcome and plates (and its bytes when quarantined)."""
    import pyarrow as pa

    values = {
        "source_file": path,
        "source_sha256": sha,
        "parser": parser,
        "row_kind": "file",
        "status": status,
        "reason": reason,
        "rows": rows,
        "engine": engine,
        "plates": plates,
        "content": content,
    }
    return pa.RecordBatch.from_pydict({name: [values.get(name)] for name in schema.names}, schema=schema)


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
