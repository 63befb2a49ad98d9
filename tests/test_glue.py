from __future__ import annotations

import pytest

from lab_etl import glue
from lab_etl.errors import ConfigError


def test_resolve_options_works_locally() -> None:
    argv = ["job.py", "--JOB_NAME", "ingest", "--landing", "/data/in", "--warehouse", "wh"]
    assert glue.resolve_options(["JOB_NAME", "landing"], argv) == {"JOB_NAME": "ingest", "landing": "/data/in"}


def test_missing_option_names_it() -> None:
    with pytest.raises(ConfigError, match="--landing"):
        glue.resolve_options(["JOB_NAME", "landing"], ["job.py", "--JOB_NAME", "x"])


def test_optional_option() -> None:
    argv = ["job.py", "--vendor", "bmg_mars", "--engine=native"]
    assert glue.optional_option("vendor", None, argv) == "bmg_mars"
    assert glue.optional_option("engine", "auto", argv) == "native"
    assert glue.optional_option("missing", "d", argv) == "d"


def test_no_module_but_the_adapter_imports_awsglue() -> None:
    from pathlib import Path

    root = Path(glue.__file__).parent
    offenders = [p for p in root.rglob("*.py") if p.name != "glue.py" and "awsglue" in p.read_text()]
    assert offenders == []
