"""The pipeline: :func:`run_pipeline` runs a whole run in one pass on one session, and the ``step_*`` functions
are the same stages for separate Glue jobs.

One pass (``run_pipeline``): the landing area is listed once and compared with the ingest log once; the new
instrument files are read, hashed and parsed in one Spark pass and the new side files read once on the driver;
every new file is classified (parsed, quarantined, duplicate) before the first write; then each table is written
at most once — readings, quarantine, experiments, layouts, reagents, reference, silver and gold (each gated) — and
last the run's bookkeeping: the ingest log, the data-quality results, the plates of the run
(``lab_bronze.run_plates``) and the run's row in ``lab_bronze.ingest_runs``. The scope (new files, touched plates)
flows in memory from stage to stage. Because the log is written last, a run killed anywhere before it leaves its
files unlogged: the rerun reads them again, the MERGEs add nothing twice and the plates are rebuilt.

Separate jobs (``step_ingest`` … ``step_gold``, called by ``jobs/*.py`` on Glue): each writes its own log rows and
hands the plates it touched to the next job through ``lab_bronze.run_plates``, written once per job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console

from lab_etl.contracts import contract
from lab_etl.lakehouse import delta, jit
from lab_etl.lakehouse.frames import local_frame
from lab_etl.pipeline import landing as landing_area
from lab_etl.pipeline.bronze import parse_new_files, write_bronze
from lab_etl.pipeline.gold import build_gold
from lab_etl.pipeline.ingest_log import (
    FileOutcome,
    IngestSummary,
    classify,
    known_digests,
    log_rows,
    new_run_id,
    unlogged,
    write_log,
)
from lab_etl.pipeline.landing import SIDE_FOLDERS, LandingFile, Listing
from lab_etl.pipeline.profile import RunProfile
from lab_etl.pipeline.publish import Publisher
from lab_etl.pipeline.side_inputs import (
    KINDS,
    SideBatch,
    parse_side_files,
    read_side_files,
    reader_for,
    write_side_inputs,
)
from lab_etl.pipeline.silver import SilverScope, StepReport, build_silver, table

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lab_etl.transforms.qc import QcThresholds

__all__ = [
    "PipelineResult",
    "StepReport",
    "ingest_landing",
    "new_run_id",
    "run_pipeline",
    "side_folder",
    "step_eln",
    "step_gold",
    "step_ingest",
    "step_reference",
    "step_silver",
]

RUNS = "ingest_runs"


def side_folder(landing: str, name: str) -> str:
    if name not in SIDE_FOLDERS:
        raise ValueError(name)
    return landing.rstrip("/") + "/" + name


@dataclass
class PipelineResult:
    """What a run did, step by step; ``exit_code`` is 3 when a data-quality gate held a batch back."""

    run_id: str
    ingest: IngestSummary
    notes: list[tuple[str, str]] = field(default_factory=list)
    exit_code: int = 0
    profile: RunProfile | None = None

    def lines(self) -> list[tuple[str, str]]:
        i = self.ingest
        return [
            (
                "instrument files",
                f"{i.files_seen} seen, {i.files_skipped} already ingested, {i.files_parsed} parsed, "
                f"{i.files_quarantined} quarantined, {i.files_duplicate} duplicate",
            ),
            ("lab_bronze.instrument_readings", f"{i.readings_written} readings added"),
            *self.notes,
        ]


# ----------------------------------------------------------------------------------------------- one pass


def run_pipeline(
    spark: SparkSession,
    landing: str,
    *,
    vendor: str | None = None,
    engine: str = "auto",
    thresholds: QcThresholds | None = None,
    progress: Console | None = None,
    run_id: str | None = None,
    profile: RunProfile | None = None,
) -> PipelineResult:
    """Run every stage on ``landing`` into the session's warehouse in one pass (see the module docstring)."""
    console = progress or Console(stderr=True, quiet=True)
    run_id = run_id or new_run_id()
    profile = profile or RunProfile(spark)
    started = datetime.now(UTC)
    with console.status("listing the landing area"), profile.step("list"):
        listing = landing_area.list_run(spark, landing)
        new = {e.path for e in unlogged(spark, listing.files)}
    instruments = [e for e in listing.instruments if e.path in new]
    side_entries = {folder: [e for e in listing.side[folder] if e.path in new] for folder in SIDE_FOLDERS}
    if new:
        # work to do: let the JVM's optimizing compiler run again if a short command's start held it back
        jit.release(spark)
        # the gates need Great Expectations, seconds to import: import it while Spark reads and writes bronze
        _import_in_background("lab_etl.quality.gate")

    with console.status("reading instrument files"), profile.step("bronze: read and parse"):
        parsed = parse_new_files(spark, instruments, vendor=vendor, engine=engine, routing=listing.routing)
    with console.status("reading ELN exports, layouts and the ChEMBL reference"), profile.step("side inputs: read"):
        run = _classify_run(spark, listing, instruments, parsed.digests, side_entries, run_id)
    with console.status("writing bronze"), profile.step("bronze: write"):
        quarantine = [row for batch in run.side.values() for row in batch.quarantine_rows]
        bronze = write_bronze(spark, parsed, run.to_read, run_id, now=run.now, side_quarantine=quarantine)
    with console.status("writing ELN exports, layouts and the reference"), profile.step("side inputs: write"):
        side = write_side_inputs(spark, run.side)
    scope = SilverScope(
        plates=frozenset(bronze.plates | set().union(*side.plates.values())),
        layout_plates=frozenset(side.layout_plates),
        reference_changed=side.reference_changed,
    )
    publisher = Publisher(spark, run_id)
    with console.status("building silver: layouts, experiments, reagents"), profile.step("silver"):
        silver = build_silver(spark, scope, publisher) if not scope.empty else StepReport("silver")
    with console.status("building gold: plate QC and the flat results"), profile.step("gold"):
        gold = build_gold(spark, silver.plates, publisher, thresholds=thresholds)

    outcomes = {**parsed.outcomes, **run.duplicates}
    outcomes = {e.path: outcomes[e.path] for e in instruments}
    summary = _summary(run_id, landing, listing.instruments, instruments, outcomes, bronze.readings_written)
    with console.status("writing the run's log"), profile.step("log"):
        rows = log_rows(run_id, instruments, parsed.digests, outcomes, run.now)
        for folder in SIDE_FOLDERS:
            batch = run.side[folder]
            rows += log_rows(run_id, batch.entries, run.side_digests, batch.outcomes, run.now)
        write_log(spark, rows)
        # after the log: a run killed before the log commit is redone whole, and its gate results are written once,
        # by the rerun (written before the log, the killed run's results stayed beside the rerun's)
        publisher.write_results()
        plates = {"ingest": bronze.plates, **side.plates, "silver": silver.plates}
        if side.reference_changed:
            plates["reference"] = silver.reference_plates
        _record_plates(spark, run_id, plates)
        _write_run_row(spark, summary, started)
        # the quarantine exists from the first run on, so that asking it what was refused never fails
        delta.create_if_missing(spark, contract("quarantine"))

    result = PipelineResult(run_id=run_id, ingest=summary, profile=profile)
    result.notes += [("routing", line) for line in listing.routing_lines()]
    for folder in SIDE_FOLDERS:
        result.notes += [(folder, line) for line in side.lines.get(folder, [])]
    result.notes += [("silver", line) for line in silver.lines] + [("gold", line) for line in gold.lines]
    if silver.held_back or gold.held_back:
        result.exit_code = 3
    return result


def _import_in_background(*modules: str) -> None:
    """Start importing ``modules`` in a daemon thread; the run's own import of them waits for it (Python's import
    lock) or finds them loaded. An error is left for that import to raise where the module is used."""
    import importlib
    import threading

    def load() -> None:
        for module in modules:
            try:
                importlib.import_module(module)
            except Exception:  # raised again by the import where the module is used
                continue

    threading.Thread(target=load, name="lab_etl-imports", daemon=True).start()


@dataclass
class _Classified:
    """Every new file of a run classified before the first write."""

    to_read: list[str]
    duplicates: dict[str, FileOutcome]
    side: dict[str, SideBatch]
    side_digests: dict[str, str]
    now: datetime


def _classify_run(
    spark: SparkSession,
    listing: Listing,
    instruments: list[LandingFile],
    digests: dict[str, str],
    side_entries: dict[str, list[LandingFile]],
    run_id: str,
) -> _Classified:
    """Read the new side files, look every new digest up in the ingest log once, and classify instrument files
    first, then each side folder, as duplicates or files to read; then read the side files to read."""
    files = read_side_files(spark, [e for folder in SIDE_FOLDERS for e in side_entries[folder]])
    try:
        side_digests = {path: side.sha256 for path, side in files.items()}
        known = known_digests(spark, set(digests.values()) | set(side_digests.values()))
        seen: dict[str, str] = {}
        duplicates, to_read = classify(instruments, digests, known, seen)
        now = datetime.now(UTC)
        batches = {}
        for folder in SIDE_FOLDERS:
            entries = side_entries[folder]
            side_duplicates, side_to_read = classify(entries, side_digests, known, seen)
            batches[folder] = parse_side_files(
                KINDS[folder],
                entries,
                files,
                side_to_read,
                side_duplicates,
                reader_for(folder),
                run_id,
                now,
                len(listing.side[folder]),
            )
    finally:
        landing_area.discard(list(files.values()))
    return _Classified(
        to_read,
        {path: FileOutcome("duplicate", reason, None, 0, None) for path, reason in duplicates.items()},
        batches,
        side_digests,
        now,
    )


def _summary(
    run_id: str,
    landing: str,
    listed: list[LandingFile],
    new: list[LandingFile],
    outcomes: dict[str, FileOutcome],
    readings_written: int,
) -> IngestSummary:
    counts = {s: sum(1 for o in outcomes.values() if o.status == s) for s in ("parsed", "quarantined", "duplicate")}
    return IngestSummary(
        run_id=run_id,
        landing=landing,
        files_seen=len(listed),
        files_skipped=len(listed) - len(new),
        files_parsed=counts["parsed"],
        files_quarantined=counts["quarantined"],
        files_duplicate=counts["duplicate"],
        readings_written=readings_written,
    )


def _write_run_row(spark: SparkSession, summary: IngestSummary, started: datetime) -> None:
    row = [
        (
            summary.run_id,
            summary.landing,
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
    delta.append(spark, local_frame(spark, row, contract(RUNS).spark_schema()), contract(RUNS))


def _record_plates(spark: SparkSession, run_id: str, plates: Mapping[str, Iterable[str]]) -> None:
    """The hand-over to the next job: the plates each step touched, in one append."""
    rows = [(run_id, step, plate) for step, found in plates.items() for plate in sorted(found)]
    if rows:
        frame = local_frame(spark, rows, contract("run_plates").spark_schema())
        delta.append(spark, frame, contract("run_plates"))


def plates_for(spark: SparkSession, run_id: str, step_names: tuple[str, ...]) -> set[str]:
    """Plates the named steps of ``run_id`` touched (from ``lab_bronze.run_plates``)."""
    from pyspark.sql import functions as F

    if not delta.is_delta_folder(spark, delta.table_location(spark, contract("run_plates"))):
        return set()
    rows = (
        table(spark, "run_plates")
        .where((F.col("run_id") == run_id) & F.col("step").isin(list(step_names)))
        .select("plate_id")
        .distinct()
    )
    return {r[0] for r in rows.collect()}


# ----------------------------------------------------------------------------------------------- separate jobs


def ingest_landing(
    spark: SparkSession,
    landing: str,
    *,
    run_id: str | None = None,
    vendor: str | None = None,
    engine: str = "auto",
) -> IngestSummary:
    """Ingest every new instrument file under ``landing`` (a folder, or an ``s3a://`` prefix) into bronze: readings,
    quarantine, ingest log and the run's row; the side folders are left to their own steps."""
    return step_ingest(spark, landing, run_id or new_run_id(), vendor=vendor, engine=engine)


def step_ingest(
    spark: SparkSession, landing: str, run_id: str, *, vendor: str | None = None, engine: str = "auto"
) -> IngestSummary:
    """Glue job ``ingest_instruments``: instrument files -> bronze; hands its plates to silver."""
    started = datetime.now(UTC)
    listing = landing_area.list_run(spark, landing)
    listed = listing.instruments
    new = unlogged(spark, listed)
    parsed = parse_new_files(spark, new, vendor=vendor, engine=engine, routing=listing.routing)
    known = known_digests(spark, set(parsed.digests.values()))
    duplicates, to_read = classify(new, parsed.digests, known)
    now = datetime.now(UTC)
    bronze = write_bronze(spark, parsed, to_read, run_id, now=now)
    outcomes = {**parsed.outcomes}
    outcomes.update({path: FileOutcome("duplicate", reason, None, 0, None) for path, reason in duplicates.items()})
    outcomes = {e.path: outcomes[e.path] for e in new}
    write_log(spark, log_rows(run_id, new, parsed.digests, outcomes, now))
    _record_plates(spark, run_id, {"ingest": bronze.plates})
    summary = _summary(run_id, landing, listed, new, outcomes, bronze.readings_written)
    _write_run_row(spark, summary, started)
    delta.create_if_missing(spark, contract("quarantine"))
    return summary


def _side_step(
    spark: SparkSession, folders: dict[str, str], run_id: str, *, default_release: str | None = None
) -> tuple[dict[str, SideBatch], Any]:
    """Read, classify and write the new files of side folders (a separate job's whole work)."""
    batches: dict[str, SideBatch] = {}
    listed: dict[str, list[LandingFile]] = {}
    for folder, path in folders.items():
        listed[folder] = landing_area.list_files(spark, path) if landing_area.path_exists(spark, path) else []
    new = {e.path for e in unlogged(spark, [e for entries in listed.values() for e in entries])}
    files = read_side_files(spark, [e for entries in listed.values() for e in entries if e.path in new])
    digests = {path: side.sha256 for path, side in files.items()}
    known = known_digests(spark, set(digests.values()))
    seen: dict[str, str] = {}
    now = datetime.now(UTC)
    try:
        for folder in folders:
            entries = [e for e in listed[folder] if e.path in new]
            duplicates, to_read = classify(entries, digests, known, seen)
            read = reader_for(folder, default_release=default_release)
            batches[folder] = parse_side_files(
                KINDS[folder], entries, files, to_read, duplicates, read, run_id, now, len(listed[folder])
            )
    finally:
        landing_area.discard(list(files.values()))
    quarantine = [row for batch in batches.values() for row in batch.quarantine_rows]
    if quarantine:
        frame = local_frame(spark, quarantine, contract("quarantine").spark_schema())
        delta.merge_new_rows(spark, frame, contract("quarantine"))
    done = write_side_inputs(spark, batches)
    rows = [r for b in batches.values() for r in log_rows(run_id, b.entries, digests, b.outcomes, now)]
    write_log(spark, rows)
    return batches, done


def step_eln(spark: SparkSession, eln_folder: str | None, layouts_folder: str | None, run_id: str) -> list[StepReport]:
    """Glue job ``load_eln``: ELN exports and plate layouts -> silver experiment/layout tables (either folder may be
    None); hands the plates they describe to silver."""
    folders = {name: path for name, path in (("eln", eln_folder), ("layouts", layouts_folder)) if path}
    _, done = _side_step(spark, folders, run_id)
    _record_plates(spark, run_id, {folder: done.plates.get(folder, set()) for folder in folders})
    return [
        StepReport(folder, lines=done.lines.get(folder, []), plates=done.plates.get(folder, set()))
        for folder in folders
    ]


def step_reference(
    spark: SparkSession, reference_folder: str, run_id: str, *, default_release: str | None = None
) -> StepReport:
    """Glue job ``load_reference``: ChEMBL downloads -> lab_reference; when it changed, every plate with reagents is
    handed to silver."""
    from pyspark.sql import functions as F

    _, done = _side_step(spark, {"reference": reference_folder}, run_id, default_release=default_release)
    report = StepReport("reference", lines=done.lines.get("reference", []))
    if done.reference_changed:
        report.plates = {r[0] for r in table(spark, "well_reagents").select(F.col("plate_id")).distinct().collect()}
        _record_plates(spark, run_id, {"reference": report.plates})
    return report


def step_silver(spark: SparkSession, run_id: str) -> StepReport:
    """Glue job ``build_silver``: the plates the earlier jobs of ``run_id`` touched -> silver."""
    scope = SilverScope(
        plates=frozenset(plates_for(spark, run_id, ("ingest", "eln", "layouts"))),
        layout_plates=frozenset(plates_for(spark, run_id, ("eln", "layouts"))),
        reference_changed=bool(plates_for(spark, run_id, ("reference",))),
    )
    publisher = Publisher(spark, run_id)
    report = build_silver(spark, scope, publisher) if not scope.empty else StepReport("silver")
    publisher.write_results()
    _record_plates(spark, run_id, {"silver": report.plates})
    return report


def step_gold(spark: SparkSession, run_id: str, thresholds: QcThresholds | None = None) -> StepReport:
    """Glue job ``build_gold``: the plates silver rebuilt in ``run_id`` -> plate QC and the flat results."""
    publisher = Publisher(spark, run_id)
    report = build_gold(spark, plates_for(spark, run_id, ("silver",)), publisher, thresholds=thresholds)
    publisher.write_results()
    return report
