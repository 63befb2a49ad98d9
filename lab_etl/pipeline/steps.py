"""The pipeline's steps after the bronze ingest: ELN and layouts, the ChEMBL reference, silver and gold.

Each step reads what is new (the side folders of a landing area are accounted for in ``lab_bronze.ingest_log``
like instrument files) and rebuilds only the plates it touches, so that a rerun with nothing new writes nothing.

A landing area::

    <landing>/                 instrument exports (any folders but the three below)
    <landing>/eln/             .eln archives (RO-Crate) and lab_etl's CSV/JSON ELN export (docs/eln_export.md)
    <landing>/layouts/         plate maps (.csv; plate id = file stem unless a plate column names it), wellmap
                               layouts (.toml), and pyGecko HTE plates (a folder <plate id>/ with plate_layout.csv
                               and meta_data.json)
    <landing>/reference/       ChEMBL downloads: chembl_XX_chemreps.txt(.gz), the chembl_XX SQLite file, or CSV
                               extracts whose name says the release (chembl_27_EGFR_compounds.csv)
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from lab_etl.contracts import contract
from lab_etl.errors import LabEtlError, ParseError
from lab_etl.lakehouse import delta
from lab_etl.lakehouse.frames import records_frame
from lab_etl.pipeline.ingest import ingest_side_files

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from lab_etl.chem import CompoundRecord
    from lab_etl.eln import ElnExport
    from lab_etl.layouts import Layout
    from lab_etl.transforms.qc import QcThresholds

log = logging.getLogger(__name__)


@dataclass
class StepReport:
    """What a step did: lines for the run summary, the plates whose silver/gold rows must be rebuilt, and the
    batches a data-quality gate held back."""

    name: str
    lines: list[str] = field(default_factory=list)
    plates: set[str] = field(default_factory=set)
    reference_changed: bool = False
    held_back: list[str] = field(default_factory=list)


def _publish(
    spark: SparkSession, frame: DataFrame, table: str, scope: list[str], run_id: str, report: StepReport
) -> bool:
    """Gate ``frame`` with the table's expectations, then sync it into the table for ``scope``.

    A failing batch is not published: the table keeps its last good version, the batch is written to
    ``<warehouse>/_quarantine/<table>/<run_id>`` for inspection, and the failed expectations are in
    ``lab_bronze.dq_results`` and the Data Docs (``<warehouse>/_data_docs``).
    """
    from lab_etl.lakehouse.spark import warehouse_of
    from lab_etl.quality.gate import gate

    table_contract = contract(table)
    warehouse = str(warehouse_of(spark))
    local = "://" not in warehouse or warehouse.startswith("file:")
    docs_dir = Path(warehouse.removeprefix("file:")) / "_data_docs" if local else None
    result = gate(spark, frame, table_contract, run_id=run_id, docs_dir=docs_dir)
    if not result.success:
        held = f"{warehouse.rstrip('/')}/_quarantine/{table_contract.qualified_name}/{run_id}"
        frame.write.mode("overwrite").parquet(held)
        reasons = "; ".join(f.reason for f in result.failures)
        report.held_back.append(table_contract.qualified_name)
        report.lines.append(f"{table_contract.qualified_name} NOT published (kept in {held}): {reasons}")
        return False
    delta.sync_scope(spark, frame, table_contract, "plate_id", scope)
    return True


# ----------------------------------------------------------------------------------------------- ELN and layouts


def read_eln_file(data: bytes, path: str) -> ElnExport:
    """An ELN export by content: a zip is an .eln archive, anything else lab_etl's CSV/JSON table."""
    from lab_etl.eln import read_eln_archive, read_eln_table

    return read_eln_archive(data, path) if data[:4] == b"PK\x03\x04" else read_eln_table(data, path)


def load_eln(spark: SparkSession, folder: str, run_id: str) -> StepReport:
    """New ELN exports -> ``lab_silver.eln_experiments``, ``plate_layouts``, ``well_reagents``."""
    report = StepReport("eln")
    side = ingest_side_files(spark, folder, run_id, "eln", read_eln_file)
    exports = [export for _, export in side.items]
    experiments = [e for export in exports for e in export.experiments]
    layouts = [layout for export in exports for layout in export.layouts]
    for export in exports:
        for warning in export.warnings:
            log.warning("ELN: %s", warning)
    if experiments:
        frame = records_frame(spark, experiments, contract("eln_experiments"))
        delta.upsert(spark, frame, contract("eln_experiments"))
        report.plates |= _plates_of_experiments(experiments)
    report.plates |= _write_layouts(spark, layouts)
    report.lines.append(
        f"{side.parsed} ELN file(s) read, {side.quarantined} quarantined, {side.duplicate} duplicate: "
        f"{len(experiments)} experiment(s), {len(layouts)} plate layout(s)"
    )
    return report


def _plates_of_experiments(experiments: Iterable[Any]) -> set[str]:
    import json

    plates: set[str] = set()
    for experiment in experiments:
        plates |= set(json.loads(experiment.plate_ids or "[]"))
    return plates


def _write_layouts(spark: SparkSession, layouts: list[Layout]) -> set[str]:
    """Replace the wells and reagents of every plate the new layouts describe."""
    plates = sorted({layout.plate_id for layout in layouts})
    if not plates:
        return set()
    wells = records_frame(spark, [w for layout in layouts for w in layout.wells], contract("plate_layouts"))
    reagents = records_frame(spark, [r for layout in layouts for r in layout.reagents], contract("well_reagents"))
    delta.sync_scope(spark, wells, contract("plate_layouts"), "plate_id", plates)
    delta.sync_scope(spark, reagents, contract("well_reagents"), "plate_id", plates)
    return set(plates)


def read_layout_file(data: bytes, path: str) -> list[Layout]:
    """A layout file by its kind: wellmap TOML, pyGecko HTE metadata, or a plate-map CSV."""
    from lab_etl import layouts

    name = PurePosixPath(path)
    suffix = name.suffix.lower()
    if suffix == ".toml":
        return [_read_wellmap(path, name.stem)]
    if name.name == "meta_data.json":
        plate_id = name.parent.name
        sibling = str(name.parent / "plate_layout.csv")
        return [layouts.read_hte_plate(_read_bytes(sibling), data, path, plate_id)]
    if name.name == "plate_layout.csv" and _local_path(str(name.parent / "meta_data.json")).is_file():
        return []  # a pyGecko plate: read together with its meta_data.json
    if suffix in (".csv", ".tsv", ".txt"):
        layout = layouts.read_plate_map_csv(data, path)
        return [layout]
    raise ParseError("not a layout file: expected a plate-map .csv, a wellmap .toml or a pyGecko meta_data.json", path)


def _local_path(path: str) -> Path:
    if path.startswith("file:"):
        return Path(re.sub(r"^file:(//)?", "", path))
    if "://" in path:
        raise ParseError("this layout file refers to sibling files; read it from a local folder", path)
    return Path(path)


def _read_bytes(path: str) -> bytes:
    try:
        return _local_path(path).read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read {exc.filename}: {exc.strerror}", path) from None


def _read_wellmap(path: str, plate_id: str) -> Layout:
    from lab_etl.layouts import read_wellmap

    # wellmap follows `include`s relative to the file, so it reads from the folder, not from bytes
    return read_wellmap(_local_path(path), plate_id)


def load_layouts(spark: SparkSession, folder: str, run_id: str) -> StepReport:
    """New plate layouts -> ``lab_silver.plate_layouts`` and ``well_reagents``."""
    report = StepReport("layouts")
    side = ingest_side_files(spark, folder, run_id, "layout", read_layout_file)
    found = [layout for _, layouts in side.items for layout in layouts]
    report.plates |= _write_layouts(spark, found)
    report.lines.append(
        f"{side.parsed} layout file(s) read, {side.quarantined} quarantined, {side.duplicate} duplicate: "
        f"{len(found)} plate(s)"
    )
    return report


# ----------------------------------------------------------------------------------------------- ChEMBL reference

_RELEASE = re.compile(r"chembl_?(\d+)", re.IGNORECASE)


def read_reference_file(data: bytes, path: str, default_release: str | None = None) -> list[CompoundRecord]:
    """ChEMBL compounds from a download or extract; the release comes from the file name (``chembl_27_...``),
    else from ``default_release``."""
    from lab_etl import chem

    name = PurePosixPath(path).name
    match = _RELEASE.search(name)
    if match is None and default_release is None:
        raise ParseError("the file name must say the ChEMBL release, e.g. chembl_27_compounds.csv", path)
    release = f"chembl_{match.group(1)}" if match else str(default_release)
    lowered = name.lower()
    if "chemreps" in lowered:
        return list(chem.read_chemreps(data, release, name=path))
    if lowered.endswith((".db", ".sqlite", ".sqlite3")):
        with tempfile.NamedTemporaryFile(suffix=".db") as copy:
            copy.write(data)
            copy.flush()
            return list(chem.read_chembl_sqlite(copy.name, release))
    if lowered.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return list(chem.read_chembl_csv(data, release, path))
    raise ParseError("not a ChEMBL download: expected chemreps .txt(.gz), a SQLite .db or a .csv extract", path)


def _parent_keys(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    from lab_etl import chem

    for batch in batches:
        keys = []
        for smiles in batch["canonical_smiles"]:
            try:
                keys.append(chem.standardise(smiles).parent_inchi_key if smiles else None)
            except LabEtlError:
                keys.append(None)
        out = batch[["chembl_id"]].copy()
        out["computed_parent_key"] = keys
        yield out


def load_reference(
    spark: SparkSession, folder: str, run_id: str, *, standardise: bool = True, default_release: str | None = None
) -> StepReport:
    """New ChEMBL files -> ``lab_reference.chembl_compounds``, parent InChIKeys computed in parallel."""
    from functools import partial

    from pyspark.sql import functions as F

    report = StepReport("reference")
    reader = partial(read_reference_file, default_release=default_release)
    side = ingest_side_files(spark, folder, run_id, "chembl", reader)
    records = [record for _, found in side.items for record in found]
    if records:
        frame = records_frame(spark, records, contract("chembl_compounds"))
        if standardise:
            missing = frame.where(F.col("parent_inchi_key").isNull() & F.col("canonical_smiles").isNotNull())
            parallelism = spark.sparkContext.defaultParallelism
            keys = (
                missing.select("chembl_id", "canonical_smiles")
                .repartition(parallelism * 2)
                .mapInPandas(_parent_keys, "chembl_id string, computed_parent_key string")
            )
            frame = frame.join(keys, "chembl_id", "left").withColumn(
                "parent_inchi_key", F.coalesce("parent_inchi_key", "computed_parent_key")
            )
        delta.upsert(spark, frame.dropDuplicates(["chembl_id"]), contract("chembl_compounds"))
        report.reference_changed = True
    report.lines.append(
        f"{side.parsed} ChEMBL file(s) read, {side.quarantined} quarantined, {side.duplicate} duplicate: "
        f"{len(records)} compound(s)"
    )
    return report


# ----------------------------------------------------------------------------------------------- silver and gold


def _table(spark: SparkSession, name: str) -> DataFrame:
    """A lakehouse table, created empty from its contract when no step has written it yet."""
    return spark.table(delta.ensure_table(spark, contract(name)))


def build_silver(spark: SparkSession, plates: set[str], *, run_id: str, refresh_reagents: bool = False) -> StepReport:
    """Rebuild ``lab_silver.plate_results`` for ``plates`` and enrich reagents not yet in ``lab_silver.reagents``."""
    from pyspark.sql import functions as F

    from lab_etl.transforms.chembl import enrich_reagents, match_rates
    from lab_etl.transforms.eln import join_experiments
    from lab_etl.transforms.gold import reagent_key
    from lab_etl.transforms.plate_mapping import map_layouts

    report = StepReport("silver", plates=set(plates))
    scope = sorted(plates)
    if scope:
        readings = _table(spark, "instrument_readings").where(F.col("plate_id").isin(scope))
        mapped = map_layouts(readings, _table(spark, "plate_layouts"))
        results = join_experiments(mapped, _table(spark, "eln_experiments")).persist()
        _publish(spark, results, "plate_results", scope, run_id, report)
        counts = {r["layout_status"]: r["count"] for r in results.groupBy("layout_status").count().collect()}
        no_experiment = results.where(F.col("experiment_status") == "no_experiment").count()
        results.unpersist()
        report.lines.append(
            f"{sum(counts.values())} result(s) on {len(scope)} plate(s): {counts.get('mapped', 0)} mapped to a "
            f"layout, {counts.get('no_layout', 0)} without a layout, {no_experiment} without an ELN experiment "
            "(kept and flagged)"
        )

    well_reagents = _table(spark, "well_reagents")
    known = _table(spark, "reagents").select("reagent_key")
    wanted = well_reagents.withColumn("reagent_key", reagent_key("smiles", "chembl_id"))
    if not refresh_reagents:
        wanted = wanted.join(known, "reagent_key", "left_anti")
    if wanted.limit(1).count():
        enriched = enrich_reagents(wanted.drop("reagent_key"), _table(spark, "chembl_compounds")).persist()
        delta.upsert(spark, enriched, contract("reagents"))
        rates = match_rates(enriched)
        enriched.unpersist()
        total = sum(rates.values())
        report.lines.append(
            f"{total} reagent(s) enriched: "
            + ", ".join(f"{rates.get(m, 0)} by {m}" for m in ("chembl_id", "inchikey", "computed", "unmatched"))
        )
        if refresh_reagents:
            plates_with_reagents = {r[0] for r in well_reagents.select("plate_id").distinct().collect()}
            report.plates |= plates_with_reagents
    return report


def build_gold(
    spark: SparkSession, plates: set[str], *, run_id: str, thresholds: QcThresholds | None = None
) -> StepReport:
    """Rebuild ``lab_gold.plate_qc`` and ``lab_gold.assay_results_flat`` for ``plates``.

    The flat table holds the results of plates that have a layout (the experiment context ML needs); plates
    without one keep their results in ``lab_silver.plate_results`` and their QC here.
    """
    from pyspark.sql import functions as F

    from lab_etl.transforms.gold import assay_results_flat
    from lab_etl.transforms.qc import normalise, plate_qc

    report = StepReport("gold", plates=set(plates))
    scope = sorted(plates)
    if not scope:
        return report
    results = _table(spark, "plate_results").where(F.col("plate_id").isin(scope))
    qc = plate_qc(results, thresholds).persist()
    _publish(spark, qc, "plate_qc", scope, run_id, report)
    mapped = normalise(results, qc).where(F.col("layout_status") == "mapped")
    flat = assay_results_flat(mapped, _table(spark, "well_reagents"), _table(spark, "reagents")).persist()
    if flat.limit(1).count():
        _publish(spark, flat, "assay_results_flat", scope, run_id, report)
    flat.unpersist()
    verdicts = {str(r["qc_pass"]): r["count"] for r in qc.groupBy("qc_pass").count().collect()}
    qc.unpersist()
    report.lines.append(
        f"plate QC: {verdicts.get('True', 0)} pass, {verdicts.get('False', 0)} fail, "
        f"{verdicts.get('None', 0)} without controls"
    )
    return report


def plates_of_run(spark: SparkSession, run_id: str) -> set[str]:
    """Plates that got new readings in ``run_id``."""
    from pyspark.sql import functions as F

    rows = _table(spark, "instrument_readings").where(F.col("run_id") == run_id).select("plate_id").distinct()
    return {r[0] for r in rows.collect()}
