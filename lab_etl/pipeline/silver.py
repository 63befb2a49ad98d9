"""The silver stage: the readings of the run's plates mapped to their layouts and ELN experiments
(``lab_silver.plate_results``), and the reagents of new layouts enriched from ChEMBL (``lab_silver.reagents``).

The stage is told its scope — the plates to rebuild, the plates whose layouts changed, whether the reference changed
— by the run (in memory) or, between separate Glue jobs, by ``lab_bronze.run_plates``. An empty scope writes
nothing and runs no gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lab_etl.contracts import contract
from lab_etl.lakehouse import delta

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from lab_etl.pipeline.publish import Publisher


@dataclass
class StepReport:
    """What a stage did: lines for the run summary, the plates whose next-stage rows must be rebuilt, and the
    batches a data-quality gate held back."""

    name: str
    lines: list[str] = field(default_factory=list)
    plates: set[str] = field(default_factory=set)
    held_back: list[str] = field(default_factory=list)
    reference_plates: set[str] = field(default_factory=set)  # plates with reagents, when the reference changed


@dataclass(frozen=True)
class SilverScope:
    """What the silver stage must redo in one run."""

    plates: frozenset[str] = frozenset()  # plates with new readings, layouts or experiments
    layout_plates: frozenset[str] = frozenset()  # plates whose well reagents were (re)written
    reference_changed: bool = False  # a new ChEMBL download: every reagent is enriched again

    @property
    def empty(self) -> bool:
        return not self.plates and not self.layout_plates and not self.reference_changed


def table(spark: SparkSession, name: str) -> DataFrame:
    """A lakehouse table, created empty from its contract when no step has written it yet."""
    return spark.table(delta.ensure_table(spark, contract(name)))


def build_silver(spark: SparkSession, scope: SilverScope, publisher: Publisher) -> StepReport:
    """Rebuild ``lab_silver.plate_results`` for the scope's plates and enrich the reagents its layouts name."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from lab_etl.transforms.experiments import join_experiments
    from lab_etl.transforms.plate_mapping import map_layouts

    report = StepReport("silver", plates=set(scope.plates))
    plates = sorted(scope.plates)
    if plates:
        in_scope = F.col("plate_id").isin(plates)  # every join is by plate: read only the scope's rows
        readings = table(spark, "instrument_readings").where(in_scope)
        mapped = map_layouts(readings, table(spark, "plate_layouts").where(in_scope))
        results = join_experiments(mapped, table(spark, "eln_experiments")).persist()
        counted = Observation("silver results")
        observed = results.observe(
            counted,
            F.count(F.lit(1)).alias("results"),
            *[F.sum(F.when(F.col("layout_status") == s, 1).otherwise(0)).alias(s) for s in ("mapped", "no_layout")],
            F.sum(F.when(F.col("experiment_status") == "no_experiment", 1).otherwise(0)).alias("no_experiment"),
        )
        try:
            commit = publisher.publish(results, "plate_results", plates, write=observed)
        finally:
            results.unpersist()
        if commit is not None:
            counts = {k: int(v or 0) for k, v in counted.get.items()}
            report.lines.append(
                f"{counts['results']} result(s) on {len(plates)} plate(s): {counts['mapped']} mapped to a layout, "
                f"{counts['no_layout']} without a layout, {counts['no_experiment']} without an ELN experiment "
                "(kept and flagged)"
            )
    if scope.layout_plates or scope.reference_changed:
        report.reference_plates = _enrich_reagents(spark, scope, report)
        report.plates |= report.reference_plates
    report.lines += publisher.lines
    report.held_back += publisher.held_back
    publisher.lines.clear()
    return report


def _enrich_reagents(spark: SparkSession, scope: SilverScope, report: StepReport) -> set[str]:
    """Enrich the reagents of the scope's new layouts (all reagents when the reference changed) into
    ``lab_silver.reagents``; returns the plates whose gold rows depend on a re-enriched reagent."""
    from pyspark.sql import functions as F

    from lab_etl.transforms.chembl import enrich_reagents, match_rates
    from lab_etl.transforms.gold import reagent_key

    well_reagents = table(spark, "well_reagents")
    wanted = well_reagents.withColumn("reagent_key", reagent_key("smiles", "chembl_id"))
    if not scope.reference_changed:
        known = table(spark, "reagents").select("reagent_key")
        wanted = wanted.where(F.col("plate_id").isin(sorted(scope.layout_plates))).join(
            known, "reagent_key", "left_anti"
        )
        # a new plate mostly draws reagents already enriched: look for a new one (one small query) before paying
        # for the enrichment's plan (the reference's joins, the standardising workers), which finds nothing then
        if wanted.where(F.col("reagent_key").isNotNull()).isEmpty():
            return set()
    enriched = enrich_reagents(wanted.drop("reagent_key"), table(spark, "chembl_compounds")).persist()
    try:
        rates = match_rates(enriched)
        total = sum(rates.values())
        if not total:
            return set()
        delta.upsert(spark, enriched, contract("reagents"))
    finally:
        enriched.unpersist()
    report.lines.append(
        f"{total} reagent(s) enriched: "
        + ", ".join(f"{rates.get(m, 0)} by {m}" for m in ("chembl_id", "inchikey", "computed", "unmatched"))
    )
    if scope.reference_changed:
        return {r[0] for r in well_reagents.select("plate_id").distinct().collect()}
    return set()
