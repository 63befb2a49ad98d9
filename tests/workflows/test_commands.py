"""`lab-etl workflow render|deploy|clone`: each a thin call into the library."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml
from click.testing import CliRunner

from lab_etl.errors import ConfigError
from lab_etl.workflows.commands import workflow
from lab_etl.workflows.model import load_workflow


def test_render_to_stdout_as_yaml() -> None:
    result = CliRunner().invoke(workflow, ["render", "hts_lcms_yield", "--format", "cloudformation"])
    assert result.exit_code == 0, result.output
    template = yaml.safe_load(result.output)
    assert template["Resources"]["Workflow"]["Properties"]["Name"] == "hts_lcms_yield"
    assert template["Resources"]["StartTrigger"]["Properties"]["EventBatchingCondition"]["BatchSize"] == 24


def test_render_to_json_file_with_overrides(tmp_path: Path) -> None:
    output = tmp_path / "stack.json"
    result = CliRunner().invoke(
        workflow, ["render", "plate_reader_assay", "--output", str(output), "--set", "batch_size=5"]
    )
    assert result.exit_code == 0, result.output
    template = json.loads(output.read_text())
    assert template["Resources"]["StartTrigger"]["Properties"]["EventBatchingCondition"]["BatchSize"] == 5


def test_render_bad_override_raises_the_config_error() -> None:
    result = CliRunner().invoke(workflow, ["render", "hts_lcms_yield", "--set", "batch_size=lots"])
    assert isinstance(result.exception, ConfigError)
    assert "parameter 'batch_size' is an integer, got 'lots'" in str(result.exception)


def test_clone_command(tmp_path: Path) -> None:
    output = tmp_path / "abs.yaml"
    result = CliRunner().invoke(
        workflow,
        ["clone", "plate_reader_assay", "absorbance_assay", "--set", "number_of_workers=3", "--output", str(output)],
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(output)
    cloned = load_workflow(output)
    assert (cloned.name, cloned.number_of_workers) == ("absorbance_assay", 3)


@pytest.mark.aws
def test_deploy_command(
    tmp_path: Path, moto_server: str, moto_s3_as_aws: None, jobs_dir: Path, wheel_path: Path
) -> None:
    runner = CliRunner()
    definition = tmp_path / "cli_assay.yaml"
    assert (
        runner.invoke(
            workflow,
            # its own lock table: the warehouse's lock table is shared, and other tests deploy one to this moto server
            [
                "clone",
                "plate_reader_assay",
                "cli_assay",
                "--set",
                "lock_table=locks_cli_assay",
                "--output",
                str(definition),
            ],
        ).exit_code
        == 0
    )
    arguments = ["deploy", str(definition), "--endpoint-url", moto_server, "--region", "us-east-1"]
    arguments += ["--jobs-dir", str(jobs_dir), "--wheel", str(wheel_path)]
    first = runner.invoke(workflow, arguments)
    assert first.exit_code == 0, first.output
    assert "cli_assay in 123456789012/us-east-1: 25 created, 0 updated, 0 unchanged" in first.output
    second = runner.invoke(workflow, arguments)
    assert "0 created, 0 updated, 25 unchanged" in second.output
    glue = boto3.client("glue", endpoint_url=moto_server, region_name="us-east-1")
    assert glue.get_workflow(Name="cli_assay")["Workflow"]["Name"] == "cli_assay"
