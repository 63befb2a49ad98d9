"""What the rendered stack does about two workflows writing one Delta table: the lease lock's DynamoDB table, or
Delta's S3DynamoDBLogStore when its jar is given; cfn-lint-clean either way, least-privilege IAM, and deployable
with boto3 against moto."""

from __future__ import annotations

from typing import Any

import pytest

from lab_etl.errors import ConfigError
from lab_etl.workflows.model import load_workflow
from lab_etl.workflows.render import DELTA_CONF, dump_template, render_cloudformation

JAR = "s3://lab-etl-hts-lcms-yield-artifacts/jars/delta-storage-s3-dynamodb-3.3.0.jar"
LOG_STORE = "io.delta.storage.S3DynamoDBLogStore"


def template_of(name: str, **overrides: str) -> dict[str, Any]:
    return render_cloudformation(load_workflow(name, overrides))


def sub(value: Any) -> str:
    return value["Fn::Sub"] if isinstance(value, dict) else value


def job_statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    policy = template["Resources"]["GlueJobRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def lint(template: dict[str, Any]) -> list[str]:
    from cfnlint.api import ManualArgs, lint

    matches = lint(dump_template(template), config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    return [f"{m.rule.id} {m.message}" for m in matches]


@pytest.mark.parametrize(
    "overrides",
    [{}, {"delta_logstore_jar": JAR}, {"create_lock_table": "false"}],
    ids=["lease-lock", "s3-dynamodb-log-store", "lock-table-of-another-stack"],
)
def test_cfn_lint_reports_nothing(overrides: dict[str, str]) -> None:
    assert lint(template_of("hts_lcms_yield", **overrides)) == []


def test_default_is_the_lease_lock_with_its_table_and_least_privilege() -> None:
    template = template_of("hts_lcms_yield")
    table = template["Resources"]["LockTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    props = table["Properties"]
    assert props["TableName"] == "lab_etl_delta_locks"
    assert props["KeySchema"] == [{"AttributeName": "lock_key", "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl_epoch_s", "Enabled": True}
    statement = job_statements(template)["WriteLockTable"]
    assert statement["Action"] == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert [sub(r) for r in statement["Resource"]] == [
        "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/lab_etl_delta_locks"
    ]
    arguments = template["Resources"]["JobIngestInstruments"]["Properties"]["DefaultArguments"]
    assert sub(arguments["--conf"]) == (
        DELTA_CONF
        + " --conf spark.lab_etl.lock.table=lab_etl_delta_locks --conf spark.lab_etl.lock.region=${AWS::Region}"
    )
    assert "--extra-jars" not in arguments
    assert "DeltaLogStoreTable" not in template["Resources"]


def test_log_store_option_configures_delta_and_needs_no_lease() -> None:
    template = template_of("hts_lcms_yield", delta_logstore_jar=JAR)
    arguments = template["Resources"]["JobIngestInstruments"]["Properties"]["DefaultArguments"]
    assert arguments["--extra-jars"] == JAR
    conf = sub(arguments["--conf"])
    assert conf.startswith(DELTA_CONF)
    for pair in (
        f"--conf spark.delta.logStore.s3.impl={LOG_STORE}",
        f"--conf spark.delta.logStore.s3a.impl={LOG_STORE}",
        f"--conf spark.{LOG_STORE}.ddb.tableName=lab_etl_delta_log",
        f"--conf spark.{LOG_STORE}.ddb.region=${{AWS::Region}}",
    ):
        assert pair in conf
    assert "spark.lab_etl.lock" not in conf
    props = template["Resources"]["DeltaLogStoreTable"]["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "tablePath", "KeyType": "HASH"},
        {"AttributeName": "fileName", "KeyType": "RANGE"},
    ]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expireTime", "Enabled": True}
    assert "LockTable" not in template["Resources"]
    statements = job_statements(template)
    assert statements["DeltaLogStoreTable"]["Action"] == [
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
    ]
    assert "WriteLockTable" not in statements
    # the job role may read that one jar, not the whole artifacts bucket
    read = [sub(r) for r in statements["ReadScriptsAndWheel"]["Resource"]]
    assert read[-1] == "arn:${AWS::Partition}:s3:::" + JAR.removeprefix("s3://")
    assert not any(r.endswith("-artifacts/*") for r in read)


def test_only_one_stack_per_warehouse_creates_the_table() -> None:
    template = template_of("hts_lcms_yield", create_lock_table="false")
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    # the jobs still take the lease in the shared table of the stack that created it
    assert "WriteLockTable" in job_statements(template)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"delta_logstore_jar": "s3://somebody-else/jars/x.jar"}, "must be a .jar in the artifacts bucket"),
        ({"delta_logstore_jar": "s3://lab-etl-hts-lcms-yield-artifacts/jars/x.zip"}, "must be a .jar"),
        ({"lock_table": "a b"}, "lock_table 'a b' is not a valid DynamoDB table name"),
    ],
)
def test_bad_concurrency_parameters_are_refused(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_workflow("hts_lcms_yield", overrides)


def test_job_definitions_may_not_set_extra_jars(tmp_path: Any) -> None:
    import yaml

    from lab_etl.workflows.model import find_workflow

    document = yaml.safe_load(find_workflow("hts_lcms_yield").read_text())
    document["jobs"][0]["arguments"]["--extra-jars"] = "s3://x/y.jar"
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match="--extra-jars, which lab_etl sets itself"):
        load_workflow(path)


def test_deploy_creates_the_lock_table_once_with_ttl(moto_server: str, tmp_path: Any) -> None:
    """The boto3 deployer makes the same table as the template; a second workflow on the warehouse keeps it."""
    from lab_etl.aws import aws_client
    from lab_etl.workflows.deploy import _Deployer
    from lab_etl.workflows.render import plan_resources

    for name in ("hts_lcms_yield", "plate_reader_assay"):
        workflow = load_workflow(name, {"lock_table": "deploy_test_locks"})
        deployer = _Deployer(workflow, moto_server, "us-east-1")
        for resource in plan_resources(workflow, "lab_etl-0-py3-none-any.whl"):
            if resource.type == "AWS::DynamoDB::Table":
                deployer.apply(resource)
        actions = [(c.kind, c.name, c.action) for c in deployer.report.changes]
        expected = "created" if name == "hts_lcms_yield" else "unchanged"
        assert actions == [("dynamodb-table", "deploy_test_locks", expected)]
    dynamodb = aws_client("dynamodb", moto_server, "us-east-1")
    table = dynamodb.describe_table(TableName="deploy_test_locks")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName="deploy_test_locks")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl_epoch_s")
