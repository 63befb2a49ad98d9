"""The local pipeline runner: what ``lab-etl run`` executes, step by step, on one SparkSession."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.console import Console

from lab_etl.pipeline.ingest import IngestSummary, ingest_landing, new_run_id

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass
class PipelineResult:
    """What a run did, step by step; ``exit_code`` is non-zero when a step held data back."""

    run_id: str
    ingest: IngestSummary
    notes: list[tuple[str, str]] = field(default_factory=list)
    exit_code: int = 0

    def lines(self) -> list[tuple[str, str]]:
        i = self.ingest
        return [
            (
                "files",
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
    progress: Console | None = None,
) -> PipelineResult:
    """Run every step on ``landing`` into the session's warehouse."""
    console = progress or Console(stderr=True, quiet=True)
    run_id = new_run_id()
    with console.status("ingesting instrument files"):
        summary = ingest_landing(spark, landing, run_id=run_id, vendor=vendor, engine=engine)
    return PipelineResult(run_id=run_id, ingest=summary)
