"""The analyst queries of sql/: each runs through `lab-etl sql` on the demo lakehouse and returns the story's values.

The expected values are computed here from the landing files themselves (the LC-MS yield table and the ELN export),
not from the lakehouse, so that a pipeline or query that loses or mixes wells fails.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from typing import Any

import pytest

from tests.analyst.conftest import LANDING, QUARANTINED_FILE

pytestmark = pytest.mark.spark

SQL = Path(__file__).resolve().parents[2] / "sql"
QUERIES = sorted(SQL.glob("*.sql"))
Sql = Callable[[str], list[dict[str, Any]]]

#: Spark SQL that Athena (Trino) does not read; the queries must stay in the dialect both engines share
SPARK_ONLY = {
    r"`": "backtick identifiers (Trino quotes with double quotes)",
    r"\bLATERAL\s+VIEW\b": "LATERAL VIEW (Trino: CROSS JOIN UNNEST)",
    r"\bAS\s+STRING\b": "the STRING type (Trino: VARCHAR)",
    r"\b(nvl2?|ifnull|collect_list|collect_set|explode|posexplode|size|instr|percentile_approx|datediff|date_sub|"
    r"unix_timestamp|to_unix_timestamp|timestampdiff|array_contains|rlike)\s*\(": "a Spark-only function",
    r"\bcurrent_(date|timestamp)\s*\(": "current_date() with parentheses (Trino: current_date)",
    r";\s*\Z": "a trailing semicolon",
}


def _source_yields() -> dict[str, float | None]:
    """THIO-1's yield per canonical well (A01), from the LC-MS CSV; None for an empty cell."""
    with (LANDING / "instruments" / "lcms" / "THIO-1.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {f"{r[''][0]}{int(r[''][1:]):02d}": (float(r["Yield [%]"]) if r["Yield [%]"] else None) for r in rows}


def _eln_reagents(role: str) -> dict[str, str]:
    """Well -> SMILES of the reagent of ``role`` in the ELN export of THIO-1."""
    with (LANDING / "eln" / "hte_thiolation_eln.csv").open(encoding="utf-8-sig", newline="") as handle:
        return {r["well"]: r["smiles"] for r in csv.DictReader(handle) if r["reagent_role"] == role}


def _query(name: str) -> str:
    return (SQL / f"{name}.sql").read_text(encoding="utf-8")


def test_the_story_queries_are_there() -> None:
    names = {p.stem for p in QUERIES}
    assert {"yield_by_reagent", "plates_failing_qc", "compounds_with_properties", "recent_runs"} <= names
    assert "quarantined_files" in names


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_queries_stay_in_athenas_dialect(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    # `lab-etl sql "$(cat file.sql)"` would read a leading -- comment as an option
    assert not text.lstrip().startswith("-"), f"{path.name}: put the header comment in /* */"
    code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    code = "\n".join(line.split("--", 1)[0] for line in code.splitlines())
    for pattern, what in SPARK_ONLY.items():
        assert not re.search(pattern, code, re.IGNORECASE), f"{path.name} uses {what}"
    tables = re.findall(r"\b(?:FROM|JOIN)\s+([\w.]+)", code, re.IGNORECASE)
    assert tables and all(re.fullmatch(r"lab_(bronze|silver|gold|reference)\.\w+", t) for t in tables), tables


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_every_query_runs_on_spark(path: Path, lab_sql: Sql) -> None:
    rows = lab_sql(path.read_text(encoding="utf-8"))
    assert rows, f"{path.name} returned no rows on the demo lakehouse"


@pytest.mark.parametrize("role", ["scaffold", "reactant"])
def test_yield_by_reagent_equals_the_source_files(role: str, lab_sql: Sql) -> None:
    yields, reagents = _source_yields(), _eln_reagents(role)
    per_reagent: dict[str, list[float | None]] = defaultdict(list)
    for well, smiles in reagents.items():
        per_reagent[smiles].append(yields[well])
    expected = {smiles: (len(values), [v for v in values if v is not None]) for smiles, values in per_reagent.items()}
    rows = [r for r in lab_sql(_query("yield_by_reagent")) if r["reagent_role"] == role]
    assert {r["smiles"] for r in rows} == set(expected)
    for row in rows:
        wells, found = expected[row["smiles"]]
        assert (row["wells"], row["wells_with_yield"]) == (wells, len(found)), row["smiles"]
        # the query rounds half up to 2 decimals (48.125 -> 48.13), Python's round() half to even
        assert row["mean_yield"] == pytest.approx(mean(found), abs=0.0051), row["smiles"]
        assert (row["min_yield"], row["max_yield"]) == (min(found), max(found))
    best = max(expected, key=lambda s: mean(expected[s][1]))
    assert rows[0]["smiles"] == best  # ordered best first
    if role == "scaffold":
        # 2-bromo-5-phenylthiophene: 11 of its 12 wells gave a yield, 544 % in all
        assert (best, rows[0]["mean_yield"]) == ("BrC1=CC=C(C2=CC=CC=C2)S1", pytest.approx(49.45))


def test_plates_with_controls_get_a_verdict_and_the_others_say_why(lab_sql: Sql) -> None:
    verdicts = lab_sql(_query("qc_verdicts"))
    by = defaultdict(list)
    for row in verdicts:
        by[row["verdict"]].append(row)
    assert [r["plate_id"] for r in by["pass"]] == ["Plate 1"]
    control = by["pass"][0]
    assert control["z_prime"] == pytest.approx(0.956, abs=1e-3) and control["positive_controls"] == 8
    # examples/SOURCES.md: SoftMax's controls are random test values (3 wavelengths), and the Kaleido plate's two
    # DMSO columns differ by a sixth, which keeps its Z' just under 0.5
    failed = sorted((r["plate_id"], r["channel"]) for r in by["fail"])
    assert failed == [*[("BNCH_69983542_96w", c) for c in ("280", "450", "562")], ("V-2022-11-10 12:11:46", "485/535")]
    failing = lab_sql(_query("plates_failing_qc"))
    assert sorted((r["plate_id"], r["channel"]) for r in failing) == failed
    assert all("Z' below 0.5" in r["qc_reasons"] for r in failing)
    assert [r["z_prime"] for r in failing] == sorted(r["z_prime"] for r in failing)  # worst first
    # no positive/negative controls in their layouts: standards, blanks, a reaction screen
    assert len(by["not judged"]) == 8
    assert all("control" in (r["qc_reasons"] or "") for r in by["not judged"])


def test_compounds_carry_their_properties_and_well_counts(lab_sql: Sql) -> None:
    rows = lab_sql(_query("compounds_with_properties"))
    thiol = [r for r in rows if r["reagent_role"] == "reactant" and r["smiles"] == "COC(CCS)=O"]
    assert len(thiol) == 1
    # methyl 3-mercaptopropanoate, C4H8O2S: 120.17 g/mol, 2 rotatable bonds (RDKit, no ChEMBL match)
    assert thiol[0]["mw"] == pytest.approx(120.17, abs=0.01) and thiol[0]["rtb"] == 2
    assert (thiol[0]["match_method"], thiol[0]["wells"], thiol[0]["plates"]) == ("computed", 8, 1)
    for role in ("scaffold", "reactant"):
        expected = defaultdict(int)
        for smiles in _eln_reagents(role).values():
            expected[smiles] += 1
        found = {r["smiles"]: r["wells"] for r in rows if r["reagent_role"] == role}
        assert found == dict(expected), role


def test_recent_runs_lists_the_demo_run(lab_sql: Sql, demo_run_id: str) -> None:
    rows = lab_sql(_query("recent_runs"))
    started = [r["started_at"] for r in rows]
    assert started == sorted(started, reverse=True)
    demo = next(r for r in rows if r["run_id"] == demo_run_id)
    files = [p for p in (LANDING / "instruments").rglob("*") if p.is_file()]
    assert demo["files_seen"] == len(files) == 10
    assert (demo["files_parsed"], demo["files_quarantined"], demo["files_duplicate"]) == (8, 1, 1)
    assert demo["plates_touched"] == 9


def test_quarantined_files_name_the_file_and_the_reason(lab_sql: Sql, demo_run_id: str) -> None:
    rows = [r for r in lab_sql(_query("quarantined_files")) if r["run_id"] == demo_run_id]
    assert [r["file_name"] for r in rows] == [QUARANTINED_FILE]
    row = rows[0]
    source = LANDING / "instruments" / "plate_readers" / QUARANTINED_FILE
    assert row["size_bytes"] == source.stat().st_size
    assert "no raw read data" in row["reason"] and row["landing"].endswith("examples/landing")
