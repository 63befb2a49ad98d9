"""`lab-etl` commands, run in-process with click's runner (Spark commands share the test session)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from lab_etl.cli import cli

ROOT = Path(__file__).resolve().parents[1]
BMG = "tests/data/instruments/bmg_mars/PHERAstar output file.CSV"


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_parse_jsonl_and_failures_on_stderr(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("lunch at noon\n")
    result = CliRunner().invoke(cli, ["parse", str(ROOT / BMG), str(bad)])
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 96 and records[0]["parser"] == "bmg_mars"
    assert {r["well"] for r in records} >= {"A01", "H12"}
    assert f"error: {bad}: no instrument parser recognises this file" in result.stderr


def test_parse_csv_all_good_exits_zero() -> None:
    result = CliRunner().invoke(cli, ["parse", str(ROOT / BMG), "--format", "csv"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("plate_id,well,row_index") and len(lines) == 97


def test_parse_with_the_allotropy_engine() -> None:
    result = CliRunner().invoke(cli, ["parse", str(ROOT / BMG), "--engine", "allotropy", "--vendor", "bmg_mars"])
    assert result.exit_code == 0
    assert json.loads(result.stdout.splitlines()[0])["parser"] == "allotropy:bmg_mars"


def test_instruments_lists_both_engines() -> None:
    result = _run("instruments")
    assert result.exit_code == 0
    assert "moldev_softmax_pro" in result.stdout and "native" in result.stdout and "allotropy" in result.stdout
