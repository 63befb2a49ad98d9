"""Governance tests share the session's moto server; each gets a region whose Lake Formation state is wiped after."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab_etl.aws import aws_client

POLICY = Path(__file__).resolve().parents[2] / "governance" / "lakeformation.yaml"
ACCOUNT = "123456789012"  # moto's account: STS answers it, and it is the one the tests pass

_REGIONS = itertools.cycle(["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "ca-central-1"])


@pytest.fixture()
def region(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A region of the moto server with an empty Lake Formation, emptied again when the test ends.

    Calls get one attempt: moto answers a bare HTTP 500 for tags of a never-tagged database, and retrying a
    local server only costs time.
    """
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    name = next(_REGIONS)
    yield name
    lf = aws_client("lakeformation", endpoint_url=moto_server, region=name)
    for entry in lf.list_permissions()["PrincipalResourcePermissions"]:
        lf.revoke_permissions(
            Principal=entry["Principal"],
            Resource=entry["Resource"],
            Permissions=entry["Permissions"],
            PermissionsWithGrantOption=entry["PermissionsWithGrantOption"],
        )
    for tag in lf.list_lf_tags()["LFTags"]:
        lf.delete_lf_tag(TagKey=tag["TagKey"])
    for resource in lf.list_resources()["ResourceInfoList"]:
        lf.deregister_resource(ResourceArn=resource["ResourceArn"])


@pytest.fixture()
def lf(moto_server: str, region: str) -> Any:
    """A Lake Formation client on the moto server, in the test's own region."""
    return aws_client("lakeformation", endpoint_url=moto_server, region=region)


@pytest.fixture()
def policy_file() -> Path:
    return POLICY
