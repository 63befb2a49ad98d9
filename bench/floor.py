"""The I/O floor, in its own process: Spark copying a landing's bytes into one Delta table, nothing else.

The floor must mean one thing whatever ran before it, so it never shares a JVM with the pipeline: this script
starts Spark with lab_etl's settings (:func:`lab_etl.lakehouse.spark.get_spark`, the master and shuffle partitions
given), makes one untimed warm-up write (a tiny Delta table: JIT, Delta's log code and the metastore are loaded),
then times reading every landing file (``binaryFile``, recursive) and writing the bytes into one Delta table,
``--repeat`` times (3 by default, each an overwrite of that table); ``floor_s`` is the median. One copy alone moved
between 2.7 s and 5.1 s at 1,000 plates from one bench run to the next (how much of Spark's code the JIT had compiled
by then), which moved every ratio to the floor with it. It prints one JSON object on the last line of stdout::

    python bench/floor.py LANDING WAREHOUSE [--master local[2]] [--shuffle-partitions 2] [--repeat 3]
    {"floor_s": 3.21, "floor_samples_s": [3.5, 3.21, 3.1], "files": 41, "bytes": 1234567, "warmup_s": 9.8, ...}

WAREHOUSE must be a folder no other process uses (the embedded metastore admits one JVM); it is created.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FLOOR_TABLE = "lab_bronze.bench_io_floor"
WARMUP_TABLE = "lab_bronze.bench_warmup"


def measure_floor(
    landing: Path, warehouse: Path, *, master: str, shuffle_partitions: int, repeat: int = 3
) -> dict[str, object]:
    """Start Spark on ``warehouse``, warm it up, then time the copy of ``landing``'s bytes into one Delta table
    ``repeat`` times; the median is the floor."""
    import statistics

    from lab_etl.errors import ConfigError
    from lab_etl.lakehouse.spark import get_spark

    files = [p for p in landing.rglob("*") if p.is_file()]
    if not files:
        raise ConfigError(f"landing {landing} holds no files; give the folder bench/generate.py wrote")
    spark = get_spark(warehouse, master=master, shuffle_partitions=shuffle_partitions)
    try:
        start = time.perf_counter()
        spark.range(8).write.format("delta").mode("overwrite").saveAsTable(WARMUP_TABLE)
        spark.table(WARMUP_TABLE).count()
        warmup_s = time.perf_counter() - start

        samples = []
        for _ in range(max(1, repeat)):
            start = time.perf_counter()
            frame = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(str(landing))
            frame.write.format("delta").mode("overwrite").saveAsTable(FLOOR_TABLE)
            samples.append(time.perf_counter() - start)
        floor_s = statistics.median(samples)

        written = spark.table(FLOOR_TABLE).count()
        if written != len(files):
            raise ConfigError(f"the floor copied {written} files of {len(files)} under {landing}")
    finally:
        spark.stop()
    return {
        "floor_s": round(floor_s, 3),
        "floor_samples_s": [round(x, 3) for x in samples],
        "files": written,
        "bytes": sum(p.stat().st_size for p in files),
        "warmup_s": round(warmup_s, 3),
        "master": master,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("warehouse", type=Path, help="a fresh folder of this process alone")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--shuffle-partitions", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="timed copies; the median is the floor")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = measure_floor(
        args.landing.resolve(),
        args.warehouse,
        master=args.master,
        shuffle_partitions=args.shuffle_partitions,
        repeat=args.repeat,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
