"""The pipeline: the steps each Glue job runs, and :func:`run_pipeline`, which runs them all on one session.

Every step takes the run id; the plates a step changes are recorded in ``lab_bronze.run_plates`` so that the later
steps — separate jobs on Glue — rebuild exactly those plates. A run with nothing new writes nothing but its row in
``lab_bronze.ingest_runs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.console import Console

from lab_etl.contracts import contract
from lab_etl.lakehouse import delta
from lab_etl.pipeline import steps
from lab_etl.pipeline.ingest import SIDE_FOLDERS, IngestSummary, ingest_landing, new_run_id

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lab_etl.transforms.qc import QcThresholds


def _record(spark: SparkSession, run_id: str, step: str, plates: set[str]) -> None:
    if plates:
        rows = [(run_id, step, plate) for plate in sorted(plates)]
        frame = spark.createDataFrame(rows, contract("run_plates").spark_schema())
        delta.merge_new_rows(spark, frame, contract("run_plates"))


def plates_for(spark: SparkSession, run_id: str, step_names: tuple[str, ...]) -> set[str]:
    """Plates the named steps of ``run_id`` touched."""
    from pyspark.sql import functions as F

    table = spark.table(delta.ensure_table(spark, contract("run_plates")))
    rows = table.where((F.col("run_id") == run_id) & F.col("step").isin(list(step_names))).select("plate_id")
    return {r[0] for r in rows.distinct().collect()}


def side_folder(landing: str, name: str) -> str:
    if name not in SIDE_FOLDERS:
        raise ValueError(name)
    return landing.rstrip("/") + "/" + name


def step_ingest(
    spark: SparkSession, landing: str, run_id: str, *, vendor: str | None = None, engine: str = "auto"
) -> IngestSummary:
    """Instrument files -> bronze; records the plates with new readings."""
    summary = ingest_landing(spark, landing, run_id=run_id, vendor=vendor, engine=engine)
    _record(spark, run_id, "ingest", steps.plates_of_run(spark, run_id) if summary.readings_written else set())
    return summary


def step_eln(
    spark: SparkSession, eln_folder: str | None, layouts_folder: str | None, run_id: str
) -> list[steps.StepReport]:
    """ELN exports and plate layouts -> silver experiment/layout tables (either folder may be None)."""
    reports = []
    if eln_folder:
        reports.append(steps.load_eln(spark, eln_folder, run_id))
    if layouts_folder:
        reports.append(steps.load_layouts(spark, layouts_folder, run_id))
    for report in reports:
        _record(spark, run_id, report.name, report.plates)
    return reports


def step_reference(
    spark: SparkSession, reference_folder: str, run_id: str, *, default_release: str | None = None
) -> steps.StepReport:
    """ChEMBL downloads -> lab_reference; when it changed, every plate with reagents is rebuilt."""
    from pyspark.sql import functions as F

    report = steps.load_reference(spark, reference_folder, run_id, default_release=default_release)
    if report.reference_changed:
        reagents = spark.table(delta.ensure_table(spark, contract("well_reagents")))
        plates = {r[0] for r in reagents.select(F.col("plate_id")).distinct().collect()}
        _record(spark, run_id, "reference", plates)
    return report


def step_silver(spark: SparkSession, run_id: str) -> steps.StepReport:
    plates = plates_for(spark, run_id, ("ingest", "eln", "layouts", "reference"))
    refresh = bool(plates_for(spark, run_id, ("reference",)))
    report = steps.build_silver(spark, plates, run_id=run_id, refresh_reagents=refresh)
    _record(spark, run_id, "silver", report.plates)
    return report


def step_gold(spark: SparkSession, run_id: str, thresholds: QcThresholds | None = None) -> steps.StepReport:
    return steps.build_gold(spark, plates_for(spark, run_id, ("silver",)), run_id=run_id, thresholds=thresholds)


@dataclass
class PipelineResult:
    """What a run did, step by step; ``exit_code`` is 3 when a data-quality gate held a batch back."""

    run_id: str
    ingest: IngestSummary
    notes: list[tuple[str, str]] = field(default_factory=list)
    exit_code: int = 0

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


def run_pipeline(
    spark: SparkSession,
    landing: str,
    *,
    vendor: str | None = None,
    engine: str = "auto",
    thresholds: QcThresholds | None = None,
    progress: Console | None = None,
    run_id: str | None = None,
) -> PipelineResult:
    """Run every step on ``landing`` into the session's warehouse, in dependency order."""
    console = progress or Console(stderr=True, quiet=True)
    run_id = run_id or new_run_id()
    with console.status("ingesting instrument files"):
        summary = step_ingest(spark, landing, run_id, vendor=vendor, engine=engine)
    result = PipelineResult(run_id=run_id, ingest=summary)
    with console.status("loading ELN exports and plate layouts"):
        for report in step_eln(spark, side_folder(landing, "eln"), side_folder(landing, "layouts"), run_id):
            result.notes += [(report.name, line) for line in report.lines]
    with console.status("loading the ChEMBL reference"):
        report = step_reference(spark, side_folder(landing, "reference"), run_id)
        result.notes += [(report.name, line) for line in report.lines]
    with console.status("building silver: layouts, experiments, reagents"):
        silver = step_silver(spark, run_id)
        result.notes += [(silver.name, line) for line in silver.lines]
    with console.status("building gold: plate QC and the flat results"):
        gold = step_gold(spark, run_id, thresholds)
        result.notes += [(gold.name, line) for line in gold.lines]
    if silver.held_back or gold.held_back:
        result.exit_code = 3
    return result
