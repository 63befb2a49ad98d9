"""Cloning a workflow: new name, consistently derived names, typed overrides; clone -> render -> deploy."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from lab_etl.errors import ConfigError
from lab_etl.workflows.clone import clone
from lab_etl.workflows.deploy import CREATED, deploy
from lab_etl.workflows.model import load_definition, load_workflow
from lab_etl.workflows.render import render_cloudformation


def test_clone_renames_everything_derived_from_the_name(tmp_path: Path) -> None:
    path = clone(
        "hts_lcms_yield",
        "hts_uplc_yield",
        {"instrument_vendor": "thermo_skanit", "batch_size": "8"},
        tmp_path / "u.yaml",
    )
    assert path == tmp_path / "u.yaml"
    assert path.read_text().startswith("# Cloned from hts_lcms_yield.yaml (hts_lcms_yield)")
    definition = load_definition(path)
    assert definition.parameters["batch_size"].default == 8
    assert definition.parameters["instrument_vendor"].default == "thermo_skanit"
    workflow = load_workflow(path)
    assert workflow.name == "hts_uplc_yield"
    assert workflow.trigger.bucket == "lab-etl-hts-uplc-yield-landing"
    assert workflow.trigger.prefix == "hts_uplc_yield/incoming/"
    assert workflow.artifacts_bucket == "lab-etl-hts-uplc-yield-artifacts"
    assert workflow.kms_key_alias == "alias/lab-etl-hts-uplc-yield"
    assert workflow.trigger.batch_size == 8
    assert workflow.jobs[0].arguments["--vendor"] == "thermo_skanit"
    # Nothing in the clone's template still points at the source workflow's resources.
    text = json.dumps(render_cloudformation(workflow))
    assert "hts_lcms_yield" not in text and "hts-lcms-yield" not in text
    # The shared warehouse is not derived from the name and stays shared.
    assert workflow.warehouse_bucket == load_workflow("hts_lcms_yield").warehouse_bucket


def test_clone_rewrites_literal_occurrences_of_the_old_name(tmp_path: Path) -> None:
    source = tmp_path / "assay_one.yaml"
    text = (Path(__file__).resolve().parents[2] / "workflows" / "plate_reader_assay.yaml").read_text()
    source.write_text(text.replace("${workflow_name}/incoming/", "plate_reader_assay/incoming/"))
    assert load_workflow(source).trigger.prefix == "plate_reader_assay/incoming/"
    path = clone(source, "luminescence_assay", {})
    assert path == tmp_path / "luminescence_assay.yaml"
    assert load_workflow(path).trigger.prefix == "luminescence_assay/incoming/"


def test_clone_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--set batch_sise=\.\.\.: no such parameter"):
        clone("hts_lcms_yield", "new_flow", {"batch_sise": "3"}, tmp_path / "a.yaml")
    with pytest.raises(ConfigError, match=r"--set batch_size: parameter 'batch_size' is an integer, got 'many'"):
        clone("hts_lcms_yield", "new_flow", {"batch_size": "many"}, tmp_path / "a.yaml")
    with pytest.raises(ConfigError, match=r"clone name 'New-Flow' must be 2-40 lower-case letters"):
        clone("hts_lcms_yield", "New-Flow", {}, tmp_path / "a.yaml")
    with pytest.raises(ConfigError, match=r"clone name 'hts_lcms_yield' is the source's name"):
        clone("hts_lcms_yield", "hts_lcms_yield", {}, tmp_path / "a.yaml")
    with pytest.raises(ConfigError, match=r"trigger.batch_size = 500; Glue accepts 1 to 100"):
        clone("hts_lcms_yield", "new_flow", {"batch_size": "500"}, tmp_path / "a.yaml")
    assert not (tmp_path / "a.yaml").exists()  # an invalid clone is never written
    clone("hts_lcms_yield", "new_flow", {}, tmp_path / "a.yaml")
    with pytest.raises(ConfigError, match=r"a.yaml exists; choose another --output or remove it first"):
        clone("hts_lcms_yield", "other_flow", {}, tmp_path / "a.yaml")
    assert (
        load_workflow(clone("hts_lcms_yield", "other_flow", {}, tmp_path / "a.yaml", force=True)).name == "other_flow"
    )


@pytest.mark.aws
def test_clone_render_deploy(
    tmp_path: Path, moto_server: str, moto_s3_as_aws: None, jobs_dir: Path, wheel_path: Path
) -> None:
    path = clone("plate_reader_assay", "fluorescence_assay", {"instrument_vendor": "tecan"}, tmp_path / "f.yaml")
    workflow = load_workflow(path)
    template = render_cloudformation(workflow)
    assert template["Resources"]["Workflow"]["Properties"]["Name"] == "fluorescence_assay"
    report = deploy(workflow, endpoint_url=moto_server, region="us-east-1", jobs_dir=jobs_dir, wheel_path=wheel_path)
    assert "glue-workflow:fluorescence_assay" in report.names(CREATED)
    glue = boto3.client("glue", endpoint_url=moto_server, region_name="us-east-1")
    job = glue.get_job(JobName="fluorescence_assay-ingest_instruments")["Job"]
    assert job["DefaultArguments"]["--vendor"] == "tecan"
    assert (
        job["DefaultArguments"]["--landing"] == "s3://lab-etl-fluorescence-assay-landing/fluorescence_assay/incoming/"
    )
    events = boto3.client("events", endpoint_url=moto_server, region_name="us-east-1")
    (target,) = events.list_targets_by_rule(Rule="fluorescence-assay-landing")["Targets"]
    assert target["Arn"].endswith(":workflow/fluorescence_assay")
