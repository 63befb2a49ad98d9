"""``lab-etl workflow render|deploy|clone`` and ``lab-etl package``: option parsing, then one library call.

Register them in :mod:`lab_etl.cli` with ``cli.add_command(workflow)`` and ``cli.add_command(package)``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from lab_etl.workflows.model import load_workflow, parse_overrides, repo_root

console = Console(stderr=True)
SET_HELP = "Override a parameter: --set key=value (repeatable), typed by its declared type."


@click.group()
def workflow() -> None:
    """Glue workflows as code: render to CloudFormation, deploy with boto3, clone for a new instrument."""


@workflow.command()
@click.argument("name")
@click.option(
    "--format", "output_format", type=click.Choice(["cloudformation"]), default="cloudformation", show_default=True
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the template here (.json for JSON, else YAML); default stdout as YAML.",
)
@click.option("--set", "overrides", multiple=True, help=SET_HELP)
def render(name: str, output_format: str, output: Path | None, overrides: tuple[str, ...]) -> None:
    """Render workflow NAME (workflows/NAME.yaml or a path) to a CloudFormation template."""
    from lab_etl.workflows.render import dump_template, render_cloudformation

    resolved = load_workflow(name, parse_overrides(overrides))
    template = render_cloudformation(resolved)
    text = dump_template(template, "json" if output and output.suffix == ".json" else "yaml")
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output} ({len(template['Resources'])} resources)", highlight=False)


@workflow.command()
@click.argument("name")
@click.option("--endpoint-url", default=None, help="One endpoint for every AWS service (e.g. a moto server).")
@click.option("--region", default=None, help="AWS region (default: AWS_DEFAULT_REGION or the profile's).")
@click.option(
    "--jobs-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Folder of the job scripts; default the checkout's jobs/.",
)
@click.option(
    "--wheel",
    "wheel_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The lab_etl wheel to upload; default: build one now.",
)
@click.option("--set", "overrides", multiple=True, help=SET_HELP)
def deploy(
    name: str,
    endpoint_url: str | None,
    region: str | None,
    jobs_dir: Path | None,
    wheel_path: Path | None,
    overrides: tuple[str, ...],
) -> None:
    """Create or update workflow NAME's AWS resources (idempotent: unchanged resources are left alone)."""
    from lab_etl.workflows.deploy import deploy as deploy_workflow
    from lab_etl.workflows.package import build_wheel

    resolved = load_workflow(name, parse_overrides(overrides))
    with tempfile.TemporaryDirectory(prefix="lab_etl-deploy-") as tmp:
        if wheel_path is None:
            with console.status("building the lab_etl wheel"):
                wheel_path = build_wheel(Path(tmp))
        with console.status(f"deploying {resolved.name}"):
            report = deploy_workflow(
                resolved,
                endpoint_url=endpoint_url,
                region=region,
                jobs_dir=jobs_dir or repo_root() / "jobs",
                wheel_path=wheel_path,
            )
    table = Table("resource", "name", "action")
    for change in report.changes:
        table.add_row(change.kind, change.name, change.action)
    Console().print(table)
    click.echo(report.summary())


@workflow.command("clone")
@click.argument("src")
@click.argument("new")
@click.option("--set", "overrides", multiple=True, help="New default for a parameter: --set key=value (repeatable).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Where to write.")
@click.option("--force", is_flag=True, help="Overwrite --output if it exists.")
def clone_command(src: str, new: str, overrides: tuple[str, ...], output: Path | None, force: bool) -> None:
    """Clone workflow SRC as NEW: derived names follow the new name, --set values become defaults."""
    from lab_etl.workflows.clone import clone

    path = clone(src, new, parse_overrides(overrides), output, force=force)
    click.echo(str(path))


@click.command()
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("dist"), show_default=True)
def package(out_dir: Path) -> None:
    """Build lab_etl's wheel (what Glue jobs install with --additional-python-modules)."""
    from lab_etl.workflows.package import build_wheel

    with console.status("building the lab_etl wheel"):
        wheel = build_wheel(out_dir)
    click.echo(str(wheel))
