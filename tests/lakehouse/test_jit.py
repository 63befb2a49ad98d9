"""Quick start: a short command's JVM compiles with C1 alone until the command finds data to process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab_etl.lakehouse import jit

pytestmark = pytest.mark.spark


def _directives(spark: Any) -> str:
    return str(jit._diagnostic(spark.sparkContext._gateway, "compilerDirectivesPrint"))


def _c2_excluded(spark: Any) -> bool:
    """True when a directive of the JVM's stack excludes every method from C2 (what ``jcmd`` would print)."""
    blocks = _directives(spark).split("Directive:")
    return any(
        "matching: *.*" in b and "c2 directives:" in b and "Exclude:true" in b.split("c2 directives:")[1]
        for b in blocks
    )


@pytest.fixture()
def released(spark: Any) -> Iterator[Any]:
    """The suite's session, whose JVM is never left with C2 held back (the rest of the suite needs it)."""
    try:
        yield spark
    finally:
        jit.release(spark)
    assert not _c2_excluded(spark)


def test_hold_excludes_c2_until_release_removes_exactly_that_directive(released: Any) -> None:
    spark = released
    gateway = spark.sparkContext._gateway
    assert not _c2_excluded(spark) and not jit.held(spark)
    assert jit.hold(gateway) is True
    assert _c2_excluded(spark) and jit.held(spark)
    assert jit.hold(gateway) is False  # one directive per JVM, not a stack of them
    assert _directives(spark).count("Exclude:true") == 1
    assert jit.release(spark) is True
    assert not _c2_excluded(spark) and not jit.held(spark)
    assert jit.release(spark) is False  # nothing of lab_etl's left to remove: the JVM's default stays


def test_a_session_asked_for_without_quick_start_gets_c2_back(released: Any) -> None:
    from lab_etl.lakehouse.spark import get_spark, warehouse_location

    spark = released
    jit.hold(spark.sparkContext._gateway)
    assert get_spark(warehouse_location(spark), quick_start=True) is spark and jit.held(spark)
    assert get_spark(warehouse_location(spark)) is spark and not jit.held(spark) and not _c2_excluded(spark)


def test_the_switch_turns_it_off(released: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(jit.ENV_SWITCH, "0")
    assert jit.hold(released.sparkContext._gateway) is False
    assert not _c2_excluded(released)


def test_the_directive_is_shipped_with_the_package() -> None:
    text = Path(str(jit.DIRECTIVE)).read_text(encoding="utf-8")
    assert '"*.*"' in text and "c2" in text and "Exclude: true" in text


def test_a_run_keeps_c2_held_when_nothing_is_new_and_releases_it_for_new_files(
    released: Any, lakehouse: Any, tmp_path: Path
) -> None:
    from lab_etl.pipeline.run import run_pipeline

    spark = lakehouse
    landing = tmp_path / "landing"
    landing.mkdir()
    jit.hold(spark.sparkContext._gateway)
    nothing = run_pipeline(spark, str(landing))
    assert nothing.ingest.files_seen == 0
    assert jit.held(spark) and _c2_excluded(spark)

    (landing / "empty.csv").write_bytes(b"")  # a new file, quarantined: work all the same
    one = run_pipeline(spark, str(landing))
    assert (one.ingest.files_seen, one.ingest.files_quarantined) == (1, 1)
    assert not jit.held(spark) and not _c2_excluded(spark)


_FRESH = """
import sys
from lab_etl.lakehouse import jit
from lab_etl.lakehouse.spark import get_spark
spark = get_spark(sys.argv[1], quick_start=True)
printed = str(jit._diagnostic(spark.sparkContext._gateway, "compilerDirectivesPrint"))
held = jit.held(spark) and "Exclude:true" in printed
# the session has the settings get_spark gives it, though the JVM was started before the session
print(held, spark.conf.get("spark.sql.catalog.spark_catalog"), spark.conf.get("spark.sql.shuffle.partitions"))
"""


def test_a_new_jvm_is_held_before_its_session_is_built_with_the_sessions_settings(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop(jit.ENV_SWITCH, None)
    done = subprocess.run(
        [sys.executable, "-c", _FRESH, str(tmp_path / "warehouse")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == [
        "True",
        "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "4",
    ]  # nothing else on stdout: the JVM printed no directive line


@pytest.mark.parametrize("folder", ["with space", "it's here"])
def test_a_directive_under_a_path_with_a_space_or_quote_is_held_and_released(
    released: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    """The JVM's command parser splits unquoted arguments at spaces: a virtualenv under such a path must still hold."""
    moved = tmp_path / folder / "jit_hold_c2.json"
    moved.parent.mkdir()
    moved.write_text(Path(str(jit.DIRECTIVE)).read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(jit, "DIRECTIVE", moved)
    assert jit.hold(released.sparkContext._gateway) is True
    assert _c2_excluded(released)
    assert jit.release(released) is True and not _c2_excluded(released)


def test_a_path_with_both_quotes_is_refused_with_its_reason() -> None:
    with pytest.raises(ValueError, match="both kinds of quote"):
        jit._quoted("""/a "b" 'c'/d.json""")
