"""A whole lab's landing: ``<landing>/instruments.yaml`` names the instrument of each prefix, so families only the
allotropy engine reads (qPCR, HPLC) are ingested beside plate readers detected by content, in one run."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from lab_etl.errors import ConfigError
from lab_etl.parsers.registry import parse_bytes
from lab_etl.pipeline.landing import ROUTING_FILE, LandingFile, Listing, Route, Routing, parse_routing

NAMES = {"appbio_quantstudio", "cfxmaestro", "benchling_chromeleon", "agilent_gen5", "bmg_mars"}

ROUTES = """\
# each instrument PC syncs into its own prefix
routes:
  qpcr/quantstudio-7/: appbio_quantstudio
  qpcr/cfx-*/*.csv: cfxmaestro
  hplc/: benchling_chromeleon
"""


# ------------------------------------------------------------------------------------ the routing file, pure


def test_routes_prefixes_and_globs_first_match_wins() -> None:
    routing = parse_routing(ROUTES, "instruments.yaml", NAMES, root="s3a://lab/landing")
    assert routing.routes == (
        Route("qpcr/quantstudio-7/", "appbio_quantstudio"),
        Route("qpcr/cfx-*/*.csv", "cfxmaestro"),
        Route("hplc/", "benchling_chromeleon"),
    )
    vendor = routing.vendor_for
    assert vendor("s3a://lab/landing/qpcr/quantstudio-7/2026/run 1.txt") == "appbio_quantstudio"
    assert vendor("s3a://lab/landing/qpcr/cfx-2/run.csv") == "cfxmaestro"
    assert vendor("s3a://lab/landing/qpcr/cfx-2/run.xlsx") is None  # the glob says .csv
    assert vendor("s3a://lab/landing/hplc") == "benchling_chromeleon"
    assert vendor("s3a://lab/landing/hplc-old/a.json") is None  # a prefix is a folder, not a string prefix
    assert vendor("s3a://lab/landing/plates/p1.csv") is None  # unrouted: detected by content
    first = parse_routing("routes:\n  qpcr/a.txt: cfxmaestro\n  qpcr/: appbio_quantstudio\n", "r", NAMES)
    assert first.vendor_for("qpcr/a.txt") == "cfxmaestro" and first.vendor_for("qpcr/b.txt") == "appbio_quantstudio"


def test_a_bad_entry_is_named_with_the_valid_names() -> None:
    text = "routes:\n  qpcr/: quantstudio\n  hplc/: benchling_chromeleon\n  ../other/: bmg_mars\n  eln/: bmg_mars\n"
    with pytest.raises(ConfigError) as error:
        parse_routing(text, "s3a://lab/landing/instruments.yaml", NAMES)
    message = str(error.value)
    assert message.startswith("s3a://lab/landing/instruments.yaml: ")
    assert "entry 'qpcr/: quantstudio' names no instrument (did you mean appbio_quantstudio?)" in message
    assert "valid names (lab-etl instruments): agilent_gen5, appbio_quantstudio, benchling_chromeleon" in message
    assert "entry '../other/: bmg_mars': the path must be relative to the landing" in message
    assert "entry 'eln/: bmg_mars': eln/ holds no instrument files" in message
    assert "hplc/" not in message  # the good entry is not blamed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("routes: [qpcr/: x\n", "not valid YAML"),
        ("qpcr/: appbio_quantstudio\n", "expected a mapping 'routes:'"),
        ("routes:\n  qpcr/: appbio_quantstudio\nfolders: true\n", "unknown key(s) folders"),
        ("routes:\n", "'routes' is empty or not a mapping"),
        ("routes:\n  /abs/: appbio_quantstudio\n", "relative to the landing"),
        ("routes:\n  qpcr/: [appbio_quantstudio]\n", "names no instrument"),
        ("", "expected a mapping 'routes:'"),
    ],
)
def test_a_broken_routing_file_is_one_clear_error(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=r"^instruments\.yaml: ") as error:
        parse_routing(text, "instruments.yaml", NAMES)
    assert expected in str(error.value)


def test_the_run_report_says_what_each_route_matched() -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    root = "file:/lab"
    files = [LandingFile(f"{root}/{name}", 10, now) for name in ("qpcr/quantstudio-7/a.txt", "plates/p.csv")]
    listing = Listing(root, files, routing=parse_routing(ROUTES, ROUTING_FILE, NAMES, root=root), routing_file=files[0])
    assert listing.routing_lines() == [
        "instruments.yaml: 3 route(s), 1 of 2 instrument file(s) routed, the rest detected by content",
        "qpcr/quantstudio-7/ -> appbio_quantstudio: 1 file(s)",
        "qpcr/cfx-*/*.csv -> cfxmaestro: 0 file(s) (matches no file: is the path right?)",
        "hplc/ -> benchling_chromeleon: 0 file(s) (matches no file: is the path right?)",
    ]
    assert Routing("").vendor_for("anything") is None


# ------------------------------------------------------------------------------------ one run, Spark

#: (file in tests/data, where the lab syncs it, the instrument that reads it: routed or detected)
LAB = [
    ("instruments/qpcr_appbio/appbio_quantstudio_example01.txt", "qpcr/quantstudio-7/run01.txt", "appbio_quantstudio"),
    ("instruments/qpcr_appbio/example01.csv", "qpcr/cfx-1/example01.csv", "cfxmaestro"),
    ("instruments/agilent_gen5/endpoint_singleplate.txt", "plates/gen5/endpoint_singleplate.txt", None),
    (
        "instruments/perkin_elmer_envision/PE_Envision_absorbance_A450_example.csv",
        "plates/envision/PE_Envision_absorbance_A450_example.csv",
        None,
    ),
]
HPLC = ("routing/hplc_chromeleon/chromeleon_example_null_device_info.json", "hplc/chromeleon/seq1.json")


@pytest.fixture()
def lab_landing(tmp_path: Path, data_dir: Path) -> Path:
    landing = tmp_path / "landing"
    for source, target, _ in [*LAB, (*HPLC, None)]:
        (landing / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / source, landing / target)
    (landing / ROUTING_FILE).write_text(ROUTES)
    return landing


@pytest.mark.spark
def test_one_run_ingests_a_mixed_lab_landing(lakehouse, lab_landing: Path, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    from lab_etl.pipeline.run import run_pipeline

    spark = lakehouse
    result = run_pipeline(spark, str(lab_landing))

    root = lab_landing.as_posix() + "/"
    log = {r.path.split(root, 1)[1]: r for r in spark.table("lab_bronze.ingest_log").collect()}
    assert ROUTING_FILE not in log  # configuration, not data: reported, never parsed or logged as a file
    assert {name: log[name].status for _, name, _ in LAB} == {name: "parsed" for _, name, _ in LAB}
    readings = spark.table("lab_bronze.instrument_readings")
    for source, target, vendor in LAB:
        direct = parse_bytes((data_dir / source).read_bytes(), target.rsplit("/", 1)[-1], vendor=vendor)
        rows = readings.where(F.col("source_file").endswith("/" + target)).collect()
        assert log[target].vendor == direct.parser and log[target].rows == len(direct) == len(rows), target
        assert {r.parser for r in rows} == {direct.parser}
        assert Counter((r.plate_id, r.well, r.measurement, r.channel, r.read_index, r.value) for r in rows) == Counter(
            (d.plate_id, d.well, d.measurement, d.channel, d.read_index, d.value) for d in direct.readings
        ), target
    assert log["qpcr/quantstudio-7/run01.txt"].vendor == "allotropy:appbio_quantstudio"
    assert log["qpcr/cfx-1/example01.csv"].vendor == "allotropy:cfxmaestro"

    # The HPLC export reaches allotropy's Chromeleon reader through the route (not "no instrument parser
    # recognises"); its injections sit at autosampler positions (P1:A1), not plate wells, and lab_etl's readings
    # are well readings, so it is quarantined with that reason until chromatograms get a table of their own.
    hplc = log[HPLC[1]]
    assert hplc.status == "quarantined"
    assert hplc.reason == "the allotropy:benchling_chromeleon parser found no well readings in this file"

    notes = [line for step, line in result.notes if step == "routing"]
    assert notes[0] == "instruments.yaml: 3 route(s), 3 of 5 instrument file(s) routed, the rest detected by content"
    assert result.ingest.files_seen == 5 and result.ingest.files_parsed == 4


@pytest.mark.spark
def test_a_broken_routing_file_stops_the_run_before_any_write(lakehouse, lab_landing: Path) -> None:  # type: ignore[no-untyped-def]
    from lab_etl.pipeline.run import run_pipeline

    (lab_landing / ROUTING_FILE).write_text("routes:\n  qpcr/quantstudio-7/: quantstudio\n")
    with pytest.raises(ConfigError, match=r"instruments.yaml: entry 'qpcr/quantstudio-7/: quantstudio' names no"):
        run_pipeline(lakehouse, str(lab_landing))
    assert lakehouse.sql("SHOW TABLES IN lab_bronze").count() == 0
