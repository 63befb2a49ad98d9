"""``lab-etl governance``: plan and apply the Lake Formation policy file. Thin wiring over :mod:`.lakeformation`.

Examples
--------
.. code-block:: console

    $ lab-etl governance plan governance/lakeformation.yaml --param account_id=123456789012
    $ lab-etl governance apply governance/lakeformation.yaml --region eu-west-1
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from lab_etl.aws import aws_client
from lab_etl.errors import ConfigError
from lab_etl.governance import lakeformation

_FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_ENDPOINT = click.option(
    "--endpoint-url", default=None, help="AWS endpoint to call instead of AWS (e.g. a moto server)."
)
_REGION = click.option("--region", default=None, help="AWS region (default: AWS_REGION / the profile's).")
_PARAM = click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A value for one of the file's parameters; account_id defaults to the caller's account.",
)


def _options(command: Callable[..., Any]) -> Callable[..., Any]:
    return _FILE(_ENDPOINT(_REGION(_PARAM(command))))


def _parse_params(params: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for param in params:
        name, sep, value = param.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{param!r} is not NAME=VALUE", param_hint="--param")
        values[name.strip()] = value.strip()
    return values


def _caller_account(endpoint_url: str | None, region: str | None) -> Callable[[str], str]:
    def resolve(name: str) -> str:
        if name != "account_id":
            raise ConfigError(f"parameter {name} has no value and no default; pass --param {name}=VALUE")
        return str(aws_client("sts", endpoint_url, region).get_caller_identity()["Account"])

    return resolve


def _plan(
    file: Path, endpoint_url: str | None, region: str | None, params: tuple[str, ...]
) -> tuple[Any, list[lakeformation.Change]]:
    policy = lakeformation.load_policy(file, _parse_params(params), resolve=_caller_account(endpoint_url, region))
    for warning in policy.warnings:
        click.echo(f"warning: {warning}", err=True)
    lf = aws_client("lakeformation", endpoint_url, region)
    return lf, lakeformation.plan(policy, lakeformation.current_state(lf, policy))


@click.group()
def governance() -> None:
    """Lake Formation as code: locations, LF-tags and grants from a YAML file."""


@governance.command("plan")
@_options
def plan_command(file: Path, endpoint_url: str | None, region: str | None, params: tuple[str, ...]) -> None:
    """Show what apply would change to make Lake Formation match FILE ("no changes" when it does)."""
    _, changes = _plan(file, endpoint_url, region, params)
    click.echo(lakeformation.format_plan(changes))


@governance.command("apply")
@_options
def apply_command(file: Path, endpoint_url: str | None, region: str | None, params: tuple[str, ...]) -> None:
    """Make Lake Formation match FILE: print the plan, then make its changes."""
    lf, changes = _plan(file, endpoint_url, region, params)
    click.echo(lakeformation.format_plan(changes))
    if changes:
        made = lakeformation.apply(lf, changes)
        click.echo(f"applied {made} changes")
