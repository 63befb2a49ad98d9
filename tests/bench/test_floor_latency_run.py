"""bench/floor.py, bench/latency.py and bench/run.py without Spark: the commands they run, the figures they derive.

The scripts themselves start JVMs and are run by hand (bench/README.md); what is checked here is what would make
their figures mean something else: the floor in a child of its own, the rerun on the cold run's warehouse, the
repository's lab_etl first on the children's PYTHONPATH, medians and ratios computed as documented.
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from lab_etl.errors import ConfigError

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


latency = _load("latency")
floor = _load("floor")
bench_run = _load("run")


def test_docstring_examples_hold() -> None:
    for module in (latency, bench_run):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted >= 2, module.__name__


def test_rerun_and_sql_use_the_cold_runs_warehouse_and_bare_its_own(tmp_path: Path) -> None:
    landing, warehouse, bare = tmp_path / "landing", tmp_path / "wh", tmp_path / "bare"
    commands = latency.commands(landing, warehouse, bare, "local[1]")
    assert list(commands) == ["bare", "bare_archived", "cold_run", "rerun", "sql_count"]
    assert commands["cold_run"] == commands["rerun"]
    assert commands["cold_run"][:3] == [sys.executable, "-m", "lab_etl.cli"]
    assert commands["cold_run"][3:] == ["run", "--landing", str(landing), "--warehouse", str(warehouse)]
    assert commands["sql_count"][3:] == ["sql", latency.SQL_COUNT, "--warehouse", str(warehouse)]
    # the bare start without the class archive (Spark's own start), and with it (what lab_etl's commands start with)
    assert commands["bare"][-3:] == [str(bare), "local[1]", "0"] and "spark_conf" in commands["bare"][2]
    assert commands["bare_archived"][-3:] == [str(bare), "local[1]", "1"]
    assert "LAB_ETL_CLASS_ARCHIVE" in commands["bare"][2]


def test_children_import_this_checkout_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["/elsewhere", str(latency.ROOT)]))
    paths = latency.child_env()["PYTHONPATH"].split(os.pathsep)
    assert paths == [str(latency.ROOT), "/elsewhere"]


def test_a_failing_child_raises_with_its_output() -> None:
    env = latency.child_env()
    assert latency.timed_child([sys.executable, "-c", "pass"], env) > 0
    with pytest.raises(RuntimeError, match=r"exited 3:\n.*no warehouse here"):
        latency.timed_child([sys.executable, "-c", "import sys; print('no warehouse here'); sys.exit(3)"], env)


def test_medians_and_ratios_to_bare() -> None:
    samples = {"bare": [10.0, 30.0, 20.0], "cold_run": [90.0, 80.0, 100.0], "rerun": [25.0], "sql_count": [40.0]}
    result = latency.summarise(samples)
    assert (result["bare_s"], result["cold_run_s"]) == (20.0, 90.0)
    assert (result["cold_over_bare"], result["rerun_over_bare"], result["sql_over_bare"]) == (4.5, 1.25, 2.0)
    assert result["within_targets"] == {"cold_run": True, "rerun": True, "sql_count": False}
    assert "cold_over_bare_archived" not in result
    result = latency.summarise({**samples, "bare_archived": [10.0]})
    assert (result["cold_over_bare"], result["cold_over_bare_archived"]) == (4.5, 9.0)


def test_new_plate_cost_ratio_is_largest_over_smallest_size() -> None:
    runs = [{"plates": 40, "one_new_plate_s": 4.0}, {"plates": 5000, "one_new_plate_s": 10.0}]
    runs.insert(1, {"plates": 1000, "one_new_plate_s": 99.0})
    assert bench_run.new_plate_cost_ratio(runs) == 2.5
    assert bench_run.new_plate_cost_ratio(runs[:1]) is None


def test_floor_refuses_an_empty_landing_before_starting_spark(tmp_path: Path) -> None:
    (tmp_path / "landing").mkdir()
    with pytest.raises(ConfigError, match="holds no files"):
        floor.measure_floor(tmp_path / "landing", tmp_path / "wh", master="local[1]", shuffle_partitions=1)
    assert not (tmp_path / "wh").exists()
