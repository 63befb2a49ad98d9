"""The hts_lcms_yield workflow, run locally job by job on an s3a:// landing served by moto, gives the same tables
as the one-process pipeline on a local folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest

from lab_etl.lakehouse.spark import DATABASES, ensure_databases, use_s3_endpoint
from lab_etl.pipeline.run import run_pipeline
from lab_etl.run_ids import new_run_id
from lab_etl.workflows.local import run_locally
from lab_etl.workflows.model import load_workflow

pytestmark = [pytest.mark.spark, pytest.mark.aws]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "landing"

#: per table, the columns that must agree (paths and run ids differ by design)
SNAPSHOT = {
    "lab_bronze.instrument_readings": "plate_id, well, measurement, channel, read_index, value, flag, parser",
    "lab_bronze.ingest_log": "file_name, sha256, vendor, status, rows",
    "lab_silver.plate_results": "plate_id, well, measurement, read_index, value, role, layout_status, experiment_id",
    "lab_silver.reagents": "reagent_key, match_method, mw, alogp, rtb",
    "lab_gold.plate_qc": "plate_id, measurement, channel, z_prime, qc_pass",
    "lab_gold.assay_results_flat": "plate_id, well, measurement, value, scaffold_mw, reactant_rtb, qc_pass",
}


def _landing(root: Path) -> Path:
    landing = root / "landing"
    (landing / "instruments").mkdir(parents=True)
    shutil.copy(EXAMPLES / "instruments" / "lcms" / "THIO-1.csv", landing / "instruments" / "THIO-1.csv")
    shutil.copy(EXAMPLES / "instruments" / "plate_readers" / "gen5_luminescence_endpoint.txt", landing / "instruments")
    shutil.copytree(EXAMPLES / "eln", landing / "eln", ignore=shutil.ignore_patterns("*.eln"))
    (landing / "reference").mkdir()
    lines = (EXAMPLES / "reference" / "chembl_27_EGFR_compounds_first500.csv").read_text().splitlines()[:31]
    (landing / "reference" / "chembl_27_EGFR_first30.csv").write_text("\n".join(lines) + "\n")
    return landing


def _snapshot(spark) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    return {
        table: sorted(map(tuple, spark.sql(f"SELECT {cols} FROM {table}").collect()), key=repr)
        for table, cols in SNAPSHOT.items()
    }


def _reset(spark) -> None:  # type: ignore[no-untyped-def]
    for database in DATABASES:
        spark.sql(f"DROP DATABASE IF EXISTS {database} CASCADE")
    ensure_databases(spark)


def test_workflow_on_s3a_matches_the_local_pipeline(spark, warehouse, tmp_path, moto_server) -> None:  # type: ignore[no-untyped-def]
    landing = _landing(tmp_path)
    _reset(spark)
    local = run_pipeline(spark, str(landing))
    assert local.ingest.files_parsed == 2
    expected = _snapshot(spark)
    assert len(expected["lab_gold.assay_results_flat"]) == 288 and expected["lab_gold.plate_qc"]

    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket="lab-landing")
    for path in landing.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), "lab-landing", f"hts/{path.relative_to(landing).as_posix()}")
    use_s3_endpoint(spark, moto_server)
    _reset(spark)
    workflow = load_workflow("hts_lcms_yield")
    run = run_locally(workflow, "s3a://lab-landing/hts", str(warehouse), new_run_id())
    assert [name for name, _ in run.jobs] == [job.name for job in workflow.topological_jobs()]
    got = _snapshot(spark)
    assert got == expected
    paths = {r[0] for r in spark.sql("SELECT DISTINCT source_file FROM lab_bronze.instrument_readings").collect()}
    assert all(p.startswith("s3a://lab-landing/hts/") for p in paths)
