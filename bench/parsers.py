"""Native engine vs allotropy engine on the same real files, in one process.

For every real plate-reader file allotropy reads (tests/data/instruments/<allotropy vendor>/), both engines parse
the same bytes through :func:`lab_etl.parsers.registry.parse_bytes`; the script checks that they give identical
(well, value) pairs and reports each engine's best-of-N time, the per-file speed-up and the totals.

What is timed is what the pipeline uses: ``parse_bytes`` returning the readings as columns (the native engine
builds no :class:`Reading` per cell). The Reading objects the comparison needs are built after the timing, and
``to_arrow`` (the bronze table's columns) is timed on its own and reported beside, not added in.

    python bench/parsers.py [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lab_etl.contracts import contract  # noqa: E402
from lab_etl.errors import ParseError  # noqa: E402
from lab_etl.parsers.registry import parse_bytes  # noqa: E402

#: the stored fields of the bronze readings table, as the pipeline asks ``to_arrow`` for them
ARROW_TYPES = {"string": "string", "int": "int32", "double": "float64", "timestamp": "timestamp"}

DATA = ROOT / "tests" / "data" / "instruments"
#: folders named after the allotropy vendor that reads them
VENDORS = (
    "agilent_gen5",
    "moldev_softmax_pro",
    "perkin_elmer_envision",
    "revvity_kaleido",
    "bmg_mars",
    "methodical_mind",
    "tecan_magellan",
    "thermo_skanit",
    "bmg_labtech_smart_control",
)

#: files where allotropy itself is wrong or incomplete; each parser's tests assert the exact difference
KNOWN_DIFFERENCES = {
    "PE_Envision_luminescence_example01.csv": "allotropy renumbers the plate rows A, E, I, M as A, B, C, D",
    "skanit_different_plate_pattern.xlsx": "allotropy reads only the first absorbance sheet (260 nm), not 280/320 nm",
}


def _pairs(readings: list) -> Counter:  # type: ignore[type-arg]
    return Counter((r.well, float(f"{r.value:.9g}")) for r in readings if r.value is not None)


def _best(run, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per file and engine; the best counts")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    import pyarrow as pa

    arrow_schema = pa.schema(
        [
            (f.name, pa.timestamp("us", tz="UTC") if f.type == "timestamp" else getattr(pa, ARROW_TYPES[f.type])())
            for f in contract("instrument_readings").columns
        ]
    )

    rows = []
    arrow_total = 0.0
    for vendor in VENDORS:
        for path in sorted(p for p in (DATA / vendor).iterdir() if p.is_file()):
            data = path.read_bytes()
            try:
                allotropy_s, via_allotropy = _best(
                    partial(parse_bytes, data, path.name, vendor=vendor, engine="allotropy"), args.repeat
                )
            except ParseError:
                continue  # allotropy rejects it: nothing to compare
            native_s, native = _best(partial(parse_bytes, data, path.name, engine="native"), args.repeat)
            arrow_s, _ = _best(partial(native.to_arrow, arrow_schema), args.repeat)  # type: ignore[union-attr]
            arrow_total += arrow_s
            # outside the timings: Reading objects for the comparison
            same = _pairs(native.readings) == _pairs(via_allotropy.readings)  # type: ignore[union-attr]
            if not same and path.name in KNOWN_DIFFERENCES:
                same = None  # type: ignore[assignment]
            rows.append((vendor, path.name, len(data), len(native.readings), native_s, allotropy_s, same))  # type: ignore[union-attr]

    print(f"{'file':60} {'KiB':>7} {'readings':>9} {'native ms':>10} {'allotropy ms':>13} {'x':>7} same")
    for vendor, name, size, readings, native_s, allotropy_s, same in rows:
        label = f"{vendor}/{name}"[:60]
        ratio = allotropy_s / native_s
        timings = f"{native_s * 1e3:10.2f} {allotropy_s * 1e3:13.1f} {ratio:7.1f}"
        print(f"{label:60} {size / 1024:7.1f} {readings:9d} {timings} {same}")
    native_total = sum(r[4] for r in rows)
    allotropy_total = sum(r[5] for r in rows)
    ratios = [r[5] / r[4] for r in rows]
    megabytes = sum(r[2] for r in rows) / 1e6
    summary = {
        "files": len(rows),
        "identical_files": sum(1 for r in rows if r[6]),
        "known_differences": sum(1 for r in rows if r[6] is None),
        "native_total_s": round(native_total, 4),
        "allotropy_total_s": round(allotropy_total, 4),
        "total_speedup": round(allotropy_total / native_total, 1),
        "median_speedup": round(statistics.median(ratios), 1),
        "min_speedup": round(min(ratios), 1),
        "native_mb_per_s": round(megabytes / native_total, 2),
        "allotropy_mb_per_s": round(megabytes / allotropy_total, 3),
        "allotropy_median_s_per_file": round(statistics.median(r[5] for r in rows), 3),
        "native_to_arrow_total_s": round(arrow_total, 4),
    }
    slowest = max(rows, key=lambda r: r[4])
    summary["slowest_native_file"] = slowest[1]
    summary["slowest_native_file_s"] = round(slowest[4], 4)
    summary["slowest_native_file_speedup"] = round(slowest[5] / slowest[4], 1)
    print(
        f"\n{summary['files']} files, {summary['identical_files']} identical, {summary['known_differences']} known "
        f"allotropy differences; native {native_total:.3f} s, "
        f"allotropy {allotropy_total:.2f} s: {summary['total_speedup']}x in total, "
        f"median {summary['median_speedup']}x, slowest file {summary['min_speedup']}x; "
        f"{summary['native_mb_per_s']} MB/s vs {summary['allotropy_mb_per_s']} MB/s; "
        f"longest native parse {slowest[1]} {slowest[4] * 1e3:.1f} ms ({summary['slowest_native_file_speedup']}x); "
        f"to_arrow of every file {arrow_total:.3f} s"
    )
    for name, why in KNOWN_DIFFERENCES.items():
        print(f"known difference (same=None): {name}: {why}")
    if args.json:
        print(json.dumps(summary))
    return 0 if all(r[6] is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
