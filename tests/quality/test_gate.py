"""Data-quality gates on real Spark DataFrames: real instrument batches pass, broken batches fail for the right
reason, results land in lab_bronze.dq_results and Data Docs name the suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lab_etl.contracts import contract
from lab_etl.errors import DataQualityError
from lab_etl.lakehouse.frames import records_frame
from lab_etl.parsers.registry import parse_bytes
from lab_etl.quality.gate import GateResult, append_results, build_docs, results_frame, validate

pytestmark = pytest.mark.spark

READINGS = contract("instrument_readings")
REGEX = "expect_column_values_to_match_regex"
NOT_NULL = "expect_column_values_to_not_be_null"
IN_SET = "expect_column_values_to_be_in_set"
BETWEEN = "expect_column_values_to_be_between"
UNIQUE_KEY = "expect_compound_columns_to_be_unique"
ROW_COUNT = "expect_table_row_count_to_be_between"


def _readings(spark: SparkSession, path: Path, run_id: str = "run-1") -> DataFrame:
    parsed = parse_bytes(path.read_bytes(), path.name)
    return records_frame(spark, parsed.readings, READINGS, run_id=run_id)


@pytest.fixture(scope="module")
def thiolation(spark: SparkSession, data_dir: Path) -> DataFrame:
    """288 real readings (yield, RT-MS, RT-FID) of the pyGecko thiolation plate."""
    return _readings(spark, data_dir / "hte" / "thiolation_plate_yield.csv").cache()


def _failure(result: GateResult, kind: str, column: str | None):  # type: ignore[no-untyped-def]
    matches = [f for f in result.failures if f.expectation_type == kind and f.column == column]
    assert len(matches) == 1, result.summary()
    return matches[0]


@pytest.mark.parametrize(
    "relative",
    [
        "instruments/lcms_agilent_masshunter/QuantLCMS_Example_MassHunter.csv",
        "instruments/bmg_mars/24-10-16 15-09-52 Luminescence 1536.csv",
    ],
)
def test_real_instrument_batch_passes_every_generated_expectation(
    spark: SparkSession, data_dir: Path, relative: str
) -> None:
    frame = _readings(spark, data_dir / relative)
    result = validate(frame, READINGS, run_id="run-good")

    assert result.success, result.summary()
    assert result.failures == ()
    assert len(result.rows) == 26  # every generated expectation was evaluated
    assert all(row.success for row in result.rows)
    key_row = next(row for row in result.rows if row.expectation_type == UNIQUE_KEY)
    assert (key_row.element_count, key_row.unexpected_count) == (frame.count(), 0)
    assert json.loads(next(r for r in result.rows if r.expectation_type == ROW_COUNT).observed_value_json or "0") == (
        frame.count()
    )


def test_bad_well_name_fails_the_contract_pattern(spark: SparkSession, thiolation: DataFrame) -> None:
    broken = thiolation.withColumn("well", F.when(F.col("well") == "A01", F.lit("A1")).otherwise(F.col("well")))
    result = validate(broken, READINGS, run_id="run-bad-well")

    assert not result.success
    assert result.failed_types == [REGEX]
    failure = _failure(result, REGEX, "well")
    assert failure.unexpected_count == 3  # A01's yield, RT-MS and RT-FID
    assert failure.unexpected_values == ("A1", "A1", "A1")
    assert "3 of 288 rows do not match ^([A-Z]|A[A-F])(0[1-9]|[1-4][0-9])$" in failure.reason
    assert failure.reason.startswith("lab_bronze.instrument_readings.well:")
    # The expectations that passed keep their counts although only the failed one was measured in detail.
    passed = [row for row in result.rows if row.expectation_type == NOT_NULL]
    assert len(passed) == 13 and {(r.success, r.element_count, r.unexpected_count) for r in passed} == {(True, 288, 0)}


def test_null_key_column_fails_not_null(spark: SparkSession, thiolation: DataFrame) -> None:
    broken = thiolation.withColumn(
        "plate_id", F.when(F.col("well") == "B02", F.lit(None).cast("string")).otherwise(F.col("plate_id"))
    )
    result = validate(broken, READINGS, run_id="run-null-key")

    assert result.failed_types == [NOT_NULL]
    failure = _failure(result, NOT_NULL, "plate_id")
    assert failure.unexpected_count == 3
    assert "3 of 288 rows have no value; the column may not be null" in failure.reason


def test_duplicate_natural_key_fails_uniqueness(spark: SparkSession, thiolation: DataFrame) -> None:
    broken = thiolation.unionByName(thiolation.where("well = 'A01' AND measurement = 'yield'"))
    result = validate(broken, READINGS, run_id="run-duplicate")

    assert result.failed_types == [UNIQUE_KEY]
    failure = _failure(result, UNIQUE_KEY, "source_sha256, plate_id, well, measurement, channel, read_index")
    assert failure.unexpected_count == 2  # both copies of the row
    assert failure.unexpected_values[0]["well"] == "A01"
    assert "2 of 289 rows share their key" in failure.reason


def test_flag_outside_the_allowed_set_fails(spark: SparkSession, thiolation: DataFrame) -> None:
    broken = thiolation.withColumn("flag", F.when(F.col("well") == "H12", F.lit("bogus")).otherwise(F.col("flag")))
    result = validate(broken, READINGS, run_id="run-bad-flag")

    assert result.failed_types == [IN_SET]
    failure = _failure(result, IN_SET, "flag")
    assert failure.unexpected_values == ("bogus", "bogus", "bogus")
    assert "are not one of [overflow, underflow, missing, invalid, saturated, masked]" in failure.reason


def test_empty_batch_fails_the_row_count(spark: SparkSession, thiolation: DataFrame) -> None:
    result = validate(thiolation.limit(0), READINGS, run_id="run-empty")

    assert result.failed_types == [ROW_COUNT]
    failure = _failure(result, ROW_COUNT, None)
    assert failure.reason.startswith("lab_bronze.instrument_readings: the batch has 0 rows; expected at least 1")


def test_missing_contract_column_fails_and_names_it(spark: SparkSession, thiolation: DataFrame) -> None:
    result = validate(thiolation.drop("parser_version"), READINGS, run_id="run-no-column")

    assert not result.success
    columns = _failure(result, "expect_table_columns_to_match_set", None)
    assert "lacks the contract's columns parser_version" in columns.reason
    not_null = _failure(result, NOT_NULL, "parser_version")
    assert "could not be evaluated" in not_null.reason


def _assay_results_flat(thiolation: DataFrame) -> DataFrame:
    """The real thiolation readings shaped like lab_gold.assay_results_flat (no layout: role sample)."""
    flat = contract("assay_results_flat")
    given = set(thiolation.columns) | {"role"}
    frame = thiolation.where("read_index = 1").withColumn("role", F.lit("sample"))
    return frame.select(
        [(F.col(c.name) if c.name in given else F.lit(None)).cast(c.type).alias(c.name) for c in flat.columns]
    )


def test_yield_above_100_percent_fails_the_science_rule(spark: SparkSession, thiolation: DataFrame) -> None:
    flat = _assay_results_flat(thiolation)
    assert validate(flat, "assay_results_flat", run_id="run-flat-good").success

    # 140 % on a yield row fails; 140 min on a retention-time row is no yield and passes.
    broken = flat.withColumn("value", F.when(F.col("well").isin("A01", "A03"), F.lit(140.0)).otherwise(F.col("value")))
    result = validate(broken, "assay_results_flat", run_id="run-flat-140")

    assert result.failed_types == [BETWEEN]
    failure = _failure(result, BETWEEN, "value")
    assert failure.unexpected_count == 2  # A01 and A03 yields; their RT rows are outside the condition
    assert failure.unexpected_values == (140.0, 140.0)
    assert "measurement == yield" in failure.reason and "lie outside [0.0, 100.0]" in failure.reason
    assert "percentage" in failure.reason
    science = next(row for row in result.rows if row.origin == "science")
    assert (science.success, science.element_count, science.unexpected_count) == (False, 96, 2)


def test_append_results_writes_dq_results(lakehouse: SparkSession, thiolation: DataFrame, tmp_path: Path) -> None:
    broken = thiolation.withColumn("well", F.when(F.col("well") == "A01", F.lit("A1")).otherwise(F.col("well")))
    good = validate(thiolation, READINGS, run_id="run-a", docs_dir=None)
    bad = validate(broken, READINGS, run_id="run-b", docs_dir=None)
    append_results(lakehouse, [good, bad])

    table = lakehouse.table("lab_bronze.dq_results")
    counts = {
        r["run_id"]: (r["n"], r["failed"])
        for r in table.groupBy("run_id")
        .agg(F.count("*").alias("n"), F.sum(F.when(~F.col("success"), 1).otherwise(0)).alias("failed"))
        .collect()
    }
    assert counts == {"run-a": (len(good.rows), 0), "run-b": (len(bad.rows), 1)}
    failed = table.where("NOT success").collect()[0]
    assert (failed.table_name, failed.expectation_type, failed.column_name) == (
        "lab_bronze.instrument_readings",
        REGEX,
        "well",
    )
    assert (failed.unexpected_count, failed.origin) == (3, "contract")
    assert failed.unexpected_percent == pytest.approx(100 * 3 / 288)
    assert json.loads(failed.unexpected_values_json) == ["A1", "A1", "A1"]
    assert json.loads(failed.kwargs_json) == {"column": "well", "regex": "^([A-Z]|A[A-F])(0[1-9]|[1-4][0-9])$"}
    assert failed.reason == bad.failures[0].reason
    # The table holds exactly what the result said, value for value.
    written = table.where("run_id = 'run-b'").drop("evaluated_at")
    assert_df_equality(
        written,
        results_frame(lakehouse, bad).drop("evaluated_at"),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_data_docs_are_built_and_name_the_suite(spark: SparkSession, thiolation: DataFrame, tmp_path: Path) -> None:
    docs = tmp_path / "_data_docs"
    first = validate(thiolation, READINGS, run_id="run-docs-1", docs_dir=docs)
    broken = thiolation.withColumn("flag", F.lit("bogus"))
    second = validate(broken, READINGS, run_id="run-docs-2", docs_dir=docs)

    assert first.docs_index == docs / "index.html"
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert "lab_bronze.instrument_readings" in index
    assert "run-docs-1" in index and "run-docs-2" in index  # the index keeps earlier runs
    assert second.docs_page is not None and second.docs_page.is_file()
    assert second.docs_page.is_relative_to(docs / "validations")
    page = second.docs_page.read_text(encoding="utf-8")
    assert "lab_bronze.instrument_readings" in page and "bogus" in page


def test_data_docs_of_many_validations_are_built_once(
    spark: SparkSession, thiolation: DataFrame, tmp_path: Path
) -> None:
    """What a pipeline run does: each gate stores its result, and one build renders every page and the index."""
    docs = tmp_path / "_data_docs"
    first = validate(thiolation, READINGS, run_id="run-later-1", docs_dir=docs, build_docs=False)
    second = validate(thiolation.limit(5), READINGS, run_id="run-later-2", docs_dir=docs, build_docs=False)
    assert first.docs_index == docs / "index.html" and not first.docs_index.exists() and second.docs_page is None
    assert not list(docs.glob("validations/**/*.html"))  # stored, not rendered
    build_docs(docs)
    pages = [str(page) for page in docs.glob("validations/**/*.html")]
    assert len(pages) == 2 and any("run-later-1" in p for p in pages) and any("run-later-2" in p for p in pages)
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert "run-later-1" in index and "run-later-2" in index


def test_misuse_raises_data_quality_error(spark: SparkSession, thiolation: DataFrame, tmp_path: Path) -> None:
    with pytest.raises(DataQualityError, match="needs the pipeline's run id"):
        validate(thiolation, READINGS, run_id=" ")
    with pytest.raises(DataQualityError, match="validates a Spark DataFrame, not list"):
        validate([], READINGS, run_id="r")  # type: ignore[arg-type]
    not_a_folder = tmp_path / "docs.html"
    not_a_folder.write_text("x", encoding="utf-8")
    with pytest.raises(DataQualityError, match="is a file; give a folder"):
        validate(thiolation, READINGS, run_id="r", docs_dir=not_a_folder)
    with pytest.raises(DataQualityError, match="needs a table contract"):
        validate(thiolation, 42, run_id="r")  # type: ignore[arg-type]


# --- the batch on the driver: one Spark job, the same rows as the Spark engine ----------------------------------


def _plate_qc(spark: SparkSession, broken: bool) -> DataFrame:
    """Three plate_qc rows; ``broken`` breaks three rules: Z' above 1, more flagged wells than wells, a null key."""
    from pyspark.sql.types import StructField, StructType

    schema = StructType([StructField(f.name, f.dataType, True) for f in contract("plate_qc").spark_schema().fields])
    base = dict(
        source_sha256="s" * 64, measurement="luminescence", channel="1", source_file="p.csv", read_index=1,
        wells=384, flagged_wells=2, positive_controls=16, negative_controls=16, positive_mean=1000.0,
        positive_sd=20.0, negative_mean=100.0, negative_sd=10.0, z_prime=0.9, signal_to_background=10.0,
        positive_cv_pct=2.0, negative_cv_pct=10.0, blank_cv_pct=None, edge_effect_pct=1.5, qc_pass=True,
        qc_reasons=None,
    )  # fmt: skip
    rows = [dict(base, plate_id=f"P{i}") for i in range(3)]
    if broken:
        rows[0].update(z_prime=1.7)
        rows[1].update(flagged_wells=400)
        rows[2].update(channel=None, z_prime=None)
    return spark.createDataFrame([tuple(r[f.name] for f in schema.fields) for r in rows], schema)


def _batches(spark: SparkSession, thiolation: DataFrame) -> dict[str, tuple[DataFrame, str]]:
    well = F.col("well")
    flat = _assay_results_flat(thiolation)
    readings = "instrument_readings"
    no_plate = F.lit(None).cast("string")
    return {
        "readings good": (thiolation, readings),
        "readings bad well": (thiolation.withColumn("well", F.when(well == "A01", "A1").otherwise(well)), readings),
        "readings null key": (
            thiolation.withColumn("plate_id", F.when(well == "B02", no_plate).otherwise(F.col("plate_id"))),
            readings,
        ),
        "readings duplicate": (
            thiolation.unionByName(thiolation.where("well = 'A01' AND measurement = 'yield'")),
            readings,
        ),
        "readings bad flag": (
            thiolation.withColumn("flag", F.when(well == "H12", "bogus").otherwise(F.col("flag"))),
            readings,
        ),
        "readings empty": (thiolation.limit(0), readings),
        "flat good": (flat, "assay_results_flat"),
        "flat 140 %": (
            flat.withColumn("value", F.when(well.isin("A01", "A03"), 140.0).otherwise(F.col("value"))),
            "assay_results_flat",
        ),
        "plate_qc good": (_plate_qc(spark, broken=False), "plate_qc"),
        "plate_qc broken": (_plate_qc(spark, broken=True), "plate_qc"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "readings good",
        "readings bad well",
        "readings null key",
        "readings duplicate",
        "readings bad flag",
        "readings empty",
        "flat good",
        "flat 140 %",
        "plate_qc good",
        "plate_qc broken",
    ],
)
def test_a_batch_validated_on_the_driver_gives_the_rows_of_the_spark_engine(
    spark: SparkSession, thiolation: DataFrame, name: str
) -> None:
    frame, table = _batches(spark, thiolation)[name]
    local = validate(frame, table, run_id="run-same")
    remote = validate(frame, table, run_id="run-same", engine="spark")

    assert (local.engine, remote.engine) == ("pandas", "spark")
    assert local.success == remote.success
    assert [f.reason for f in local.failures] == [f.reason for f in remote.failures]
    same = [{**vars(row), "evaluated_at": None} for row in local.rows]
    assert same == [{**vars(row), "evaluated_at": None} for row in remote.rows]
    if name.endswith("broken"):
        assert sorted(local.failed_types) == [
            "expect_column_pair_values_a_to_be_greater_than_b",
            "expect_column_values_to_be_between",
            "expect_column_values_to_not_be_null",
        ]


def test_a_small_batch_costs_one_spark_job(spark: SparkSession, thiolation: DataFrame) -> None:
    """The gate of an arrival: the batch is collected once; every metric is computed on the driver."""
    batch = thiolation.where("well != 'A01'").cache()
    batch.count()  # the rows the step computed (in a run: the persisted frame about to be written)
    tracker = spark.sparkContext.statusTracker()
    group = "gate-one-job"
    spark.sparkContext.setJobGroup(group, "one gate")
    try:
        result = validate(batch, READINGS, run_id="run-one-job")
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
    assert result.success and result.engine == "pandas"
    assert len(tracker.getJobIdsForGroup(group)) == 1


def test_a_cached_batch_is_counted_and_never_collected_to_find_it_too_large(
    spark: SparkSession, thiolation: DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the pipeline gates is persisted, not yet computed: the gate counts it (filling the cache the write then
    reads) and sends a batch over LOCAL_ROWS to the Spark engine without collecting a row of it; a filled cache
    tells its size from its own statistics."""
    from pyspark.sql import DataFrame as SparkFrame

    from lab_etl.quality.gate import _filled_cache_rows

    # a plan of its own (an extra column, which the gate ignores): no other test has cached it
    batch = thiolation.where("well != 'A01'").withColumn("cached_here", F.lit(True)).persist()
    try:
        assert _filled_cache_rows(batch) is None  # persisted, not computed yet
        monkeypatch.setenv("LAB_ETL_GATE_LOCAL_ROWS", "100")

        def no_collection(self: SparkFrame) -> None:
            raise AssertionError("the gate collected a batch it had counted as too large")

        with monkeypatch.context() as patched:
            patched.setattr(SparkFrame, "toPandas", no_collection)
            large = validate(batch, READINGS, run_id="run-cached-large")
        assert (large.engine, large.batch_rows) == ("spark", 285)
        assert _filled_cache_rows(batch) == 285  # filled by the count, known without a job from now on
        monkeypatch.delenv("LAB_ETL_GATE_LOCAL_ROWS")
        small = validate(batch, READINGS, run_id="run-cached-small")
        assert (small.engine, small.batch_rows, small.success) == ("pandas", 285, True)
        assert [vars(r) | {"evaluated_at": None, "run_id": None} for r in small.rows] == [
            vars(r) | {"evaluated_at": None, "run_id": None} for r in large.rows
        ]
    finally:
        batch.unpersist()


def test_large_batches_and_nan_stay_with_the_spark_engine(
    spark: SparkSession, thiolation: DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above LOCAL_ROWS the batch is not brought to the driver; a NaN (which pandas would read as null) keeps the
    batch in Spark too, so that a NaN value is not reported as a missing one."""
    monkeypatch.setenv("LAB_ETL_GATE_LOCAL_ROWS", "100")
    assert validate(thiolation, READINGS, run_id="run-large").engine == "spark"
    monkeypatch.delenv("LAB_ETL_GATE_LOCAL_ROWS")
    with_nan = thiolation.withColumn(
        "value", F.when(F.col("well") == "A01", F.lit(float("nan"))).otherwise(F.col("value"))
    )
    result = validate(with_nan, READINGS, run_id="run-nan")
    assert result.engine == "spark" and result.success, result.summary()
    with pytest.raises(DataQualityError, match="engine is 'auto' or 'spark'"):
        validate(thiolation, READINGS, run_id="r", engine="pandas")


def test_an_empty_batch_can_be_no_batch_at_all(spark: SparkSession, thiolation: DataFrame, tmp_path: Path) -> None:
    """What gold does with plates that have no layout (no flat rows): no verdict, no Data Docs page, no write."""
    from lab_etl.pipeline.publish import Publisher

    docs = tmp_path / "_data_docs"
    skipped = validate(thiolation.limit(0), READINGS, run_id="run-none", docs_dir=docs, skip_empty=True)
    assert (skipped.success, skipped.rows, skipped.batch_rows) == (True, (), 0)
    assert not list(docs.glob("**/*.json"))  # nothing stored for the Data Docs
    assert validate(thiolation, READINGS, run_id="run-some", skip_empty=True).batch_rows == 288

    publisher = Publisher(spark, "run-none")
    assert (
        publisher.publish(_assay_results_flat(thiolation).limit(0), "assay_results_flat", ["p"], skip_empty=True)
        is None
    )
    assert publisher.results == [] and publisher.held_back == []
