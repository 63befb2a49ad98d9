"""Two ``lab-etl run`` processes (two JVMs) at once on different landings into one ``s3a://`` warehouse, with S3
and DynamoDB served by one moto server: every Delta write holds the table's DynamoDB lease, so both runs finish
and every reading of both landings is in bronze exactly once.

The tables are read back with the ``deltalake`` package straight from moto, without a JVM, so the check shares
nothing with the two runs.
"""

from __future__ import annotations

import logging
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
#: Two JVMs on a loaded 2-core machine, every S3 call going to moto: a run took 16 minutes at a load of 40; past
#: this the test calls it hung.
RUN_TIMEOUT_S = 2400


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

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every request: thousands here
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
    try:
        outputs = {landing: run.communicate(timeout=RUN_TIMEOUT_S)[0] for landing, run in runs.items()}
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
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


# ------------------------------------------------------------------------------ without the lock: a lost commit
_WRITER = """
import os, sys, time
from pathlib import Path
from lab_etl.contracts import contract
from lab_etl.lakehouse import delta
from lab_etl.lakehouse.spark import get_spark, s3_endpoint_conf
endpoint, warehouse, label, go = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
spark = get_spark(warehouse, extra_conf=s3_endpoint_conf(endpoint))
runs = contract("ingest_runs")
def append(run_id):
    row = spark.sql(
        f"SELECT '{run_id}' AS run_id, 'demo' AS landing, current_timestamp() AS started_at, "
        "current_timestamp() AS finished_at, 0L AS files_seen, 0L AS files_skipped, 0L AS files_parsed, "
        "0L AS files_quarantined, 0L AS files_duplicate, 0L AS readings_written"
    )
    delta.append(spark, row, runs)
if label == "A":
    append("A-setup")
print("ready", flush=True)
while not go.exists():
    time.sleep(0.05)
append(label)
print("committed", flush=True)
"""


class _Proxy:
    """An HTTP proxy in front of moto for one writer. Armed, it holds that writer's next PUT of a Delta commit
    file (``_delta_log/<N>.json``) until ``release`` is set, after creating ``on_hold`` (the other writer's go).
    Unarmed it reports PUTs of commit files in ``committed``."""

    def __init__(self, upstream: str, on_hold: Path | None) -> None:
        import http.client
        import http.server
        import re
        import threading
        from urllib.parse import urlparse

        target = urlparse(upstream)
        commit = re.compile(r"/_delta_log/\d{20}\.json$")
        self.armed, self.on_hold = threading.Event(), on_hold
        self.release, self.held_key = threading.Event(), ""
        self.committed: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path = self.path.split("?", 1)[0]
                if self.command == "PUT" and commit.search(path):
                    if proxy.armed.is_set() and not proxy.held_key:
                        proxy.held_key = path
                        assert proxy.on_hold is not None
                        proxy.on_hold.touch()
                        proxy.release.wait(300)
                    proxy.committed.append(path)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("connection", "keep-alive", "expect", "transfer-encoding")
                }
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                head = self.command == "HEAD"  # a HEAD answer keeps moto's Content-Length and has no body
                for key, value in answer.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding") and (
                        head or key.lower() != "content-length"
                    ):
                        self.send_header(key, value)
                if not head:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)
                upstream.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


def test_without_the_lock_two_jvms_committing_one_version_lose_a_commit_silently(
    moto_server: str, tmp_path: Path
) -> None:
    """Forced interleaving, lock off: writer A's PUT of commit N is held by a proxy until writer B (another JVM)
    has checked that N does not exist and written its own commit N; then A's PUT lands over it. Both writers
    report success; B's row is gone. This is the race Delta's default S3 log store cannot see across JVMs."""
    import boto3

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    lake = f"lake-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=lake)
    warehouse = f"s3a://{lake}/warehouse"
    go_a, go_b = tmp_path / "go_a", tmp_path / "go_b"
    proxy_a, proxy_b = _Proxy(moto_server, on_hold=go_b), _Proxy(moto_server, on_hold=None)
    env = _env(LAB_ETL_WRITE_LOCK="off")
    writers = {}
    try:
        for label, proxy, go in (("A", proxy_a, go_a), ("B", proxy_b, go_b)):
            writers[label] = subprocess.Popen(
                [sys.executable, "-c", _WRITER, proxy.url, warehouse, label, str(go)],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=(tmp_path / f"{label}.stderr").open("w"),  # a pipe nobody reads could fill and block it
                text=True,
            )
        for label, writer in writers.items():
            assert writer.stdout is not None
            line = writer.stdout.readline()
            assert line.strip() == "ready", f"writer {label}: {line}{(tmp_path / f'{label}.stderr').read_text()}"
        proxy_a.armed.set()
        go_a.touch()
        out_b = writers["B"].communicate(timeout=RUN_TIMEOUT_S)[0]
        assert writers["B"].returncode == 0, (tmp_path / "B.stderr").read_text()[-4000:]
        proxy_a.release.set()  # B committed version N: now A's PUT of the same N lands over it
        out_a = writers["A"].communicate(timeout=RUN_TIMEOUT_S)[0]
        assert writers["A"].returncode == 0, (tmp_path / "A.stderr").read_text()[-4000:]
    finally:
        for writer in writers.values():
            if writer.poll() is None:
                writer.kill()
        proxy_a.close()
        proxy_b.close()

    assert "committed" in out_a and "committed" in out_b  # both writers believe they committed
    assert proxy_a.held_key and proxy_a.held_key in proxy_b.committed  # both wrote the same version's file
    table = f"s3://{lake}/warehouse/lab_bronze.db/ingest_runs"
    run_ids = sorted(str(row["run_id"]) for row in _rows(table, moto_server))
    assert run_ids == ["A", "A-setup"], "B's committed row should be lost without the lock"
