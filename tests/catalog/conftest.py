"""Catalog tests share the session's moto server; each gets a region whose Glue catalog is emptied afterwards."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from lab_etl.aws import aws_client

_REGIONS = itertools.cycle(["ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1"])


@pytest.fixture()
def glue(moto_server: str) -> Iterator[Any]:
    """A Glue client on the moto server; the databases it created are dropped when the test ends."""
    client = aws_client("glue", endpoint_url=moto_server, region=next(_REGIONS))
    yield client
    for database in client.get_databases()["DatabaseList"]:
        client.delete_database(Name=database["Name"])
