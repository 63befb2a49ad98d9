"""The README's main command (`lab-etl run` on examples/landing), run once, then every promise checked."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from pathlib import Path
from statistics import mean, stdev

import pytest
from click.testing import CliRunner

from lab_etl.cli import cli

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[1]
LANDING = ROOT / "examples" / "landing"
PLATE_READERS = LANDING / "instruments" / "plate_readers"
GEN5 = "gen5_luminescence_endpoint.txt"


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
    side = ("eln", "chembl", "layout")
    assert sum(v for (vendor, status), v in by.items() if status == "parsed" and vendor not in side) == 8
    assert by[(None, "duplicate")] == 1 and by[(None, "quarantined")] == 1
    assert by[("eln", "parsed")] == 2 and by[("chembl", "parsed")] == len(list((LANDING / "reference").iterdir()))
    assert by[("layout", "parsed")] == len(list((LANDING / "layouts").iterdir())) == 7
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
        "NULL) AS with_props, count_if(source_file IS NULL) AS no_source FROM lab_gold.assay_results_flat "
        "WHERE plate_id = 'THIO-1'",  # the reaction screen: the plate-reader plates have no scaffold
    )[0]
    assert row["n"] > 0 and row["with_props"] / row["n"] >= 0.5 and row["no_source"] == 0
    thiol = _sql(warehouse, "SELECT mw, rtb, match_method FROM lab_silver.reagents WHERE reagent_key = 'COC(CCS)=O'")
    assert thiol == [{"mw": pytest.approx(120.17, abs=0.01), "rtb": 2, "match_method": "computed"}]


def _z_primes_from_the_files() -> dict[tuple[str, str, str], float]:
    """Z' per plate read with controls, from the exports and the layout CSVs alone (no Spark, no pipeline)."""
    from lab_etl.errors import ParseError
    from lab_etl.layouts import read_plate_map_csv, role_from_sample_name
    from lab_etl.parsers.registry import parse_bytes

    roles = {}
    for path in (LANDING / "layouts").glob("*.csv"):
        roles.update({(w.plate_id, w.well): w.role for w in read_plate_map_csv(path.read_bytes(), path.name).wells})
    found = {}
    seen = set()
    for path in sorted(PLATE_READERS.iterdir()):
        data = path.read_bytes()
        if hashlib.sha256(data).digest() in seen:
            continue  # the same bytes under another name: the pipeline keeps the first by path
        seen.add(hashlib.sha256(data).digest())
        try:
            readings = parse_bytes(data, path.name).readings
        except ParseError:
            continue  # quarantined
        values: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for reading in readings:
            # the Gen5 export names its controls itself (POSCON, NEGCON) and has no layout file
            role = roles.get((reading.plate_id, reading.well)) or role_from_sample_name(reading.sample_name)
            if reading.value is not None:
                values[(path.name, reading.plate_id, reading.channel)][role].append(reading.value)
        for key, by_role in values.items():
            pos, neg = by_role["positive_control"], by_role["negative_control"]
            if len(pos) >= 2 and len(neg) >= 2:
                found[key] = 1 - 3 * (stdev(pos) + stdev(neg)) / abs(mean(pos) - mean(neg))
    return found


def test_every_plate_read_with_controls_has_a_z_prime_and_a_verdict(after_run, warehouse: Path) -> None:  # type: ignore[no-untyped-def]
    expected = _z_primes_from_the_files()
    # Gen5 (its own POSCON/NEGCON), SoftMax (3 wavelengths, controls from its groups) and the Kaleido example layout
    assert {plate for _, plate, _ in expected} == {"Plate 1", "BNCH_69983542_96w", "V-2022-11-10 12:11:46"}
    qc = _sql(warehouse, "SELECT source_file, plate_id, channel, z_prime, qc_pass, qc_reasons FROM lab_gold.plate_qc")
    judged = {(Path(r["source_file"]).name, r["plate_id"], r["channel"]): r for r in qc if r["z_prime"] is not None}
    assert set(judged) == set(expected) and len(expected) == 5
    for key, z_prime in expected.items():
        row = judged[key]
        assert row["z_prime"] == pytest.approx(z_prime, rel=1e-9), key
        assert row["qc_pass"] is not None, key
        assert (z_prime < 0.5) == ("Z' below 0.5" in (row["qc_reasons"] or "")), key
    assert [r["qc_pass"] for key, r in judged.items() if key[1] == "Plate 1"] == [True]
    not_judged = [r for r in qc if r["z_prime"] is None]
    assert not_judged and all(r["qc_pass"] is None and "not judged" in r["qc_reasons"] for r in not_judged)


def test_the_kaleido_inhibitors_match_chembl_by_id_and_by_inchikey(after_run, warehouse: Path) -> None:  # type: ignore[no-untyped-def]
    from rdkit import Chem

    from lab_etl.layouts import read_plate_map_csv

    layout_path = LANDING / "layouts" / "kaleido_V-2022-11-10.csv"
    reagents = read_plate_map_csv(layout_path.read_bytes(), layout_path.name).reagents
    reference = {}  # InChIKey of the reference SMILES -> ChEMBL id, computed here with RDKit alone
    for path in (LANDING / "reference").glob("*.csv"):
        with path.open(encoding="utf-8") as handle:
            for line in csv.DictReader(handle):
                reference[Chem.MolToInchiKey(Chem.MolFromSmiles(line["smiles"]))] = line["molecule_chembl_id"]
    reference_ids = set(reference.values())
    rows = {
        r["reagent_key"]: r
        for r in _sql(warehouse, "SELECT reagent_key, chembl_id, match_method FROM lab_silver.reagents")
    }
    by_id = {r.chembl_id for r in reagents if r.chembl_id}
    by_smiles = {r.smiles for r in reagents if not r.chembl_id}
    assert len(by_id) == 9 and by_id <= reference_ids and len(by_smiles) == 2
    for chembl_id in by_id:
        assert (rows[chembl_id]["match_method"], rows[chembl_id]["chembl_id"]) == ("chembl_id", chembl_id)
    for smiles in by_smiles:
        # the largest fragment is the parent: erlotinib's hydrochloride matches erlotinib
        parent = max(Chem.GetMolFrags(Chem.MolFromSmiles(smiles), asMols=True), key=lambda m: m.GetNumHeavyAtoms())
        assert (rows[smiles]["match_method"], rows[smiles]["chembl_id"]) == (
            "inchikey",
            reference[Chem.MolToInchiKey(parent)],
        )
    assert {rows[s]["chembl_id"] for s in by_smiles} == {"CHEMBL939", "CHEMBL553"}  # gefitinib, erlotinib


def test_unmapped_results_are_kept_and_flagged(after_run, warehouse: Path) -> None:  # type: ignore[no-untyped-def]
    from lab_etl.parsers.registry import parse_bytes

    rows = _sql(warehouse, "SELECT layout_status, count(*) AS n FROM lab_silver.plate_results GROUP BY layout_status")
    by = {r["layout_status"]: r["n"] for r in rows}
    readings = _sql(warehouse, "SELECT count(*) AS n FROM lab_bronze.instrument_readings")[0]["n"]
    # every plate has a layout (examples/landing/layouts, the ELN's THIO-1) but Gen5's, whose export holds its own
    gen5 = len(parse_bytes((PLATE_READERS / GEN5).read_bytes(), GEN5).readings)
    assert by["no_layout"] == gen5 == 96 and by["mapped"] + by["no_layout"] == readings


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
