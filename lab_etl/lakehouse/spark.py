"""The one SparkSession factory: jobs, the CLI and the tests all get their session here.

Locally it builds an embedded lakehouse: ``local[*]``, Delta Lake's extension and catalog, and Spark's embedded
in-memory catalog over the warehouse folder. The folder is the catalog: a table is the Delta folder
``<warehouse>/<database>.db/<table>/``, and each session registers a table by name the first time it is used
(:func:`lab_etl.lakehouse.delta.ensure_table`, :func:`lab_etl.lakehouse.tables.attach_tables`). So a session
starts without a metastore to boot, tables persist across runs, any number of processes can use one warehouse at
once, and a warehouse on ``s3a://`` works the same way as a local folder.
The UI is off, the driver binds to 127.0.0.1 and shuffles use few partitions, which suits one machine.
``LAB_ETL_SPARK_MASTER`` (e.g. ``spark://host:7077``) runs on a cluster instead: the jars and a zip of lab_etl
(:func:`package_zip`) go to the executors, as Glue ships the wheel to its workers.
On AWS Glue it returns the GlueContext's session, whose catalog is the Glue Data Catalog.

Examples
--------
>>> spark = get_spark("warehouse")                      # doctest: +SKIP
>>> spark.sql("SHOW DATABASES").show()                  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
import zipfile
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab_etl import glue_job
from lab_etl.errors import ConfigError
from lab_etl.lakehouse import class_archive, jit
from lab_etl.lakehouse.jars import jar_paths

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

#: The databases of the lakehouse, one per layer plus reference data.
DATABASES = ("lab_bronze", "lab_silver", "lab_gold", "lab_reference")

DEFAULT_WAREHOUSE = "warehouse"


def warehouse_uri(warehouse: str | Path) -> str:
    """The warehouse as Spark names it: an absolute local path, or an ``s3a://`` URI as given.

    Examples
    --------
    >>> warehouse_uri("s3a://lab-warehouse/warehouse/")
    's3a://lab-warehouse/warehouse'
    """
    text = str(warehouse)
    if "://" in text and not text.startswith("file:"):
        return text.rstrip("/")
    return str(Path(text.removeprefix("file:")).expanduser().resolve())


def is_local(warehouse: str | Path) -> bool:
    """True for a warehouse in a local folder (not ``s3a://``)."""
    return "://" not in str(warehouse) or str(warehouse).startswith("file:")


def spark_conf(
    warehouse: str | Path, *, master: str | None = None, shuffle_partitions: int | None = None
) -> dict[str, str]:
    """The local session's configuration (a dict, so that tests and docs can show it)."""
    root = warehouse_uri(warehouse)
    master = master or os.environ.get("LAB_ETL_SPARK_MASTER", "local[*]")
    log4j = files("lab_etl") / "resources" / "log4j2.properties"
    java_options = f"-Dlog4j2.configurationFile=file:{log4j}"
    archived = class_archive.java_options()  # Spark's classes ready at start, once `lab-etl jars fetch` wrote them
    if archived:
        java_options += f" {archived}"
    if os.environ.get("LAB_ETL_DRIVER_JAVA_OPTIONS"):  # e.g. JIT or GC settings for the local driver JVM
        java_options += " " + os.environ["LAB_ETL_DRIVER_JAVA_OPTIONS"]
    return {
        "spark.master": master,
        "spark.app.name": "lab_etl",
        # local mode runs everything in the driver JVM: Spark's 1g default dies on one 50 MB upload's bytes
        "spark.driver.memory": os.environ.get("LAB_ETL_DRIVER_MEMORY", "4g"),
        **jar_conf(master),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        # the warehouse folder is the catalog (see the module docstring): no metastore to boot or to share
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": root,
        "spark.driver.extraJavaOptions": java_options,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.sql.shuffle.partitions": str(shuffle_partitions or os.environ.get("LAB_ETL_SHUFFLE_PARTITIONS", "4")),
        "spark.default.parallelism": "4",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Athena and Redshift Spectrum read neither deletion vectors nor column mapping: keep new tables plain.
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
        # s3a:// with explicit endpoints (moto locally, AWS on EMR); credentials come from the environment.
        "spark.hadoop.fs.s3a.aws.credentials.provider": "com.amazonaws.auth.EnvironmentVariableCredentialsProvider",
        "spark.hadoop.fs.s3a.path.style.access": "true",
    }


def jar_conf(master: str) -> dict[str, str]:
    """Where the session's JVMs find the Delta and S3 jars (:func:`lab_etl.lakehouse.jars.jar_paths`).

    In local mode the executors are the driver's JVM, so the jars go on its class path
    (``spark.driver.extraClassPath``, read once at launch). ``spark.jars`` would also copy each jar into the
    session's temporary folder, the 280 MB AWS SDK included, on every start; and a JVM that is killed (SIGKILL,
    out of memory) leaves that copy behind in ``/tmp``, until the disk is full. On a cluster (any other master,
    ``local-cluster[...]`` included) the executors are other JVMs: ``spark.jars`` ships the jars to them.
    """
    jars = [str(p) for p in jar_paths()]
    if master == "local" or master.startswith("local["):  # not local-cluster[...], whose executors are other JVMs
        return {"spark.driver.extraClassPath": os.pathsep.join(jars)}
    return {"spark.jars": ",".join(jars)}


def get_spark(
    warehouse: str | Path = DEFAULT_WAREHOUSE,
    *,
    master: str | None = None,
    shuffle_partitions: int | None = None,
    extra_conf: dict[str, str] | None = None,
    quick_start: bool = False,
) -> SparkSession:
    """The SparkSession for ``warehouse``: Glue's session on AWS Glue, else an embedded local lakehouse.

    A JVM holds one session; a second call returns the same session (its warehouse cannot change),
    which is what jobs, the CLI and the test fixture want. The lakehouse databases are created if missing.
    With ``quick_start`` a new local driver JVM starts with its optimizing compiler held back until
    :func:`lab_etl.lakehouse.jit.release` (see :mod:`lab_etl.lakehouse.jit`): for commands that may have little
    to do. A call without it returns the session with the optimizing compiler running again.

    Raises
    ------
    ConfigError
        When the Delta jars are missing (the message names ``lab-etl jars fetch``).
    """
    if glue_job.on_glue():
        session = glue_job.glue_spark_session()
        ensure_databases(session, location=str(warehouse))
        return session
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers must run the interpreter that has lab_etl and pyarrow, not whatever `python3` is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    active = SparkSession.getActiveSession()
    if active is not None:
        wanted = warehouse_uri(warehouse)
        if warehouse_location(active) != wanted:
            raise ConfigError(
                f"this process already runs Spark on warehouse {warehouse_location(active)}; one process serves one "
                f"warehouse, so start a new process for {wanted}"
            )
        if not quick_start:  # a caller with work to do gets the optimizing compiler, whoever started the JVM
            jit.release(active)
        return active
    conf = spark_conf(warehouse, master=master, shuffle_partitions=shuffle_partitions)
    conf.update(extra_conf or {})
    if is_local(warehouse):
        Path(warehouse_uri(warehouse)).mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    if quick_start and conf["spark.master"].startswith("local") and jit.enabled():
        _start_jvm_held(conf)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("LAB_ETL_SPARK_LOG_LEVEL", "ERROR"))
    if not conf["spark.master"].startswith("local"):
        # executors on other machines have no lab_etl: ship this driver's copy, as Glue ships the wheel
        spark.sparkContext.addPyFile(str(package_zip()))
    ensure_databases(spark)
    return spark


def _start_jvm_held(conf: dict[str, str]) -> None:
    """Start the driver JVM (with ``conf``, as the session's builder would) and hold its optimizing compiler back
    before the session is built, which is a good part of a short command's compiling."""
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized(conf=SparkConf().setAll(list(conf.items())))
    jit.hold(SparkContext._gateway)


def package_zip(folder: str | Path | None = None) -> Path:
    """A zip of the lab_etl package this process imported, for executors' Python (``addPyFile``).

    Built afresh in ``folder`` so that executors run exactly the driver's code. By default that is a new temporary
    folder, removed when this process exits (the driver's file server reads the zip until then).
    """
    package = Path(__file__).resolve().parents[1]
    if folder is None:
        folder = tempfile.mkdtemp(prefix="lab_etl_pyfiles_")
        atexit.register(shutil.rmtree, folder, True)
    target = Path(folder) / "lab_etl.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(package.parent).as_posix())
    return target


def hadoop_fs(spark: SparkSession, path: str) -> tuple[Any, Any]:
    """Hadoop's FileSystem for ``path`` (local or ``s3a://``, with the session's settings) and the path as a Hadoop
    ``Path``."""
    jvm: Any = spark._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark._jsc.hadoopConfiguration()), hadoop_path  # type: ignore[attr-defined]


def warehouse_location(spark: SparkSession) -> str:
    """The warehouse a session was built for: an absolute local path or an ``s3a://`` URI."""
    return warehouse_uri(str(spark.conf.get("spark.sql.warehouse.dir", "")))


def warehouse_of(spark: SparkSession) -> Path:
    """The warehouse folder a local session was built for."""
    return Path(warehouse_location(spark))


def ensure_databases(
    spark: SparkSession, databases: tuple[str, ...] = DATABASES, *, location: str | None = None
) -> None:
    """Create the lakehouse databases when missing: ``<warehouse>/<database>.db`` (``location`` on Glue, where the
    Data Catalog has no warehouse folder of its own, e.g. ``s3://bucket/warehouse``).

    Locally the catalog lives in memory, so this runs once per session and costs no Spark job.
    """
    existing = {db.name for db in spark.catalog.listDatabases()}
    for database in databases:
        if database not in existing:
            where = f" LOCATION '{location.rstrip('/')}/{database}.db'" if location else ""
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {database}{where}")


def s3_endpoint_conf(endpoint_url: str) -> dict[str, str]:
    """Session configuration (``extra_conf`` of :func:`get_spark`) pointing ``s3a://`` at a non-AWS endpoint from
    the start: an ``s3a://`` warehouse is touched while the session is built, before :func:`use_s3_endpoint` could
    run. Credentials come from the environment (the JVM inherits it).

    Examples
    --------
    >>> s3_endpoint_conf("http://127.0.0.1:5000")["spark.hadoop.fs.s3a.endpoint"]
    'http://127.0.0.1:5000'
    """
    return {
        "spark.hadoop.fs.s3a.endpoint": endpoint_url,
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": str(endpoint_url.startswith("https")).lower(),
        "spark.hadoop.fs.s3a.change.detection.mode": "none",  # moto's ETags and versions are not S3's
    }


def use_s3_endpoint(spark: SparkSession, endpoint_url: str) -> None:
    """Point ``s3a://`` at a non-AWS S3 endpoint (a moto server, MinIO) for this session, with the credentials of
    this process's environment now (the JVM's environment was fixed when it started). Must run before the first
    ``s3a://`` access, since Hadoop caches file systems."""
    conf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]
    conf.set("fs.s3a.endpoint", endpoint_url)
    conf.set("fs.s3a.path.style.access", "true")
    conf.set("fs.s3a.connection.ssl.enabled", str(endpoint_url.startswith("https")).lower())
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    token = os.environ.get("AWS_SESSION_TOKEN")
    if key and secret:
        conf.set("fs.s3a.access.key", key)
        conf.set("fs.s3a.secret.key", secret)
        provider = "TemporaryAWSCredentialsProvider" if token else "SimpleAWSCredentialsProvider"
        if token:
            conf.set("fs.s3a.session.token", token)
        conf.set("fs.s3a.aws.credentials.provider", f"org.apache.hadoop.fs.s3a.{provider}")
    conf.set("fs.s3a.change.detection.mode", "none")  # moto's ETags and versions are not S3's
