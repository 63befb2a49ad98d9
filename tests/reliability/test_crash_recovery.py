"""A ``lab-etl run`` killed with SIGKILL in the middle of a Delta write, then run again to completion.

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

from lab_etl.parsers.registry import parse_bytes

pytestmark = pytest.mark.slow

GOOD = [
    "agilent_gen5/endpoint_singleplate.txt",
    "perkin_elmer_envision/PE_Envision_absorbance_A450_example.csv",
]
BAD = "moldev_softmax_pro/errors/missing_measurement_table_row.txt"
NATURAL_KEY = ("source_sha256", "plate_id", "well", "measurement", "channel", "read_index")
LAB_ETL = Path(sys.executable).with_name("lab-etl")
#: A run takes 30-100 s on a loaded 2-core machine; this is the bound past which the test calls it hung.
RUN_TIMEOUT_S = 420


def _table(warehouse: Path, name: str) -> Path:
    return warehouse / "lab_bronze.db" / name


def _rows(table: Path) -> list[dict[str, object]]:
    from deltalake import DeltaTable

    return DeltaTable(str(table)).to_pyarrow_table().to_pylist()  # type: ignore[no-any-return]


def _commits(table: Path) -> set[str]:
    log = table / "_delta_log"
    return {p.name for p in log.glob("*.json")} if log.is_dir() else set()


def _command(landing: Path, warehouse: Path) -> list[str]:
    return [str(LAB_ETL), "run", "--landing", str(landing), "--warehouse", str(warehouse)]


def _kill_during_readings_write(landing: Path, warehouse: Path, cwd: Path) -> str:
    """Start a run and SIGKILL its process group as soon as the readings table has data files but (ideally) no
    commit for them yet; return which state the table was in at the kill."""
    readings = _table(warehouse, "instrument_readings")
    process = subprocess.Popen(
        _command(landing, warehouse),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes the JVM with it
    )
    deadline = time.monotonic() + RUN_TIMEOUT_S
    state = "no readings write seen"
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the run ended (exit {process.returncode}) before a readings write was seen")
            data_files = list(readings.glob("part-*.parquet")) if readings.is_dir() else []
            committed = "00000000000000000001.json" in _commits(readings)
            if data_files or committed:
                state = "data files written, commit pending" if not committed else "readings commit done"
                break
            time.sleep(0.005)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the run was not killed: it had already finished"
    return state


def test_sigkill_during_delta_write_then_rerun_loses_nothing_and_doubles_nothing(
    tmp_path: Path, data_dir: Path, record_property: Any
) -> None:
    landing = tmp_path / "landing"
    (landing / "plates").mkdir(parents=True)
    for name in GOOD:
        shutil.copy(data_dir / "instruments" / name, landing / "plates" / Path(name).name)
    shutil.copy(data_dir / "instruments" / BAD, landing / "plates" / "bad export.txt")
    warehouse = tmp_path / "warehouse"
    expected = {
        Path(name).name: len(parse_bytes((data_dir / "instruments" / name).read_bytes(), Path(name).name).readings)
        for name in GOOD
    }

    state = _kill_during_readings_write(landing, warehouse, tmp_path)
    record_property("killed_at", state)

    # At the kill: whatever Delta shows is a whole commit: no rows, or every row of the merge.
    readings = _table(warehouse, "instrument_readings")
    at_kill = _rows(readings) if (readings / "_delta_log").is_dir() else []
    assert len(at_kill) in (0, sum(expected.values())), f"partial commit visible after a kill ({state})"

    rerun = subprocess.run(
        _command(landing, warehouse), cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    assert rerun.returncode == 0, f"rerun after a kill ({state}) failed:\n{rerun.stdout[-3000:]}{rerun.stderr[-3000:]}"

    rows = _rows(readings)
    keys = Counter(tuple(row[k] for k in NATURAL_KEY) for row in rows)
    assert [key for key, n in keys.items() if n > 1] == [], f"duplicate natural keys after a kill ({state})"
    per_file = Counter(str(row["source_file"]).rsplit("/", 1)[-1] for row in rows)
    assert dict(per_file) == expected, f"readings lost or added after a kill ({state})"
    assert [row for row in rows if not (row["run_id"] and row["source_sha256"] and row["well"])] == []

    log = _rows(_table(warehouse, "ingest_log"))
    logged = Counter(str(row["file_name"]) for row in log)
    assert logged == Counter({name: 1 for name in [*expected, "bad export.txt"]}), f"ingest_log after ({state})"
    status = {str(row["file_name"]): row["status"] for row in log}
    assert status == {**{name: "parsed" for name in expected}, "bad export.txt": "quarantined"}
    quarantine = _rows(_table(warehouse, "quarantine"))
    assert [row["file_name"] for row in quarantine] == ["bad export.txt"]
    assert "rows" in str(quarantine[0]["reason"])
    # the killed run never reached its run row; the rerun accounts for every file
    runs = _rows(_table(warehouse, "ingest_runs"))
    assert [(r["files_seen"], r["files_parsed"], r["files_quarantined"], r["files_duplicate"]) for r in runs] == [
        (3, 2, 1, 0)
    ]
