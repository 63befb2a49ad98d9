"""Shared fixtures: one SparkSession for the whole run, a clean lakehouse per test that asks, a moto server."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("warehouse")


@pytest.fixture(scope="session")
def spark(warehouse: Path):  # type: ignore[no-untyped-def]
    """The one SparkSession of the test run: local[2], 2 shuffle partitions, UI off, bound to 127.0.0.1."""
    from lab_etl.lakehouse.spark import get_spark

    session = get_spark(warehouse, master="local[2]", shuffle_partitions=2)
    yield session
    session.stop()


@pytest.fixture()
def lakehouse(spark):  # type: ignore[no-untyped-def]
    """The shared session with empty lakehouse databases (tables of earlier tests dropped)."""
    from lab_etl.lakehouse.spark import DATABASES, ensure_databases

    for database in DATABASES:
        spark.sql(f"DROP DATABASE IF EXISTS {database} CASCADE")
    ensure_databases(spark)
    return spark


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def aws_env() -> Iterator[None]:
    """Dummy credentials so that no real AWS account can ever be reached or needed."""
    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def moto_server(aws_env: None) -> Iterator[str]:
    """A moto server on 127.0.0.1 and a free port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


EXAMPLES_LANDING = Path(__file__).resolve().parents[1] / "examples" / "landing"


@pytest.fixture()
def demo_lakehouse(spark, warehouse: Path):  # type: ignore[no-untyped-def]
    """The warehouse after `lab-etl run` on examples/landing (the README main command), built once and rebuilt
    only when another test has dropped the lakehouse databases since."""
    from click.testing import CliRunner

    from lab_etl.cli import cli
    from lab_etl.lakehouse.spark import DATABASES, ensure_databases

    # built = the demo landing was run into the lakehouse as it is now: a gold table with a THIO-1 plate alone is not
    # enough (another test's landing has that plate too, and left its own lakehouse behind)
    landing = str(EXAMPLES_LANDING).replace("'", "''")
    built = (
        spark.catalog.tableExists("lab_bronze.ingest_runs")
        and spark.catalog.tableExists("lab_gold.assay_results_flat")
        and spark.sql(f"SELECT count(*) FROM lab_bronze.ingest_runs WHERE landing = '{landing}'").first()[0]
        and spark.sql("SELECT count(*) FROM lab_gold.assay_results_flat WHERE plate_id = 'THIO-1'").first()[0]
    )
    if not built:
        for database in DATABASES:
            spark.sql(f"DROP DATABASE IF EXISTS {database} CASCADE")
        ensure_databases(spark)
        result = CliRunner().invoke(cli, ["run", "--landing", str(EXAMPLES_LANDING), "--warehouse", str(warehouse)])
        assert result.exit_code == 0, result.output
    return spark


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The modules whose tests read the demo lakehouse run one after another, where the first of them stands.

    ``demo_lakehouse`` runs the demo landing (a whole cold pipeline) again whenever a test in between has dropped the
    lakehouse databases: grouped, it is built once. Whole modules move, in their own order, so that module fixtures
    are set up once.
    """

    def module(item: pytest.Item) -> object:
        return getattr(item, "module", None)  # doctest items have none

    demo_modules = list(dict.fromkeys(module(i) for i in items if "demo_lakehouse" in getattr(i, "fixturenames", ())))
    if len(demo_modules) < 2:
        return
    moved = [i for m in demo_modules for i in items if module(i) is m]
    first = items.index(moved[0])
    rest = [i for i in items if module(i) not in demo_modules]
    items[:] = rest[:first] + moved + rest[first:]
