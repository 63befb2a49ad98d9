"""The JVM jars lab_etl needs beside pip's pyspark, fetched once from Maven Central with Maven.

Glue 5.0 ships these jars itself (``--datalake-formats delta``); locally they live in one cache folder,
``~/.cache/lab_etl/jars`` unless ``LAB_ETL_JARS_DIR`` says otherwise. ``lab-etl jars fetch`` (run by the
README's set-up) downloads them with ``mvn dependency:copy``, which verifies Maven Central's checksums;
after that everything runs offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lab_etl.errors import ConfigError

FETCH_COMMAND = "lab-etl jars fetch"


@dataclass(frozen=True)
class MavenJar:
    """One Maven artifact, copied without its transitive dependencies (pip's pyspark already has those)."""

    group: str
    artifact: str
    version: str
    purpose: str

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"

    @property
    def file_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"


#: Matched to AWS Glue 5.0: Spark 3.5.4 / Scala 2.12, Hadoop 3.3.4 (pyspark's hadoop-client), Delta 3.3.0.
JARS: tuple[MavenJar, ...] = (
    MavenJar("io.delta", "delta-spark_2.12", "3.3.0", "Delta Lake for Spark 3.5 (Glue 5.0's Delta version)"),
    MavenJar("io.delta", "delta-storage", "3.3.0", "Delta Lake's log store, needed by delta-spark"),
    MavenJar("org.apache.hadoop", "hadoop-aws", "3.3.4", "s3a:// file system, same Hadoop as pyspark 3.5.4"),
    MavenJar("com.amazonaws", "aws-java-sdk-bundle", "1.12.262", "the AWS SDK hadoop-aws 3.3.4 was built against"),
)


def jars_dir() -> Path:
    """The folder the jars are cached in."""
    return Path(os.environ.get("LAB_ETL_JARS_DIR", Path.home() / ".cache" / "lab_etl" / "jars")).expanduser()


def missing_jars(folder: Path | None = None) -> list[MavenJar]:
    folder = folder or jars_dir()
    return [jar for jar in JARS if not (folder / jar.file_name).is_file()]


def jar_paths(folder: Path | None = None) -> list[Path]:
    """Paths of every jar, raising :class:`ConfigError` naming the fix when any is missing."""
    folder = folder or jars_dir()
    missing = missing_jars(folder)
    if missing:
        names = ", ".join(jar.coordinate for jar in missing)
        raise ConfigError(f"JVM jars missing from {folder}: {names}. Run `{FETCH_COMMAND}` once (needs Maven).")
    return [folder / jar.file_name for jar in JARS]


def fetch_jars(folder: Path | None = None, *, quiet: bool = True) -> list[Path]:
    """Download the missing jars into ``folder`` with ``mvn dependency:copy``; return every jar's path."""
    folder = folder or jars_dir()
    folder.mkdir(parents=True, exist_ok=True)
    todo = missing_jars(folder)
    if todo:
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ConfigError(
                "Maven (`mvn`) is needed once to fetch the Delta and S3 jars; install it (apt-get install maven)"
            )
        for jar in todo:
            command = [mvn, "-B", "dependency:copy", f"-Dartifact={jar.coordinate}", f"-DoutputDirectory={folder}"]
            if quiet:
                command.insert(1, "-q")
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
                raise ConfigError(f"mvn could not fetch {jar.coordinate}: " + " | ".join(tail))
    return jar_paths(folder)
