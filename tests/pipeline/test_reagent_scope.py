"""The silver stage enriches only reagents it has not enriched before: the first run enriches every reagent its
layouts draw; a new plate whose layout draws only known reagents runs no enrichment (no reference joins, no
standardising workers) and writes nothing to ``lab_silver.reagents``."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.expected_rows import bench_generator


def _add_plate(generate: ModuleType, landing: Path, plates: list[Any], index: int) -> Any:
    """One more plate in the landing, with its experiment's ELN export written again to name it."""
    added = generate.write_plate(landing, index, plate_format=96, eln_share=1.0)
    plates.append(added)
    generate.write_layouts(landing, [p for p in plates if p.experiment_id == added.experiment_id], 96, 0)
    return added


def _reagent_keys(spark: Any) -> dict[str, str]:
    return {r["reagent_key"]: r["match_method"] for r in spark.table("lab_silver.reagents").collect()}


def _drawn(spark: Any) -> set[str]:
    """The reagent keys the layouts draw (lab_etl.transforms.gold.reagent_key: the ChEMBL id, else the SMILES)."""
    rows = spark.sql("SELECT DISTINCT coalesce(chembl_id, smiles) FROM lab_silver.well_reagents").collect()
    return {r[0] for r in rows} - {None}


@pytest.mark.spark
def test_a_layout_of_known_reagents_runs_no_enrichment(
    lakehouse: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from delta.tables import DeltaTable

    import lab_etl.transforms.chembl as chembl
    from lab_etl.pipeline.run import run_pipeline

    generate = bench_generator()
    landing = tmp_path / "landing"
    manifest = generate.generate(landing, 1, plate_format=96, eln_share=1.0)
    plates = list(manifest.plates)
    assert run_pipeline(lakehouse, str(landing)).exit_code == 0
    before = _reagent_keys(lakehouse)
    assert before, "the first run enriched no reagent: the test would check nothing"
    assert _drawn(lakehouse) == set(before), "a reagent the layouts draw was not enriched (or one they do not was)"
    version = DeltaTable.forName(lakehouse, "lab_silver.reagents").history(1).collect()[0]["version"]

    calls: list[int] = []
    real = chembl.enrich_reagents

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(chembl, "enrich_reagents", counted)

    # a plate of the same compounds (a plate's compounds follow its index modulo the library's size): its layout
    # is new, its reagents are not
    known = _add_plate(generate, landing, plates, len(generate.COMPOUNDS))
    result = run_pipeline(lakehouse, str(landing))
    assert result.exit_code == 0, result.notes
    assert calls == [], "the enrichment ran for a layout whose reagents were all enriched before"
    assert DeltaTable.forName(lakehouse, "lab_silver.reagents").history(1).collect()[0]["version"] == version
    assert _reagent_keys(lakehouse) == before
    assert _drawn(lakehouse) == set(before)
    assert lakehouse.table("lab_gold.assay_results_flat").where(f"plate_id = '{known.plate_id}'").count() == 96
