"""CloudFormation of the shipped workflows: the resources, cfn-lint, and least-privilege IAM everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from lab_etl.workflows.model import load_workflow
from lab_etl.workflows.render import DELTA_CONF, dump_template, fill_placeholders, render_cloudformation, wheel_filename

SHIPPED = ["hts_lcms_yield", "plate_reader_assay"]


def template_of(name: str, **overrides: str) -> dict[str, Any]:
    return render_cloudformation(load_workflow(name, overrides))


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}


def sub(value: Any) -> str:
    """The text of a plain string or of an ``Fn::Sub``."""
    return value["Fn::Sub"] if isinstance(value, dict) else value


@pytest.mark.parametrize("name", SHIPPED)
def test_cfn_lint_reports_nothing(name: str) -> None:
    from cfnlint.api import ManualArgs, lint

    text = dump_template(template_of(name))
    matches = lint(text, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert [f"{m.rule.id} {m.message}" for m in matches] == []


def test_cfn_lint_catches_a_broken_template() -> None:
    """The lint test above can fail: a Glue job without its Command is an error cfn-lint reports."""
    from cfnlint.api import ManualArgs, lint

    template = template_of("plate_reader_assay")
    del template["Resources"]["JobBuildSilver"]["Properties"]["Command"]
    matches = lint(dump_template(template), config=ManualArgs(regions=["us-east-1"]))
    assert any(m.rule.id.startswith("E") and "Command" in m.message for m in matches)


def test_reference_workflow_resources() -> None:
    template = template_of("hts_lcms_yield")
    types = sorted(resource["Type"] for resource in template["Resources"].values())
    assert types.count("AWS::Glue::Job") == 6
    assert types.count("AWS::Glue::Trigger") == 4  # the EVENT start + build_silver, build_gold, publish_catalog
    assert types.count("AWS::Glue::Workflow") == 1
    assert types.count("AWS::Glue::Crawler") == 0
    assert types.count("AWS::IAM::Role") == 2  # jobs, EventBridge (no crawler role without crawlers)
    assert types.count("AWS::S3::Bucket") == 2
    assert types.count("AWS::S3::BucketPolicy") == 2
    assert {"AWS::KMS::Key", "AWS::KMS::Alias", "AWS::Events::Rule"} <= set(types)


def test_glue_job_runs_glue5_with_delta_and_the_wheel() -> None:
    job = template_of("hts_lcms_yield")["Resources"]["JobIngestInstruments"]["Properties"]
    assert job["Name"] == "hts_lcms_yield-ingest_instruments"
    assert job["GlueVersion"] == "5.0"
    assert job["Command"] == {
        "Name": "glueetl",
        "ScriptLocation": "s3://lab-etl-hts-lcms-yield-artifacts/jobs/ingest_instruments.py",
        "PythonVersion": "3",
    }
    assert job["Role"] == {"Fn::Sub": "${GlueJobRole.Arn}"}
    assert (job["WorkerType"], job["NumberOfWorkers"]) == ("G.1X", 4)
    arguments = job["DefaultArguments"]
    assert arguments["--datalake-formats"] == "delta"
    assert arguments["--enable-glue-datacatalog"] == "true"
    assert arguments["--additional-python-modules"] == (
        f"s3://lab-etl-hts-lcms-yield-artifacts/wheels/{wheel_filename()}"
    )
    assert sub(arguments["--conf"]).startswith(DELTA_CONF)  # then the write lock's table (test_render_concurrency)
    assert "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension" in sub(arguments["--conf"])
    assert "spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog" in sub(arguments["--conf"])
    assert arguments["--landing"] == "s3://lab-etl-hts-lcms-yield-landing/hts_lcms_yield/incoming/"
    assert arguments["--vendor"] == "auto"


def test_event_trigger_batches_and_starts_the_root_jobs() -> None:
    template = template_of("hts_lcms_yield", batch_size="7", batch_window_s="60")
    start = template["Resources"]["StartTrigger"]
    assert start["Properties"]["Type"] == "EVENT"
    assert start["Properties"]["WorkflowName"] == "hts_lcms_yield"
    assert start["Properties"]["EventBatchingCondition"] == {"BatchSize": 7, "BatchWindow": 60}
    assert start["Properties"]["Actions"] == [
        {"JobName": "hts_lcms_yield-ingest_instruments"},
        {"JobName": "hts_lcms_yield-load_eln"},
        {"JobName": "hts_lcms_yield-load_reference"},
    ]
    assert "Workflow" in start["DependsOn"] and "JobLoadEln" in start["DependsOn"]


def test_conditional_triggers_chain_jobs_on_succeeded() -> None:
    template = template_of("hts_lcms_yield")
    silver = template["Resources"]["TriggerBuildSilver"]["Properties"]
    assert silver["Type"] == "CONDITIONAL"
    assert silver["StartOnCreation"] is True
    assert silver["Actions"] == [{"JobName": "hts_lcms_yield-build_silver"}]
    assert silver["Predicate"] == {
        "Logical": "AND",
        "Conditions": [
            {"LogicalOperator": "EQUALS", "JobName": "hts_lcms_yield-ingest_instruments", "State": "SUCCEEDED"},
            {"LogicalOperator": "EQUALS", "JobName": "hts_lcms_yield-load_eln", "State": "SUCCEEDED"},
            {"LogicalOperator": "EQUALS", "JobName": "hts_lcms_yield-load_reference", "State": "SUCCEEDED"},
        ],
    }
    gold = template["Resources"]["TriggerBuildGold"]["Properties"]
    assert gold["Predicate"]["Conditions"] == [
        {"LogicalOperator": "EQUALS", "JobName": "hts_lcms_yield-build_silver", "State": "SUCCEEDED"}
    ]
    triggers = of_type(template, "AWS::Glue::Trigger")
    conditional = {key for key, value in triggers.items() if value["Properties"]["Type"] == "CONDITIONAL"}
    assert conditional == {"TriggerBuildSilver", "TriggerBuildGold", "TriggerPublishCatalog"}


def test_crawler_after_gold_with_its_own_role() -> None:
    template = template_of("plate_reader_assay")
    crawler = template["Resources"]["CrawlerGoldQcCrawler"]["Properties"]
    assert crawler["Name"] == "plate_reader_assay-gold_qc_crawler"
    assert crawler["DatabaseName"] == "lab_gold"
    assert crawler["Role"] == {"Fn::Sub": "${GlueCrawlerRole.Arn}"}
    assert crawler["Targets"]["DeltaTargets"][0]["DeltaTables"] == [
        "s3://lab-etl-warehouse/warehouse/lab_gold.db/plate_qc/",
        "s3://lab-etl-warehouse/warehouse/lab_gold.db/assay_results_flat/",
    ]
    trigger = template["Resources"]["TriggerGoldQcCrawler"]["Properties"]
    assert trigger["Actions"] == [{"CrawlerName": "plate_reader_assay-gold_qc_crawler"}]
    assert trigger["Predicate"]["Conditions"] == [
        {"LogicalOperator": "EQUALS", "JobName": "plate_reader_assay-build_gold", "State": "SUCCEEDED"}
    ]


def test_eventbridge_rule_targets_the_workflow_with_a_notify_only_role() -> None:
    template = template_of("plate_reader_assay", landing_prefix="readers/")
    rule = template["Resources"]["LandingRule"]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": ["lab-etl-plate-reader-assay-landing"]},
            "object": {"key": [{"prefix": "readers/"}]},
        },
    }
    target = rule["Targets"][0]
    workflow_arn = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:workflow/plate_reader_assay"
    assert sub(target["Arn"]) == workflow_arn
    assert sub(target["RoleArn"]) == "${EventsRole.Arn}"
    role = template["Resources"]["EventsRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert [(s["Action"], [sub(r) for r in s["Resource"]]) for s in statements] == [
        (["glue:notifyEvent"], [workflow_arn])
    ]


def test_landing_bucket_eventbridge_kms_and_tls_only() -> None:
    template = template_of("hts_lcms_yield")
    bucket = template["Resources"]["LandingBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    properties = bucket["Properties"]
    assert properties["BucketName"] == "lab-etl-hts-lcms-yield-landing"
    assert properties["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    rule = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::Sub": "${KmsKey.Arn}"},
    }
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert "NotificationConfiguration" not in template["Resources"]["ArtifactsBucket"]["Properties"]
    for policy_id, bucket_name in (
        ("LandingBucketPolicy", "lab-etl-hts-lcms-yield-landing"),
        ("ArtifactsBucketPolicy", "lab-etl-hts-lcms-yield-artifacts"),
    ):
        policy = template["Resources"][policy_id]["Properties"]
        assert policy["Bucket"] == bucket_name
        (statement,) = policy["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert [sub(r) for r in statement["Resource"]] == [
            f"arn:${{AWS::Partition}}:s3:::{bucket_name}",
            f"arn:${{AWS::Partition}}:s3:::{bucket_name}/*",
        ]
    alias = template["Resources"]["KmsKeyAlias"]["Properties"]
    assert alias["AliasName"] == "alias/lab-etl-hts-lcms-yield"


def policy_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every policy document anywhere in the template, with where it was found."""

    def walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            if "Statement" in node and "Version" in node:
                statements = node["Statement"] if isinstance(node["Statement"], list) else [node["Statement"]]
                for index, statement in enumerate(statements):
                    yield f"{path}.Statement[{index}]", statement
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{path}[{index}]")

    yield from walk(template["Resources"], "Resources")


def least_privilege_violations(template: dict[str, Any]) -> list[str]:
    """Allow statements with a wildcard action, or a ``*`` resource outside a KMS key policy (where ``*`` is
    the key itself); Deny statements may be broad (the TLS-only bucket policies deny ``s3:*``)."""
    problems = []
    for where, statement in policy_statements(template):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if "NotAction" in statement or any(action == "*" or action.endswith(":*") for action in actions):
            problems.append(f"{where}: wildcard action {actions}")
        resources = statement.get("Resource", [])
        resources = [resources] if not isinstance(resources, list) else resources
        texts = [sub(resource) for resource in resources]
        if "*" in texts and ".KeyPolicy." not in where:
            problems.append(f"{where}: Resource '*'")
        if "Principal" in statement and statement["Principal"] == "*":
            problems.append(f"{where}: allows Principal '*'")
    return problems


@pytest.mark.parametrize("name", SHIPPED)
def test_every_policy_is_least_privilege(name: str) -> None:
    template = template_of(name)
    assert least_privilege_violations(template) == []
    statements = list(policy_statements(template))
    # The walk found every document: 2 bucket policies, the key policy, one per role, and each role's trust.
    roles = len(of_type(template, "AWS::IAM::Role"))
    assert len({where.rsplit(".Statement", 1)[0] for where, _ in statements}) == 3 + 2 * roles


def test_least_privilege_walk_catches_wildcards() -> None:
    template = template_of("plate_reader_assay")
    job_policy = template["Resources"]["GlueJobRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    job_policy["Statement"].append({"Effect": "Allow", "Action": "*", "Resource": "*"})
    job_policy["Statement"].append({"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::x"]})
    problems = least_privilege_violations(template)
    assert len(problems) == 3
    assert "wildcard action ['*']" in problems[0] and "Resource '*'" in problems[1]
    assert "wildcard action ['s3:*']" in problems[2]


def test_job_role_reaches_only_its_buckets_databases_and_key() -> None:
    template = template_of("plate_reader_assay")
    statements = template["Resources"]["GlueJobRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    resources = {sub(r) for statement in statements for r in statement["Resource"]}
    buckets = {r.split(":::")[1].split("/")[0] for r in resources if ":s3:::" in r}
    assert buckets == {
        "lab-etl-plate-reader-assay-artifacts",
        "lab-etl-plate-reader-assay-landing",
        "lab-etl-warehouse",
    }
    databases = {r.split(":database/")[1] for r in resources if ":database/" in r}
    assert databases == {"lab_bronze", "lab_silver", "lab_gold"}
    assert "${KmsKey.Arn}" in resources


def test_yaml_and_json_text_round_trip() -> None:
    template = template_of("plate_reader_assay")
    assert yaml.safe_load(dump_template(template, "yaml")) == template
    assert json.loads(dump_template(template, "json")) == template


def test_fill_placeholders_gives_deployable_values() -> None:
    filled = fill_placeholders(
        {"Role": "${GlueJobRole.Arn}", "Arn": ["arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:x"]},
        {
            "GlueJobRole.Arn": "arn:aws:iam::1:role/r",
            "AWS::Partition": "aws",
            "AWS::Region": "eu-west-1",
            "AWS::AccountId": "1",
        },
    )
    assert filled == {"Role": "arn:aws:iam::1:role/r", "Arn": ["arn:aws:glue:eu-west-1:1:x"]}
    from lab_etl.errors import ConfigError

    with pytest.raises(ConfigError, match=r"no deployed value for \$\{KmsKey.Arn\}; create KmsKey first"):
        fill_placeholders("${KmsKey.Arn}", {})
