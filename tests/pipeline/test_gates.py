"""A batch that breaks an expectation never reaches the published table; the run says so in its exit code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lab_etl.pipeline.run import run_pipeline

pytestmark = pytest.mark.spark

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "landing"


def test_failing_gold_batch_is_held_back_and_the_good_version_stays(lakehouse, warehouse, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spark = lakehouse
    landing = tmp_path / "landing"
    (landing / "instruments").mkdir(parents=True)
    shutil.copy(EXAMPLES / "instruments" / "lcms" / "THIO-1.csv", landing / "instruments")
    shutil.copytree(EXAMPLES / "eln", landing / "eln", ignore=shutil.ignore_patterns("*.eln"))
    good = run_pipeline(spark, str(landing))
    assert good.exit_code == 0
    published = spark.sql("DESCRIBE HISTORY lab_gold.assay_results_flat LIMIT 1").collect()[0].version
    assert spark.table("lab_gold.assay_results_flat").count() == 288

    # a second export of the plate in which A1's yield reads 140 %: impossible, so the gold batch must not publish
    text = (EXAMPLES / "instruments" / "lcms" / "THIO-1.csv").read_text(encoding="utf-8-sig")
    assert "\nA1,75.0," in text
    (landing / "instruments" / "reintegrated").mkdir()  # same file name: the plate id is the file's stem
    (landing / "instruments" / "reintegrated" / "THIO-1.csv").write_text(text.replace("\nA1,75.0,", "\nA1,140.0,"))
    bad = run_pipeline(spark, str(landing))
    assert bad.exit_code == 3
    assert any("lab_gold.assay_results_flat NOT published" in line and "140" in line for _, line in bad.notes)
    assert spark.sql("DESCRIBE HISTORY lab_gold.assay_results_flat LIMIT 1").collect()[0].version == published
    assert spark.table("lab_gold.assay_results_flat").where("value > 100").count() == 0
    held = warehouse / "_quarantine" / "lab_gold.assay_results_flat" / bad.run_id
    assert spark.read.parquet(str(held)).where("value = 140.0").count() == 1
    failed = (
        spark.table("lab_bronze.dq_results")
        .where(f"run_id = '{bad.run_id}' AND table_name = 'lab_gold.assay_results_flat' AND NOT success")
        .collect()
    )
    assert [r.expectation_type for r in failed] == ["expect_column_values_to_be_between"]
    assert (warehouse / "_data_docs" / "index.html").is_file()
    # silver still took the new readings: bronze and silver are not held back by a gold expectation
    assert spark.table("lab_silver.plate_results").where("value = 140.0").count() == 1
