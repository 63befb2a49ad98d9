"""The driver JVM's class archive: written by the set-up, named after what it was made from, used by every local
session, and never in the way (off on request, missing or stale means a plain start, and not a word on the
console)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab_etl.lakehouse import class_archive
from lab_etl.lakehouse.spark import spark_conf


def test_options_map_the_archive_and_keep_the_jvm_quiet(tmp_path: Path) -> None:
    options = class_archive.java_options(tmp_path / "a.jsa").split()
    assert f"-XX:SharedArchiveFile={tmp_path / 'a.jsa'}" in options
    # auto: an archive that does not fit the class path is ignored, not fatal; no CDS line reaches the console
    assert {"-Xshare:auto", "-Xlog:cds=off", "-Xlog:cds+dynamic=off"} <= set(options)


def test_no_archive_or_switched_off_means_a_plain_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(class_archive.ENV_SWITCH, raising=False)
    monkeypatch.setattr(class_archive, "archive_path", lambda: tmp_path / "not-written.jsa")
    assert class_archive.java_options() == ""
    (tmp_path / "not-written.jsa").write_bytes(b"archive")
    assert "not-written.jsa" in class_archive.java_options()
    assert "not-written.jsa" in spark_conf(tmp_path)["spark.driver.extraJavaOptions"]
    for off in ("0", "false", "off"):
        monkeypatch.setenv(class_archive.ENV_SWITCH, off)
        assert class_archive.java_options() == ""
        assert "SharedArchiveFile" not in spark_conf(tmp_path)["spark.driver.extraJavaOptions"]


def test_the_archive_is_named_after_java_pyspark_and_the_jars(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    jars = [tmp_path / f"{name}.jar" for name in ("delta", "hadoop-aws")]
    for jar in jars:
        jar.write_bytes(b"jar")
    monkeypatch.setattr(class_archive, "jar_paths", lambda: jars)
    monkeypatch.setattr(class_archive, "jars_dir", lambda: tmp_path)
    first = class_archive.archive_path()
    assert first.parent == tmp_path / "class-archives" and first.suffix == ".jsa"
    assert class_archive.archive_path() == first
    jars[0].write_bytes(b"a newer jar")  # another jar: another archive, the old one is simply not used
    assert class_archive.archive_path() != first
    # the same jar installed again (a virtualenv re-created at the same path): the JVM refuses an archive whose jars
    # have another modification time, so the name changes with it
    before = class_archive.archive_path()
    status = jars[1].stat()
    os.utime(jars[1], ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
    assert class_archive.archive_path() != before
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "another-jdk"))
    assert class_archive.archive_path() != first
    monkeypatch.delenv("JAVA_HOME")
    # the same pyspark in another virtualenv is another class path, which the JVM would not take the archive for
    import pyspark

    second = class_archive.archive_path()
    monkeypatch.setattr(pyspark, "__file__", str(tmp_path / "other-venv" / "pyspark" / "__init__.py"))
    assert class_archive.archive_path() != second


def test_the_set_up_deletes_the_archives_no_jvm_could_map_any_more(tmp_path: Path) -> None:
    classpath = tmp_path / "venv" / "pyspark" / "jars"
    classpath.mkdir(parents=True)
    jars = [classpath / name for name in ("spark-core.jar", "spark-sql.jar")]
    for jar in jars:
        jar.write_bytes(b"jar")
    java = class_archive._java()

    def stamp_lines() -> list[str]:
        return (
            [class_archive._java_stamp(java), "pyspark 3.5.4", f"classpath {classpath}"]
            + [class_archive._jar_stamp(jar) for jar in jars]
            + [f"{class_archive.DRIVER_CLASS_PATH}{tmp_path / 'delta.jar'}"]
        )

    archives = tmp_path / "class-archives"
    archives.mkdir()

    def archive(name: str, lines: list[str] | None) -> Path:
        path = archives / f"driver-{name}.jsa"
        path.write_bytes(b"archive")
        if lines is not None:
            path.with_suffix(".stamp").write_text("\n".join(lines) + "\n")
        return path

    current = archive("current", stamp_lines())
    kept = archive("kept", None)  # the one just written: never touched
    unstamped = archive("unstamped", None)  # written before stamps were kept: no name leads to it any more
    gone = archive("gone", [*stamp_lines()[:2], f"classpath {tmp_path / 'deleted-venv'}", stamp_lines()[-1]])
    # written while the jars went through spark.jars: the driver's class path had no jars of lab_etl's
    older = archive("older", [line for line in stamp_lines() if not line.startswith("driver class path")])
    in_progress = archives / ".driver-new.jsa.123.partial"
    in_progress.write_bytes(b"half")
    assert class_archive.prune(archives, keep=kept) == [gone, older, unstamped]
    assert current.is_file() and kept.is_file() and in_progress.is_file()
    assert not gone.with_suffix(".stamp").exists()
    # the same install reinstalled (new jar times) or with one jar more: its archive goes too
    status = jars[0].stat()
    os.utime(jars[0], ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
    assert class_archive.prune(archives, keep=kept) == [current]
    current = archive("current", stamp_lines())
    (classpath / "extra.jar").write_bytes(b"jar")
    assert class_archive.prune(archives, keep=kept) == [current]


def test_a_stale_or_broken_archive_is_ignored_without_a_word(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsa"
    broken.write_bytes(b"not an archive")
    java = class_archive._java()
    done = subprocess.run(
        [java, *class_archive.java_options(broken).split(), "-version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "cds" not in (done.stdout + done.stderr).lower() and "shar" not in done.stderr.replace("sharing", "")


_CHILD = """
import sys
from lab_etl.lakehouse.spark import get_spark, spark_conf
options = spark_conf(sys.argv[1])["spark.driver.extraJavaOptions"]
spark = get_spark(sys.argv[1], extra_conf={"spark.driver.extraJavaOptions": options + " " + sys.argv[2]})
assert spark.range(3).count() == 3
spark.stop()
"""


@pytest.mark.spark
def test_the_set_up_wrote_the_archive_and_a_session_loads_spark_from_it(tmp_path: Path) -> None:
    if not class_archive.enabled():
        pytest.skip(f"{class_archive.ENV_SWITCH} is off in this environment")
    archive = class_archive.archive_path()
    assert archive.is_file(), f"no class archive at {archive}: `lab-etl jars fetch` (make setup) writes it"
    loads = tmp_path / "class-load.txt"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "warehouse"), f"-Xlog:class+load=info:file={loads}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    spark_classes = [line for line in loads.read_text().splitlines() if " org.apache.spark.sql." in line]
    from_archive = sum("source: shared objects file (top)" in line for line in spark_classes)
    from_jars = sum("source: file:" in line for line in spark_classes)
    # the dynamic archive is the "top" layer; a JVM that refused it would read every class from the jars (the
    # classes counted in neither are the lambdas and proxies Spark's classes define at run time)
    assert from_archive > 1000 and from_archive > 10 * from_jars, (from_archive, from_jars)


def test_the_archive_is_moved_into_place_only_when_the_whole_child_is_gone() -> None:
    """The JVM writes the archive as it exits, seconds after its Python: :func:`class_archive.build` waits for the
    child's process group, not only for the child."""
    import time

    child = subprocess.Popen(["sh", "-c", "sleep 1.5 & exit 0"], start_new_session=True)
    child.wait(timeout=10)
    started = time.monotonic()
    class_archive._wait_for_group(child.pid, timeout=30)
    assert time.monotonic() - started > 1.0  # it waited for the sleeping grandchild
