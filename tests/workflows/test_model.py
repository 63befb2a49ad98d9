"""Workflow definitions: schema validation, parameters and overrides, DAG order and its errors."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lab_etl.errors import ConfigError
from lab_etl.workflows.model import (
    Job,
    Workflow,
    find_workflow,
    load_definition,
    load_workflow,
    parse_definition,
    parse_overrides,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ["hts_lcms_yield", "plate_reader_assay"]


def hts_document() -> dict[str, Any]:
    return copy.deepcopy(load_definition(REPO / "workflows" / "hts_lcms_yield.yaml").document)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_workflows_load_and_reference_real_job_paths(name: str) -> None:
    workflow = load_workflow(name)
    assert workflow.name == name
    assert {job.script for job in workflow.jobs} <= {
        f"jobs/{script}.py"
        for script in (
            "ingest_instruments",
            "load_eln",
            "load_reference",
            "build_silver",
            "build_gold",
            "publish_catalog",
        )
    }
    assert workflow.jobs[0].script == "jobs/ingest_instruments.py"
    assert workflow.trigger.prefix == f"{name}/incoming/"
    assert workflow.trigger.bucket == f"lab-etl-{name.replace('_', '-')}-landing"


def test_hts_defaults_resolve_builtins_and_types() -> None:
    workflow = load_workflow("hts_lcms_yield")
    assert workflow.trigger.batch_size == 24
    assert workflow.trigger.batch_window_s == 300
    assert workflow.artifacts_bucket == "lab-etl-hts-lcms-yield-artifacts"
    assert workflow.kms_key_alias == "alias/lab-etl-hts-lcms-yield"
    assert workflow.databases == ("lab_bronze", "lab_silver", "lab_gold", "lab_reference")
    assert workflow.tags == {"lab_etl:workflow": "hts_lcms_yield", "project": "hts-yield", "owner": "chemistry-data"}
    ingest = workflow.jobs[0]
    assert ingest.arguments == {
        "--landing": "s3://lab-etl-hts-lcms-yield-landing/hts_lcms_yield/incoming/",
        "--warehouse": "s3://lab-etl-warehouse/warehouse/",
        "--vendor": "auto",
    }
    assert workflow.run_properties["instrument_vendor"] == "auto"


def test_overrides_are_typed_by_the_declared_type() -> None:
    workflow = load_workflow(
        "hts_lcms_yield",
        parse_overrides(["batch_size=10", "landing_prefix=lcms/", "instrument_vendor=thermo_skanit"]),
    )
    assert workflow.trigger.batch_size == 10
    assert isinstance(workflow.trigger.batch_size, int)
    assert workflow.trigger.prefix == "lcms/"
    assert workflow.jobs[0].arguments["--landing"] == "s3://lab-etl-hts-lcms-yield-landing/lcms/"
    assert workflow.jobs[0].arguments["--vendor"] == "thermo_skanit"


def test_boolean_parameter_coercion_and_argument_text() -> None:
    document = hts_document()
    document["parameters"]["dry_run"] = {"type": "boolean", "description": "Only report.", "default": False}
    document["jobs"][0]["arguments"]["--dry-run"] = "${dry_run}"
    definition = parse_definition(document, "dry.yaml")
    assert definition.resolve().jobs[0].arguments["--dry-run"] == "false"
    assert definition.resolve({"dry_run": "yes"}).jobs[0].arguments["--dry-run"] == "true"
    with pytest.raises(ConfigError, match=r"dry.yaml: --set dry_run: parameter 'dry_run' is a boolean"):
        definition.resolve({"dry_run": "maybe"})


def test_override_errors_name_the_parameter() -> None:
    with pytest.raises(ConfigError, match=r"parameter 'batch_size' is an integer, got 'ten'"):
        load_workflow("hts_lcms_yield", {"batch_size": "ten"})
    with pytest.raises(ConfigError, match=r"--set batch_sise=\.\.\.: no such parameter; declared ones: .*batch_size"):
        load_workflow("hts_lcms_yield", {"batch_sise": "10"})
    with pytest.raises(ConfigError, match=r"--set 'batch_size': expected key=value"):
        parse_overrides(["batch_size"])


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"batch_size": "101"}, r"trigger.batch_size = 101; Glue accepts 1 to 100 events"),
        ({"batch_window_s": "901"}, r"trigger.batch_window_s = 901; Glue accepts 1 to 900 seconds"),
        ({"landing_bucket": "Lab_Landing"}, r"trigger.bucket = 'Lab_Landing' is not a valid S3 bucket name"),
        ({"glue_worker_type": "G.3X"}, r"glue_worker_type 'G.3X' is not one of G.1X"),
        ({"number_of_workers": "1"}, r"number_of_workers = 1; Glue Spark jobs need at least 2"),
        ({"kms_key_alias": "alias/aws/s3"}, r"kms_key_alias 'alias/aws/s3' must look like alias/<name>"),
        ({"tags": "project"}, r"tags: 'project' is not key=value"),
        ({"artifacts_bucket": "lab-etl-hts-lcms-yield-landing"}, r"landing bucket and artifacts_bucket must differ"),
    ],
)
def test_resolved_values_are_checked_against_aws_rules(override: dict[str, str], reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as error:
        load_workflow("hts_lcms_yield", override)
    assert "hts_lcms_yield.yaml" in str(error.value)


def test_topological_jobs_of_the_reference_workflow() -> None:
    order = [job.name for job in load_workflow("hts_lcms_yield").topological_jobs()]
    assert order == [
        "ingest_instruments",
        "load_eln",
        "load_reference",
        "build_silver",
        "build_gold",
        "publish_catalog",
    ]
    plate = load_workflow("plate_reader_assay")
    assert [node.name for node in plate.topological_order()] == [
        "ingest_instruments",
        "load_layouts",
        "build_silver",
        "build_gold",
        "gold_qc_crawler",
    ]
    assert [node.name for node in plate.start_nodes()] == ["ingest_instruments", "load_layouts"]


def test_cycle_is_a_config_error_naming_the_cycle() -> None:
    document = hts_document()
    document["jobs"][0]["depends_on"] = ["publish_catalog"]
    with pytest.raises(ConfigError, match=r"cyc.yaml: dependency cycle: (\w+ -> )+\w+; remove one depends_on") as error:
        parse_definition(document, "cyc.yaml").resolve()
    cycle = str(error.value).split("cycle: ")[1].split(";")[0].split(" -> ")
    assert cycle[0] == cycle[-1]
    assert {"ingest_instruments", "build_silver", "build_gold", "publish_catalog"} <= set(cycle)


def test_dependency_on_unknown_job_is_a_config_error() -> None:
    document = hts_document()
    document["jobs"][5]["depends_on"] = ["build_platinum"]
    with pytest.raises(ConfigError, match=r"'publish_catalog' depends_on 'build_platinum', which is not a job"):
        parse_definition(document, "x.yaml").resolve()


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda d: d.pop("trigger"), r"\(top level\): 'trigger' is a required property"),
        (lambda d: d["jobs"][1].update(script="scripts/load_eln.py"), r"jobs\[1\]\.script: 'scripts/load_eln.py' does"),
        (lambda d: d["jobs"][0].update(retries=3), r"jobs\[0\]: Additional properties are not allowed \('retries'"),
        (lambda d: d["parameters"]["batch_size"].update(type="float"), r"parameters\.batch_size\.type: 'float' is not"),
        (lambda d: d.update(name="HTS-Yield"), r"name: 'HTS-Yield' does not match"),
        (lambda d: d["jobs"][0]["arguments"].update(landing="x"), r"jobs\[0\]\.arguments: 'landing' does not match"),
    ],
)
def test_schema_errors_name_the_file_and_field(edit: Any, reason: str) -> None:
    document = hts_document()
    edit(document)
    with pytest.raises(ConfigError, match=r"bad.yaml: invalid workflow definition") as error:
        parse_definition(document, "bad.yaml")
    assert re.search(reason, str(error.value)), str(error.value)


def test_undeclared_reference_names_the_field() -> None:
    document = hts_document()
    document["jobs"][2]["arguments"]["--chembl-release"] = "${chembl_version}"
    with pytest.raises(ConfigError, match=r"x.yaml: jobs\[2\]\.arguments\.--chembl-release: \$\{chembl_version\} is"):
        parse_definition(document, "x.yaml")


def test_default_with_wrong_type_and_default_referencing_parameter() -> None:
    document = hts_document()
    document["parameters"]["batch_size"]["default"] = "24"
    with pytest.raises(ConfigError, match=r"parameters.batch_size.default: '24' is not of type integer"):
        parse_definition(document, "x.yaml")
    document = hts_document()
    document["parameters"]["eln_prefix"]["default"] = "${landing_prefix}eln/"
    with pytest.raises(ConfigError, match=r"parameters.eln_prefix.default uses \$\{landing_prefix\}"):
        parse_definition(document, "x.yaml")


def test_reserved_arguments_cannot_be_set_by_a_job() -> None:
    document = hts_document()
    document["jobs"][0]["arguments"]["--datalake-formats"] = "iceberg"
    with pytest.raises(ConfigError, match=r"job 'ingest_instruments' sets --datalake-formats, which lab_etl sets"):
        parse_definition(document, "x.yaml").resolve()


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\ndescription: x\nparameters: {\n  a: [1, 2\n")
    with pytest.raises(ConfigError, match=r"broken.yaml:\d+: not valid YAML"):
        load_definition(path)


def test_find_workflow_by_name_path_and_missing(tmp_path: Path) -> None:
    assert find_workflow("hts_lcms_yield") == REPO / "workflows" / "hts_lcms_yield.yaml"
    copy_path = tmp_path / "mine.yaml"
    copy_path.write_text(yaml.safe_dump(hts_document()))
    assert find_workflow(copy_path) == copy_path
    with pytest.raises(ConfigError, match=r"workflow 'no_such_flow' not found \(looked for no_such_flow and "):
        find_workflow("no_such_flow")


@st.composite
def dags(draw: st.DrawFn) -> list[tuple[str, list[str]]]:
    size = draw(st.integers(min_value=1, max_value=12))
    names = [f"job_{i}" for i in range(size)]
    edges = [
        (name, draw(st.lists(st.sampled_from(names[:i]), unique=True)) if i else []) for i, name in enumerate(names)
    ]
    return draw(st.permutations(edges))


@settings(max_examples=60, deadline=None)
@given(dags())
def test_topological_order_puts_every_dependency_first(dag: list[tuple[str, list[str]]]) -> None:
    base = load_workflow("plate_reader_assay")
    jobs = tuple(
        Job(name=name, script=f"jobs/{name}.py", description="", arguments={}, depends_on=tuple(deps))
        for name, deps in dag
    )
    workflow = Workflow(
        name=base.name,
        description=base.description,
        values=base.values,
        trigger=base.trigger,
        jobs=jobs,
        source="dag.yaml",
    )
    order = [job.name for job in workflow.topological_jobs()]
    assert sorted(order) == sorted(name for name, _ in dag)
    position = {name: index for index, name in enumerate(order)}
    for name, deps in dag:
        assert all(position[dep] < position[name] for dep in deps)
