"""The README's main command (`lab-etl run` on examples/landing), run once, then every promise checked."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lab_etl.cli import cli

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[1]
LANDING = ROOT / "examples" / "landing"


@pytest.fixture()
def after_run(demo_lakehouse):  # type: ignore[no-untyped-def]
    return demo_lakehouse, ""


def _sql(warehouse: Path, query: str) -> list[dict]:
    out = CliRunner().invoke(cli, ["sql", query, "--warehouse", str(warehouse), "--format", "jsonl"])
    assert out.exit_code == 0, out.output
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_every_landing_file_is_accounted_for(after_run, warehouse: Path) -> None:  # type: ignore[no-untyped-def]
    rows = _sql(
        warehouse, "SELECT vendor, status, count(*) AS files FROM lab_bronze.ingest_log GROUP BY vendor, status"
    )
    by = {(r["vendor"], r["status"]): r["files"] for r in rows}
    assert sum(v for (_, status), v in by.items() if status == "parsed" and _ != "eln" and _ != "chembl") == 8
    assert by[(None, "duplicate")] == 1 and by[(None, "quarantined")] == 1
    assert by[("eln", "parsed")] == 2 and by[("chembl", "parsed")] == 1
    files = sum(1 for p in LANDING.rglob("*") if p.is_file())
    assert sum(by.values()) == files
    n = _sql(warehouse, "SELECT count(*) AS n FROM lab_bronze.instrument_readings")[0]["n"]
    assert n > 1000


def test_gold_yields_equal_the_source_cells(after_run, warehouse: Path) -> None:  # type: ignore[no-untyped-def]
    with (LANDING / "instruments" / "lcms" / "THIO-1.csv").open(encoding="utf-8-sig") as handle:
        source = {row[""]: row["Yield [%]"] for row in csv.DictReader(handle)}
    gold = _sql(
        warehouse,
        "SELECT well, value, flag, source_file, experiment_id, scaffold_smiles, reactant_smiles FROM "
        "lab_gold.assay_results_flat WHERE plate_id = 'THIO-1' AND measurement = 'yield'",
    )
    assert len(gold) == 96
    for row in gold:
        well = row["well"][0] + str(int(row["well"][1:]))
        cell = source[well]
        assert row["value"] == (float(cell) if cell else None), well
        assert row["flag"] == (None if cell else "missing")
        assert row["source_file"].endswith("THIO-1.csv") and row["experiment_id"] == "HTE-THIO-001"
    a1 = next(r for r in gold if r["well"] == "A01")
    assert (a1["scaffold_smiles"], a1["reactant_smiles"]) == ("Cn1c(Cl)c(Cl)nc1", "COC(CCS)=O")


def test_most_gold_rows_carry_reagent_properties(after_run, warehouse: Path) -> None:  # type: ignore[no-untyped-def]
    row = _sql(
        warehouse,
        "SELECT count(*) AS n, count_if(scaffold_mw IS NOT NULL AND scaffold_alogp IS NOT NULL AND scaffold_rtb IS NOT "
        "NULL) AS with_props, count_if(source_file IS NULL) AS no_source FROM lab_gold.assay_results_flat",
    )[0]
    assert row["n"] > 0 and row["with_props"] / row["n"] >= 0.5 and row["no_source"] == 0
    thiol = _sql(warehouse, "SELECT mw, rtb, match_method FROM lab_silver.reagents WHERE reagent_key = 'COC(CCS)=O'")
    assert thiol == [{"mw": pytest.approx(120.17, abs=0.01), "rtb": 2, "match_method": "computed"}]


def test_plate_qc_judges_the_control_plate(after_run, warehouse: Path) -> None:  # type: ignore[no-untyped-def]
    qc = _sql(
        warehouse,
        "SELECT source_file, z_prime, qc_pass, positive_controls FROM lab_gold.plate_qc WHERE z_prime IS NOT NULL",
    )
    # the first of the two identical Gen5 files (by path) is parsed, the other logged as its duplicate
    assert len(qc) == 1 and "gen5_luminescence_endpoint" in qc[0]["source_file"]
    assert qc[0]["positive_controls"] == 8 and qc[0]["z_prime"] < 1


def test_unmapped_results_are_kept_and_flagged(after_run, warehouse: Path) -> None:  # type: ignore[no-untyped-def]
    rows = _sql(warehouse, "SELECT layout_status, count(*) AS n FROM lab_silver.plate_results GROUP BY layout_status")
    by = {r["layout_status"]: r["n"] for r in rows}
    readings = _sql(warehouse, "SELECT count(*) AS n FROM lab_bronze.instrument_readings")[0]["n"]
    assert by["mapped"] == 288 and by["mapped"] + by["no_layout"] == readings


def test_rerun_adds_no_rows_and_no_versions_but_the_run_log(after_run, warehouse: Path) -> None:  # type: ignore[no-untyped-def]
    spark, _ = after_run

    def versions() -> dict[str, int]:
        found = {}
        for database in ("lab_bronze", "lab_silver", "lab_gold", "lab_reference"):
            for table in spark.catalog.listTables(database):
                name = f"{database}.{table.name}"
                found[name] = spark.sql(f"DESCRIBE HISTORY {name} LIMIT 1").collect()[0].version
        return found

    before = versions()
    result = CliRunner().invoke(cli, ["run", "--landing", str(LANDING), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    after = versions()
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"lab_bronze.ingest_runs"}
