"""Same landing, same rows: the pipeline's tables match the summaries stored in tests/data/expected.

The summaries were taken from the pipeline before its "one pass per run" rewrite (``python -m tests.expected_rows
--write``); a faster path that changes one value fails here with the table, the counts and a few of the keys.
The demo landing is compared in tests/analyst/test_demo_expected_rows.py, on the suite's demo run.
"""

from __future__ import annotations

import copy
import doctest
from pathlib import Path

import pytest

from tests import expected_rows
from tests.expected_rows import LANDINGS, assert_same, canonical, compare, load_expected, path_replacements


@pytest.mark.spark
def test_bench_landing_gives_the_expected_rows(lakehouse, warehouse: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lab_etl.pipeline.run import run_pipeline

    landing = LANDINGS["bench"].materialise(tmp_path)
    result = run_pipeline(lakehouse, str(landing))
    assert result.exit_code == 0, result.notes
    actual = expected_rows.summarise(lakehouse, landing, warehouse=warehouse)
    assert_same(load_expected("bench"), actual, f"bench landing {landing.name}")


def test_stored_summaries_cover_every_contract_table() -> None:
    from lab_etl.contracts import all_tables

    for name in LANDINGS:
        stored = load_expected(name)
        assert sorted(stored["tables"]) == all_tables(), name
        # the demo and bench landings both fill the instrument, layout and gold tables
        for table in ("instrument_readings", "plate_layouts", "plate_results", "plate_qc", "assay_results_flat"):
            assert stored["tables"][table]["rows"] > 0, (name, table)


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(expected_rows)
    assert result.failed == 0 and result.attempted >= 2


def test_canonical_cells_ignore_last_bits_places_and_bytes() -> None:
    assert canonical(0.1 + 0.2) == canonical(0.3) == 0.3
    assert canonical(1234.56789012345) == 1234.56789
    assert canonical(-0.0) == 0.0 and canonical(float("nan")) == "nan"
    assert canonical(b"x") == canonical(bytearray(b"x")) != canonical(b"y")
    places = path_replacements(Path("/tmp/a/landing"), Path("/tmp/a/wh"))
    assert canonical("file:/tmp/a/landing/instruments/x.csv", places) == "<landing>/instruments/x.csv"
    assert canonical("file:///tmp/a/landing/x.csv", places) == "<landing>/x.csv"
    assert canonical("/tmp/a/wh/_data_docs/index.html", places) == "<warehouse>/_data_docs/index.html"


def test_one_changed_value_is_reported_with_its_table_and_key() -> None:
    stored = load_expected("bench")
    assert compare(stored, copy.deepcopy(stored)) == []

    changed = copy.deepcopy(stored)
    qc = changed["tables"]["plate_qc"]
    key = next(iter(qc["by_key"]))
    qc["by_key"][key] = "0" * 16
    qc["rows_sha256"] = "0" * 64
    lines = compare(stored, changed)
    assert lines[0].startswith("lab_gold.plate_qc: ") and "changed key(s) (" in lines[1] and key in lines[1]

    lost = copy.deepcopy(stored)
    readings = lost["tables"]["instrument_readings"]
    readings["rows"] -= 1
    readings["rows_sha256"] = "0" * 64
    group = next(iter(readings.get("by_group", {})), None)
    if group is not None:
        readings["by_group"][group]["rows"] -= 1
    with pytest.raises(AssertionError, match=r"lab_bronze\.instrument_readings: \d+ rows expected, \d+ now"):
        assert_same(stored, lost, "bench")
