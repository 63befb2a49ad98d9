"""The gold stage's report counts plate-QC verdicts as the plate_qc write runs (an Observation), and counts them
apart when the gate held the batch back (nothing was written to observe)."""

from __future__ import annotations

from typing import Any

import pytest

from lab_etl.lakehouse.delta import Commit
from lab_etl.pipeline.gold import build_gold
from lab_etl.pipeline.publish import Publisher

pytestmark = pytest.mark.spark


def _expected_line(spark: Any) -> tuple[set[str], str]:
    qc = spark.table("lab_gold.plate_qc")
    plates = {row[0] for row in qc.select("plate_id").distinct().collect()}
    counts = {str(row["qc_pass"]): row["count"] for row in qc.groupBy("qc_pass").count().collect()}
    passed, failed, none = (counts.get(key, 0) for key in ("True", "False", "None"))
    line = f"plate QC: {passed} pass, {failed} fail, {none} without controls"
    return plates, line


def test_verdicts_are_counted_by_the_write_and_apart_when_held_back(
    demo_lakehouse: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    spark = demo_lakehouse
    plates, line = _expected_line(spark)
    assert line == "plate QC: 1 pass, 4 fail, 8 without controls"  # the demo run's own line

    def written(self: Publisher, frame: Any, table: str, scope: list[str], **options: Any) -> Commit:
        # what a published write does to its plan, once, with the observers attached; the demo tables stay as they are
        (options.get("write") or frame).collect()
        return Commit(table, 0, "WRITE", {})

    monkeypatch.setattr(Publisher, "publish", written)
    assert line in build_gold(spark, plates, Publisher(spark, "run-observed")).lines

    monkeypatch.setattr(Publisher, "publish", lambda self, *args, **options: None)  # every gate held its batch back
    assert line in build_gold(spark, plates, Publisher(spark, "run-held")).lines
