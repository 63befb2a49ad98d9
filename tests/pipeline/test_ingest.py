"""Landing -> bronze: every file accounted for, bad files quarantined with their bytes, reruns add nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lab_etl.parsers.registry import parse_bytes
from lab_etl.pipeline.run import ingest_landing

pytestmark = pytest.mark.spark

GOOD = [
    "bmg_mars/24-10-16 15-09-52 Luminescence 1536.csv",
    "perkin_elmer_envision/PE_Envision_absorbance_A450_example.csv",
    "agilent_gen5/endpoint_singleplate.txt",
]
BAD = "agilent_gen5/missing_results_error.txt"


@pytest.fixture()
def landing(tmp_path: Path, data_dir: Path) -> Path:
    folder = tmp_path / "landing"
    (folder / "run1").mkdir(parents=True)
    for name in GOOD:
        shutil.copy(data_dir / "instruments" / name, folder / "run1" / Path(name).name)
    shutil.copy(data_dir / "instruments" / BAD, folder / "run1" / "broken export.txt")
    (folder / "run1" / "empty.csv").write_bytes(b"")
    shutil.copy(data_dir / "instruments" / GOOD[2], folder / "run1" / "same bytes, other name ü.txt")
    return folder


def _expected_readings(data_dir: Path) -> int:
    return sum(len(parse_bytes((data_dir / "instruments" / n).read_bytes(), n).readings) for n in GOOD)


def test_every_file_is_accounted_for(lakehouse, landing: Path, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    spark = lakehouse
    summary = ingest_landing(spark, str(landing))
    assert (summary.files_seen, summary.files_parsed, summary.files_quarantined, summary.files_duplicate) == (
        6,
        3,
        2,
        1,
    )
    assert summary.files_seen == summary.files_parsed + summary.files_quarantined + summary.files_duplicate

    log = {r.file_name: r for r in spark.table("lab_bronze.ingest_log").collect()}
    assert len(log) == 6
    assert log["broken export.txt"].status == "quarantined" and log["broken export.txt"].reason
    assert log["empty.csv"].status == "quarantined" and "empty" in log["empty.csv"].reason
    duplicate = log["same bytes, other name ü.txt"]
    assert duplicate.status == "duplicate" and "endpoint_singleplate.txt" in duplicate.reason and duplicate.rows == 0
    assert log["endpoint_singleplate.txt"].status == "parsed" and log["endpoint_singleplate.txt"].rows == 96

    quarantine = {r.file_name: r for r in spark.table("lab_bronze.quarantine").collect()}
    assert set(quarantine) == {"broken export.txt", "empty.csv"}
    assert bytes(quarantine["broken export.txt"].content) == (data_dir / "instruments" / BAD).read_bytes()

    readings = spark.table("lab_bronze.instrument_readings")
    assert readings.count() == summary.readings_written == _expected_readings(data_dir)
    assert readings.select("source_file").distinct().count() == 3
    assert readings.where("run_id IS NULL OR source_sha256 IS NULL OR well IS NULL").count() == 0
    run = spark.table("lab_bronze.ingest_runs").collect()
    assert len(run) == 1 and run[0].files_seen == 6 and run[0].readings_written == summary.readings_written


def test_rerun_adds_nothing_and_new_files_alone_are_read(lakehouse, landing: Path, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    spark = lakehouse
    first = ingest_landing(spark, str(landing))
    versions = spark.sql("DESCRIBE HISTORY lab_bronze.instrument_readings").count()
    second = ingest_landing(spark, str(landing))
    assert (second.files_skipped, second.files_new, second.readings_written) == (6, 0, 0)
    assert spark.sql("DESCRIBE HISTORY lab_bronze.instrument_readings").count() == versions
    assert spark.table("lab_bronze.ingest_log").count() == 6
    assert spark.table("lab_bronze.instrument_readings").count() == first.readings_written

    new = "bmg_mars/PHERAstar output file.CSV"
    (landing / "run2").mkdir()
    shutil.copy(data_dir / "instruments" / new, landing / "run2" / "pherastar.csv")
    third = ingest_landing(spark, str(landing))
    assert (third.files_seen, third.files_skipped, third.files_parsed) == (7, 6, 1)
    added = len(parse_bytes((data_dir / "instruments" / new).read_bytes(), new).readings)
    assert third.readings_written == added
    assert spark.table("lab_bronze.instrument_readings").count() == first.readings_written + added


def test_missing_landing_is_a_clear_error(lakehouse, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lab_etl.errors import ConfigError

    with pytest.raises(ConfigError, match="does not exist"):
        ingest_landing(lakehouse, str(tmp_path / "nowhere"))
