"""Standardising a ChEMBL extract's structures for their parent InChIKeys: with and without the checker.

A ChEMBL download's compounds are standardised (:mod:`lab_etl.chem.structures`) to fill their parent InChIKeys,
the key reagents are matched on. The pipeline needs that key alone, so it calls
:func:`~lab_etl.chem.structures.standardise_unchecked`; :func:`~lab_etl.chem.structures.standardise` also runs
ChEMBL's checker, whose messages no pipeline column holds. This script times both on the same structures in one
process, each from an empty cache, alternating ``--repeat`` times, and checks that the keys are the same.

    python bench/standardise.py [--repeat 3] [--json] [CHEMBL_FILE ...]   (default: examples/landing/reference/*)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from lab_etl.chem import structures
    from lab_etl.pipeline.side_inputs import read_reference_file

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "examples" / "landing" / "reference").iterdir())
    smiles = [
        r.canonical_smiles for f in files for r in read_reference_file(f.read_bytes(), str(f)) if r.canonical_smiles
    ]

    def timed(function: object) -> tuple[float, list[str | None]]:
        structures._pipeline.cache_clear()
        structures.standardise.cache_clear()
        start = time.perf_counter()
        keys = [function(s).parent_inchi_key for s in smiles]  # type: ignore[operator]
        return time.perf_counter() - start, keys

    timed(structures.standardise_unchecked)  # warm-up: RDKit's and the pipeline's first calls
    checked, unchecked = [], []
    for _ in range(args.repeat):
        seconds, with_checker = timed(structures.standardise)
        checked.append(seconds)
        seconds, without = timed(structures.standardise_unchecked)
        unchecked.append(seconds)
        if with_checker != without:
            raise SystemExit("the parent InChIKeys differ with and without the checker")
    result = {
        "structures": len(smiles),
        "checked_s": round(statistics.median(checked), 3),
        "unchecked_s": round(statistics.median(unchecked), 3),
        "unchecked_over_checked": round(statistics.median(unchecked) / statistics.median(checked), 3),
        "same_keys": True,
    }
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
