"""boto3 deployment against the moto server: create, re-deploy unchanged, update in place."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from lab_etl.errors import ConfigError
from lab_etl.workflows import deploy as deploy_module
from lab_etl.workflows.deploy import CREATED, UNCHANGED, UPDATED, deploy
from lab_etl.workflows.model import Workflow, find_workflow, load_definition, parse_definition

pytestmark = pytest.mark.aws


def fresh(base: str, **overrides: str) -> Workflow:
    """``base`` under a unique name: the moto server lives for the whole session, so tests do not collide."""
    definition = load_definition(find_workflow(base))
    document = copy.deepcopy(definition.document)
    document["name"] = f"{base[:20]}_{uuid.uuid4().hex[:8]}"
    # the lock table belongs to the warehouse and is shared by its workflows: give each test its own
    overrides = {"lock_table": f"locks_{document['name']}", **overrides}
    return parse_definition(document, definition.source).resolve(overrides)


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def test_deploy_creates_every_resource(
    moto_server: str, moto_s3_as_aws: None, jobs_dir: Path, wheel_path: Path
) -> None:
    workflow = fresh("hts_lcms_yield", batch_size="12")
    report = deploy(workflow, endpoint_url=moto_server, region="us-east-1", jobs_dir=jobs_dir, wheel_path=wheel_path)
    assert report.account == "123456789012" and report.region == "us-east-1"
    assert report.names(UPDATED) == [] and report.names(UNCHANGED) == []
    kinds = [change.kind for change in report.changes]
    assert kinds.count("glue-job") == 6 and kinds.count("glue-trigger") == 4 and kinds.count("s3-object") == 7
    assert kinds[0] == "kms-key" and kinds[-1] == "events-rule"

    glue = client("glue", moto_server)
    name = workflow.name
    assert glue.get_workflow(Name=name)["Workflow"]["DefaultRunProperties"]["instrument_vendor"] == "auto"
    job = glue.get_job(JobName=f"{name}-ingest_instruments")["Job"]
    assert job["GlueVersion"] == "5.0"
    assert job["Command"]["ScriptLocation"] == f"s3://{workflow.artifacts_bucket}/jobs/ingest_instruments.py"
    assert job["DefaultArguments"]["--datalake-formats"] == "delta"
    assert job["DefaultArguments"]["--additional-python-modules"] == (
        f"s3://{workflow.artifacts_bucket}/wheels/{wheel_path.name}"
    )
    assert job["Role"] == f"arn:aws:iam::123456789012:role/{workflow.slug}-glue-job"
    start = glue.get_trigger(Name=f"{name}-start")["Trigger"]
    assert start["Type"] == "EVENT"
    assert start["EventBatchingCondition"] == {"BatchSize": 12, "BatchWindow": 300}
    assert [action["JobName"] for action in start["Actions"]] == [
        f"{name}-ingest_instruments",
        f"{name}-load_eln",
        f"{name}-load_reference",
    ]
    silver = glue.get_trigger(Name=f"{name}-run-build_silver")["Trigger"]
    assert silver["Type"] == "CONDITIONAL"
    assert {c["JobName"] for c in silver["Predicate"]["Conditions"]} == {
        f"{name}-ingest_instruments",
        f"{name}-load_eln",
        f"{name}-load_reference",
    }

    events = client("events", moto_server)
    rule = events.describe_rule(Name=f"{workflow.slug}-landing")
    assert json.loads(rule["EventPattern"])["detail"] == {
        "bucket": {"name": [workflow.trigger.bucket]},
        "object": {"key": [{"prefix": f"{name}/incoming/"}]},
    }
    (target,) = events.list_targets_by_rule(Rule=f"{workflow.slug}-landing")["Targets"]
    assert target["Arn"] == f"arn:aws:glue:us-east-1:123456789012:workflow/{name}"
    assert target["RoleArn"] == f"arn:aws:iam::123456789012:role/{workflow.slug}-events"
    iam = client("iam", moto_server)
    notify = iam.get_role_policy(RoleName=f"{workflow.slug}-events", PolicyName="notify-workflow")["PolicyDocument"]
    assert notify["Statement"][0]["Action"] == ["glue:notifyEvent"]
    assert notify["Statement"][0]["Resource"] == [target["Arn"]]

    s3 = client("s3", moto_server)
    landing = workflow.trigger.bucket
    assert "EventBridgeConfiguration" in s3.get_bucket_notification_configuration(Bucket=landing)
    encryption = s3.get_bucket_encryption(Bucket=landing)["ServerSideEncryptionConfiguration"]["Rules"][0]
    key_arn = client("kms", moto_server).describe_key(KeyId=workflow.kms_key_alias)["KeyMetadata"]["Arn"]
    assert encryption["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    policy = json.loads(s3.get_bucket_policy(Bucket=landing)["Policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    script = s3.get_object(Bucket=workflow.artifacts_bucket, Key="jobs/ingest_instruments.py")
    assert script["Body"].read() == (jobs_dir / "ingest_instruments.py").read_bytes()
    assert script["ServerSideEncryption"] == "aws:kms"
    wheel = s3.get_object(Bucket=workflow.artifacts_bucket, Key=f"wheels/{wheel_path.name}")
    assert wheel["Body"].read() == wheel_path.read_bytes()


def test_second_deploy_changes_nothing(
    moto_server: str, moto_s3_as_aws: None, jobs_dir: Path, wheel_path: Path
) -> None:
    workflow = fresh("plate_reader_assay")
    first = deploy(workflow, endpoint_url=moto_server, region="us-east-1", jobs_dir=jobs_dir, wheel_path=wheel_path)
    assert first.changed and first.names(UNCHANGED) == []
    assert f"glue-crawler:{workflow.name}-gold_qc_crawler" in first.names(CREATED)
    second = deploy(workflow, endpoint_url=moto_server, region="us-east-1", jobs_dir=jobs_dir, wheel_path=wheel_path)
    assert not second.changed
    assert [(c.kind, c.name) for c in second.changes] == [(c.kind, c.name) for c in first.changes]
    assert second.summary().endswith(f"0 created, 0 updated, {len(first.changes)} unchanged")


def test_changed_parameters_update_in_place(
    moto_server: str, moto_s3_as_aws: None, jobs_dir: Path, wheel_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflow = fresh("plate_reader_assay")
    deploy(workflow, endpoint_url=moto_server, region="us-east-1", jobs_dir=jobs_dir, wheel_path=wheel_path)

    # moto 5.2.5 has no UpdateJob/UpdateTrigger: record those calls and answer them here; every read still
    # goes to moto, so what is compared is what the first deploy really made.
    sent: dict[str, list[dict[str, Any]]] = {"UpdateJob": [], "UpdateTrigger": []}
    real_client = deploy_module.aws_client

    def recording_client(service: str, endpoint_url: str | None = None, region: str | None = None) -> Any:
        made = real_client(service, endpoint_url, region)
        if service == "glue":
            for operation in sent:

                def record(params: dict[str, Any], operation: str = operation, **_: Any) -> None:
                    sent[operation].append(params)

                def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
                    return AWSResponse("https://glue", 200, {}, None), {}

                made.meta.events.register(f"provide-client-params.glue.{operation}", record)
                made.meta.events.register(f"before-call.glue.{operation}", answer)
        return made

    monkeypatch.setattr(deploy_module, "aws_client", recording_client)
    changed = parse_definition(workflow_document(workflow), workflow.source).resolve(
        {
            "batch_window_s": "600",
            "instrument_vendor": "tecan",
            "databases": "lab_bronze,lab_silver,lab_gold,lab_qc",
            "lock_table": workflow.lock_table,
        }
    )
    (jobs_dir / "build_gold.py").write_text('"""A new version of the gold job."""\n')
    report = deploy(changed, endpoint_url=moto_server, region="us-east-1", jobs_dir=jobs_dir, wheel_path=wheel_path)
    assert sorted(report.names(UPDATED)) == sorted(
        [
            f"glue-job:{workflow.name}-ingest_instruments",  # --vendor tecan
            f"glue-trigger:{workflow.name}-start",  # BatchWindow 600
            f"glue-workflow:{workflow.name}",  # run property instrument_vendor
            f"iam-role:{workflow.slug}-glue-job",  # catalog access to lab_qc
            "s3-object:jobs/build_gold.py",
        ]
    )
    assert report.names(CREATED) == []
    (job_update,) = sent["UpdateJob"]
    assert job_update["JobName"] == f"{workflow.name}-ingest_instruments"
    assert job_update["JobUpdate"]["DefaultArguments"]["--vendor"] == "tecan"
    assert job_update["JobUpdate"]["GlueVersion"] == "5.0"
    (trigger_update,) = sent["UpdateTrigger"]
    assert trigger_update["TriggerUpdate"]["EventBatchingCondition"] == {"BatchSize": 10, "BatchWindow": 600}

    glue, iam = client("glue", moto_server), client("iam", moto_server)
    assert glue.get_workflow(Name=workflow.name)["Workflow"]["DefaultRunProperties"] == {"instrument_vendor": "tecan"}
    policy = iam.get_role_policy(RoleName=f"{workflow.slug}-glue-job", PolicyName="glue-job")["PolicyDocument"]
    catalog = next(s for s in policy["Statement"] if s["Sid"] == "CatalogOfOwnDatabases")
    assert "arn:aws:glue:us-east-1:123456789012:database/lab_qc" in catalog["Resource"]


def workflow_document(workflow: Workflow) -> dict[str, Any]:
    document = copy.deepcopy(load_definition(find_workflow("plate_reader_assay")).document)
    document["name"] = workflow.name
    return document


def test_missing_job_script_or_wheel_is_named(moto_server: str, jobs_dir: Path, wheel_path: Path) -> None:
    workflow = fresh("plate_reader_assay")
    with pytest.raises(ConfigError, match=r"wheel .*nowhere.whl not found; build it with `lab-etl package`"):
        deploy(workflow, endpoint_url=moto_server, jobs_dir=jobs_dir, wheel_path=jobs_dir / "nowhere.whl")
    (jobs_dir / "build_silver.py").unlink()
    with pytest.raises(ConfigError, match=r"job 'build_silver' runs jobs/build_silver.py, but .*build_silver.py does"):
        deploy(workflow, endpoint_url=moto_server, jobs_dir=jobs_dir, wheel_path=wheel_path)


def test_aws_errors_name_the_resource_and_call(
    moto_server: str, moto_s3_as_aws: None, jobs_dir: Path, wheel_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An AWS refusal (here CreateWorkflow denied, as for a role without glue:CreateWorkflow) is a DeployError."""
    from lab_etl.workflows.deploy import DeployError

    real_client = deploy_module.aws_client

    def denying_client(service: str, endpoint_url: str | None = None, region: str | None = None) -> Any:
        made = real_client(service, endpoint_url, region)
        if service == "glue":

            def deny(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
                error = {"Code": "AccessDeniedException", "Message": "not authorized to perform glue:CreateWorkflow"}
                return AWSResponse("https://glue", 400, {}, None), {"Error": error}

            made.meta.events.register("before-call.glue.CreateWorkflow", deny)
        return made

    monkeypatch.setattr(deploy_module, "aws_client", denying_client)
    workflow = fresh("plate_reader_assay")
    with pytest.raises(DeployError) as error:
        deploy(workflow, endpoint_url=moto_server, region="us-east-1", jobs_dir=jobs_dir, wheel_path=wheel_path)
    assert str(error.value) == (
        f"glue workflow {workflow.name}: glue.create_workflow failed: AccessDeniedException: "
        "not authorized to perform glue:CreateWorkflow"
    )


def test_trigger_type_change_is_refused(
    moto_server: str, moto_s3_as_aws: None, jobs_dir: Path, wheel_path: Path
) -> None:
    workflow = fresh("plate_reader_assay")
    glue = client("glue", moto_server)
    glue.create_trigger(Name=f"{workflow.name}-start", Type="ON_DEMAND", Actions=[{"JobName": "someone-elses-job"}])
    with pytest.raises(
        ConfigError, match=r"trigger .*-start is Type=ON_DEMAND in AWS but EVENT in .*delete the trigger"
    ):
        deploy(workflow, endpoint_url=moto_server, region="us-east-1", jobs_dir=jobs_dir, wheel_path=wheel_path)


def test_bucket_of_another_account_is_a_config_error(
    moto_server: str, jobs_dir: Path, wheel_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3 answers HeadBucket with 403 when the name is taken by another account: say so and name the fix."""
    real_client = deploy_module.aws_client

    def foreign_bucket_client(service: str, endpoint_url: str | None = None, region: str | None = None) -> Any:
        made = real_client(service, endpoint_url, region)
        if service == "s3":

            def forbidden(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
                return AWSResponse("https://s3", 403, {}, None), {"Error": {"Code": "403", "Message": "Forbidden"}}

            made.meta.events.register("before-call.s3.HeadBucket", forbidden)
        return made

    monkeypatch.setattr(deploy_module, "aws_client", foreign_bucket_client)
    workflow = fresh("plate_reader_assay")
    with pytest.raises(ConfigError) as error:
        deploy(workflow, endpoint_url=moto_server, region="us-east-1", jobs_dir=jobs_dir, wheel_path=wheel_path)
    assert str(error.value).startswith(f"s3 bucket {workflow.trigger.bucket} exists and belongs to another account")
    assert "choose another name with --set (landing_bucket / artifacts_bucket)" in str(error.value)
