"""Fixtures of the analyst tests: `lab-etl sql` as a function, and the run id of the demo run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lab_etl.cli import cli

ROOT = Path(__file__).resolve().parents[2]
LANDING = ROOT / "examples" / "landing"
QUARANTINED_FILE = "gen5_export_without_results.txt"


@pytest.fixture()
def lab_sql(demo_lakehouse, warehouse: Path) -> Callable[[str], list[dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """Run a query through `lab-etl sql --format jsonl` on the demo warehouse; one dict per row."""

    def run(query: str) -> list[dict[str, Any]]:
        result = CliRunner().invoke(cli, ["sql", query, "--warehouse", str(warehouse), "--format", "jsonl"])
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.stdout.splitlines()]

    return run


@pytest.fixture()
def demo_run_id(lab_sql: Callable[[str], list[dict[str, Any]]]) -> str:
    """The run that ingested examples/landing (a later rerun of another test has no new files)."""
    rows = lab_sql(f"SELECT DISTINCT run_id FROM lab_bronze.ingest_log WHERE file_name = '{QUARANTINED_FILE}'")
    assert len(rows) == 1, rows
    return str(rows[0]["run_id"])
