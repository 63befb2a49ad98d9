"""``lab-etl report``: the HTML run report. Thin wiring over :mod:`lab_etl.report`.

Register it with ``cli.add_command(report)`` in :mod:`lab_etl.cli`.

Examples
--------
.. code-block:: console

    $ lab-etl report --warehouse warehouse --output reports/latest.html
    reports/latest.html
    $ lab-etl report --run 20261125T133452Z-5dbffe --warehouse warehouse --output run.html
"""

from __future__ import annotations

from pathlib import Path

import click

WAREHOUSE_HELP = "Warehouse folder of the embedded lakehouse (Delta tables + metastore)."


@click.command()
@click.option(
    "--run",
    "run_id",
    default="latest",
    show_default=True,
    help="Run id from lab_bronze.ingest_runs, or 'latest' for the run that started last.",
)
@click.option("--warehouse", default="warehouse", show_default=True, help=WAREHOUSE_HELP)
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="HTML file to write (its folder is created).",
)
@click.option(
    "--docs-dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Great Expectations Data Docs folder to link (default: <warehouse>/_data_docs).",
)
def report(run_id: str, warehouse: str, output: Path, docs_dir: Path | None) -> None:
    """Write a self-contained HTML report of one run: files, data quality, plate QC and a heat map per plate."""
    from lab_etl.cli import existing_warehouse
    from lab_etl.lakehouse.spark import get_spark
    from lab_etl.lakehouse.tables import attach_tables
    from lab_etl.report import build_report

    existing_warehouse(warehouse)
    spark = get_spark(warehouse, quick_start=True)  # a report reads one run's rows: a short command
    attach_tables(spark)
    click.echo(str(build_report(spark, run_id, output, docs_dir)))
