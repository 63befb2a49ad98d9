"""`lab-etl report`: the HTML run report of the demo run, `--run latest`, unknown runs, escaping and the empty cases."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from lab_etl.errors import ConfigError, ParseError
from lab_etl.report import (
    DqSummary,
    HeatmapPanel,
    PlateImage,
    ReportTable,
    RunReport,
    build_report,
    dq_summary,
    plate_matrix,
    plate_png,
    render_html,
)
from lab_etl.report_commands import report
from tests.analyst.conftest import LANDING, QUARANTINED_FILE

IMG = re.compile(r'<img class="heatmap" src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="heat map of plate ([^"]+)"')


_BUILT: dict[str, str] = {}


@pytest.fixture()
def demo_html(demo_lakehouse, demo_run_id: str, tmp_path_factory: pytest.TempPathFactory) -> str:  # type: ignore[no-untyped-def]
    """The report of the demo run, built once per run id."""
    if demo_run_id not in _BUILT:
        output = tmp_path_factory.mktemp("report") / "demo.html"
        assert build_report(demo_lakehouse, demo_run_id, output) == output
        _BUILT[demo_run_id] = output.read_text(encoding="utf-8")
    return _BUILT[demo_run_id]


@pytest.mark.spark
def test_demo_report_has_one_heat_map_per_plate_of_the_run(demo_html: str, demo_lakehouse) -> None:  # type: ignore[no-untyped-def]
    images = IMG.findall(demo_html)
    # the plates of the run, from the readings the instrument files of examples/landing gave
    expected = {
        r[0]
        for r in demo_lakehouse.sql(
            "SELECT DISTINCT r.plate_id FROM lab_bronze.instrument_readings r JOIN lab_bronze.ingest_log l "
            f"ON r.source_sha256 = l.sha256 WHERE l.path LIKE '%{LANDING.name}/instruments/%'"
        ).collect()
    }
    assert len(expected) == 9 and {"THIO-1", "Plate 1", "92A_4"} <= expected
    assert demo_html.count("<img") == len(images) == len(expected)
    assert sorted(plate for _, plate in images) == sorted(expected)
    for data, plate in images:
        png = base64.b64decode(data)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000, plate
    assert "9 plate(s) touched by this run; 5 of 13 plate read(s) judged by their controls." in demo_html


@pytest.mark.spark
def test_demo_report_lists_every_file_with_the_quarantine_reason(demo_html: str) -> None:
    files = re.search(r'<table id="files".*?</table>', demo_html, re.S)
    assert files is not None
    rows = re.findall(r'<tr class="(\w+)">(.*?)</tr>', files.group(0), re.S)
    statuses = [status for status, _ in rows]
    assert statuses.count("quarantined") == 1 and statuses.count("duplicate") == 1
    side_files = len([*(LANDING / "layouts").iterdir(), *(LANDING / "reference").iterdir()])
    assert statuses.count("parsed") == 8 + 2 + side_files  # instrument files, ELN exports, layouts, ChEMBL extracts
    quarantined = next(cells for status, cells in rows if status == "quarantined")
    assert QUARANTINED_FILE in quarantined
    assert "the export has no raw read data" in quarantined and "re-export" in quarantined
    assert '<span class="badge quarantined">1 quarantined</span>' in demo_html
    section = re.search(r'<table id="quarantined".*?</table>\s*<p id="quarantine-advice">(.*?)</p>', demo_html, re.S)
    assert section is not None and QUARANTINED_FILE in section.group(0) and "re-export" in section.group(0)
    assert "the next `lab-etl run` ingests it" in section.group(1) and "lab_bronze.quarantine" in section.group(1)


@pytest.mark.spark
def test_demo_report_shows_the_plate_qc_table(demo_html: str) -> None:
    qc = re.search(r'<table id="qc".*?</table>', demo_html, re.S)
    assert qc is not None
    rows = re.findall(r'<tr class="([\w ]+)">(.*?)</tr>', qc.group(0), re.S)
    assert len(rows) == 13  # 13 plate reads: THIO-1 x 3 measurements, the MD plate x 3 wavelengths, 7 more
    passed = [cells for verdict, cells in rows if verdict == "pass"]
    assert len(passed) == 1 and "<td>Plate 1</td>" in passed[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", passed[0])
    assert cells[5:7] == ["0.956", "41.2"]  # Z', S/B
    # the plates with controls (examples/SOURCES.md): Gen5 passes, SoftMax x 3 and Kaleido fail, the rest have none
    assert [verdict for verdict, _ in rows].count("fail") == 4
    assert sum(verdict == "not judged" for verdict, _ in rows) == 8
    # results first: the plates come before data quality, the files and the run
    assert (
        demo_html.index("<h2>Plates</h2>")
        < demo_html.index("<h2>Data quality</h2>")
        < demo_html.index("<h2>Files</h2>")
    )
    assert "No data-quality results" in demo_html or '<table id="dq-tables"' in demo_html


@pytest.mark.spark
def test_run_latest_picks_the_newest_run(demo_lakehouse, warehouse: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    newest = demo_lakehouse.sql(
        "SELECT run_id FROM lab_bronze.ingest_runs ORDER BY started_at DESC, run_id DESC LIMIT 1"
    ).first()[0]
    output = tmp_path / "out" / "latest.html"
    result = CliRunner().invoke(report, ["--run", "latest", "--warehouse", str(warehouse), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(output)
    assert f"<h1>Run {newest}</h1>" in output.read_text(encoding="utf-8")


@pytest.mark.spark
def test_an_unknown_run_is_a_config_error_naming_it(demo_lakehouse, warehouse: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    output = tmp_path / "never.html"
    result = CliRunner().invoke(
        report, ["--run", "20000101T000000Z-nosuch", "--warehouse", str(warehouse), "--output", str(output)]
    )
    assert isinstance(result.exception, ConfigError)
    assert "run '20000101T000000Z-nosuch' is not in lab_bronze.ingest_runs" in str(result.exception)
    assert "--run latest" in str(result.exception) and not output.exists()


@pytest.mark.spark
def test_data_docs_are_linked_when_built(demo_lakehouse, demo_run_id: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "_data_docs"
    docs.mkdir()
    (docs / "index.html").write_text("<html></html>", encoding="utf-8")
    html = build_report(demo_lakehouse, demo_run_id, tmp_path / "r.html", docs).read_text(encoding="utf-8")
    assert f'<a href="{(docs / "index.html").as_uri()}">Great Expectations Data Docs</a>' in html


@pytest.mark.spark
def test_dq_results_are_summed_per_table_and_only_failures_listed(spark) -> None:  # type: ignore[no-untyped-def]
    frame = spark.createDataFrame(
        [
            ("run-1", "lab_gold.plate_qc", "expect_column_values_to_be_between", "z_prime", True, 0),
            ("run-1", "lab_gold.plate_qc", "expect_column_values_to_not_be_null", "plate_id", False, 3),
            ("run-1", "lab_silver.reagents", "expect_column_values_to_not_be_null", "reagent_key", True, 0),
            ("run-2", "lab_gold.plate_qc", "expect_column_values_to_not_be_null", "plate_id", True, 0),
        ],
        "run_id string, table string, expectation_type string, column string, success boolean, unexpected_count int",
    )
    summary = dq_summary(frame, "run-1")
    assert summary.note == "3 expectation(s) on 2 table(s) evaluated, 1 failed."
    assert summary.tables is not None and summary.tables.rows == [
        ["lab_gold.plate_qc", "2", "1", "1"],
        ["lab_silver.reagents", "1", "1", "0"],
    ]
    assert summary.failed is not None and summary.failed.columns == ["table", "expectation", "column", "unexpected"]
    assert summary.failed.rows == [["lab_gold.plate_qc", "expect_column_values_to_not_be_null", "plate_id", "3"]]
    assert dq_summary(frame, "run-9") == DqSummary(None, None, "No data-quality results for run run-9.")
    assert dq_summary(frame.select("run_id"), "run-1").note.endswith("has none of the expected columns.")


def _report(**changes: object) -> RunReport:
    base = RunReport(
        run_id="r1",
        run=ReportTable(["field", "value"], [["run_id", "r1"]]),
        files=ReportTable(["file_name", "status", "reason"], []),
        file_counts={"parsed": 0, "quarantined": 0, "duplicate": 0},
        dq=None,
        dq_note="No data-quality results: lab_bronze.dq_results does not exist in this warehouse.",
        qc=ReportTable(["plate"], []),
        plates=[],
        plates_note="No new plates in this run: no step of it changed a plate's readings, layout or reagents.",
        data_docs=None,
        generated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def test_a_run_without_new_plates_says_so() -> None:
    html = render_html(_report())
    assert "No new plates in this run" in html and "<img" not in html
    assert "This run logged no new landing files." in html
    assert "No data-quality results" in html and "No Great Expectations Data Docs" in html


def test_every_text_is_escaped() -> None:
    evil = '<script>alert("x")</script>'
    files = ReportTable(["file_name", "status", "reason"], [[f"{evil}.csv", "quarantined", f"bad & {evil}"]])
    plate = PlateImage(f'P"1{evil}', plate_png("P1", [HeatmapPanel("yield", 96, {"A01": 1.0})]), ["yield"])
    html = render_html(_report(run_id=evil, files=files, plates=[plate]))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;.csv" in html and "bad &amp; &lt;script&gt;" in html
    assert 'alt="heat map of plate P&#34;1&lt;script&gt;' in html


def test_the_heat_map_grid_follows_the_plate_geometry() -> None:
    grid = plate_matrix({"A01": 75.0, "H12": 3.0, "D07": None}, 96)
    assert (len(grid), len(grid[0])) == (8, 12)
    assert (grid[0][0], grid[7][11]) == (75.0, 3.0)
    assert sum(v == v for row in grid for v in row) == 2  # NaN != NaN: the other 94 wells are empty
    big = plate_matrix({"AF48": 1.0}, 1536)
    assert (len(big), len(big[0]), big[31][47]) == (32, 48, 1.0)
    with pytest.raises(ParseError, match="outside a 96-well plate"):
        plate_matrix({"I01": 1.0}, 96)


def test_docstring_examples_run() -> None:
    import doctest

    import lab_etl.report

    result = doctest.testmod(lab_etl.report, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 6


def test_results_come_first_then_quality_then_quarantine_with_what_to_do() -> None:
    files = ReportTable(
        ["file_name", "status", "reason"],
        [["bad.txt", "quarantined", "no raw read data; re-export"], ["ok.csv", "parsed", ""]],
    )
    dq_tables = ReportTable(["table", "expectations", "passed", "failed"], [["lab_gold.plate_qc", "5", "4", "1"]])
    failed = ReportTable(["table", "expectation"], [["lab_gold.plate_qc", "expect_column_values_to_not_be_null"]])
    quarantined = ReportTable(["file", "reason"], [["bad.txt", "no raw read data; re-export"]])
    html = render_html(
        _report(
            files=files, dq=failed, dq_tables=dq_tables, quarantined=quarantined, quarantine_advice="Fix it, land it."
        )
    )
    order = [html.index(f"<h2>{title}</h2>") for title in ("Plates", "Data quality", "Quarantined files", "Files")]
    assert order == sorted(order) and html.index("<h2>The run</h2>") > order[-1]
    assert '<tr class="fail"><td>lab_gold.plate_qc</td>' in html and "<h3>Failed expectations</h3>" in html
    quarantine = html[order[2] : order[3]]
    assert "bad.txt" in quarantine and "re-export" in quarantine and "Fix it, land it." in quarantine
    assert "This run quarantined no file." in render_html(_report())
