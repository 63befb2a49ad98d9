"""The gold stage: plate QC (``lab_gold.plate_qc``) and the flat, ML-ready results (``lab_gold.assay_results_flat``)
of the plates the silver stage rebuilt.

The flat table holds the results of plates that have a layout (the experiment context ML needs); plates without one
keep their results in ``lab_silver.plate_results`` and their QC here. An empty scope writes nothing and runs no gate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab_etl.pipeline.silver import StepReport, table

if TYPE_CHECKING:
    from pyspark.sql import Column, SparkSession

    from lab_etl.pipeline.publish import Publisher
    from lab_etl.transforms.qc import QcThresholds


def _verdict_tests() -> list[tuple[str, Column]]:
    from pyspark.sql import functions as F

    passed = F.col("qc_pass")
    return [
        ("pass", passed.isNotNull() & passed),
        ("fail", passed.isNotNull() & ~passed),
        ("no_controls", passed.isNull()),
    ]


def build_gold(
    spark: SparkSession, plates: set[str], publisher: Publisher, *, thresholds: QcThresholds | None = None
) -> StepReport:
    """Rebuild ``lab_gold.plate_qc`` and ``lab_gold.assay_results_flat`` for ``plates``."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from lab_etl.transforms.gold import assay_results_flat
    from lab_etl.transforms.qc import normalise, plate_qc

    report = StepReport("gold", plates=set(plates))
    scope = sorted(plates)
    if not scope:
        return report
    results = table(spark, "plate_results").where(F.col("plate_id").isin(scope)).persist()
    qc = plate_qc(results, thresholds).persist()
    try:
        # the plate_qc write counts the verdicts as it writes (no job of its own)
        counts = [F.sum(F.when(test, 1).otherwise(0)).alias(name) for name, test in _verdict_tests()]
        verdict = Observation("plate qc verdicts")
        if publisher.publish(qc, "plate_qc", scope, write=qc.observe(verdict, *counts)) is not None:
            verdicts = dict(verdict.get)
        else:  # held back: nothing was written, count them apart
            verdicts = qc.select(*counts).collect()[0].asDict()
        mapped = normalise(results, qc).where(F.col("layout_status") == "mapped")
        well_reagents = table(spark, "well_reagents").where(F.col("plate_id").isin(scope))
        flat = assay_results_flat(mapped, well_reagents, table(spark, "reagents")).persist()
        try:
            # plates without a layout have no flat rows: an empty batch is not a batch to gate or write
            commit = publisher.publish(flat, "assay_results_flat", scope, skip_empty=True)
        finally:
            flat.unpersist()
    finally:
        qc.unpersist()
        results.unpersist()
    if commit is not None:
        report.lines.append(f"{commit.rows_written} flat result(s) written")
    report.lines.append(
        f"plate QC: {verdicts.get('pass') or 0} pass, {verdicts.get('fail') or 0} fail, "
        f"{verdicts.get('no_controls') or 0} without controls"
    )
    report.lines += publisher.lines
    report.held_back += publisher.held_back
    publisher.lines.clear()
    return report
