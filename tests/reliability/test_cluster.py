"""The pipeline on a real Spark cluster gives the rows of local mode.

Glue runs executors in their own JVMs on other machines. Local mode hides what breaks there: closures that
reach driver state, driver-local paths, jars and Python code that never reach the executors. This test starts
a Spark standalone master and one worker on 127.0.0.1 from the installed pyspark, runs ``lab-etl run`` on the
demo landing against it (``LAB_ETL_SPARK_MASTER=spark://...``) and in local mode, each in its own process, and
compares every table row for row. The worker's environment has no path to this checkout, so its executors
import lab_etl only from the zip the driver ships (:func:`lab_etl.lakehouse.spark.package_zip`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.spark]

ROOT = Path(__file__).resolve().parents[2]
LANDING = ROOT / "examples" / "landing"

START_TIMEOUT_S = 180
RUN_TIMEOUT_S = 3600  # a guard against a hang: on 2 cores shared with other jobs one run took 10-20 min


@dataclass(frozen=True)
class StandaloneCluster:
    master_url: str
    work_dir: Path
    """The worker's folder: one ``app-*/<executor>/`` folder per application, holding what the driver shipped."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if log.is_file() and text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    pytest.fail(f"{what} did not log {text!r} within {START_TIMEOUT_S} s:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture()
def standalone_cluster(tmp_path: Path) -> Iterator[StandaloneCluster]:
    """A Spark standalone master and one worker (1 core, 2 GB) on 127.0.0.1, stopped at teardown."""
    import pyspark

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java to run a Spark master")
    spark_home = Path(pyspark.__file__).parent
    work_dir = tmp_path / "worker"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPARK_CONF_DIR")}
    env.update(SPARK_HOME=str(spark_home), SPARK_LOCAL_IP="127.0.0.1", SPARK_WORKER_DIR=str(work_dir))
    spark_class = str(spark_home / "bin" / "spark-class")
    port = _free_port()
    master_url = f"spark://127.0.0.1:{port}"
    master_log = tmp_path / "master.log"
    started: list[subprocess.Popen[bytes]] = []

    def start(daemon: str, *args: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{daemon.rsplit('.', 1)[-1].lower()}.log").open("wb") as out:
            process = subprocess.Popen(
                [spark_class, daemon, *args, "--host", "127.0.0.1", "--webui-port", str(_free_port())],
                env=env,
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    try:
        master = start("org.apache.spark.deploy.master.Master", "--port", str(port))
        _wait_for(master_log, "I have been elected leader", master, "the Spark master")
        worker = start("org.apache.spark.deploy.worker.Worker", master_url, "--cores", "1", "--memory", "2g")
        _wait_for(master_log, "Registering worker 127.0.0.1", worker, "the Spark worker")
        yield StandaloneCluster(master_url, work_dir)
    finally:
        for process in reversed(started):
            _stop(process)


def _start_run(warehouse: Path, master: str, log: Path) -> subprocess.Popen[bytes]:
    """`lab-etl run` on the demo landing against ``master`` in its own process (its own driver JVM), importing this
    checkout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable)
    env["LAB_ETL_SPARK_MASTER"] = master
    command = [sys.executable, "-c", "from lab_etl.cli import cli; cli()", "run"]
    with log.open("wb") as out:
        return subprocess.Popen(
            [*command, "--landing", str(LANDING), "--warehouse", str(warehouse)],
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _finish(run: subprocess.Popen[bytes], log: Path, what: str) -> None:
    try:
        code = run.wait(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _stop(run)
        pytest.fail(f"{what} took more than {RUN_TIMEOUT_S} s:\n{log.read_text(errors='replace')[-3000:]}")
    assert code == 0, f"{what} failed:\n{log.read_text(errors='replace')[-5000:]}"


def test_a_standalone_cluster_writes_the_rows_of_local_mode(
    standalone_cluster: StandaloneCluster, tmp_path: Path
) -> None:
    from tests.expected_rows import assert_same, folder_reader, load_expected, summarise

    cluster_log = tmp_path / "cluster.log"
    clustered = _start_run(tmp_path / "cluster", standalone_cluster.master_url, cluster_log)
    try:
        _finish(clustered, cluster_log, "the run on the standalone cluster")
    finally:
        _stop(clustered)

    # the executors ran in the worker's JVM and got lab_etl and the jars from the driver, not from this checkout
    shipped = {path.name for path in standalone_cluster.work_dir.glob("app-*/*/*")}
    assert {"lab_etl.zip", "delta-spark_2.12-3.3.0.jar"} <= shipped, shipped

    warehouse = tmp_path / "cluster"
    actual = summarise(folder_reader(warehouse), LANDING, warehouse=warehouse)
    assert_same(load_expected("demo"), actual, "the demo landing run on a standalone cluster")
