"""The local pipeline vs an I/O floor vs a single-process pandas script, and one new plate vs a full rebuild.

The pipeline figures come from ONE process and ONE SparkSession per invocation, over one generated landing per size
(bench/generate.py); a fresh warehouse between measurements is the lakehouse databases dropped and re-created (as
tests/conftest.py does). The floor runs in a child process of its own (bench/floor.py).

- ``pipeline_s``: :func:`lab_etl.pipeline.run.run_pipeline` on the landing of N plates, landing -> gold.
- ``floor_s``: Spark copying the same bytes (``binaryFile``) into one Delta table, no parsing, in its own fresh
  process after an untimed warm-up write (bench/floor.py), so that it does not move with what ran before it; the
  median of three timed copies (``floor_samples_s``).
- ``baseline_s``: the script a scientist would write: a pandas loop parsing each file (with lab_etl's parsers; the
  parse itself is not what is compared), reading the ELN exports and plate maps, joining readings to layouts,
  computing each plate's Z' and writing Parquet.
- ``incremental_s`` (= ``one_new_plate_s``): one more plate lands (its instrument file and its layout) and
  ``run_pipeline`` runs again on the warehouse that holds the N plates; ``full_rebuild_s``: the N + 1 plates from
  an empty warehouse by the same ``run_pipeline``, its profile per step in ``full_rebuild_steps`` (every run's
  profile — wall time, Spark jobs, Delta commits, rows written per step — is in the JSON under ``profile``).
- ``new_plate_cost_ratio`` (JSON, several sizes): ``one_new_plate_s`` at the largest size over ``one_new_plate_s``
  at the smallest; 1.0 means a new plate costs the same however much the warehouse already holds.

    python bench/run.py [--quick] [--json] [--plates N [--plates M ...]] [--format 96|384|1536] [--master local[2]]

``--quick`` is 40 plates of 384 wells (minutes); the full mode runs 1000, 5000 and 10000 plates one after the
other in this process (run it once per ``--master``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
for folder in (ROOT, BENCH):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import generate as landing_generator  # noqa: E402

from lab_etl.errors import DataQualityError  # noqa: E402

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

T = TypeVar("T")
log = logging.getLogger("bench.run")
FULL_SIZES = (1000, 5000, 10000)
QUICK_PLATES = 40


def _timed(run: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def fresh_warehouse(spark: SparkSession) -> None:
    """Drop and re-create the lakehouse databases: an empty warehouse in the same session."""
    from lab_etl.lakehouse.spark import DATABASES, ensure_databases

    for database in DATABASES:
        spark.sql(f"DROP DATABASE IF EXISTS {database} CASCADE")
    ensure_databases(spark)


def io_floor(landing: Path, warehouse: Path, master: str) -> dict[str, Any]:
    """bench/floor.py in a child process on its own ``warehouse``: its JSON (``floor_s``, ``files``, ``bytes``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))])
    command = [sys.executable, str(BENCH / "floor.py"), str(landing), str(warehouse), "--master", master]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench/floor.py exited {done.returncode}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def pandas_baseline(manifest: landing_generator.Manifest, out: Path) -> dict[str, int]:
    """A single-process pandas script doing the same parse, the join to the layouts, Z' per plate, and Parquet."""
    import pandas as pd

    from lab_etl.eln import read_eln_table
    from lab_etl.layouts import read_plate_map_csv
    from lab_etl.parsers.registry import parse_bytes

    frames = []
    for plate in manifest.plates:
        parsed = parse_bytes(plate.path.read_bytes(), plate.path.name, engine="native")
        frames.append(
            pd.DataFrame.from_records(
                [
                    (r.plate_id, r.well, r.measurement, r.channel, r.read_index, r.value, r.flag)
                    for r in parsed.readings
                ],
                columns=["plate_id", "well", "measurement", "channel", "read_index", "value", "flag"],
            ).assign(source_file=plate.path.name, source_sha256=parsed.source_sha256)
        )
    readings = pd.concat(frames, ignore_index=True)
    wells = []
    for path in manifest.eln_files:
        for layout in read_eln_table(path.read_bytes(), path.name).layouts:
            wells += [(w.plate_id, w.well, w.role, w.sample_name, w.experiment_id) for w in layout.wells]
    for path in manifest.layout_files:
        wells += [
            (w.plate_id, w.well, w.role, w.sample_name, w.experiment_id)
            for w in read_plate_map_csv(path.read_bytes(), path.name).wells
        ]
    layouts = pd.DataFrame.from_records(wells, columns=["plate_id", "well", "role", "sample_name", "experiment_id"])
    results = readings.merge(layouts, on=["plate_id", "well"], how="left")
    stats = (
        results[results["role"].isin(["positive_control", "negative_control"])]
        .groupby(["plate_id", "measurement", "channel", "role"])["value"]
        .agg(["mean", "std"])
        .unstack("role")
    )
    stats["z_prime"] = (
        1
        - 3
        * (stats[("std", "positive_control")] + stats[("std", "negative_control")])
        / (stats[("mean", "positive_control")] - stats[("mean", "negative_control")]).abs()
    )
    stats.columns = ["_".join(c) if isinstance(c, tuple) and c[1] else str(c[0]) for c in stats.columns]
    out.mkdir(parents=True, exist_ok=True)
    results.to_parquet(out / "plate_results.parquet", index=False)
    stats.reset_index().to_parquet(out / "plate_qc.parquet", index=False)
    return {"results": len(results), "qc_rows": len(stats), "mapped": int(results["role"].notna().sum())}


def profiled_run(spark: SparkSession, landing: Path) -> tuple[Any, list[dict[str, object]]]:
    """``run_pipeline`` on ``landing`` with its profile (wall time, Spark jobs, Delta commits, rows per step)."""
    from lab_etl.pipeline.profile import RunProfile
    from lab_etl.pipeline.run import run_pipeline

    profile = RunProfile(spark)
    result = run_pipeline(spark, str(landing), profile=profile)
    return result, profile.as_dicts()


def _warehouse_counts(spark: SparkSession) -> dict[str, int]:
    from pyspark.sql import functions as F

    qc = spark.table("lab_gold.plate_qc")
    return {
        "readings": spark.table("lab_bronze.instrument_readings").count(),
        "plate_results": spark.table("lab_silver.plate_results").count(),
        "plate_qc": qc.count(),
        "plate_qc_with_z_prime": qc.where(F.col("z_prime").isNotNull()).count(),
        "assay_results_flat": spark.table("lab_gold.assay_results_flat").count(),
    }


def measure(
    spark: SparkSession, work: Path, plates: int, plate_format: int, seed: int, master: str = "local[2]"
) -> dict[str, Any]:
    """Every figure for one landing of ``plates`` plates; raises DataQualityError when the pipeline lost data."""
    landing = work / f"landing_{plates}x{plate_format}"
    shutil.rmtree(landing, ignore_errors=True)
    generate_s, manifest = _timed(
        lambda: landing_generator.generate(landing, plates, plate_format=plate_format, seed=seed)
    )
    landing_generator.check(manifest)
    log.info("landing: %d plates, %.1f MB, generated in %.1f s", plates, manifest.bytes / 1e6, generate_s)

    floor_warehouse = work / f"floor_warehouse_{plates}x{plate_format}"
    shutil.rmtree(floor_warehouse, ignore_errors=True)
    floor = io_floor(landing, floor_warehouse, master)
    floor_s, files = float(floor["floor_s"]), int(floor["files"])
    log.info(
        "floor (own process, after a %.1f s warm-up): %d files in %.1f s (median of %s)",
        floor["warmup_s"],
        files,
        floor_s,
        floor.get("floor_samples_s"),
    )

    baseline_s, baseline = _timed(lambda: pandas_baseline(manifest, work / "pandas_out"))
    log.info("pandas baseline: %.1f s", baseline_s)

    fresh_warehouse(spark)
    pipeline_s, (result, pipeline_profile) = _timed(lambda: profiled_run(spark, landing))
    if result.exit_code:
        raise DataQualityError(
            f"a data-quality gate held a batch of {landing} back: {result.notes}; fix bench/generate.py"
        )
    counts = _warehouse_counts(spark)
    log.info("pipeline: %.1f s, %s", pipeline_s, counts)
    if counts["plate_qc_with_z_prime"] != counts["plate_qc"]:
        raise DataQualityError(
            f"{counts['plate_qc'] - counts['plate_qc_with_z_prime']} plate read(s) of {landing} have no Z' (no "
            f"layout mapped): {result.notes}; fix the layouts bench/generate.py writes"
        )
    if counts["readings"] != manifest.readings or result.ingest.files_quarantined:
        raise DataQualityError(
            f"the pipeline wrote {counts['readings']} readings of {manifest.readings} and quarantined "
            f"{result.ingest.files_quarantined} file(s) of {landing}; see lab_bronze.quarantine"
        )

    # one more plate lands with its layout (a plate map, or its experiment's ELN export re-exported)
    added = landing_generator.write_plate(landing, plates, plate_format=plate_format, seed=seed)
    grown = [*manifest.plates, added]
    experiment = [p for p in grown if p.experiment_id == added.experiment_id]
    landing_generator.write_layouts(
        landing, experiment if added.layout_source == "eln" else [added], plate_format, seed
    )
    incremental_s, (incremental, incremental_profile) = _timed(lambda: profiled_run(spark, landing))
    log.info("incremental: %.1f s, %d file(s) parsed", incremental_s, incremental.ingest.files_parsed)

    fresh_warehouse(spark)
    full_rebuild_s, (_, rebuild_profile) = _timed(lambda: profiled_run(spark, landing))
    steps = {str(step["step"]): step["seconds"] for step in rebuild_profile}
    log.info("full rebuild of %d plates: %.1f s %s", plates + 1, full_rebuild_s, steps)
    rebuilt = _warehouse_counts(spark)

    wells = manifest.wells
    return {
        "plates": plates,
        "plate_format": plate_format,
        "wells": wells,
        "readings": manifest.readings,
        "files": files,
        "landing_mb": round(manifest.bytes / 1e6, 2),
        "pipeline_s": round(pipeline_s, 2),
        "floor_s": round(floor_s, 2),
        "floor_warmup_s": round(float(floor["warmup_s"]), 2),
        "floor_samples_s": floor.get("floor_samples_s"),
        "baseline_s": round(baseline_s, 2),
        "incremental_s": round(incremental_s, 2),
        "one_new_plate_s": round(incremental_s, 2),
        "full_rebuild_s": round(full_rebuild_s, 2),
        "wells_per_s": round(wells / pipeline_s, 1),
        "baseline_wells_per_s": round(wells / baseline_s, 1),
        "pipeline_over_floor": round(pipeline_s / floor_s, 2),
        "baseline_over_pipeline": round(baseline_s / pipeline_s, 3),
        "incremental_over_full": round(incremental_s / full_rebuild_s, 3),
        "full_rebuild_steps": steps,
        "profile": {"pipeline": pipeline_profile, "one_new_plate": incremental_profile, "rebuild": rebuild_profile},
        "incremental_files_parsed": incremental.ingest.files_parsed,
        "pipeline_counts": counts,
        "rebuild_counts": rebuilt,
        "baseline_counts": baseline,
        "exit_code": result.exit_code,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PLATES} plates (minutes)")
    parser.add_argument("--plates", type=int, action="append", help="plates per landing (repeatable)")
    parser.add_argument("--format", dest="plate_format", type=int, default=384, choices=(96, 384, 1536))
    parser.add_argument("--master", default="local[2]", help="Spark master, e.g. local[1] or local[2]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, help="folder for landings and the warehouse (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("py4j").setLevel(logging.WARNING)
    sizes = args.plates or ([QUICK_PLATES] if args.quick else list(FULL_SIZES))

    from lab_etl.lakehouse.spark import get_spark

    work = args.work or Path(tempfile.mkdtemp(prefix="lab_etl_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    spark = get_spark(work / "warehouse", master=args.master, shuffle_partitions=2)
    try:
        runs = [measure(spark, work, plates, args.plate_format, args.seed, args.master) for plates in sizes]
    finally:
        spark.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print(
        f"{'plates':>7} {'wells':>9} {'pipeline s':>11} {'floor s':>8} {'pandas s':>9} {'incr s':>7} "
        f"{'full s':>7} {'wells/s':>8} {'pipe/floor':>10} {'pandas/pipe':>11} {'incr/full':>9}"
    )
    for r in runs:
        print(
            f"{r['plates']:7d} {r['wells']:9d} {r['pipeline_s']:11.1f} {r['floor_s']:8.1f} {r['baseline_s']:9.1f} "
            f"{r['incremental_s']:7.1f} {r['full_rebuild_s']:7.1f} {r['wells_per_s']:8.0f} "
            f"{r['pipeline_over_floor']:10.2f} {r['baseline_over_pipeline']:11.3f} {r['incremental_over_full']:9.3f}"
        )
        print(f"        full rebuild by step (s): {r['full_rebuild_steps']}")
    ratio = new_plate_cost_ratio(runs)
    if ratio is not None:
        measured = sorted(r["plates"] for r in runs)
        print(f"one new plate at {measured[-1]} plates over one new plate at {measured[0]}: {ratio}")
    if args.json:
        print(
            json.dumps(
                {
                    "master": args.master,
                    "cores": _cores(),
                    "new_plate_cost_ratio": new_plate_cost_ratio(runs),
                    "runs": runs,
                }
            )
        )
    return 0


def new_plate_cost_ratio(runs: list[dict[str, Any]]) -> float | None:
    """``one_new_plate_s`` at the largest size over that at the smallest; None with fewer than two sizes.

    Examples
    --------
    >>> new_plate_cost_ratio([{"plates": 1000, "one_new_plate_s": 9.0}, {"plates": 40, "one_new_plate_s": 6.0}])
    1.5
    >>> new_plate_cost_ratio([{"plates": 40, "one_new_plate_s": 6.0}]) is None
    True
    """
    by_size = sorted(runs, key=lambda r: r["plates"])
    if len({r["plates"] for r in by_size}) < 2:
        return None
    return round(by_size[-1]["one_new_plate_s"] / by_size[0]["one_new_plate_s"], 3)


def _cores() -> int:
    return os.cpu_count() or 0


if __name__ == "__main__":
    raise SystemExit(main())
