"""The run report: one self-contained HTML page per pipeline run, for the scientists who look at plates.

A report shows what a run did, read back from the lakehouse tables, results first:

- the QC of every plate the run touched (``lab_bronze.run_plates`` -> ``lab_gold.plate_qc``): Z', S/B, CVs, verdict;
- ONE heat map per plate (a PNG embedded as base64, so the page travels as one file), a panel per read of the plate;
- data quality from ``lab_bronze.dq_results`` when that table exists: one line per table (expectations, passed,
  failed), and only the failed expectations in full;
- the files the run quarantined, each with its reason, and what to do about them;
- every file the run saw, from ``lab_bronze.ingest_log``: parsed, quarantined or duplicate;
- the run's row of ``lab_bronze.ingest_runs`` (counts, start and end);
- a link to the Great Expectations Data Docs when they were built (``<warehouse>/_data_docs/index.html``).

Table names come from the contracts (:func:`lab_etl.contracts.contract`), not from this module.

All text is escaped (jinja2 autoescape): file names and reasons come from the landing area, i.e. from outside.
The collecting (:func:`collect_report`, Spark) is kept apart from the rendering (:func:`render_html`, pure), so that
the page can be tested without a warehouse.

Examples
--------
>>> from lab_etl.report import build_report                         # doctest: +SKIP
>>> build_report(spark, "latest", Path("run.html"))                  # doctest: +SKIP
PosixPath('run.html')
"""

from __future__ import annotations

import base64
import io
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab_etl.contracts import contract
from lab_etl.errors import ConfigError
from lab_etl.plates import geometry, parse_well, row_label
from lab_etl.transforms.qc import METRICS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

#: at most this many panels (reads: source file x measurement x channel) in one plate's heat map
MAX_PANELS = 6

#: what to do about a quarantined file, under the table of reasons
QUARANTINE_ADVICE = (
    "Fix or re-export each file as its reason says and put the new file in the landing folder: the next "
    "`lab-etl run` ingests it (a file with the same bytes is not read again). The original bytes stay in {table}."
)

#: the dq_results columns shown, each with the spellings accepted for it (the table is another helper's)
DQ_COLUMNS: dict[str, tuple[str, ...]] = {
    "table": ("table_name", "table"),
    "expectation": ("expectation_type",),
    "column": ("column_name", "column"),
    "success": ("success",),
    "unexpected": ("unexpected_count",),
    "unexpected %": ("unexpected_percent",),
    "reason": ("reason",),
}


@dataclass
class ReportTable:
    """A table as it is shown: column headings and rows of display strings."""

    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class PlateImage:
    """One plate's heat map: a PNG of one panel per read, and what was left out."""

    plate_id: str
    png: bytes
    panels: list[str]
    note: str = ""

    @property
    def data_uri(self) -> str:
        """The PNG as a ``data:`` URI for an ``<img src>``."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class RunReport:
    """Everything the page shows about one run, as display values (no Spark objects)."""

    run_id: str
    run: ReportTable
    files: ReportTable
    file_counts: dict[str, int]
    dq: ReportTable | None
    dq_note: str
    qc: ReportTable
    plates: list[PlateImage]
    plates_note: str
    data_docs: str | None
    generated_at: datetime
    #: per table: expectations evaluated, passed, failed (``dq`` then holds only the failed expectations)
    dq_tables: ReportTable | None = None
    quarantined: ReportTable = field(default_factory=lambda: ReportTable(["file", "reason"]))
    quarantine_advice: str = ""


@dataclass(frozen=True)
class HeatmapPanel:
    """One read of a plate: a value per canonical well name (None for a well without a number)."""

    title: str
    plate_format: int
    values: Mapping[str, float | None]


# ----------------------------------------------------------------------------------------------- heat maps


def plate_matrix(values: Mapping[str, float | None], plate_format: int) -> list[list[float]]:
    """Wells -> a rows x columns grid (NaN where a well has no number), in the plate's geometry.

    Raises :class:`~lab_etl.errors.ParseError` for a well outside ``plate_format``.

    Examples
    --------
    >>> grid = plate_matrix({"A01": 1.0, "B02": 2.5}, 6)
    >>> grid[0][0], grid[1][1], math.isnan(grid[0][1])
    (1.0, 2.5, True)
    """
    shape = geometry(plate_format)
    grid = [[math.nan] * shape.columns for _ in range(shape.rows)]
    for well, value in values.items():
        row, column = parse_well(well, plate_format)
        if value is not None and not math.isnan(value):
            grid[row - 1][column - 1] = float(value)
    return grid


def draw_plate(ax: Axes, values: Mapping[str, float | None], plate_format: int, title: str = "") -> None:
    """Draw one plate as a heat map on ``ax``: rows A.. top to bottom, columns 1.. left to right, grey = no value.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> draw_plate(ax, {"A01": 75.0, "H12": 3.0}, 96, "THIO-1 yield")
    >>> ax.get_title()
    'THIO-1 yield'
    >>> plt.close(fig)
    """
    import numpy as np

    shape = geometry(plate_format)
    grid = np.ma.masked_invalid(np.array(plate_matrix(values, plate_format), dtype=float))
    cmap = _colormap()
    image = ax.imshow(grid, cmap=cmap, aspect="equal", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    step = 1 if shape.columns <= 24 else 4
    ax.set_xticks(range(0, shape.columns, step), [str(c + 1) for c in range(0, shape.columns, step)], fontsize=7)
    ax.set_yticks(range(0, shape.rows, step), [row_label(r + 1) for r in range(0, shape.rows, step)], fontsize=7)
    ax.tick_params(length=0)
    if title:
        ax.set_title(title, fontsize=9)


def _colormap() -> Any:
    from matplotlib import colormaps

    return colormaps["viridis"].with_extremes(bad="#d9d9d9")


def plate_png(plate_id: str, panels: Sequence[HeatmapPanel], *, dpi: int = 90) -> bytes:
    """One PNG with a heat map panel per read of ``plate_id`` (matplotlib's Agg backend, no display needed)."""
    from matplotlib.figure import Figure

    count = max(1, len(panels))
    columns = min(count, 2)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(6.2 * columns, 3.9 * rows), dpi=dpi, layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index < len(panels):
            panel = panels[index]
            draw_plate(ax, panel.values, panel.plate_format, panel.title)
        else:
            ax.set_axis_off()
    figure.suptitle(plate_id, fontsize=11, fontweight="bold")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.1)
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------- collecting


def _table(name: str) -> str:
    """The ``database.table`` name of a contract's table (``ingest_runs`` -> ``lab_bronze.ingest_runs``)."""
    return contract(name).qualified_name


def resolve_run_id(spark: SparkSession, run_id: str) -> str:
    """``run_id`` checked against ``lab_bronze.ingest_runs``; ``"latest"`` is the run that started last.

    Raises :class:`~lab_etl.errors.ConfigError` naming the run when it is not in the run log.
    """
    from pyspark.sql import functions as F

    runs_table = _table("ingest_runs")
    if not spark.catalog.tableExists(runs_table):
        raise ConfigError(f"{runs_table} does not exist in this warehouse: run `lab-etl run` first")
    runs = spark.table(runs_table)
    if run_id == "latest":
        newest = runs.orderBy(F.col("started_at").desc(), F.col("run_id").desc()).select("run_id").first()
        if newest is None:
            raise ConfigError(f"{runs_table} is empty: run `lab-etl run` first")
        return str(newest[0])
    if runs.where(F.col("run_id") == run_id).limit(1).count() == 0:
        recent = [r[0] for r in runs.orderBy(F.col("started_at").desc()).select("run_id").limit(5).collect()]
        raise ConfigError(f"run '{run_id}' is not in {runs_table}; use --run latest or one of: {', '.join(recent)}")
    return run_id


def collect_report(spark: SparkSession, run_id: str, docs_dir: Path | None = None) -> RunReport:
    """Read what the report shows about ``run_id`` (or ``"latest"``) from the lakehouse tables.

    ``docs_dir`` is the Great Expectations Data Docs folder; by default ``<warehouse>/_data_docs``. The page links
    to its ``index.html`` only when that file exists.
    """
    run_id = resolve_run_id(spark, run_id)
    run = _run_table(spark, run_id)
    files, counts = _files_table(spark, run_id)
    dq = _dq_summary(spark, run_id)
    plates = _run_plates(spark, run_id)
    qc = _qc_table(spark, plates)
    images = _plate_images(spark, plates)
    if plates:
        judged = sum(1 for row in qc.rows if row[-2] != "not judged")
        plates_note = (
            f"{len(plates)} plate(s) touched by this run; {judged} of {len(qc.rows)} plate read(s) judged by their "
            "controls."
        )
    else:
        plates_note = "No new plates in this run: no step of it changed a plate's readings, layout or reagents."
    return RunReport(
        run_id=run_id,
        run=run,
        files=files,
        file_counts=counts,
        dq=dq.failed,
        dq_note=dq.note,
        dq_tables=dq.tables,
        qc=qc,
        plates=images,
        plates_note=plates_note,
        data_docs=_data_docs_link(spark, docs_dir),
        generated_at=datetime.now(UTC),
        quarantined=quarantined_table(files),
        quarantine_advice=QUARANTINE_ADVICE.format(table=_table("quarantine")),
    )


def _show(value: object, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _run_table(spark: SparkSession, run_id: str) -> ReportTable:
    from pyspark.sql import functions as F

    row = spark.table(_table("ingest_runs")).where(F.col("run_id") == run_id).first()
    assert row is not None  # resolve_run_id checked it
    return ReportTable(["field", "value"], [[name, _show(value)] for name, value in row.asDict().items()])


def _files_table(spark: SparkSession, run_id: str) -> tuple[ReportTable, dict[str, int]]:
    from pyspark.sql import functions as F

    columns = ["file_name", "status", "vendor", "engine", "rows", "reason", "path"]
    table = ReportTable(columns)
    counts = {"parsed": 0, "quarantined": 0, "duplicate": 0}
    log_table = _table("ingest_log")
    if not spark.catalog.tableExists(log_table):
        return table, counts
    order = F.when(F.col("status") == "quarantined", 0).when(F.col("status") == "duplicate", 1).otherwise(2)
    rows = spark.table(log_table).where(F.col("run_id") == run_id).orderBy(order, "path").collect()
    for row in rows:
        table.rows.append([_show(row[c]) for c in columns])
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return table, counts


def quarantined_table(files: ReportTable) -> ReportTable:
    """The quarantined files of a files table (columns ``file_name``, ``status``, ``reason``) with their reasons.

    Examples
    --------
    >>> rows = [["a.txt", "parsed", ""], ["b.txt", "quarantined", "0 B"]]
    >>> files = ReportTable(["file_name", "status", "reason"], rows)
    >>> quarantined_table(files).rows
    [['b.txt', '0 B']]
    """
    name, status, reason = (files.columns.index(c) for c in ("file_name", "status", "reason"))
    rows = [[row[name], row[reason]] for row in files.rows if row[status] == "quarantined"]
    return ReportTable(["file", "reason"], rows)


@dataclass
class DqSummary:
    """Data quality of one run as the report shows it: a line per table, the failed expectations, a summary."""

    tables: ReportTable | None
    failed: ReportTable | None
    note: str


def _dq_summary(spark: SparkSession, run_id: str) -> DqSummary:
    dq_table = _table("dq_results")
    if not spark.catalog.tableExists(dq_table):
        return DqSummary(None, None, f"No data-quality results: {dq_table} does not exist in this warehouse.")
    return dq_summary(spark.table(dq_table), run_id)


def dq_summary(dq_results: DataFrame, run_id: str) -> DqSummary:
    """The run's data-quality verdicts: one line per table (evaluated, passed, failed), the failed expectations in
    full, and a one-line summary.

    ``dq_results`` is read defensively: whichever of the columns in :data:`DQ_COLUMNS` exist are shown (``table_name``
    or ``table``, ``column_name`` or ``column`` ...); without a ``run_id`` column every row counts as the run's.
    Without a ``success`` column nothing can be called failed: every expectation is then listed.
    """
    from pyspark.sql import functions as F

    present = set(dq_results.columns)
    if "run_id" in present:
        dq_results = dq_results.where(F.col("run_id") == run_id)
    chosen = {label: next((c for c in names if c in present), None) for label, names in DQ_COLUMNS.items()}
    shown = {label: column for label, column in chosen.items() if column is not None}
    if not shown:
        return DqSummary(None, None, "No data-quality results: the table has none of the expected columns.")
    success = shown.get("success")
    table_column = shown.get("table")
    collected = dq_results.select(*shown.values()).orderBy(*[F.col(c) for c in shown.values()]).collect()
    if not collected:
        return DqSummary(None, None, f"No data-quality results for run {run_id}.")
    if not success:
        every = ReportTable(list(shown), [[_show(row[c]) for c in shown.values()] for row in collected])
        return DqSummary(None, every, f"{len(collected)} expectation(s) evaluated.")
    per_table: dict[str, list[int]] = {}
    for row in collected:
        counts = per_table.setdefault(str(row[table_column]) if table_column else "all tables", [0, 0])
        counts[0 if row[success] is not False else 1] += 1
    tables = ReportTable(
        ["table", "expectations", "passed", "failed"],
        [[name, str(ok + bad), str(ok), str(bad)] for name, (ok, bad) in sorted(per_table.items())],
    )
    failed_rows = [row for row in collected if row[success] is False]
    failed = None
    if failed_rows:
        labels = [label for label in shown if label != "success"]
        failed = ReportTable(labels, [[_show(row[shown[label]]) for label in labels] for row in failed_rows])
    note = f"{len(collected)} expectation(s) on {len(per_table)} table(s) evaluated, {len(failed_rows)} failed."
    return DqSummary(tables, failed, note)


def _run_plates(spark: SparkSession, run_id: str) -> list[str]:
    from pyspark.sql import functions as F

    plates_table = _table("run_plates")
    if not spark.catalog.tableExists(plates_table):
        return []
    rows = spark.table(plates_table).where(F.col("run_id") == run_id).select("plate_id").distinct()
    return sorted(r[0] for r in rows.collect())


def _verdict(qc_pass: bool | None) -> str:
    return "not judged" if qc_pass is None else ("pass" if qc_pass else "fail")


QC_COLUMNS = [
    "plate_id",
    "source_file",
    "measurement",
    "channel",
    "wells",
    *METRICS,
    "qc_pass",
    "qc_reasons",
]


def _qc_rows(spark: SparkSession, plates: list[str]) -> list[dict[str, Any]]:
    from pyspark.sql import functions as F

    qc_table = _table("plate_qc")
    if not plates or not spark.catalog.tableExists(qc_table):
        return []
    frame = spark.table(qc_table).where(F.col("plate_id").isin(plates))
    ordered = frame.select("source_sha256", *QC_COLUMNS).orderBy("plate_id", "source_file", "measurement", "channel")
    return [row.asDict() for row in ordered.collect()]


def _qc_table(spark: SparkSession, plates: list[str]) -> ReportTable:
    headings = ["plate", "file", "measurement", "channel", "wells", "Z'", "S/B", "CV+ %", "CV- %", "CV blank %"]
    table = ReportTable([*headings, "edge %", "verdict", "reasons"])
    for row in _qc_rows(spark, plates):
        cells = [_show(row[c]) for c in QC_COLUMNS]
        cells[1] = Path(str(row["source_file"])).name
        cells[-2] = _verdict(row["qc_pass"])
        table.rows.append(cells)
    return table


def _panel_title(read: Mapping[str, Any], qc: Mapping[str, Any] | None, several_files: bool) -> str:
    what = str(read["measurement"])
    if read["channel"] not in ("", None, read["measurement"]):
        what += f" [{read['channel']}]"
    if several_files:
        what = f"{Path(str(read['source_file'])).name}: {what}"
    if read.get("unit"):
        what += f" ({read['unit']})"
    if qc is None:
        return what
    z_prime = "–" if qc["z_prime"] is None else f"{qc['z_prime']:.2f}"
    ratio = "–" if qc["signal_to_background"] is None else f"{qc['signal_to_background']:.2f}"
    return f"{what}\nZ' {z_prime}  S/B {ratio}  QC {_verdict(qc['qc_pass'])}"


def _plate_images(spark: SparkSession, plates: list[str]) -> list[PlateImage]:
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    results_table = _table("plate_results")
    if not plates or not spark.catalog.tableExists(results_table):
        return []
    read_keys = ["source_sha256", "plate_id", "measurement", "channel"]
    results = spark.table(results_table).where(F.col("plate_id").isin(plates))
    # each well's last read: the endpoint of a kinetic read, read 1 of an endpoint one (as lab_gold.plate_qc)
    last = F.max("read_index").over(Window.partitionBy(*read_keys, "well"))
    wells = (
        results.withColumn("_last", last)
        .where(F.col("read_index") == F.col("_last"))
        .select(*read_keys, "source_file", "plate_format", "unit", "well", "value")
        .collect()
    )
    qc_by_read = {tuple(r[k] for k in read_keys): r for r in _qc_rows(spark, plates)}
    reads: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in wells:
        key = tuple(row[k] for k in read_keys)
        read = reads.setdefault(key, {**row.asDict(), "values": {}})
        read["values"][row["well"]] = row["value"]
    images = []
    for plate_id in plates:
        plate_reads = [reads[key] for key in sorted(k for k in reads if k[1] == plate_id)]
        if not plate_reads:
            images.append(PlateImage(plate_id, b"", [], f"no readings in {results_table}"))
            continue
        several_files = len({r["source_sha256"] for r in plate_reads}) > 1
        shown = plate_reads[:MAX_PANELS]
        panels = [
            HeatmapPanel(
                _panel_title(r, qc_by_read.get(tuple(r[k] for k in read_keys)), several_files),
                int(r["plate_format"]),
                r["values"],
            )
            for r in shown
        ]
        note = ""
        if len(plate_reads) > MAX_PANELS:
            note = f"{len(plate_reads) - MAX_PANELS} more read(s) of this plate not drawn (first {MAX_PANELS} shown)."
        images.append(PlateImage(plate_id, plate_png(plate_id, panels), [p.title for p in panels], note))
    return images


def warehouse_dir(spark: SparkSession) -> Path:
    """The local warehouse folder of the session (``spark.sql.warehouse.dir`` without its ``file:`` scheme)."""
    location = str(spark.conf.get("spark.sql.warehouse.dir"))
    for prefix in ("file://", "file:"):
        if location.startswith(prefix):
            location = location[len(prefix) :]
            break
    return Path(location)


def _data_docs_link(spark: SparkSession, docs_dir: Path | None) -> str | None:
    folder = docs_dir if docs_dir is not None else warehouse_dir(spark) / "_data_docs"
    index = folder / "index.html"
    return index.resolve().as_uri() if index.is_file() else None


# ----------------------------------------------------------------------------------------------- rendering


def render_html(report: RunReport) -> str:
    """The report as one HTML page; every value is escaped, images are inline ``data:`` URIs."""
    from jinja2 import Environment, StrictUndefined, select_autoescape

    template_text = (files("lab_etl") / "resources" / "report.html.j2").read_text(encoding="utf-8")
    environment = Environment(autoescape=select_autoescape(default=True), undefined=StrictUndefined)
    return environment.from_string(template_text).render(report=report)


def build_report(spark: SparkSession, run_id: str, output: Path, docs_dir: Path | None = None) -> Path:
    """Write the HTML report of ``run_id`` (or ``"latest"``) to ``output`` and return its path.

    Parameters
    ----------
    spark:
        A session on the warehouse (``lab_etl.lakehouse.spark.get_spark``).
    run_id:
        A run id of ``lab_bronze.ingest_runs``, or ``"latest"`` for the run that started last.
    output:
        The ``.html`` file to write; its folder is created.
    docs_dir:
        The Great Expectations Data Docs folder, default ``<warehouse>/_data_docs``.

    Raises
    ------
    ConfigError
        When the run is not in ``lab_bronze.ingest_runs`` (the message names it) or the file cannot be written.

    Examples
    --------
    >>> build_report(spark, "latest", Path("reports/run.html"))        # doctest: +SKIP
    PosixPath('reports/run.html')
    """
    page = render_html(collect_report(spark, run_id, docs_dir))
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {output}: {exc.strerror}") from None
    log.info("run report written to %s", output)
    return output
