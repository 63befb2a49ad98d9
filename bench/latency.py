"""Latency of the CLI on the demo landing against a bare Spark start measured by the same script.

Every figure is the wall-clock time of a whole child process (interpreter, JVM, work, shut-down), run ``--repeat``
times (default 3), the median reported:

- ``bare``: Python starting a SparkSession with lab_etl's settings
  (:func:`lab_etl.lakehouse.spark.spark_conf`) and running one tiny job (``spark.range(1).count()``), with the
  driver's class archive off (``LAB_ETL_CLASS_ARCHIVE=0``): Spark's own start;
- ``bare_archived``: the same with the class archive ``lab-etl jars fetch`` writes
  (:mod:`lab_etl.lakehouse.class_archive`), which every lab_etl command uses; shown so that the share of the
  commands' gain that is only a faster JVM start can be read off (``*_over_bare_archived``);
- ``cold_run``: ``lab-etl run --landing examples/landing --warehouse <fresh folder>``;
- ``rerun``: the same command again on that warehouse (nothing new to do);
- ``sql_count``: ``lab-etl sql "SELECT count(*) FROM lab_bronze.instrument_readings" --warehouse <that folder>``.

The ratios to ``bare`` are what lab_etl adds to Spark's own start-up; targets: cold/bare <= 4.5, rerun/bare <= 1.5,
sql/bare <= 1.5. Each repeat measures all five in turn, so that a busy spell of the machine falls on all of them.

    python bench/latency.py [--repeat 3] [--landing examples/landing] [--master local[2]] [--json]

``lab-etl`` runs as ``<this python> -m lab_etl.cli`` with this repository first on PYTHONPATH, so the checkout's
lab_etl is measured, not an installed one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_LANDING = ROOT / "examples" / "landing"
FIGURES = ("bare", "bare_archived", "cold_run", "rerun", "sql_count")
#: ratio to ``bare`` each figure should stay within
TARGETS = {"cold_run": 4.5, "rerun": 1.5, "sql_count": 1.5}
#: the name of each figure's ratio to ``bare`` in the JSON
RATIO_NAMES = {"cold_run": "cold_over_bare", "rerun": "rerun_over_bare", "sql_count": "sql_over_bare"}
SQL_COUNT = "SELECT count(*) FROM lab_bronze.instrument_readings"

# The bare child: lab_etl's session settings, one tiny job, nothing else of lab_etl.
_BARE = """
import os, sys
os.environ["LAB_ETL_CLASS_ARCHIVE"] = sys.argv[3]
from pyspark.sql import SparkSession
from lab_etl.lakehouse.spark import spark_conf
builder = SparkSession.builder
for key, value in spark_conf(sys.argv[1], master=sys.argv[2]).items():
    builder = builder.config(key, value)
spark = builder.getOrCreate()
assert spark.range(1).count() == 1
spark.stop()
"""


def child_env() -> dict[str, str]:
    """This environment with the repository first on PYTHONPATH and Spark bound to 127.0.0.1."""
    env = dict(os.environ)
    paths = [str(ROOT), *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(ROOT))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    return env


def commands(landing: Path, warehouse: Path, bare_warehouse: Path, master: str) -> dict[str, list[str]]:
    """The child processes of one repeat, by figure; ``cold_run`` must meet an empty ``warehouse``."""
    lab_etl = [sys.executable, "-m", "lab_etl.cli"]
    return {
        "bare": [sys.executable, "-c", _BARE, str(bare_warehouse), master, "0"],
        "bare_archived": [sys.executable, "-c", _BARE, str(bare_warehouse), master, "1"],
        "cold_run": [*lab_etl, "run", "--landing", str(landing), "--warehouse", str(warehouse)],
        "rerun": [*lab_etl, "run", "--landing", str(landing), "--warehouse", str(warehouse)],
        "sql_count": [*lab_etl, "sql", SQL_COUNT, "--warehouse", str(warehouse)],
    }


def timed_child(command: list[str], env: dict[str, str]) -> float:
    """Seconds the child process took; a failing child raises with the tail of its output."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        raise RuntimeError(f"{' '.join(command[:4])} ... exited {done.returncode}:\n{tail}")
    return seconds


def summarise(samples: dict[str, list[float]]) -> dict[str, object]:
    """Medians per figure and the ratios to ``bare``, with whether each is within its target.

    Examples
    --------
    >>> s = summarise({"bare": [4.0, 5.0, 6.0], "cold_run": [20.0], "rerun": [6.0], "sql_count": [8.0]})
    >>> s["bare_s"], s["cold_over_bare"], s["within_targets"]["cold_run"], s["within_targets"]["sql_count"]
    (5.0, 4.0, True, False)
    """
    figures = [figure for figure in FIGURES if samples.get(figure)]
    medians = {figure: statistics.median(samples[figure]) for figure in figures}
    ratios = {figure: medians[figure] / medians["bare"] for figure in TARGETS}
    archived = {}
    if "bare_archived" in medians:
        archived = {f"{RATIO_NAMES[f]}_archived": round(medians[f] / medians["bare_archived"], 2) for f in TARGETS}
    return {
        **{f"{figure}_s": round(medians[figure], 2) for figure in figures},
        **{RATIO_NAMES[figure]: round(ratio, 2) for figure, ratio in ratios.items()},
        **archived,
        "targets": {RATIO_NAMES[figure]: target for figure, target in TARGETS.items()},
        "within_targets": {figure: ratios[figure] <= TARGETS[figure] for figure in TARGETS},
        "samples_s": {figure: [round(s, 2) for s in samples[figure]] for figure in figures},
    }


def measure(landing: Path, repeat: int, master: str, work: Path) -> dict[str, object]:
    env = child_env()
    env["LAB_ETL_SPARK_MASTER"] = master
    samples: dict[str, list[float]] = {figure: [] for figure in FIGURES}
    for attempt in range(repeat):
        warehouse, bare_warehouse = work / f"warehouse_{attempt}", work / f"bare_{attempt}"
        for figure, command in commands(landing, warehouse, bare_warehouse, master).items():
            seconds = timed_child(command, env)
            samples[figure].append(seconds)
            print(f"repeat {attempt + 1}/{repeat} {figure}: {seconds:.1f} s", file=sys.stderr, flush=True)
        shutil.rmtree(warehouse, ignore_errors=True)
        shutil.rmtree(bare_warehouse, ignore_errors=True)
    return {"landing": str(landing), "repeat": repeat, "master": master, "cores": os.cpu_count(), **summarise(samples)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="child processes per figure; the median is reported")
    parser.add_argument("--landing", type=Path, default=DEMO_LANDING)
    parser.add_argument("--master", default="local[2]", help="Spark master of every child (LAB_ETL_SPARK_MASTER)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    work = Path(tempfile.mkdtemp(prefix="lab_etl_latency_"))
    try:
        result = measure(args.landing.resolve(), args.repeat, args.master, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'figure':<10} {'median s':>9} {'x bare':>7} {'target':>7}  samples (s)")
    for figure in FIGURES:
        if f"{figure}_s" not in result:
            continue
        ratio = result.get(RATIO_NAMES.get(figure, ""), result[f"{figure}_s"] / result["bare_s"])  # type: ignore[operator]
        target = f"<= {TARGETS[figure]}" if figure in TARGETS else ""
        samples = result["samples_s"][figure]  # type: ignore[index]
        print(f"{figure:<10} {result[f'{figure}_s']:>9.2f} {ratio:>7.2f} {target:>7}  {samples}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
