"""Fixtures of the workflow tests: job scripts, a wheel stand-in, and moto's bucket policies seen over TLS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def _serves_plain_http_only(statement: dict[str, Any]) -> bool:
    """The TLS-only statement: Deny ... when aws:SecureTransport is false."""
    condition = statement.get("Condition", {}).get("Bool", {})
    return statement.get("Effect") == "Deny" and str(condition.get("aws:SecureTransport")).lower() == "false"


@pytest.fixture()
def moto_s3_as_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close two gaps of moto 5.2.5's S3 that a deploy meets (the moto server runs in this process).

    1. moto ignores bucket-policy conditions (``FakeBucket.put_bucket_policy``: "Conditions are not taken
       into account"), so the Deny-if-not-TLS statement denies every request. boto3 always uses HTTPS on AWS,
       where that statement never matches: bucket evaluation here drops exactly that statement and evaluates
       the rest as moto does.
    2. moto stores ``EventBridgeConfiguration`` but leaves it out of GetBucketNotificationConfiguration; the
       answer here includes it when it is stored, as S3 does.
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    original_notification = S3Response.get_bucket_notification

    def get_bucket_notification(self: Any) -> Any:
        stored = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if stored is None or stored.event_bridge is None:
            return original_notification(self)
        serialized = self.serialized

        def with_eventbridge(action_result: Any) -> Any:
            if isinstance(action_result.result, dict):
                action_result.result["EventBridgeConfiguration"] = {}
            return serialized(action_result)

        self.serialized = with_eventbridge
        return original_notification(self)

    monkeypatch.setattr(S3Response, "get_bucket_notification", get_bucket_notification)

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy)
        statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        kept = [statement for statement in statements if not _serves_plain_http_only(statement)]
        if not kept:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**document, "Statement": kept})).is_action_permitted(action, resource)

    monkeypatch.setattr(FakeBucket, "get_permission", get_permission)
    yield


@pytest.fixture()
def jobs_dir(tmp_path: Path) -> Path:
    """The repository's job scripts, plus a one-line stand-in for each script the lead has not written yet."""
    folder = tmp_path / "jobs"
    folder.mkdir()
    for name in ("ingest_instruments", "load_eln", "load_reference", "build_silver", "build_gold", "publish_catalog"):
        real = REPO / "jobs" / f"{name}.py"
        text = real.read_text() if real.is_file() else f'"""Stand-in for jobs/{name}.py in deploy tests."""\n'
        (folder / f"{name}.py").write_text(text)
    return folder


@pytest.fixture()
def wheel_path(tmp_path: Path) -> Path:
    """A small file named like lab_etl's wheel (the real build is tested in test_package.py)."""
    path = tmp_path / "lab_etl-0.1.0-py3-none-any.whl"
    path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip archive
    return path
