"""The moto server fixture is a real HTTP endpoint on 127.0.0.1 that boto3 talks to."""

from __future__ import annotations

import boto3
import pytest

pytestmark = pytest.mark.aws


def test_s3_round_trip_over_http(moto_server: str) -> None:
    assert moto_server.startswith("http://127.0.0.1:")
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket="landing")
    s3.put_object(Bucket="landing", Key="plates/p1.csv", Body=b"A1,0.5\n")
    listed = s3.list_objects_v2(Bucket="landing", Prefix="plates/")
    assert [o["Key"] for o in listed["Contents"]] == ["plates/p1.csv"]
    assert s3.get_object(Bucket="landing", Key="plates/p1.csv")["Body"].read() == b"A1,0.5\n"
