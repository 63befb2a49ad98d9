"""Deploy a workflow with boto3: create what is missing, update what differs, leave the rest alone.

The resources are exactly :func:`lab_etl.workflows.render.plan_resources` (the CloudFormation template's),
filled in with the account, region and the ARNs made along the way. Every resource is read first and only
written when it differs, so a second deploy of the same definition reports every resource ``unchanged``, and a
changed parameter updates resources in place (``update_job``, ``update_trigger``, ``put_rule``, ...).

Examples
--------
>>> from lab_etl.workflows.model import load_workflow  # doctest: +SKIP
>>> report = deploy(load_workflow("hts_lcms_yield"), jobs_dir=Path("jobs"), wheel_path=wheel)  # doctest: +SKIP
>>> report.changed  # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lab_etl.aws import aws_client, error_code, error_text
from lab_etl.errors import ConfigError, LabEtlError
from lab_etl.workflows import render
from lab_etl.workflows.model import Workflow
from lab_etl.workflows.render import Resource

log = logging.getLogger(__name__)

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
#: Properties compared exactly (a removed key is a change); everything else is compared as a subset, because
#: AWS echoes defaults we never set (e.g. a job's ``Command.Runtime``).
_EXACT = frozenset({"DefaultArguments", "DefaultRunProperties"})


@dataclass(frozen=True)
class _GlueApi:
    """How Glue's API names and updates one kind of resource; the calls are ``get_/create_/update_<kind>``."""

    kind: str
    #: ``update_<kind>``'s arguments, from the name and the properties to update.
    request: Callable[[str, dict[str, Any]], dict[str, Any]]
    #: The argument naming the resource in ``get_<kind>``.
    name_key: str = "Name"
    #: The properties ``update_<kind>`` takes; ``None``: all but ``Name`` and ``Tags``.
    updatable: tuple[str, ...] | None = None
    #: Properties Glue cannot change in place: a difference is a :class:`ConfigError` (delete and deploy again).
    fixed: tuple[str, ...] = ()


def _named(name: str, update: dict[str, Any]) -> dict[str, Any]:
    return {"Name": name, **update}


_GLUE_APIS = {
    "AWS::Glue::Job": _GlueApi("job", lambda name, update: {"JobName": name, "JobUpdate": update}, name_key="JobName"),
    "AWS::Glue::Crawler": _GlueApi("crawler", _named),
    "AWS::Glue::Workflow": _GlueApi("workflow", _named),
    "AWS::Glue::Trigger": _GlueApi(
        "trigger",
        lambda name, update: {"Name": name, "TriggerUpdate": _named(name, update)},
        updatable=("Description", "Actions", "Predicate", "EventBatchingCondition"),
        fixed=("Type", "WorkflowName"),
    ),
}


class DeployError(LabEtlError):
    """An AWS call failed while deploying; the message names the resource, the call and AWS's reason."""


@dataclass(frozen=True)
class Change:
    """What deploy did to one resource: ``created``, ``updated`` or ``unchanged``."""

    kind: str
    name: str
    action: str


@dataclass
class DeployReport:
    """Every resource deploy touched, in order, with what it did."""

    workflow: str
    region: str
    account: str
    changes: list[Change] = field(default_factory=list)

    def record(self, kind: str, name: str, action: str) -> None:
        log.info("%s %s: %s", kind, name, action)
        self.changes.append(Change(kind, name, action))

    def names(self, action: str) -> list[str]:
        """``kind:name`` of every resource with ``action``."""
        return [f"{change.kind}:{change.name}" for change in self.changes if change.action == action]

    @property
    def changed(self) -> bool:
        return any(change.action != UNCHANGED for change in self.changes)

    def summary(self) -> str:
        counts = {action: len(self.names(action)) for action in (CREATED, UPDATED, UNCHANGED)}
        return f"{self.workflow} in {self.account}/{self.region}: " + ", ".join(f"{n} {a}" for a, n in counts.items())


def deploy(
    workflow: Workflow,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    jobs_dir: Path,
    wheel_path: Path,
) -> DeployReport:
    """Create or update the workflow's resources in one account and region, idempotently.

    Parameters
    ----------
    workflow:
        The resolved workflow.
    endpoint_url:
        One endpoint for every service (the moto server in tests); ``None`` for AWS.
    region:
        AWS region; ``None`` lets boto3 resolve it (``AWS_DEFAULT_REGION``, profile).
    jobs_dir:
        Folder holding the job scripts (``jobs/``); ``jobs/x.py`` of a job is read as ``jobs_dir / "x.py"``.
    wheel_path:
        The lab_etl wheel (:func:`lab_etl.workflows.package.build_wheel`), uploaded to ``s3://<artifacts>/wheels/``.

    Raises
    ------
    ConfigError
        A job script or the wheel is missing, or a trigger would need to change its type.
    DeployError
        An AWS call failed (the message names the resource and the call).
    """
    scripts = _job_scripts(workflow, jobs_dir)
    if not wheel_path.is_file():
        raise ConfigError(f"wheel {wheel_path} not found; build it with `lab-etl package`")
    deployer = _Deployer(workflow, endpoint_url, region)
    resources = render.plan_resources(workflow, wheel_path.name)
    for resource in resources:
        deployer.apply(resource)
        if resource.logical_id == render.ARTIFACTS_POLICY:
            deployer.upload_artifacts(scripts, wheel_path)
    return deployer.report


def _job_scripts(workflow: Workflow, jobs_dir: Path) -> dict[str, Path]:
    scripts: dict[str, Path] = {}
    for job in workflow.jobs:
        path = jobs_dir / Path(job.script).name
        if not path.is_file():
            raise ConfigError(
                f"{workflow.source}: job '{job.name}' runs {job.script}, but {path} does not exist; "
                "write the script or pass the right jobs directory"
            )
        scripts[render.script_key(job)] = path
    return scripts


class _Deployer:
    """One deployment: the clients, the placeholder values learnt so far, and the report."""

    def __init__(self, workflow: Workflow, endpoint_url: str | None, region: str | None) -> None:
        self.workflow = workflow
        self.clients: dict[str, Any] = {}
        self.endpoint_url, self.region = endpoint_url, region
        identity = self._call("sts", "get_caller_identity", "account")
        region_name = self.client("sts").meta.region_name
        partition = self.client("sts").meta.partition
        self.context: dict[str, str] = {
            "AWS::AccountId": identity["Account"],
            "AWS::Region": region_name,
            "AWS::Partition": partition,
        }
        self.report = DeployReport(workflow.name, region_name, identity["Account"])

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = aws_client(service, self.endpoint_url, self.region)
        return self.clients[service]

    def _call(
        self, service: str, operation: str, resource: str, *, missing: tuple[str, ...] = (), **kwargs: Any
    ) -> Any:
        """One AWS call; ``None`` when AWS answers with one of the ``missing`` error codes, else a DeployError."""
        try:
            return getattr(self.client(service), operation)(**kwargs)
        except ClientError as exc:
            if error_code(exc) in missing:
                return None
            raise DeployError(f"{resource}: {service}.{operation} failed: {error_text(exc)}") from exc
        except BotoCoreError as exc:
            raise DeployError(f"{resource}: {service}.{operation} failed: {exc}") from exc

    def _get(self, service: str, operation: str, missing: tuple[str, ...], resource: str, **kwargs: Any) -> Any:
        """A read that returns ``None`` when AWS answers with one of the ``missing`` error codes."""
        return self._call(service, operation, resource, missing=missing, **kwargs)

    def apply(self, resource: Resource) -> None:
        handler: Callable[[str, dict[str, Any]], None] | None = {
            "AWS::KMS::Key": self._kms_key,
            "AWS::KMS::Alias": None,  # made together with the key (the alias is how the key is found again)
            "AWS::S3::Bucket": self._bucket,
            "AWS::S3::BucketPolicy": self._bucket_policy,
            "AWS::IAM::Role": self._role,
            **{kind: partial(self._glue, api) for kind, api in _GLUE_APIS.items()},
            "AWS::Events::Rule": self._rule,
            "AWS::DynamoDB::Table": self._dynamodb_table,
        }[resource.type]
        if handler is not None:
            handler(resource.logical_id, render.fill_placeholders(resource.properties, self.context))

    # KMS ------------------------------------------------------------------------------------------------------
    def _kms_key(self, logical: str, props: dict[str, Any]) -> None:
        alias = self.workflow.kms_key_alias
        policy = props["KeyPolicy"]
        found = self._get("kms", "describe_key", ("NotFoundException",), f"kms key {alias}", KeyId=alias)
        if found is None:
            key = self._call(
                "kms",
                "create_key",
                alias,
                Description=props["Description"],
                Policy=json.dumps(policy),
                Tags=[{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in props["Tags"]],
            )["KeyMetadata"]
            self._call("kms", "enable_key_rotation", alias, KeyId=key["KeyId"])
            self._call("kms", "create_alias", alias, AliasName=alias, TargetKeyId=key["KeyId"])
            action = CREATED
        else:
            key = found["KeyMetadata"]
            action = UNCHANGED
            current = self._call("kms", "get_key_policy", alias, KeyId=key["KeyId"], PolicyName="default")
            if json.loads(current["Policy"]) != policy:
                self._call(
                    "kms", "put_key_policy", alias, KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(policy)
                )
                action = UPDATED
            rotation = self._call("kms", "get_key_rotation_status", alias, KeyId=key["KeyId"])
            if not rotation["KeyRotationEnabled"]:
                self._call("kms", "enable_key_rotation", alias, KeyId=key["KeyId"])
                action = UPDATED
        self.context[f"{logical}.Arn"] = key["Arn"]
        self.report.record("kms-key", alias, action)

    # S3 -------------------------------------------------------------------------------------------------------
    def _bucket(self, logical: str, props: dict[str, Any]) -> None:
        bucket = props["BucketName"]
        where = f"s3 bucket {bucket}"
        action = UNCHANGED
        try:
            exists = self._get("s3", "head_bucket", ("404", "NoSuchBucket", "NotFound"), where, Bucket=bucket)
        except DeployError as exc:
            if "403" not in str(exc):
                raise
            raise ConfigError(
                f"{where} exists and belongs to another account (S3 names are global); "
                f"choose another name with --set (landing_bucket / artifacts_bucket)"
            ) from exc
        if exists is None:
            region = self.context["AWS::Region"]
            extra: dict[str, Any] = (
                {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            )
            self._call("s3", "create_bucket", where, Bucket=bucket, **extra)
            action = CREATED
        encryption = self._get(
            "s3", "get_bucket_encryption", ("ServerSideEncryptionConfigurationNotFoundError",), where, Bucket=bucket
        )
        # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault.
        wanted = [
            {
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                "BucketKeyEnabled": rule["BucketKeyEnabled"],
            }
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        if encryption is None or not _subset(wanted, encryption["ServerSideEncryptionConfiguration"]["Rules"]):
            self._call(
                "s3",
                "put_bucket_encryption",
                where,
                Bucket=bucket,
                ServerSideEncryptionConfiguration={"Rules": wanted},
            )
            action = action if action == CREATED else UPDATED
        block = self._get(
            "s3", "get_public_access_block", ("NoSuchPublicAccessBlockConfiguration",), where, Bucket=bucket
        )
        if block is None or block["PublicAccessBlockConfiguration"] != props["PublicAccessBlockConfiguration"]:
            self._call(
                "s3",
                "put_public_access_block",
                where,
                Bucket=bucket,
                PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"],
            )
            action = action if action == CREATED else UPDATED
        tagging = self._get("s3", "get_bucket_tagging", ("NoSuchTagSet",), where, Bucket=bucket)
        if _tag_dict(tagging["TagSet"] if tagging else []) != _tag_dict(props["Tags"]):
            self._call("s3", "put_bucket_tagging", where, Bucket=bucket, Tagging={"TagSet": props["Tags"]})
            action = action if action == CREATED else UPDATED
        if "NotificationConfiguration" in props:
            current = self._call("s3", "get_bucket_notification_configuration", where, Bucket=bucket)
            if "EventBridgeConfiguration" not in current:
                # Keeps any queue/topic/lambda notifications someone else configured on the bucket.
                keep = {
                    key: current[key]
                    for key in (
                        "TopicConfigurations",
                        "QueueConfigurations",
                        "LambdaFunctionConfigurations",
                    )
                    if key in current
                }
                self._call(
                    "s3",
                    "put_bucket_notification_configuration",
                    where,
                    Bucket=bucket,
                    NotificationConfiguration={**keep, "EventBridgeConfiguration": {}},
                )
                action = action if action == CREATED else UPDATED
        self.report.record("s3-bucket", bucket, action)

    def _bucket_policy(self, logical: str, props: dict[str, Any]) -> None:
        bucket = props["Bucket"]
        current = self._get("s3", "get_bucket_policy", ("NoSuchBucketPolicy",), f"s3 bucket {bucket}", Bucket=bucket)
        if current is not None and json.loads(current["Policy"]) == props["PolicyDocument"]:
            self.report.record("s3-bucket-policy", bucket, UNCHANGED)
            return
        self._call(
            "s3", "put_bucket_policy", f"s3 bucket {bucket}", Bucket=bucket, Policy=json.dumps(props["PolicyDocument"])
        )
        self.report.record("s3-bucket-policy", bucket, CREATED if current is None else UPDATED)

    def upload_artifacts(self, scripts: Mapping[str, Path], wheel_path: Path) -> None:
        """Upload job scripts and the wheel when their SHA-256 differs from the object's ``sha256`` metadata."""
        bucket = self.workflow.artifacts_bucket
        uploads = {**scripts, render.wheel_key(wheel_path.name): wheel_path}
        for key, path in uploads.items():
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()
            where = f"s3://{bucket}/{key}"
            head = self._get("s3", "head_object", ("404", "NoSuchKey", "NotFound"), where, Bucket=bucket, Key=key)
            if head is not None and head.get("Metadata", {}).get("sha256") == digest:
                self.report.record("s3-object", key, UNCHANGED)
                continue
            self._call(
                "s3",
                "put_object",
                where,
                Bucket=bucket,
                Key=key,
                Body=body,
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=self.context[f"{render.KMS_KEY}.Arn"],
                Metadata={"sha256": digest},
            )
            self.report.record("s3-object", key, CREATED if head is None else UPDATED)

    # IAM ------------------------------------------------------------------------------------------------------
    def _role(self, logical: str, props: dict[str, Any]) -> None:
        name = props["RoleName"]
        where = f"iam role {name}"
        trust = props["AssumeRolePolicyDocument"]
        found = self._get("iam", "get_role", ("NoSuchEntity",), where, RoleName=name)
        if found is None:
            role = self._call(
                "iam",
                "create_role",
                where,
                RoleName=name,
                AssumeRolePolicyDocument=json.dumps(trust),
                Description=f"lab_etl workflow {self.workflow.name}",
                Tags=props["Tags"],
            )["Role"]
            action = CREATED
        else:
            role = found["Role"]
            action = UNCHANGED
            if _policy_document(role["AssumeRolePolicyDocument"]) != trust:
                self._call("iam", "update_assume_role_policy", where, RoleName=name, PolicyDocument=json.dumps(trust))
                action = UPDATED
        wanted = {policy["PolicyName"]: policy["PolicyDocument"] for policy in props["Policies"]}
        for policy_name, document in wanted.items():
            current = self._get(
                "iam", "get_role_policy", ("NoSuchEntity",), where, RoleName=name, PolicyName=policy_name
            )
            if current is None or _policy_document(current["PolicyDocument"]) != document:
                self._call(
                    "iam",
                    "put_role_policy",
                    where,
                    RoleName=name,
                    PolicyName=policy_name,
                    PolicyDocument=json.dumps(document),
                )
                action = action if action == CREATED else UPDATED
        # Inline policies this definition no longer has would keep permissions alive: remove them.
        for policy_name in self._call("iam", "list_role_policies", where, RoleName=name)["PolicyNames"]:
            if policy_name not in wanted:
                self._call("iam", "delete_role_policy", where, RoleName=name, PolicyName=policy_name)
                action = action if action == CREATED else UPDATED
        self.context[f"{logical}.Arn"] = role["Arn"]
        self.report.record("iam-role", name, action)

    # Glue -----------------------------------------------------------------------------------------------------
    def _glue_arn(self, kind: str, name: str) -> str:
        c = self.context
        return f"arn:{c['AWS::Partition']}:glue:{c['AWS::Region']}:{c['AWS::AccountId']}:{kind}/{name}"

    def _glue_tags(self, kind: str, name: str, tags: Mapping[str, str]) -> bool:
        arn = self._glue_arn(kind, name)
        current = self._call("glue", "get_tags", f"glue {kind} {name}", ResourceArn=arn).get("Tags", {})
        if current == dict(tags):
            return False
        self._call("glue", "tag_resource", f"glue {kind} {name}", ResourceArn=arn, TagsToAdd=dict(tags))
        return True

    def _dynamodb_table(self, logical: str, props: dict[str, Any]) -> None:
        """Create the lock table once; an existing one (another workflow's, on the shared warehouse) is kept."""
        name = props["TableName"]
        where = f"dynamodb table {name}"
        found = self._get("dynamodb", "describe_table", ("ResourceNotFoundException",), where, TableName=name)
        if found is not None:
            self.report.record("dynamodb-table", name, UNCHANGED)
            return
        create = {key: value for key, value in props.items() if key != "TimeToLiveSpecification"}
        self._call("dynamodb", "create_table", where, **create)
        self.client("dynamodb").get_waiter("table_exists").wait(TableName=name)
        self._call(
            "dynamodb",
            "update_time_to_live",
            where,
            TableName=name,
            TimeToLiveSpecification=props["TimeToLiveSpecification"],
        )
        self.report.record("dynamodb-table", name, CREATED)

    def _glue(self, api: _GlueApi, logical: str, props: dict[str, Any]) -> None:
        """Create a Glue job, crawler, workflow or trigger if missing, else update it and its tags where they differ.

        ``get_<kind>`` reads it; when missing, ``create_<kind>`` gets ``props`` as they are. Otherwise the
        properties ``update_<kind>`` takes are compared with what Glue holds (:func:`_matches`) and sent only when
        they differ; the tags are compared apart, since Glue's get and update calls leave them out.
        """
        name = props["Name"]
        where = f"glue {api.kind} {name}"
        found = self._get("glue", f"get_{api.kind}", ("EntityNotFoundException",), where, **{api.name_key: name})
        if found is None:
            self._call("glue", f"create_{api.kind}", where, **props)
            self.report.record(f"glue-{api.kind}", name, CREATED)
            return
        current = found[api.kind.capitalize()]
        for key in api.fixed:
            if current.get(key) != props[key]:
                raise ConfigError(
                    f"{api.kind} {name} is {key}={current.get(key)} in AWS but {props[key]} in "
                    f"{self.workflow.source}; Glue cannot change it in place: delete the {api.kind} and deploy again"
                )
        if api.updatable is None:
            update = {key: value for key, value in props.items() if key not in ("Name", "Tags")}
        else:
            update = {key: props[key] for key in api.updatable if key in props}
        action = UNCHANGED
        if not _matches(update, current):
            self._call("glue", f"update_{api.kind}", where, **api.request(name, update))
            action = UPDATED
        if self._glue_tags(api.kind, name, props["Tags"]):
            action = UPDATED
        self.report.record(f"glue-{api.kind}", name, action)

    # EventBridge ----------------------------------------------------------------------------------------------
    def _rule(self, logical: str, props: dict[str, Any]) -> None:
        name = props["Name"]
        where = f"events rule {name}"
        found = self._get("events", "describe_rule", ("ResourceNotFoundException",), where, Name=name)
        wanted = {"EventPattern": props["EventPattern"], "State": props["State"], "Description": props["Description"]}
        action = UNCHANGED
        if (
            found is None
            or {
                "EventPattern": json.loads(found.get("EventPattern", "{}")),
                "State": found.get("State"),
                "Description": found.get("Description"),
            }
            != wanted
        ):
            self._call(
                "events",
                "put_rule",
                where,
                Name=name,
                EventPattern=json.dumps(props["EventPattern"]),
                State=props["State"],
                Description=props["Description"],
            )
            action = CREATED if found is None else UPDATED
        targets = self._call("events", "list_targets_by_rule", where, Rule=name)["Targets"]
        if not _matches({"Targets": props["Targets"]}, {"Targets": targets}):
            stale = [target["Id"] for target in targets if target["Id"] not in {t["Id"] for t in props["Targets"]}]
            if stale:
                self._call("events", "remove_targets", where, Rule=name, Ids=stale)
            self._call("events", "put_targets", where, Rule=name, Targets=props["Targets"])
            action = action if action == CREATED else UPDATED
        self.report.record("events-rule", name, action)


def _matches(wanted: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """True when AWS's ``current`` already holds ``wanted`` (exact for :data:`_EXACT` keys, else a subset)."""
    for key, value in wanted.items():
        if key in _EXACT:
            if (current.get(key) or {}) != value:
                return False
        elif not _subset(value, current.get(key)):
            return False
    return True


def _subset(wanted: Any, current: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(_subset(value, current.get(key)) for key, value in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(current, list)
            and len(wanted) == len(current)
            and all(_subset(w, c) for w, c in zip(wanted, current))
        )
    if isinstance(wanted, (int, float)) and not isinstance(wanted, bool) and isinstance(current, (int, float)):
        return float(wanted) == float(current)
    return bool(wanted == current)


def _tag_dict(tags: list[dict[str, str]]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags}


def _policy_document(document: Any) -> Any:
    """IAM returns documents as dicts (boto3 decodes them) or, from some endpoints, URL-encoded JSON text."""
    if isinstance(document, str):
        from urllib.parse import unquote

        return json.loads(unquote(document))
    return document
