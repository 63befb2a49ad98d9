"""A landing that mixes good exports with every kind of bad input: the run finishes, each bad file is quarantined
with its reason and bytes, each good file is in bronze with all its readings."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from lab_etl.errors import ParseError
from lab_etl.parsers.registry import parse_bytes
from lab_etl.pipeline.run import ingest_landing

INSTRUMENTS = Path(__file__).resolve().parents[1] / "data" / "instruments"
#: errors/ holds files allotropy rejects; lab_etl reads this one (see tests/parsers/test_registry.py)
READABLE_ERRORS = {"lum_spectrum_columns.txt"}
GOOD = {
    "gen5 endpoint.txt": "agilent_gen5/endpoint_singleplate.txt",
    "Plättchen 7 – Lumineszenz (Kopie) µM.CSV": "bmg_mars/PHERAstar output file.CSV",
    "lum_spectrum_columns.txt": "moldev_softmax_pro/errors/lum_spectrum_columns.txt",
}
BIG_GARBAGE_BYTES = 50 * 1024 * 1024


def _error_corpus() -> dict[str, Path]:
    named = [*INSTRUMENTS.glob("*/errors/*"), *INSTRUMENTS.glob("*/*_error.*")]
    return {f"{p.parent.parent.name if p.parent.name == 'errors' else p.parent.name}__{p.name}": p for p in named}


def _hand_made(folder: Path) -> dict[str, str]:
    """Write the hand-made corruptions into ``folder``; return file name -> the words its reason must hold."""
    bmg = (INSTRUMENTS / "bmg_mars" / "PHERAstar output file.CSV").read_bytes()
    (folder / "truncated upload.CSV").write_bytes(bmg[: bmg.index(b"D,") + 20])
    (folder / "garbage.csv").write_bytes(os.urandom(4096))
    letter = "Dear lab,\nplease find the plate results attached.\nRegards\n"
    (folder / "mail.txt").write_bytes(letter.encode("utf-16"))
    envision = (INSTRUMENTS / "perkin_elmer_envision" / "PE_Envision_fluorescence_example02.csv").read_text()
    lines = envision.splitlines(keepends=True)
    gap = next(i for i, line in enumerate(lines) if line.startswith("5330484,2883838"))  # plate 2, row B
    (folder / "grid missing a row.csv").write_text("".join(lines[:gap] + lines[gap + 1 :]))
    (folder / "empty.csv").write_bytes(b"")
    with (folder / "huge.bin").open("wb") as out:
        for _ in range(BIG_GARBAGE_BYTES // (1024 * 1024)):
            out.write(os.urandom(1024 * 1024))
    return {
        "truncated upload.CSV": "truncated",
        "garbage.csv": "neither a text export nor an Excel workbook",
        "mail.txt": "no instrument parser recognises this file",
        "grid missing a row.csv": "7 rows",
        "empty.csv": "empty (0 bytes)",
        "huge.bin": "neither a text export nor an Excel workbook",
    }


@pytest.fixture()
def bad_landing(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    landing = tmp_path / "landing"
    good, bad = landing / "plates" / "2024 Q3 – runs", landing / "bad"
    good.mkdir(parents=True)
    bad.mkdir()
    for name, source in GOOD.items():
        shutil.copy(INSTRUMENTS / source, good / name)
    reasons = _hand_made(bad)
    for name, path in _error_corpus().items():
        if path.name not in READABLE_ERRORS:
            shutil.copy(path, bad / name)
            reasons[name] = ""
    return landing, reasons


def test_error_corpus_is_what_this_test_thinks() -> None:
    corpus = _error_corpus()
    assert len(corpus) >= 8
    for name, path in corpus.items():
        if path.name in READABLE_ERRORS:
            continue
        with pytest.raises(ParseError) as error:
            parse_bytes(path.read_bytes(), name)
        assert error.value.reason, name


@pytest.mark.spark
@pytest.mark.slow
def test_bad_inputs_are_quarantined_and_good_files_reach_bronze(lakehouse, bad_landing) -> None:  # type: ignore[no-untyped-def]
    spark = lakehouse
    landing, reasons = bad_landing
    summary = ingest_landing(spark, str(landing))

    assert (summary.files_seen, summary.files_parsed, summary.files_quarantined, summary.files_duplicate) == (
        len(GOOD) + len(reasons),
        len(GOOD),
        len(reasons),
        0,
    )
    log = {row.file_name: row for row in spark.table("lab_bronze.ingest_log").collect()}
    assert set(log) == set(GOOD) | set(reasons)
    for name, words in reasons.items():
        assert log[name].status == "quarantined", name
        assert log[name].reason and words in log[name].reason, (name, log[name].reason)

    quarantine = {row.file_name: row for row in spark.table("lab_bronze.quarantine").collect()}
    assert set(quarantine) == set(reasons)
    for name, row in quarantine.items():
        assert row.reason == log[name].reason and row.sha256 == log[name].sha256
        assert row.size_bytes == log[name].size_bytes
    assert quarantine["huge.bin"].size_bytes == BIG_GARBAGE_BYTES
    mail = (landing / "bad" / "mail.txt").read_bytes()
    assert bytes(quarantine["mail.txt"].content) == mail

    expected = {
        name: len(parse_bytes((INSTRUMENTS / source).read_bytes(), name).readings) for name, source in GOOD.items()
    }
    per_file = {
        row.source_file.rsplit("/", 1)[-1]: row.n
        for row in spark.sql(
            "SELECT source_file, count(*) AS n FROM lab_bronze.instrument_readings GROUP BY source_file"
        ).collect()
    }
    assert per_file == expected
    for name in GOOD:
        assert log[name].status == "parsed" and log[name].rows == expected[name]
    unicode_name = "Plättchen 7 – Lumineszenz (Kopie) µM.CSV"
    source = spark.sql(
        "SELECT DISTINCT source_file FROM lab_bronze.instrument_readings WHERE source_file LIKE '%Lumineszenz%'"
    ).first()
    assert source is not None and source[0].endswith("/2024 Q3 – runs/" + unicode_name)


def test_gen5_export_cut_mid_grid_is_refused_as_truncated() -> None:
    data = (INSTRUMENTS / "agilent_gen5" / "endpoint_singleplate.txt").read_bytes()
    # cut after a tab inside row C's NormLum line: the line still has 12 cells, rows D-H are gone
    cut = data.index(b"\t87.142\t", data.index(b"\nC\t")) + len(b"\t87.142\t")
    assert len(parse_bytes(data, "full.txt").readings) == 96
    with pytest.raises(ParseError, match="truncated"):
        readings = parse_bytes(data[:cut], "cut.txt").readings
        # what a partial parse gives today: rows A-C of a 96-well plate, silently
        raise AssertionError(f"parsed {len(readings)} readings from a truncated file")
