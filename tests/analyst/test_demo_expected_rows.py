"""The demo landing's tables match tests/data/expected/demo.json (see tests/expected_rows.py).

It lives here, first of the demo-lakehouse tests, so that it checks the suite's one run of `lab-etl run` on
examples/landing instead of running the pipeline again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.expected_rows import DEMO_LANDING, assert_same, load_expected, summarise

pytestmark = pytest.mark.spark


def test_demo_landing_gives_the_expected_rows(demo_lakehouse, warehouse: Path) -> None:  # type: ignore[no-untyped-def]
    # only the first run's rows: a test that reruns the landing on the shared warehouse adds one to the run log
    actual = summarise(demo_lakehouse, DEMO_LANDING, warehouse=warehouse, first_runs=1)
    assert_same(load_expected("demo"), actual, "demo landing examples/landing")
