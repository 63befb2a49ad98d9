"""Render a resolved :class:`~lab_etl.workflows.model.Workflow` to AWS resources: one plan, two outputs.

:func:`plan_resources` builds every resource once, with AWS API-shaped properties. Values that only exist
once deployed are written as CloudFormation ``Fn::Sub`` placeholders: ``${AWS::AccountId}``,
``${AWS::Partition}``, ``${AWS::Region}`` and ``${<LogicalId>.Arn}``. :func:`render_cloudformation` wraps
them in ``Fn::Sub``; :mod:`lab_etl.workflows.deploy` fills them in with :func:`fill_placeholders` and makes the
same resources with boto3. So the template and the boto3 deployment cannot drift apart.

What gets made: a KMS key (+ alias), the landing bucket (SSE-KMS, EventBridge notifications on, TLS only)
and the artifacts bucket (scripts, wheel, Glue temp), least-privilege IAM roles for the jobs, the crawlers and
EventBridge, the DynamoDB table that keeps concurrent writers of the shared warehouse apart (lab_etl's lease
lock, or Delta's ``S3DynamoDBLogStore`` when its jar is given; see :func:`concurrency_conf`), one Glue job per job
(Glue 5.0, Delta), the Glue workflow, an EVENT start trigger with an
EventBatchingCondition, a CONDITIONAL trigger on SUCCEEDED per dependent node, optional crawlers, and the
EventBridge rule (S3 ``Object Created`` under the landing prefix) targeting the workflow.

Examples
--------
>>> from lab_etl.workflows.model import load_workflow
>>> template = render_cloudformation(load_workflow("hts_lcms_yield"))
>>> template["Resources"]["JobIngestInstruments"]["Properties"]["GlueVersion"]
'5.0'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lab_etl import __version__
from lab_etl.errors import ConfigError
from lab_etl.params import substitute
from lab_etl.workflows.model import Crawler, Job, Workflow

GLUE_VERSION = "5.0"
#: Delta's SQL extension and catalog, in the one ``--conf`` Glue accepts (extra pairs chained with ``--conf``).
DELTA_CONF = (
    "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension"
    " --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog"
)
#: Delta's multi-writer S3 log store (``io.delta:delta-storage-s3-dynamodb``), used when its jar is provided.
S3_DYNAMODB_LOG_STORE = "io.delta.storage.S3DynamoDBLogStore"
ARN = "arn:${AWS::Partition}"
ACCOUNT = "${AWS::Region}:${AWS::AccountId}"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9:]+(?:\.[A-Za-z]+)?)\}")

# Logical ids of the fixed resources.
KMS_KEY, KMS_ALIAS = "KmsKey", "KmsKeyAlias"
LANDING_BUCKET, LANDING_POLICY = "LandingBucket", "LandingBucketPolicy"
ARTIFACTS_BUCKET, ARTIFACTS_POLICY = "ArtifactsBucket", "ArtifactsBucketPolicy"
JOB_ROLE, CRAWLER_ROLE, EVENTS_ROLE = "GlueJobRole", "GlueCrawlerRole", "EventsRole"
WORKFLOW, START_TRIGGER, EVENT_RULE = "Workflow", "StartTrigger", "LandingRule"
LOCK_TABLE, LOG_STORE_TABLE = "LockTable", "DeltaLogStoreTable"

_KMS_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
_KMS_USE_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"]
_CATALOG_READ_WRITE = [
    "glue:BatchCreatePartition",
    "glue:BatchDeletePartition",
    "glue:BatchGetPartition",
    "glue:CreateDatabase",
    "glue:CreatePartition",
    "glue:CreateTable",
    "glue:DeletePartition",
    "glue:DeleteTable",
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:GetTable",
    "glue:GetTables",
    "glue:UpdatePartition",
    "glue:UpdateTable",
]


@dataclass(frozen=True)
class Resource:
    """One resource of the plan: CloudFormation logical id and type, API-shaped properties, explicit ordering."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    depends_on: tuple[str, ...] = field(default=())


def logical_id(prefix: str, name: str) -> str:
    """The CloudFormation logical id of a named node (logical ids are alphanumeric).

    Examples
    --------
    >>> logical_id("Job", "build_silver")
    'JobBuildSilver'
    """
    return prefix + "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def wheel_filename(version: str = __version__) -> str:
    """The file name ``pip wheel`` gives lab_etl.

    Examples
    --------
    >>> wheel_filename("0.1.0")
    'lab_etl-0.1.0-py3-none-any.whl'
    """
    return f"lab_etl-{version}-py3-none-any.whl"


def script_key(job: Job) -> str:
    """The artifacts-bucket key of a job's script: the repository path (``jobs/ingest_instruments.py``)."""
    return job.script


def wheel_key(wheel_name: str) -> str:
    return f"wheels/{wheel_name}"


def workflow_arn(workflow: Workflow) -> str:
    return f"{ARN}:glue:{ACCOUNT}:workflow/{workflow.name}"


def role_names(workflow: Workflow) -> dict[str, str]:
    """IAM role names by logical id (``<slug>-glue-job``, ``<slug>-glue-crawler``, ``<slug>-events``)."""
    names = {JOB_ROLE: f"{workflow.slug}-glue-job", EVENTS_ROLE: f"{workflow.slug}-events"}
    if workflow.crawlers:
        names[CRAWLER_ROLE] = f"{workflow.slug}-glue-crawler"
    return names


def trigger_name(workflow: Workflow, node: str | None = None) -> str:
    """``<workflow>-start`` for the EVENT trigger, ``<workflow>-run-<node>`` for the CONDITIONAL one of a node."""
    return f"{workflow.name}-start" if node is None else f"{workflow.name}-run-{node}"


def rule_name(workflow: Workflow) -> str:
    return f"{workflow.slug}-landing"


def concurrency_conf(workflow: Workflow) -> str:
    """The ``--conf`` pairs that keep concurrent writers of the shared warehouse apart (after :data:`DELTA_CONF`).

    Without ``delta_logstore_jar``: lab_etl's DynamoDB lease lock on table ``lock_table``
    (:mod:`lab_etl.lakehouse.locks`). With it: Delta's ``S3DynamoDBLogStore`` for ``s3://`` and ``s3a://`` paths,
    its commits recorded in ``delta_logstore_table``; lab_etl then takes no lease.

    Examples
    --------
    >>> from lab_etl.workflows.model import load_workflow
    >>> concurrency_conf(load_workflow("plate_reader_assay"))
    ' --conf spark.lab_etl.lock.table=lab_etl_delta_locks --conf spark.lab_etl.lock.region=${AWS::Region}'
    """
    if not workflow.delta_logstore_jar:
        pairs = {"spark.lab_etl.lock.table": workflow.lock_table, "spark.lab_etl.lock.region": "${AWS::Region}"}
    else:
        pairs = {
            "spark.delta.logStore.s3.impl": S3_DYNAMODB_LOG_STORE,
            "spark.delta.logStore.s3a.impl": S3_DYNAMODB_LOG_STORE,
            f"spark.{S3_DYNAMODB_LOG_STORE}.ddb.tableName": workflow.delta_logstore_table,
            f"spark.{S3_DYNAMODB_LOG_STORE}.ddb.region": "${AWS::Region}",
        }
    return "".join(f" --conf {key}={value}" for key, value in pairs.items())


def job_default_arguments(workflow: Workflow, job: Job, wheel_name: str) -> dict[str, str]:
    """Glue ``DefaultArguments``: Delta (and how concurrent writers are kept apart), the Data Catalog, the lab_etl
    wheel, logging, then the job's own."""
    artifacts = workflow.artifacts_bucket
    arguments = {
        "--job-language": "python",
        "--datalake-formats": "delta",
        "--conf": DELTA_CONF + concurrency_conf(workflow),
        "--enable-glue-datacatalog": "true",
        "--additional-python-modules": f"s3://{artifacts}/{wheel_key(wheel_name)}",
        "--TempDir": f"s3://{artifacts}/tmp/",
        "--enable-continuous-cloudwatch-log": "true",
        "--job-bookmark-option": "job-bookmark-disable",
    }
    if workflow.delta_logstore_jar:
        arguments["--extra-jars"] = workflow.delta_logstore_jar
    return {**arguments, **job.arguments}


def _glue_node(
    workflow: Workflow, node: Job | Crawler, role: str, tags: Mapping[str, str], properties: dict[str, Any]
) -> Resource:
    """The ``AWS::Glue::Job`` or ``AWS::Glue::Crawler`` of one workflow node: its Glue name, description (the
    workflow's name and the node's when it has none) and role, then ``properties``, then the tags."""
    kind = "Job" if isinstance(node, Job) else "Crawler"
    return Resource(
        logical_id(kind, node.name),
        f"AWS::Glue::{kind}",
        {
            "Name": workflow.glue_name(node.name),
            "Description": node.description or f"{workflow.name}: {node.name}",
            "Role": f"${{{role}.Arn}}",
            **properties,
            "Tags": dict(tags),
        },
    )


def lock_table_resource(workflow: Workflow, tag_list: list[dict[str, str]]) -> Resource:
    """The DynamoDB table guarding concurrent writers: on-demand billing, TTL (DynamoDB encrypts every table at
    rest; the items hold table paths and lock owners, no lab data).

    Without ``delta_logstore_jar`` it is lab_etl's lease table (key ``lock_key``, TTL ``ttl_epoch_s``); with it
    Delta's log store table (key ``tablePath`` + ``fileName``, TTL ``expireTime``, as Delta's docs ask).
    """
    if workflow.delta_logstore_jar:
        name, keys, ttl = workflow.delta_logstore_table, [("tablePath", "HASH"), ("fileName", "RANGE")], "expireTime"
    else:
        name, keys, ttl = workflow.lock_table, [("lock_key", "HASH")], "ttl_epoch_s"
    return Resource(
        LOG_STORE_TABLE if workflow.delta_logstore_jar else LOCK_TABLE,
        "AWS::DynamoDB::Table",
        {
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"} for key, _ in keys],
            "KeySchema": [{"AttributeName": key, "KeyType": kind} for key, kind in keys],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": ttl, "Enabled": True},
            "Tags": tag_list,
        },
    )


def plan_resources(workflow: Workflow, wheel_name: str | None = None) -> list[Resource]:
    """Every resource of the workflow, in creation order (dependencies before dependants).

    Parameters
    ----------
    workflow:
        A resolved workflow (:func:`lab_etl.workflows.model.load_workflow`).
    wheel_name:
        File name of the lab_etl wheel in ``s3://<artifacts>/wheels/`` (default: this version's name).
    """
    wheel_name = wheel_name or wheel_filename()
    tags = workflow.tags
    tag_list = [{"Key": key, "Value": value} for key, value in tags.items()]
    landing, artifacts = workflow.trigger.bucket, workflow.artifacts_bucket
    resources = [
        Resource(
            KMS_KEY,
            "AWS::KMS::Key",
            {
                "Description": f"lab_etl {workflow.name}: landing and artifacts buckets",
                "EnableKeyRotation": True,
                "KeyPolicy": _key_policy(),
                "Tags": tag_list,
            },
        ),
        Resource(
            KMS_ALIAS,
            "AWS::KMS::Alias",
            {"AliasName": workflow.kms_key_alias, "TargetKeyId": f"${{{KMS_KEY}.Arn}}"},
        ),
        Resource(LANDING_BUCKET, "AWS::S3::Bucket", _bucket_properties(landing, tag_list, eventbridge=True)),
        Resource(LANDING_POLICY, "AWS::S3::BucketPolicy", _tls_only_policy(landing), (LANDING_BUCKET,)),
        Resource(ARTIFACTS_BUCKET, "AWS::S3::Bucket", _bucket_properties(artifacts, tag_list, eventbridge=False)),
        Resource(ARTIFACTS_POLICY, "AWS::S3::BucketPolicy", _tls_only_policy(artifacts), (ARTIFACTS_BUCKET,)),
    ]
    if workflow.create_lock_table:
        resources.append(lock_table_resource(workflow, tag_list))
    names = role_names(workflow)
    resources.append(
        _role(JOB_ROLE, names[JOB_ROLE], "glue.amazonaws.com", "glue-job", _job_policy(workflow), tag_list)
    )
    if workflow.crawlers:
        resources.append(
            _role(
                CRAWLER_ROLE,
                names[CRAWLER_ROLE],
                "glue.amazonaws.com",
                "glue-crawler",
                _crawler_policy(workflow),
                tag_list,
            )
        )
    resources.append(
        _role(
            EVENTS_ROLE,
            names[EVENTS_ROLE],
            "events.amazonaws.com",
            "notify-workflow",
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "StartThisWorkflowOnly",
                        "Effect": "Allow",
                        "Action": ["glue:notifyEvent"],
                        "Resource": [workflow_arn(workflow)],
                    }
                ],
            },
            tag_list,
        )
    )
    for job in workflow.topological_jobs():
        resources.append(
            _glue_node(
                workflow,
                job,
                JOB_ROLE,
                tags,
                {
                    "Command": {
                        "Name": "glueetl",
                        "ScriptLocation": f"s3://{artifacts}/{script_key(job)}",
                        "PythonVersion": "3",
                    },
                    "GlueVersion": GLUE_VERSION,
                    "WorkerType": workflow.worker_type,
                    "NumberOfWorkers": workflow.number_of_workers,
                    "Timeout": job.timeout_minutes,
                    "MaxRetries": job.max_retries,
                    "ExecutionProperty": {"MaxConcurrentRuns": 1},
                    "DefaultArguments": job_default_arguments(workflow, job, wheel_name),
                },
            )
        )
    for crawler in workflow.crawlers:
        resources.append(
            _glue_node(
                workflow,
                crawler,
                CRAWLER_ROLE,
                tags,
                {
                    "DatabaseName": crawler.database,
                    "Targets": {
                        "DeltaTargets": [
                            {
                                "DeltaTables": list(crawler.delta_tables),
                                "WriteManifest": True,  # the Spectrum manifests, once per workflow run
                                "CreateNativeDeltaTable": True,
                            }
                        ]
                    },
                    "SchemaChangePolicy": {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"},
                },
            )
        )
    node_ids = tuple(
        logical_id("Job" if isinstance(node, Job) else "Crawler", node.name) for node in workflow.topological_order()
    )
    resources.append(
        Resource(
            WORKFLOW,
            "AWS::Glue::Workflow",
            {
                "Name": workflow.name,
                "Description": workflow.description,
                "DefaultRunProperties": dict(workflow.run_properties),
                "MaxConcurrentRuns": 1,
                "Tags": dict(tags),
            },
        )
    )
    resources.append(
        Resource(
            START_TRIGGER,
            "AWS::Glue::Trigger",
            {
                "Name": trigger_name(workflow),
                "Description": f"Starts {workflow.name} on new files under s3://{landing}/{workflow.trigger.prefix}",
                "Type": "EVENT",
                "WorkflowName": workflow.name,
                "Actions": [_action(workflow, node) for node in workflow.start_nodes()],
                "EventBatchingCondition": {
                    "BatchSize": workflow.trigger.batch_size,
                    "BatchWindow": workflow.trigger.batch_window_s,
                },
                "Tags": dict(tags),
            },
            (WORKFLOW, *node_ids),
        )
    )
    by_name = {node.name: node for node in workflow.topological_order()}
    for node in workflow.topological_order():
        if not node.depends_on:
            continue
        resources.append(
            Resource(
                logical_id("Trigger", node.name),
                "AWS::Glue::Trigger",
                {
                    "Name": trigger_name(workflow, node.name),
                    "Description": f"Runs {node.name} when {' and '.join(node.depends_on)} succeeded",
                    "Type": "CONDITIONAL",
                    "WorkflowName": workflow.name,
                    "StartOnCreation": True,
                    "Actions": [_action(workflow, node)],
                    "Predicate": {
                        "Logical": "AND",
                        "Conditions": [_succeeded(workflow, by_name[dep]) for dep in node.depends_on],
                    },
                    "Tags": dict(tags),
                },
                (WORKFLOW, *node_ids),
            )
        )
    resources.append(
        Resource(
            EVENT_RULE,
            "AWS::Events::Rule",
            {
                "Name": rule_name(workflow),
                "Description": f"S3 Object Created in s3://{landing}/{workflow.trigger.prefix} starts {workflow.name}",
                "State": "ENABLED",
                "EventPattern": event_pattern(workflow),
                "Targets": [
                    {"Id": "glue-workflow", "Arn": workflow_arn(workflow), "RoleArn": f"${{{EVENTS_ROLE}.Arn}}"}
                ],
            },
            (WORKFLOW, START_TRIGGER),
        )
    )
    return resources


def event_pattern(workflow: Workflow) -> dict[str, Any]:
    """The EventBridge pattern: S3 ``Object Created`` in the landing bucket under the landing prefix."""
    key: dict[str, Any] = {"key": [{"prefix": workflow.trigger.prefix}]} if workflow.trigger.prefix else {}
    detail: dict[str, Any] = {"bucket": {"name": [workflow.trigger.bucket]}}
    if key:
        detail["object"] = key
    return {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail}


def render_cloudformation(workflow: Workflow, wheel_name: str | None = None) -> dict[str, Any]:
    """The CloudFormation template (a dict) of :func:`plan_resources`, placeholders as ``Fn::Sub``.

    Examples
    --------
    >>> from lab_etl.workflows.model import load_workflow
    >>> template = render_cloudformation(load_workflow("plate_reader_assay"))
    >>> sorted({r["Type"] for r in template["Resources"].values()})[:2]
    ['AWS::DynamoDB::Table', 'AWS::Events::Rule']
    """
    resources: dict[str, Any] = {}
    for resource in plan_resources(workflow, wheel_name):
        entry: dict[str, Any] = {"Type": resource.type, "Properties": _to_sub(resource.properties)}
        if resource.type in ("AWS::KMS::Key", "AWS::S3::Bucket"):
            # The landing data and its key outlive a stack deletion; deleting them is a deliberate act.
            entry["DeletionPolicy"] = "Retain"
            entry["UpdateReplacePolicy"] = "Retain"
        if resource.depends_on:
            entry["DependsOn"] = list(resource.depends_on)
        resources[resource.logical_id] = entry
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"lab_etl workflow {workflow.name} ({Path(workflow.source).name}): {workflow.description}"[
            :1024
        ],
        "Resources": resources,
        "Outputs": {
            "WorkflowName": {"Value": workflow.name},
            "LandingBucket": {"Value": workflow.trigger.bucket},
            "ArtifactsBucket": {"Value": workflow.artifacts_bucket},
            "KmsKeyArn": {"Value": {"Fn::GetAtt": [KMS_KEY, "Arn"]}},
        },
    }


def dump_template(template: Mapping[str, Any], output_format: str = "yaml") -> str:
    """Template text: ``yaml`` (block style, keys in order) or ``json`` (indented)."""
    if output_format == "json":
        return json.dumps(template, indent=2) + "\n"
    if output_format == "yaml":
        return yaml.safe_dump(dict(template), sort_keys=False, width=120)
    raise ConfigError(f"unknown template format '{output_format}'; use yaml or json")


def fill_placeholders(value: Any, context: Mapping[str, str]) -> Any:
    """Replace ``${AWS::AccountId}``, ``${KmsKey.Arn}``, ... with deployed values (what :mod:`deploy` sends).

    Raises
    ------
    ConfigError
        A placeholder has no value in ``context`` (the deployer did not create that resource first).
    """
    return substitute(
        value,
        context,
        pattern=_PLACEHOLDER,
        missing=lambda name: f"no deployed value for ${{{name}}}; create {name.split('.')[0]} first",
    )


def _to_sub(value: Any) -> Any:
    if isinstance(value, str) and _PLACEHOLDER.search(value):
        return {"Fn::Sub": value}
    if isinstance(value, dict):
        return {key: _to_sub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_sub(item) for item in value]
    return value


def _action(workflow: Workflow, node: Job | Crawler) -> dict[str, str]:
    key = "JobName" if isinstance(node, Job) else "CrawlerName"
    return {key: workflow.glue_name(node.name)}


def _succeeded(workflow: Workflow, node: Job | Crawler) -> dict[str, str]:
    if isinstance(node, Job):
        return {"LogicalOperator": "EQUALS", "JobName": workflow.glue_name(node.name), "State": "SUCCEEDED"}
    return {"LogicalOperator": "EQUALS", "CrawlerName": workflow.glue_name(node.name), "CrawlState": "SUCCEEDED"}


def _key_policy() -> dict[str, Any]:
    root = f"{ARN}:iam::${{AWS::AccountId}}:root"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # In a key policy "Resource": "*" means this key. The account administers it and may delegate
                # its use through IAM policies (the roles below); no action wildcard.
                "Sid": "AccountAdministersAndDelegatesThisKey",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": _KMS_ADMIN_ACTIONS + _KMS_USE_ACTIONS,
                "Resource": "*",
            }
        ],
    }


def _bucket_properties(bucket: str, tag_list: list[dict[str, str]], *, eventbridge: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "BucketName": bucket,
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {
                    "ServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": f"${{{KMS_KEY}.Arn}}",
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "Tags": tag_list,
    }
    if eventbridge:
        properties["NotificationConfiguration"] = {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    return properties


def _tls_only_policy(bucket: str) -> dict[str, Any]:
    return {
        "Bucket": bucket,
        "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"{ARN}:s3:::{bucket}", f"{ARN}:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        },
    }


def _role(
    logical: str, name: str, service: str, policy_name: str, document: dict[str, Any], tag_list: list[dict[str, str]]
) -> Resource:
    return Resource(
        logical,
        "AWS::IAM::Role",
        {
            "RoleName": name,
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
            },
            "Policies": [{"PolicyName": policy_name, "PolicyDocument": document}],
            "Tags": tag_list,
        },
    )


def _catalog_resources(databases: tuple[str, ...]) -> list[str]:
    prefix = f"{ARN}:glue:{ACCOUNT}"
    resources = [f"{prefix}:catalog"]
    for database in databases:
        resources += [f"{prefix}:database/{database}", f"{prefix}:table/{database}/*"]
    return resources


def _job_policy(workflow: Workflow) -> dict[str, Any]:
    s3 = f"{ARN}:s3:::"
    artifacts, landing, warehouse = workflow.artifacts_bucket, workflow.trigger.bucket, workflow.warehouse_bucket
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadScriptsAndWheel",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{s3}{artifacts}/jobs/*", f"{s3}{artifacts}/wheels/*"]
                + ([f"{s3}{workflow.delta_logstore_jar.removeprefix('s3://')}"] if workflow.delta_logstore_jar else []),
            },
            _concurrency_statement(workflow),
            {
                "Sid": "GlueTempDir",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [f"{s3}{artifacts}/tmp/*"],
            },
            {
                "Sid": "ReadLanding",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{s3}{landing}/*"],
            },
            {
                "Sid": "ReadWriteWarehouse",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [f"{s3}{warehouse}/*"],
            },
            {
                "Sid": "ListOwnBuckets",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [f"{s3}{artifacts}", f"{s3}{landing}", f"{s3}{warehouse}"],
            },
            {
                "Sid": "UseWorkflowKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": [f"${{{KMS_KEY}.Arn}}"],
            },
            {
                "Sid": "CatalogOfOwnDatabases",
                "Effect": "Allow",
                "Action": list(_CATALOG_READ_WRITE),
                "Resource": _catalog_resources(workflow.databases),
            },
            {
                "Sid": "JobLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"{ARN}:logs:{ACCOUNT}:log-group:/aws-glue/*"],
            },
        ],
    }


def _concurrency_statement(workflow: Workflow) -> dict[str, Any]:
    """The job role's DynamoDB rights on the one table that keeps writers apart, and no more: the lease lock
    reads, puts (conditionally), renews and deletes its items; Delta's log store also queries by table path."""
    if workflow.delta_logstore_jar:
        sid, table = "DeltaLogStoreTable", workflow.delta_logstore_table
        actions = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
    else:
        sid, table = "WriteLockTable", workflow.lock_table
        actions = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": [f"{ARN}:dynamodb:{ACCOUNT}:table/{table}"],
    }


def _crawler_policy(workflow: Workflow) -> dict[str, Any]:
    s3 = f"{ARN}:s3:::"
    warehouse = workflow.warehouse_bucket
    databases = tuple(sorted({crawler.database for crawler in workflow.crawlers}))
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadWarehouse",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{s3}{warehouse}/*"],
            },
            {
                "Sid": "ListWarehouse",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [f"{s3}{warehouse}"],
            },
            {
                "Sid": "CatalogOfCrawledDatabases",
                "Effect": "Allow",
                "Action": list(_CATALOG_READ_WRITE),
                "Resource": _catalog_resources(databases),
            },
            {
                "Sid": "CrawlerLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"{ARN}:logs:{ACCOUNT}:log-group:/aws-glue/*"],
            },
        ],
    }
