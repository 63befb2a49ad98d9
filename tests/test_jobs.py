"""The Glue job scripts run locally, in-process, on the test session."""

from __future__ import annotations

import runpy
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.spark


def test_ingest_job_runs_locally(  # type: ignore[no-untyped-def]
    lakehouse, warehouse: Path, tmp_path: Path, data_dir: Path, monkeypatch, capsys
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(data_dir / "instruments" / "bmg_mars" / "PHERAstar output file.CSV", landing / "plate.csv")
    argv = ["ingest_instruments.py", "--JOB_NAME", "ingest", "--landing", str(landing), "--warehouse", str(warehouse)]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(ROOT / "jobs" / "ingest_instruments.py"), run_name="__main__")
    assert "files_parsed=1" in capsys.readouterr().out
    assert lakehouse.table("lab_bronze.instrument_readings").count() == 96
