"""`lab-etl` commands, run in-process with click's runner (Spark commands share the test session)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lab_etl.cli import cli, main

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


# ------------------------------------------------------------------------------------------- a wrong move, one line


def _main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    """`lab-etl ARGS` through the real entry point: its exit code and the lines it wrote to stderr."""
    monkeypatch.setattr(sys, "argv", ["lab-etl", *args])
    try:
        main()
        code = 0
    except SystemExit as exited:
        code = int(exited.code or 0)
    return code, capsys.readouterr().err.splitlines()


def test_run_on_a_missing_landing_says_so_and_creates_nothing(monkeypatch, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    warehouse = tmp_path / "warehouse"
    code, err = _main(
        monkeypatch, capsys, "run", "--landing", str(tmp_path / "nonexistent"), "--warehouse", str(warehouse)
    )
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: the landing folder {tmp_path / 'nonexistent'} does not exist; pass --landing")
    assert not warehouse.exists()


def test_run_on_a_landing_that_is_a_file_names_its_folder(monkeypatch, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    export = tmp_path / "plate.csv"
    export.write_text("x\n")
    code, err = _main(monkeypatch, capsys, "run", "--landing", str(export), "--warehouse", str(tmp_path / "wh"))
    assert (code, err) == (2, [f"error: --landing {export} is a file; pass the folder that holds it ({tmp_path})"])
    assert not (tmp_path / "wh").exists()


def test_run_with_a_warehouse_that_cannot_be_created_is_one_line(monkeypatch, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should go\n")
    landing = str(ROOT / "examples" / "landing")
    code, err = _main(monkeypatch, capsys, "run", "--landing", landing, "--warehouse", str(blocker / "warehouse"))
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: cannot create the warehouse folder {blocker / 'warehouse'} (")
    assert err[0].endswith("pass --warehouse a folder you can write to")
    code, err = _main(monkeypatch, capsys, "run", "--landing", landing, "--warehouse", str(blocker))
    assert (code, err) == (2, [f"error: --warehouse {blocker} is a file; pass a folder (it is created when missing)"])


def test_sql_and_report_on_a_missing_warehouse_say_run_first(monkeypatch, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nowhere"
    expected = f"error: there is no warehouse at {missing}; run `lab-etl run --landing <folder> --warehouse {missing}`"
    code, err = _main(monkeypatch, capsys, "sql", "SELECT 1", "--warehouse", str(missing))
    assert code == 2 and len(err) == 1 and err[0].startswith(expected), err
    code, err = _main(monkeypatch, capsys, "report", "--warehouse", str(missing), "--output", str(tmp_path / "r.html"))
    assert code == 2 and len(err) == 1 and err[0].startswith(expected), err
    assert not missing.exists()


def test_clone_with_an_unknown_vendor_is_refused(monkeypatch, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "uplc.yaml"
    args = ["workflow", "clone", "hts_lcms_yield", "hts_uplc_yield", "--output", str(target)]
    code, err = _main(monkeypatch, capsys, *args, "--set", "instrument_vendor=nonsense")
    assert code == 2 and not target.exists()
    assert err == [
        "error: --set instrument_vendor=nonsense: no such instrument parser; use auto or a name that "
        "`lab-etl instruments` lists"
    ]
    code, err = _main(monkeypatch, capsys, *args, "--set", "instrument_vendor=tecna")
    assert code == 2 and "(did you mean tecan?)" in err[0]
    code, err = _main(monkeypatch, capsys, *args, "--set", "instrument_vendor=tecan")
    assert code == 0 and target.is_file()


@pytest.mark.spark
@pytest.mark.slow
def test_a_bad_query_is_one_line_and_spark_announces_nothing(tmp_path: Path) -> None:
    """A real `lab-etl` process (its own JVM): Spark's parse message is kept, its log-level banner is not printed."""
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    done = subprocess.run(
        [sys.executable, "-m", "lab_etl.cli", "sql", "SELEC oops", "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error: the query failed: [PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'")
    assert lines[0].endswith("lists a database's tables)")
    assert done.stdout == ""
