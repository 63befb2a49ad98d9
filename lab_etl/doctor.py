"""``lab-etl doctor``: is this machine's runtime the one AWS Glue 5.0 runs (and can Spark load Delta)?"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from lab_etl.errors import ConfigError
from lab_etl.lakehouse.jars import FETCH_COMMAND, JARS, jars_dir, missing_jars

#: AWS Glue 5.0's runtime.
GLUE5 = {"python": "3.11", "java": "17", "pyspark": "3.5.4", "delta-spark": "3.3.0"}


@dataclass(frozen=True)
class Check:
    name: str
    found: str
    expected: str
    ok: bool
    fix: str = ""


def run_checks(
    *, start_spark: bool = True, warehouse: str = "warehouse", s3_endpoint: str | None = None
) -> list[Check]:
    """Every check, in order; with ``start_spark`` also a Delta write in a throwaway warehouse; last, what keeps
    concurrent writers of ``warehouse`` apart (:func:`write_protection_check`)."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    checks = [Check("python", python, GLUE5["python"], python == GLUE5["python"], "use Python 3.11 (Glue 5.0's)")]
    java = java_major_version()
    checks.append(
        Check(
            "java",
            java or "not found",
            GLUE5["java"],
            java == GLUE5["java"],
            "install OpenJDK 17 and put it first on PATH or set JAVA_HOME",
        )
    )
    for package in ("pyspark", "delta-spark"):
        found = _package_version(package)
        checks.append(
            Check(package, found, GLUE5[package], found == GLUE5[package], f"pip install {package}=={GLUE5[package]}")
        )
    missing = missing_jars()
    checks.append(
        Check(
            "jars",
            f"{len(JARS) - len(missing)}/{len(JARS)} in {jars_dir()}",
            f"{len(JARS)}/{len(JARS)}",
            not missing,
            f"run `{FETCH_COMMAND}`",
        )
    )
    if start_spark and all(c.ok for c in checks):
        checks.append(_delta_check())
    checks.append(write_protection_check(warehouse, s3_endpoint))
    return checks


def write_protection_check(warehouse: str, s3_endpoint: str | None = None, log_store_impl: str | None = None) -> Check:
    """Which protection keeps two writers of one table in ``warehouse`` apart (:mod:`lab_etl.lakehouse.locks`):
    a file lock, a DynamoDB lease lock (its table named, and reached when an endpoint is known), Delta's
    S3DynamoDBLogStore, or none (``LAB_ETL_WRITE_LOCK=off``, or a storage lab_etl cannot lock).

    Examples
    --------
    >>> write_protection_check("/data/warehouse").found
    'file lock (/data/warehouse/_locks/<db>.<table>.lock)'
    """
    from lab_etl.lakehouse.locks import (
        DYNAMODB_LEASE,
        FILE_LOCK,
        NONE,
        LockError,
        LockSettings,
        ensure_lock_table,
        protection_for,
    )

    expected = f"{FILE_LOCK}, {DYNAMODB_LEASE} or S3DynamoDBLogStore"
    try:
        settings = LockSettings.resolve()
    except ConfigError as exc:
        return Check("write protection", "invalid settings", expected, False, str(exc))
    protection = protection_for(warehouse, settings, log_store_impl)
    if protection == NONE:
        fix = (
            "unset LAB_ETL_WRITE_LOCK: with it off, two writers of one table on S3 can lose a commit"
            if settings.mode == "off"
            else "use a local folder or an s3:// / s3a:// warehouse"
        )
        return Check("write protection", f"none ({warehouse})", expected, False, fix)
    if protection == FILE_LOCK:
        folder = warehouse.removeprefix("file:").rstrip("/")
        return Check("write protection", f"{FILE_LOCK} ({folder}/_locks/<db>.<table>.lock)", expected, True)
    if protection != DYNAMODB_LEASE:
        return Check("write protection", protection, expected, True)
    endpoint = settings.endpoint or s3_endpoint
    found = f"{DYNAMODB_LEASE} (table {settings.table}, lease {settings.lease_s:g} s"
    if endpoint is None:  # AWS itself: the table comes from the workflow's stack; no call from here
        return Check("write protection", found + ")", expected, True)
    try:
        from lab_etl.aws import aws_client

        ensure_lock_table(aws_client("dynamodb", endpoint, settings.region), settings.table)
    except (LockError, ConfigError, OSError) as exc:
        fix = f"start the DynamoDB endpoint {endpoint} or fix LAB_ETL_LOCK_ENDPOINT"
        return Check("write protection", found + f", {endpoint} unreachable: {exc})", expected, False, fix)
    except Exception as exc:  # botocore's connection errors
        fix = f"start the DynamoDB endpoint {endpoint} or fix LAB_ETL_LOCK_ENDPOINT"
        return Check(
            "write protection", found + f", {endpoint} unreachable: {type(exc).__name__})", expected, False, fix
        )
    return Check("write protection", found + f", at {endpoint})", expected, True)


def java_major_version() -> str | None:
    java = shutil.which("java")
    if java is None:
        return None
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return None
    major = match.group(1)
    return match.group(2) if major == "1" else major


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _delta_check() -> Check:
    from lab_etl.lakehouse.spark import get_spark

    try:
        with tempfile.TemporaryDirectory(prefix="lab_etl_doctor_") as folder:
            spark = get_spark(folder, quick_start=True)  # a short command: C2 held back
            path = f"{folder}/probe"
            spark.range(3).write.format("delta").save(path)
            count = spark.read.format("delta").load(path).count()
            spark.stop()
    except Exception as exc:
        return Check(
            "delta write",
            f"failed: {str(exc).splitlines()[0][:120]}",
            "3 rows",
            False,
            f"check the jars (`{FETCH_COMMAND}`) and Java 17",
        )
    return Check("delta write", f"{count} rows", "3 rows", count == 3, "")
