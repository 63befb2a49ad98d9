"""``lab-etl``: the command line. Each command parses its options and calls the library; no logic lives here."""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from lab_etl import __version__
from lab_etl.errors import ConfigError, LabEtlError

console = Console(stderr=True)
WAREHOUSE_HELP = "Warehouse of the lakehouse: a folder or an s3a:// prefix (its Delta tables are the catalog)."
S3_ENDPOINT_HELP = (
    "S3 endpoint other than AWS (moto, MinIO) for s3a:// landings and warehouses; also the DynamoDB endpoint of the "
    "write locks of an s3a:// warehouse (moto serves both on one port)."
)


def main() -> None:
    """Entry point: run the command group, turning lab_etl errors into one clear line and exit code 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except LabEtlError as exc:
        # one line however long: a wrapped message reads as several errors
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except SystemExit:
        raise


@click.group()
@click.version_option(__version__, prog_name="lab-etl")
def cli() -> None:
    """lab_etl: raw laboratory files to governed, queryable Delta Lake tables."""


@cli.command()
@click.option("--warehouse", default="warehouse", show_default=True, help="Warehouse whose write protection to report.")
@click.option("--s3-endpoint", default=None, help="S3 (and DynamoDB) endpoint other than AWS, e.g. a moto server.")
def doctor(warehouse: str, s3_endpoint: str | None) -> None:
    """Check Python, Java, Spark, Delta, the jars and what protects concurrent writers; exit 0 only when all are
    right."""
    from lab_etl.doctor import run_checks

    checks = run_checks(warehouse=warehouse, s3_endpoint=s3_endpoint)
    table = Table("check", "found", "expected", "ok")
    for check in checks:
        table.add_row(check.name, check.found, check.expected, "[green]yes[/green]" if check.ok else "[red]NO[/red]")
    Console().print(table)
    failed = [c for c in checks if not c.ok]
    for check in failed:
        console.print(f"[red]fix:[/red] {check.name}: {check.fix}", highlight=False)
    sys.exit(1 if failed else 0)


def check_landing(landing: str) -> None:
    """Raise :class:`ConfigError` unless ``landing`` is an existing local folder (``s3a://`` ... prefixes pass).

    Runs before Spark starts, so that a mistyped landing leaves no warehouse behind.
    """
    if "://" in landing and not landing.startswith("file:"):
        return
    path = Path(landing.removeprefix("file:").removeprefix("//")).expanduser()
    if not path.exists():
        raise ConfigError(
            f"the landing folder {landing} does not exist; pass --landing the folder of instrument files "
            "(e.g. examples/landing)"
        )
    if not path.is_dir():
        raise ConfigError(f"--landing {landing} is a file; pass the folder that holds it ({path.parent})")


def prepare_warehouse(warehouse: str) -> None:
    """Create the warehouse folder (with its parents) or raise :class:`ConfigError` saying why it cannot be; an
    ``s3a://`` warehouse is left to Spark."""
    if "://" in warehouse and not warehouse.startswith("file:"):
        return
    path = Path(warehouse.removeprefix("file:")).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--warehouse {warehouse} is a file; pass a folder (it is created when missing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the warehouse folder {warehouse} ({exc.strerror}); pass --warehouse a folder you can "
            "write to"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(
            f"the warehouse folder {warehouse} is not writable; pass --warehouse a folder you can write to"
        )


def existing_warehouse(warehouse: str) -> None:
    """Raise :class:`ConfigError` when a command that reads tables is pointed at a warehouse that does not exist."""
    if "://" not in warehouse and not Path(warehouse).expanduser().is_dir():  # an s3a:// warehouse is checked by Spark
        raise ConfigError(
            f"there is no warehouse at {warehouse}; run `lab-etl run --landing <folder> --warehouse {warehouse}` "
            "first, or pass --warehouse the folder of an earlier run"
        )


def spark_error_line(exc: BaseException) -> str:
    """The first non-blank line of a Spark error (a ParseException's text starts with a line break)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


@cli.group()
def jars() -> None:
    """The Delta Lake and S3 jars from Maven Central."""


@jars.command("fetch")
def jars_fetch() -> None:
    """Download the jars once into the cache (LAB_ETL_JARS_DIR, default ~/.cache/lab_etl/jars), then write the
    driver JVM's class archive beside them (lab_etl.lakehouse.class_archive: a faster start of every command)."""
    from lab_etl.lakehouse import class_archive
    from lab_etl.lakehouse.jars import fetch_jars

    for path in fetch_jars():
        click.echo(str(path))
    if class_archive.enabled():
        try:
            click.echo(str(class_archive.build()))
        except Exception as exc:  # an optimisation only: every command still starts without it
            click.echo(f"no class archive written ({exc}); commands start without it", err=True)


@cli.command()
@click.argument("workflow", required=False)
@click.option("--landing", required=True, help="Landing folder or s3a:// prefix with instrument files.")
@click.option("--warehouse", default="warehouse", show_default=True, help=WAREHOUSE_HELP)
@click.option("--vendor", default=None, help="Force one parser for every file (see `lab-etl instruments`).")
@click.option("--engine", type=click.Choice(["auto", "native", "allotropy"]), default="auto", show_default=True)
@click.option("--s3-endpoint", default=None, help=S3_ENDPOINT_HELP)
@click.option("--profile", is_flag=True, help="Print per step: wall time, Spark jobs, Delta commits, rows written.")
def run(
    workflow: str | None,
    landing: str,
    warehouse: str,
    vendor: str | None,
    engine: str,
    s3_endpoint: str | None,
    profile: bool,
) -> None:
    """Run the pipeline on a landing area: files -> bronze -> silver -> gold.

    With WORKFLOW (a name under workflows/ or a path), run that workflow's job scripts in dependency order, as
    AWS Glue would, with the landing folder and warehouse in place of its S3 locations.
    """
    check_landing(landing)
    prepare_warehouse(warehouse)
    from lab_etl.lakehouse.spark import get_spark
    from lab_etl.run_ids import new_run_id

    with console.status("starting Spark"):
        # the JIT's optimizing compiler held back until the run finds new files (or a workflow's job script asks
        # get_spark for the session): a run with nothing new is short
        spark = get_spark(warehouse, extra_conf=_s3_endpoint_conf(s3_endpoint), quick_start=True)
    if s3_endpoint:
        from lab_etl.lakehouse.spark import use_s3_endpoint

        use_s3_endpoint(spark, s3_endpoint)
    if workflow:
        from lab_etl.workflows.local import run_locally
        from lab_etl.workflows.model import load_workflow

        local = run_locally(load_workflow(workflow), landing, warehouse, new_run_id(), progress=console)
        table = Table("job", "result", title=f"workflow {workflow}, run {local.run_id}")
        for name, printed in local.jobs:
            table.add_row(name, printed)
        for name in local.skipped:
            table.add_row(name, "skipped locally (crawler)")
        Console().print(table)
        if local.failed:
            console.print(f"[red]job {local.failed} failed; the jobs after it did not run[/red]")
            sys.exit(3)
        return
    from lab_etl.pipeline.run import run_pipeline

    result = run_pipeline(spark, landing, vendor=vendor, engine=engine, progress=console)
    table = Table("step", "result", title=f"run {result.run_id}")
    for step, text in result.lines():
        table.add_row(step, text)
    Console().print(table)
    if profile and result.profile is not None:
        Console().print(profile_table(result.profile.as_dicts()))
    sys.exit(result.exit_code)


def profile_table(steps: list[dict[str, Any]]) -> Table:
    """The run profile as a table: one row per step and the total."""
    table = Table("step", "wall s", "Spark jobs", "Delta commits", "rows written", "tables", title="profile")
    for step in steps:
        tables = ", ".join(step["tables"])
        table.add_row(
            step["step"],
            f"{step['seconds']:.2f}",
            str(step["spark_jobs"]),
            str(step["delta_commits"]),
            str(step["rows_written"]),
            tables,
        )
    return table


@cli.group()
def catalog() -> None:
    """The lakehouse tables in the local metastore and the AWS Glue Data Catalog."""


@catalog.command("publish")
@click.option("--warehouse", default="warehouse", show_default=True, help=WAREHOUSE_HELP)
@click.option("--endpoint-url", default=None, help="AWS endpoint (e.g. a moto server); default: AWS itself.")
@click.option("--region", default=None, help="AWS region (default: the environment's).")
@click.option("--local-only", is_flag=True, help="Register the local metastore only; no AWS call.")
def catalog_publish(warehouse: str, endpoint_url: str | None, region: str | None, local_only: bool) -> None:
    """Register every table locally and create-or-update it in Glue (Athena Delta table + Spectrum twin)."""
    from lab_etl.aws import aws_client
    from lab_etl.catalog.publish import publish_catalog
    from lab_etl.lakehouse.spark import get_spark

    spark = get_spark(warehouse, quick_start=True)  # registering tables is a short command
    glue = None if local_only else aws_client("glue", endpoint_url, region)
    result = publish_catalog(spark, warehouse, glue)
    for name in result.registered_locally:
        click.echo(f"registered locally: {name}")
    if result.glue is not None:
        for outcome in result.glue.tables:
            click.echo(f"glue: {outcome.name}: {outcome.action}")


@cli.command()
@click.option("--warehouse", default="warehouse", show_default=True, help=WAREHOUSE_HELP)
@click.option("--retain-hours", type=int, default=168, show_default=True, help="VACUUM retention (at least 168).")
@click.option("--no-vacuum", is_flag=True, help="Only OPTIMIZE.")
def maintain(warehouse: str, retain_hours: int, no_vacuum: bool) -> None:
    """OPTIMIZE (compact small files) and VACUUM every lakehouse table."""
    from lab_etl.lakehouse.maintain import maintain as run_maintenance
    from lab_etl.lakehouse.spark import get_spark

    for done in run_maintenance(get_spark(warehouse), retention_hours=retain_hours, vacuum=not no_vacuum):
        click.echo(f"{done.table}: {done.files_removed} files compacted into {done.files_added}")


@cli.command()
@click.argument("query")
@click.option("--warehouse", default="warehouse", show_default=True, help=WAREHOUSE_HELP)
@click.option(
    "--format", "output_format", type=click.Choice(["table", "csv", "jsonl"]), default="table", show_default=True
)
@click.option("--s3-endpoint", default=None, help=S3_ENDPOINT_HELP)
def sql(query: str, warehouse: str, output_format: str, s3_endpoint: str | None) -> None:
    """Run a Spark SQL query on the warehouse's tables and print the rows."""
    existing_warehouse(warehouse)
    from lab_etl.lakehouse.spark import get_spark
    from lab_etl.lakehouse.tables import attach_tables, tables_named_in

    # a query of a local warehouse is a short command: the JIT's optimizing compiler stays held back
    spark = get_spark(warehouse, extra_conf=_s3_endpoint_conf(s3_endpoint), quick_start=True)
    # the tables the query names; a query that names none (SHOW TABLES …) sees every table of the warehouse
    attach_tables(spark, tables_named_in(query) or None)
    try:
        result = spark.sql(query)
    except Exception as exc:  # Spark's AnalysisException and ParseException carry the useful text
        raise ConfigError(
            f'the query failed: {spark_error_line(exc)}; fix the SQL (`lab-etl sql "SHOW TABLES IN lab_gold"` '
            "lists a database's tables)"
        ) from None
    columns = result.columns
    rows = [row.asDict(recursive=True) for row in result.collect()]
    write_rows(columns, rows, output_format)


def _s3_endpoint_conf(s3_endpoint: str | None) -> dict[str, str] | None:
    """The session settings for a non-AWS S3 endpoint, which also serves the write locks' DynamoDB table."""
    if not s3_endpoint:
        return None
    from lab_etl.lakehouse.locks import ENDPOINT_CONF
    from lab_etl.lakehouse.spark import s3_endpoint_conf

    return {**s3_endpoint_conf(s3_endpoint), ENDPOINT_CONF: s3_endpoint}


def write_rows(columns: list[str], rows: Iterable[dict[str, Any]], output_format: str) -> None:
    """Print rows to stdout as a table, CSV or JSON lines."""
    if output_format == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, default=_json_default, ensure_ascii=False))
    elif output_format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*["" if row[c] is None else str(row[c]) for c in columns])
        Console().print(table)


def _json_default(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--vendor", default=None, help="Parser to use instead of detection (see `lab-etl instruments`).")
@click.option("--engine", type=click.Choice(["auto", "native", "allotropy"]), default="auto", show_default=True)
@click.option("--format", "output_format", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
def parse(files: tuple[Path, ...], vendor: str | None, engine: str, output_format: str) -> None:
    """Parse instrument files to one record per line on stdout; failures go to stderr, exit 1 if any."""
    from dataclasses import asdict, fields

    from lab_etl.errors import ParseError
    from lab_etl.parsers.reading import Reading
    from lab_etl.parsers.registry import parse_bytes

    columns = [f.name for f in fields(Reading)]
    writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n") if output_format == "csv" else None
    if writer:
        writer.writeheader()
    failed = 0
    for path in files:
        try:
            parsed = parse_bytes(path.read_bytes(), str(path), vendor=vendor, engine=engine)
        except (ParseError, OSError) as exc:
            reason = exc.reason if isinstance(exc, ParseError) else exc.strerror
            click.echo(f"error: {path}: {reason}", err=True)
            failed += 1
            continue
        for reading in parsed.readings:
            record = asdict(reading)
            if writer:
                writer.writerow({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in record.items()})
            else:
                click.echo(json.dumps(record, default=_json_default, ensure_ascii=False))
    sys.exit(1 if failed else 0)


@cli.command()
def instruments() -> None:
    """List the instrument parsers: native ones first, then allotropy's."""
    from lab_etl.parsers.registry import list_instruments

    table = Table("name (--vendor)", "instrument", "engine", "extensions")
    for info in list_instruments():
        table.add_row(info.name, info.display_name, info.engine, " ".join(info.extensions))
    Console().print(table)


def _register_groups() -> None:
    from lab_etl.governance.commands import governance
    from lab_etl.report_commands import report
    from lab_etl.workflows.commands import package, workflow

    cli.add_command(report)
    cli.add_command(governance)
    cli.add_command(workflow)
    cli.add_command(package)


_register_groups()

if __name__ == "__main__":  # pragma: no cover
    main()
