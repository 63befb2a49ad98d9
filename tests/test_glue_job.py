from __future__ import annotations

import re

import pytest

from lab_etl import glue_job
from lab_etl.errors import ConfigError


def test_resolve_options_works_locally() -> None:
    argv = ["job.py", "--JOB_NAME", "ingest", "--landing", "/data/in", "--warehouse", "wh"]
    assert glue_job.resolve_options(["JOB_NAME", "landing"], argv) == {"JOB_NAME": "ingest", "landing": "/data/in"}


def test_missing_option_names_it() -> None:
    with pytest.raises(ConfigError, match="--landing"):
        glue_job.resolve_options(["JOB_NAME", "landing"], ["job.py", "--JOB_NAME", "x"])


def test_optional_option() -> None:
    argv = ["job.py", "--vendor", "bmg_mars", "--engine=native"]
    assert glue_job.optional_option("vendor", None, argv) == "bmg_mars"
    assert glue_job.optional_option("engine", "auto", argv) == "native"
    assert glue_job.optional_option("missing", "d", argv) == "d"


def test_job_run_id_is_the_workflow_run_else_a_new_one() -> None:
    assert glue_job.job_run_id(["job.py", "--WORKFLOW_RUN_ID", "wr_0f3c"]) == "wr_0f3c"
    made = glue_job.job_run_id(["job.py"])
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", made)
    assert made != glue_job.job_run_id(["job.py"])
