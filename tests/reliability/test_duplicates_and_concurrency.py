"""The same bytes under several names, in one run and across runs; two ingests at once on overlapping landings."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lab_etl.contracts import contract
from lab_etl.lakehouse import delta
from lab_etl.parsers.registry import parse_bytes
from lab_etl.pipeline import run as pipeline
from lab_etl.pipeline.ingest_log import IngestSummary
from lab_etl.pipeline.run import ingest_landing

pytestmark = pytest.mark.spark

INSTRUMENTS = Path(__file__).resolve().parents[1] / "data" / "instruments"
GEN5 = "agilent_gen5/endpoint_singleplate.txt"
BMG = "bmg_mars/PHERAstar output file.CSV"
ENVISION = "perkin_elmer_envision/PE_Envision_absorbance_A450_example.csv"
NATURAL_KEY = "source_sha256, plate_id, well, measurement, channel, read_index"


def _count(name: str) -> int:
    return len(parse_bytes((INSTRUMENTS / name).read_bytes(), Path(name).name).readings)


def _duplicate_keys(spark: Any) -> int:
    return int(
        spark.sql(
            f"SELECT count(*) FROM (SELECT {NATURAL_KEY} FROM lab_bronze.instrument_readings "
            f"GROUP BY {NATURAL_KEY} HAVING count(*) > 1)"
        ).first()[0]
    )


def test_same_file_under_two_names_in_one_run_and_a_third_in_the_next(lakehouse, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spark = lakehouse
    landing = tmp_path / "landing"
    (landing / "monday").mkdir(parents=True)
    (landing / "tuesday").mkdir()
    shutil.copy(INSTRUMENTS / GEN5, landing / "monday" / "plate 1.txt")
    shutil.copy(INSTRUMENTS / GEN5, landing / "tuesday" / "plate 1 (re-upload).txt")
    first = ingest_landing(spark, str(landing), run_id="run-1")
    assert (first.files_parsed, first.files_duplicate, first.readings_written) == (1, 1, _count(GEN5))

    (landing / "wednesday").mkdir()
    shutil.copy(INSTRUMENTS / GEN5, landing / "wednesday" / "copy.txt")
    second = ingest_landing(spark, str(landing), run_id="run-2")
    assert (second.files_skipped, second.files_parsed, second.files_duplicate, second.readings_written) == (2, 0, 1, 0)

    log = {(row.run_id, row.file_name): row for row in spark.table("lab_bronze.ingest_log").collect()}
    assert set(log) == {("run-1", "plate 1.txt"), ("run-1", "plate 1 (re-upload).txt"), ("run-2", "copy.txt")}
    assert log[("run-1", "plate 1.txt")].status == "parsed"
    # in one run, the first path in sort order is read and the others point at it
    assert log[("run-1", "plate 1 (re-upload).txt")].reason.endswith("monday/plate 1.txt in this run")
    assert log[("run-2", "copy.txt")].status == "duplicate"
    assert log[("run-2", "copy.txt")].reason.endswith("monday/plate 1.txt, already ingested")
    assert len({row.sha256 for row in log.values()}) == 1
    readings = spark.table("lab_bronze.instrument_readings")
    assert readings.count() == _count(GEN5)
    assert {row.source_file.rsplit("/", 1)[-1] for row in readings.select("source_file").distinct().collect()} == {
        "plate 1.txt"
    }
    assert _duplicate_keys(spark) == 0


@pytest.mark.slow
def test_two_ingests_at_once_on_overlapping_landings(lakehouse, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    spark = lakehouse
    landing = tmp_path / "landing"
    (landing / "run1").mkdir(parents=True)
    (landing / "run2").mkdir()
    shutil.copy(INSTRUMENTS / GEN5, landing / "run1" / "gen5.txt")
    shutil.copy(INSTRUMENTS / BMG, landing / "run2" / "bmg.csv")
    shutil.copy(INSTRUMENTS / ENVISION, landing / "run2" / "envision.csv")
    for table in ("instrument_readings", "ingest_log", "quarantine", "ingest_runs"):
        delta.ensure_table(spark, contract(table))

    # Both runs must read the (empty) log before either writes, so both parse and MERGE landing/run2.
    both_listed = threading.Barrier(2, timeout=120)
    classify = pipeline.classify

    def classify_then_wait(*args: Any) -> Any:
        result = classify(*args)
        both_listed.wait()
        return result

    attempts: list[tuple[str, str]] = []  # (table, "ok" or the exception class)
    retry = delta._with_conflict_retry

    def recording_retry(session: Any, action: Callable[[], None], contract: Any) -> Any:
        def recorded() -> None:
            try:
                action()
            except Exception as exc:
                attempts.append((contract.table, type(exc).__name__))
                raise
            attempts.append((contract.table, "ok"))

        return retry(session, recorded, contract)

    monkeypatch.setattr(pipeline, "classify", classify_then_wait)
    monkeypatch.setattr(delta, "_with_conflict_retry", recording_retry)

    summaries: dict[str, IngestSummary] = {}
    errors: list[BaseException] = []

    def run(folder: Path, run_id: str) -> None:
        try:
            summaries[run_id] = ingest_landing(spark, str(folder), run_id=run_id)
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)
            both_listed.abort()

    threads = [
        threading.Thread(target=run, args=(landing, "run-all")),
        threading.Thread(target=run, args=(landing / "run2", "run-2")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and set(summaries) == {"run-all", "run-2"}, errors

    expected = {"gen5.txt": _count(GEN5), "bmg.csv": _count(BMG), "envision.csv": _count(ENVISION)}
    per_file = Counter(
        row.source_file.rsplit("/", 1)[-1] for row in spark.table("lab_bronze.instrument_readings").collect()
    )
    assert dict(per_file) == expected, "readings lost or doubled by concurrent ingests"
    assert _duplicate_keys(spark) == 0

    # every write that lost a race was retried until it committed
    readings_attempts = [outcome for table, outcome in attempts if table == "instrument_readings"]
    assert readings_attempts.count("ok") == 2, attempts
    assert all("Concurrent" in outcome for outcome in readings_attempts if outcome != "ok"), attempts

    # Both runs parsed run2's files (neither had seen the other's log), so those paths are logged once per run;
    # the readings are not doubled because the MERGE matches on the natural key.
    log = Counter((row.run_id, row.file_name, row.status) for row in spark.table("lab_bronze.ingest_log").collect())
    assert log == Counter(
        {
            ("run-all", "gen5.txt", "parsed"): 1,
            ("run-all", "bmg.csv", "parsed"): 1,
            ("run-all", "envision.csv", "parsed"): 1,
            ("run-2", "bmg.csv", "parsed"): 1,
            ("run-2", "envision.csv", "parsed"): 1,
        }
    )

    # a later run, alone, finds everything logged and writes no readings
    monkeypatch.setattr(pipeline, "classify", classify)
    after = ingest_landing(spark, str(landing), run_id="run-3")
    assert (after.files_seen, after.files_skipped, after.readings_written) == (3, 3, 0)
    assert spark.table("lab_bronze.instrument_readings").count() == sum(expected.values())
