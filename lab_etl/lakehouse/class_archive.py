"""A class-data-sharing archive for the local driver JVM: Spark's, Delta's and Hadoop's classes loaded once, kept.

Before its first job a local lab_etl command's JVM reads, parses and verifies some twenty thousand classes of Spark,
Scala, Delta and Hadoop: about 4 s of a 2-core machine on every ``lab-etl sql``, ``report`` or ``run``. Java's
dynamic class-data-sharing archive (JEP 350, Java 13+) keeps those classes in one file that a JVM maps at start.
``lab-etl jars fetch`` (the README's set-up) writes it once: a child process runs a small Delta workload
(:mod:`lab_etl.lakehouse.warm_up`) with ``-XX:ArchiveClassesAtExit`` (:func:`build`), and every later local session
starts with ``-XX:SharedArchiveFile`` (:func:`java_options`, used by :func:`lab_etl.lakehouse.spark.spark_conf`).

The archive is named after what it was made from: the Java runtime, pyspark's version and jars, and lab_etl's jars,
each jar with its size and modification time, as the JVM checks them (:func:`archive_path`). A new JDK, a jar
changed or a virtualenv installed again therefore finds no archive and starts as before, and the set-up writes a
new one and deletes those no JVM could map any more (:func:`prune`). The JVM itself also checks the archive against
its class path and ignores one that does not match (``-Xshare:auto``), without a word, since CDS logging is off.
``LAB_ETL_CLASS_ARCHIVE=0`` turns it off. It touches nothing but start-up: on Glue, and on a cluster's executors,
nothing changes.

Examples
--------
>>> "-Xshare:auto" in java_options(Path("/tmp/lab_etl.jsa"))
True
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab_etl.lakehouse.jars import jar_paths, jars_dir

#: Set to 0 (or "false") to start every JVM without the archive.
ENV_SWITCH = "LAB_ETL_CLASS_ARCHIVE"

#: The stamp line of the jars the local driver's class path ends with (``spark.driver.extraClassPath``).
DRIVER_CLASS_PATH = "driver class path "

#: How long the child that writes the archive may take (it runs a few small Delta writes).
BUILD_TIMEOUT_S = 900


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def _java() -> str:
    """The java binary Spark's launcher will run: ``$JAVA_HOME/bin/java``, else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    found = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    return os.path.realpath(found) if found else "java"


def archive_path() -> Path:
    """Where the archive for this Java, this pyspark install and set of jars lives (it may not exist yet)."""
    key = hashlib.sha256("\n".join(_stamp()).encode()).hexdigest()[:16]
    return jars_dir() / "class-archives" / f"driver-{key}.jsa"


def _stamp() -> list[str]:
    """What an archive is made from, one line each: the Java binary, pyspark, its jars folder and every jar.

    The JVM's class path is this pyspark's jars folder: an archive made from another install's (another virtualenv)
    would be refused, so each install gets its own. The JVM also takes the archive only if every jar of its class
    path has the size and modification time it had when the archive was written: a virtualenv re-created at the same
    path (a CI clone) reinstalls the same jars with new times, and must not find the old install's archive.
    """
    import pyspark

    lines = [_java_stamp(_java()), f"pyspark {pyspark.__version__}"]
    spark_jars = Path(pyspark.__file__).resolve().parent / "jars"
    lines.append(f"classpath {spark_jars}")
    lines += [_jar_stamp(p) for p in sorted(spark_jars.glob("*.jar"))] if spark_jars.is_dir() else []
    # the local driver's class path ends with these jars (spark.driver.extraClassPath): a class path of its own
    jars = jar_paths()
    lines.append(DRIVER_CLASS_PATH + os.pathsep.join(str(p) for p in jars))
    lines += [_jar_stamp(p) for p in jars]
    return lines


def _java_stamp(java: str) -> str:
    """The Java binary's line of a stamp: its path and modification time (empty when it is not there)."""
    return f"java {java} {os.stat(java).st_mtime_ns if os.path.exists(java) else ''}"


def _jar_stamp(jar: Path) -> str:
    """What the JVM checks of a class-path jar before it maps an archive: its path, size and modification time."""
    status = jar.stat()
    return f"jar {jar} {status.st_size} {status.st_mtime_ns}"


def _still_current(lines: list[str]) -> bool:
    """Whether an archive stamped with ``lines`` could still be mapped: its Java, class-path folder and jars unchanged.

    Paths with spaces are compared whole: a line's kind is its first word and its numbers its last ones.
    """
    recorded_jars: set[str] = set()
    folders: list[Path] = []
    if not any(line.startswith(DRIVER_CLASS_PATH) for line in lines):
        return False  # written while the jars were spark.jars: a class path no JVM starts with any more
    for line in lines:
        kind, _, rest = line.partition(" ")
        if kind == "java":
            java = rest.rpartition(" ")[0]
            if not os.path.exists(java) or _java_stamp(java) != line:
                return False
        elif kind == "classpath":
            folders.append(Path(rest))
        elif kind == "jar":
            jar = Path(rest.rsplit(" ", 2)[0])
            if not jar.is_file() or _jar_stamp(jar) != line:
                return False
            recorded_jars.add(str(jar))
    # a jar added to the class-path folder since is a changed class path too
    return all(folder.is_dir() and {str(p) for p in folder.glob("*.jar")} <= recorded_jars for folder in folders)


def prune(folder: Path, keep: Path) -> list[Path]:
    """Delete the archives in ``folder`` that no JVM would map any more (their install is gone or changed).

    Each archive is some 160 MB, and a machine that clones and installs the project again (a CI runner) would
    otherwise gather one per install. Archives without a stamp (written before stamps were kept) are unreachable
    by name and go too; ``keep`` and archives still being written (dot-files) stay.
    """
    removed = []
    for archive in sorted(folder.glob("driver-*.jsa")):
        if archive == keep:
            continue
        stamp = archive.with_suffix(".stamp")
        current = stamp.is_file() and _still_current(stamp.read_text().splitlines())
        if not current:
            archive.unlink(missing_ok=True)
            stamp.unlink(missing_ok=True)
            removed.append(archive)
    return removed


def java_options(archive: Path | None = None) -> str:
    """The driver JVM options that map the archive, or "" when it is off or not written yet."""
    if archive is None:
        if not enabled():
            return ""
        try:
            archive = archive_path()
        except Exception:  # no jars yet, no pyspark: start as before
            return ""
        if not archive.is_file():
            return ""
    return f"-XX:SharedArchiveFile={archive} -Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off"


def build(*, force: bool = False) -> Path:
    """Write the archive (unless it exists and ``force`` is False) and return its path.

    A child process runs :func:`lab_etl.lakehouse.warm_up.warm_up` with ``-XX:ArchiveClassesAtExit`` pointing at a
    temporary file; the JVM
    writes the archive as it exits, and the file is moved into place only once the child's whole process group has
    gone (the JVM outlives its Python by the seconds the dump takes).
    """
    target = archive_path()
    if target.is_file() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    work = Path(tempfile.mkdtemp(prefix="lab_etl_class_archive_"))
    env = dict(os.environ, **{ENV_SWITCH: "0"})
    command = [sys.executable, "-m", "lab_etl.lakehouse.warm_up", str(work / "warehouse"), str(partial)]
    try:
        child = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        output, _ = child.communicate(timeout=BUILD_TIMEOUT_S)
        _wait_for_group(child.pid)
        if child.returncode != 0 or not partial.is_file() or partial.stat().st_size == 0:
            tail = output.decode(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError("the JVM wrote no class archive: " + " | ".join(tail))
        target.with_suffix(".stamp").write_text("\n".join(_stamp()) + "\n")
        os.replace(partial, target)
        prune(target.parent, keep=target)
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return target


def _wait_for_group(group: int, timeout: float = 120.0) -> None:
    """Until no process of the process group ``group`` is left (the child's JVM included)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):  # gone, or no longer ours to signal
            return
        time.sleep(0.1)
