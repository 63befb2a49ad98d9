"""Two ``lab-etl run`` processes (two JVMs) at once on different landings into one ``s3a://`` warehouse, with S3
and DynamoDB served by one moto server: every Delta write holds the table's DynamoDB lease, so both runs finish
and every reading of both landings is in bronze exactly once.

The tables are read back with the ``deltalake`` package straight from moto, without a JVM, so the check shares
nothing with the two runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lab_etl.parsers.registry import parse_bytes

pytestmark = pytest.mark.slow

INSTRUMENTS = Path(__file__).resolve().parents[1] / "data" / "instruments"
ROOT = Path(__file__).resolve().parents[2]
LAB_ETL = Path(sys.executable).with_name("lab-etl")
LANDINGS = {
    "a": ["agilent_gen5/endpoint_singleplate.txt"],
    "b": ["perkin_elmer_envision/PE_Envision_absorbance_A450_example.csv"],
}
NATURAL_KEY = ("source_sha256", "plate_id", "well", "measurement", "channel", "read_index")
#: Two JVMs on a loaded 2-core machine: a run takes a few minutes; past this the test calls it hung.
RUN_TIMEOUT_S = 900


def _storage_options(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",  # read only
    }


def _rows(uri: str, endpoint: str) -> list[dict[str, Any]]:
    from deltalake import DeltaTable

    return DeltaTable(uri, storage_options=_storage_options(endpoint)).to_pyarrow_table().to_pylist()  # type: ignore[no-any-return]


def _env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LAB_ETL_SPARK_MASTER": "local[2]",
        "LAB_ETL_DRIVER_MEMORY": "1g",
        **extra,
    }


def _upload(s3: Any, bucket: str) -> dict[str, int]:
    """Put each landing's files under s3://bucket/<landing>/; return the readings each file parses to."""
    expected: dict[str, int] = {}
    for landing, names in LANDINGS.items():
        for name in names:
            data = (INSTRUMENTS / name).read_bytes()
            key = f"{landing}/{Path(name).name}"
            s3.put_object(Bucket=bucket, Key=key, Body=data)
            expected[Path(name).name] = len(parse_bytes(data, Path(name).name).readings)
    return expected


def test_two_runs_at_once_into_one_s3a_warehouse_lose_nothing(moto_server: str, tmp_path: Path) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_server, region_name="us-east-1")
    suffix = uuid.uuid4().hex[:8]
    landing_bucket, lake, lock_table = f"landing-{suffix}", f"lake-{suffix}", f"locks_{suffix}"
    for bucket in (landing_bucket, lake):
        s3.create_bucket(Bucket=bucket)
    expected = _upload(s3, landing_bucket)
    warehouse = f"s3a://{lake}/warehouse"
    env = _env(LAB_ETL_LOCK_TABLE=lock_table)

    runs = {
        landing: subprocess.Popen(
            [
                str(LAB_ETL),
                "run",
                "--landing",
                f"s3a://{landing_bucket}/{landing}/",
                "--warehouse",
                warehouse,
                "--s3-endpoint",
                moto_server,
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for landing in LANDINGS
    }
    outputs = {landing: run.communicate(timeout=RUN_TIMEOUT_S)[0] for landing, run in runs.items()}
    for landing, run in runs.items():
        assert run.returncode == 0, f"run on landing {landing} failed:\n{outputs[landing][-4000:]}"

    # every reading of both landings exactly once
    readings = _rows(f"s3://{lake}/warehouse/lab_bronze.db/instrument_readings", moto_server)
    per_file = Counter(str(row["source_file"]).rsplit("/", 1)[-1] for row in readings)
    assert dict(per_file) == expected, "readings lost or doubled by two runs at once"
    keys = Counter(tuple(row[k] for k in NATURAL_KEY) for row in readings)
    assert [key for key, n in keys.items() if n > 1] == []
    log = Counter(
        (str(row["file_name"]), row["status"])
        for row in _rows(f"s3://{lake}/warehouse/lab_bronze.db/ingest_log", moto_server)
    )
    assert log == Counter({(name, "parsed"): 1 for name in expected})
    runs_logged = _rows(f"s3://{lake}/warehouse/lab_bronze.db/ingest_runs", moto_server)
    assert len(runs_logged) == 2

    # both runs took the readings table's DynamoDB lease (one fencing token per write) and released it
    key = f"s3://{lake}/warehouse/lab_bronze.db/instrument_readings"
    fence = dynamodb.get_item(TableName=lock_table, Key={"lock_key": {"S": f"{key}#fence"}}, ConsistentRead=True)
    assert int(fence["Item"]["token"]["N"]) >= 2
    held = dynamodb.scan(TableName=lock_table)["Items"]
    assert [item["lock_key"]["S"] for item in held if not item["lock_key"]["S"].endswith("#fence")] == []

    # the warehouse is queryable by name from a third process, the catalog being the warehouse itself
    query = subprocess.run(
        [
            str(LAB_ETL),
            "sql",
            "SELECT count(*) AS n FROM lab_bronze.instrument_readings",
            "--warehouse",
            warehouse,
            "--s3-endpoint",
            moto_server,
            "--format",
            "csv",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert query.returncode == 0, query.stderr[-4000:]
    assert query.stdout.splitlines() == ["n", str(sum(expected.values()))]
