"""A ``lab-etl run`` killed with SIGKILL in the middle of a Delta write, then run again to completion: one chained
test kills it at the first CREATE TABLE, during the readings write, in silver, in gold and during the ingest-log
append, and compares every table with a clean run's.

The kill runs in a subprocess with its own warehouse (its own JVM); the tables are read back
with the ``deltalake`` package, by path and without a JVM, so the check shares nothing with the killed process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.expected_rows import table_folder

pytestmark = pytest.mark.slow

LAB_ETL = Path(sys.executable).with_name("lab-etl")
#: A run takes 30-100 s on a loaded 2-core machine; this is the bound past which the test calls it hung.
RUN_TIMEOUT_S = 420


def _rows(table: Path) -> list[dict[str, object]]:
    from deltalake import DeltaTable

    return DeltaTable(str(table)).to_pyarrow_table().to_pylist()  # type: ignore[no-any-return]


def _command(landing: Path, warehouse: Path) -> list[str]:
    return [str(LAB_ETL), "run", "--landing", str(landing), "--warehouse", str(warehouse)]


# ------------------------------------------------------------------------------------- kills at every step
#
# One chained test: a landing that reaches silver and gold (the ``chain`` landing of tests/expected_rows.py: an LC-MS
# plate with its ELN layout, a plate-reader plate without one, the same bytes again under another name, a bad file, a
# ChEMBL download) is run and killed at five points in turn, each rerun picking up what the last one left: the first
# CREATE TABLE of a fresh warehouse, the readings write (data files written, their commit pending, if the poll is
# quick enough; else the commit just made), the silver step, the gold step, the ingest-log append. A sixth run
# completes.
# The reference is the stored summary of a clean run of that landing (tests/data/expected/chain.json, written by
# ``python -m tests.expected_rows --write --landing chain``): after the last run every table must equal it (run ids,
# run clocks and folders left out), and right after each kill every table must be empty or already equal to it (a
# whole commit, never part of one).

#: Silver and gold tables whose first data file (or data commit) marks the kill point of their step.
SILVER_TABLES = ("plate_results",)
GOLD_TABLES = ("plate_qc", "assay_results_flat")
POLL_S = 0.002


def _versions(folder: Path) -> list[int]:
    log = folder / "_delta_log"
    try:
        return sorted(int(e.name[:20]) for e in os.scandir(log) if e.name.endswith(".json") and e.name[:20].isdigit())
    except FileNotFoundError:
        return []


def _table_rows(folder: Path) -> list[dict[str, Any]]:
    """The table's rows at its latest commit; none when the folder holds no commit yet."""
    return _rows(folder) if _versions(folder) else []


# -- kill points: each returns the state of its table(s) once the point is reached, else None


def _first_create(warehouse: Path) -> str | None:
    """The first table of a fresh warehouse: its ``_delta_log`` folder (CREATE TABLE under way) or first commit."""
    for database in sorted(warehouse.glob("*.db")):
        for folder in sorted(database.iterdir()):
            if (folder / "_delta_log").is_dir():
                done = 0 in _versions(folder)
                return f"{database.stem}.{folder.name}: " + (
                    "first commit written" if done else "_delta_log, no commit"
                )
    return None


def _data_write(*tables: str) -> Any:
    """The first data file or data commit (a version after CREATE TABLE's) in any of ``tables``."""

    def seen(warehouse: Path) -> str | None:
        for name in tables:
            folder = table_folder(warehouse, name)
            if not folder.is_dir():
                continue
            committed = any(v >= 1 for v in _versions(folder))
            if committed or any(e.name.endswith(".parquet") for e in os.scandir(folder)):
                return f"{name}: " + ("data commit done" if committed else "data files written, commit pending")
        return None

    return seen


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the run's process group (the CLI and its JVM); a group already gone is fine."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=60)


def _run_killed_at(what: str, seen: Any, landing: Path, warehouse: Path, cwd: Path) -> str:
    """Start a run, SIGKILL its process group as soon as ``seen`` reports the kill point, and return that state.

    Fails (never passes) when the run ends or hangs before the point is seen.
    """
    cwd.mkdir(parents=True, exist_ok=True)
    with open(cwd / "stderr.txt", "wb") as stderr:
        process = subprocess.Popen(
            _command(landing, warehouse), cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
        )
    deadline = time.monotonic() + RUN_TIMEOUT_S
    state = None
    try:
        while state is None:
            if process.poll() is not None:
                tail = (cwd / "stderr.txt").read_text(errors="replace")[-2000:]
                raise AssertionError(f"the run ended (exit {process.returncode}) before {what} was seen:\n{tail}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {RUN_TIMEOUT_S} s")
            state = seen(warehouse)
            if state is None:
                time.sleep(POLL_S)
    finally:
        _kill_group(process)
    assert process.returncode == -signal.SIGKILL, f"the run was not killed at {what}: it had already finished"
    return state


def _summary(warehouse: Path, landing: Path) -> dict[str, Any]:
    """Every contract table read by path (no JVM: nothing shared with the killed process), run ids left out (rows the
    killed runs wrote carry their run id: that is not a difference)."""
    from tests.expected_rows import folder_reader, summarise

    return summarise(folder_reader(warehouse), landing, warehouse=warehouse, run_ids=False)


def _duplicate_keys(warehouse: Path) -> dict[str, list[tuple[object, ...]]]:
    """Per table, the natural keys (run id included where the contract has it) held by more than one row."""
    from lab_etl.contracts import all_tables, contract

    found = {}
    for name in all_tables():
        key = contract(name).natural_key
        counts = Counter(tuple(row[k] for k in key) for row in _table_rows(table_folder(warehouse, name)))
        doubled = [k for k, n in counts.items() if n > 1]
        if doubled:
            found[name] = doubled[:5]
    return found


def test_sigkill_at_create_silver_gold_and_log_then_rerun_equals_a_clean_run(
    tmp_path: Path, record_property: Any
) -> None:
    from tests.expected_rows import LANDINGS, compare, load_expected

    landing = LANDINGS["chain"].materialise(tmp_path)
    warehouse = tmp_path / "warehouse"
    expected = load_expected("chain")
    assert expected["tables"]["assay_results_flat"]["rows"] and expected["tables"]["plate_qc"]["rows"], (
        "the landing no longer reaches gold: the kill points in silver and gold test nothing"
    )
    points = [
        ("the first CREATE TABLE", _first_create),
        ("the readings write", _data_write("instrument_readings")),
        ("the silver write", _data_write(*SILVER_TABLES)),
        ("the gold write", _data_write(*GOLD_TABLES)),
        ("the ingest-log append", _data_write("ingest_log")),
    ]
    for i, (what, seen) in enumerate(points, start=1):
        state = _run_killed_at(what, seen, landing, warehouse, tmp_path / f"run{i}")
        record_property(f"killed_at_{i}", f"{what}: {state}")
        at_kill = _summary(warehouse, landing)  # read at once: whole commits or nothing
        for name, table_summary in at_kill["tables"].items():
            partial = table_summary["rows"] and compare(
                {**expected, "tables": {name: expected["tables"][name]}}, {**at_kill, "tables": {name: table_summary}}
            )
            assert not partial, f"after the kill at {what} ({state}), {name} is neither empty nor whole:\n" + "\n".join(
                partial
            )
        assert _duplicate_keys(warehouse) == {}, f"duplicate natural keys right after the kill at {what}"
        assert _table_rows(table_folder(warehouse, "ingest_runs")) == [], f"a killed run (at {what}) wrote a run row"

    rerun = subprocess.run(
        _command(landing, warehouse), cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    assert rerun.returncode == 0, f"the last rerun failed:\n{rerun.stdout[-3000:]}{rerun.stderr[-3000:]}"

    differences = compare(expected, _summary(warehouse, landing))
    assert differences == [], (
        "after five kills and a rerun the tables differ from a clean run's (stored):\n" + "\n".join(differences)
    )
    assert _duplicate_keys(warehouse) == {}
    log = _table_rows(table_folder(warehouse, "ingest_log"))
    landing_files = sorted(str(p.relative_to(landing)) for p in landing.rglob("*") if p.is_file())
    assert sorted(str(Path(row["path"].removeprefix("file:")).relative_to(landing)) for row in log) == landing_files
    # the run log is true: one row, the completed run's; every bookkeeping row belongs to it
    runs = {row["run_id"] for row in _table_rows(table_folder(warehouse, "ingest_runs"))}
    assert len(runs) == 1, f"{len(runs)} ingest_runs rows after five killed runs and one complete one"
    for name in ("ingest_log", "run_plates", "dq_results"):
        assert {row["run_id"] for row in _table_rows(table_folder(warehouse, name))} == runs, (
            f"{name} names another run"
        )


def test_a_create_table_killed_before_its_first_commit_does_not_wedge_the_warehouse(lakehouse: Any) -> None:
    """What a kill during CREATE TABLE leaves (seen by the chained test): the table's ``_delta_log`` folder, empty or
    with Delta's temporary commit file, and no commit. Delta would neither register that folder ("no transaction
    log") nor create a table over it ("location is not empty"), so every later run failed."""
    from pyspark.errors import AnalysisException

    from lab_etl.contracts import contract
    from lab_etl.lakehouse import delta

    spark = lakehouse
    runs = contract("ingest_runs")
    location = delta.table_location(spark, runs)
    folder = Path(location.removeprefix("file:"))
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "_delta_log").mkdir(parents=True)
    (folder / "_delta_log" / ".00000000000000000000.json.0b1c.tmp").write_text('{"commitInfo"')
    assert not delta.is_delta_folder(spark, location)

    assert delta.ensure_table(spark, runs) == runs.qualified_name
    assert delta.is_delta_folder(spark, location) and _versions(folder) == [0]
    assert spark.table(runs.qualified_name).count() == 0

    # a folder with anything beside a commit-less _delta_log is not taken for a killed CREATE: Delta's error stands
    plates = contract("run_plates")
    other = Path(delta.table_location(spark, plates).removeprefix("file:"))
    shutil.rmtree(other, ignore_errors=True)
    (other / "_delta_log").mkdir(parents=True)
    (other / "part-00000-stray.parquet").write_bytes(b"PAR1")
    with pytest.raises(AnalysisException, match="NON_EMPTY_LOCATION"):
        delta.ensure_table(spark, plates)
    assert (other / "part-00000-stray.parquet").exists() and (other / "_delta_log").is_dir()
