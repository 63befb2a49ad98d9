"""`lab-etl governance plan|apply` over the moto server, through click's runner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lab_etl.errors import ConfigError
from lab_etl.governance.commands import governance

from .conftest import ACCOUNT

pytestmark = pytest.mark.aws


def _run(*args: str) -> Any:
    return CliRunner().invoke(governance, list(args))


def test_plan_prints_the_diff_and_apply_makes_it(moto_server: str, region: str, lf: Any, policy_file: Path) -> None:
    where = ["--endpoint-url", moto_server, "--region", region, "--param", f"account_id={ACCOUNT}"]

    planned = _run("plan", str(policy_file), *where)
    assert planned.exit_code == 0, planned.output
    lines = planned.output.splitlines()
    assert f"+ register arn:aws:s3:::lab-etl-lake-{ACCOUNT}/bronze: with the service-linked role" in lines
    assert "+ assign_tags lab_silver.eln_experiments.author: sensitivity=personal" in lines
    assert "+ grant lab_bronze.* (all tables): DESCRIBE, SELECT to lab_analyst" in lines
    assert lines[-1].startswith(f"{len(lines) - 1} changes: 4 register, 2 create_tag, 10 assign_tags, ")
    assert lf.list_resources()["ResourceInfoList"] == []  # plan changes nothing

    applied = _run("apply", str(policy_file), *where)
    assert applied.exit_code == 0, applied.output
    assert applied.output.splitlines()[-1] == f"applied {len(lines) - 1} changes"

    again = _run("plan", str(policy_file), *where)
    assert (again.exit_code, again.output) == (0, "no changes\n")
    assert _run("apply", str(policy_file), *where).output == "no changes\n"


def test_account_id_defaults_to_the_callers_account(moto_server: str, region: str, lf: Any, policy_file: Path) -> None:
    result = _run("apply", str(policy_file), "--endpoint-url", moto_server, "--region", region)
    assert result.exit_code == 0, result.output
    principals = {
        p["Principal"]["DataLakePrincipalIdentifier"] for p in lf.list_permissions()["PrincipalResourcePermissions"]
    }
    assert f"arn:aws:iam::{ACCOUNT}:role/lab-etl-lab-analyst" in principals  # moto's STS account


def test_bad_options_and_files_fail_clearly(moto_server: str, region: str, tmp_path: Path, policy_file: Path) -> None:
    bad_param = _run("plan", str(policy_file), "--endpoint-url", moto_server, "--param", "account_id")
    assert bad_param.exit_code == 2 and "'account_id' is not NAME=VALUE" in bad_param.output

    broken = tmp_path / "lf.yaml"
    broken.write_text(policy_file.read_text(encoding="utf-8").replace("lab_gold.*]", "lab_gold.plates]", 1))
    result = _run("plan", str(broken), "--endpoint-url", moto_server, "--region", region, "--param", "account_id=1")
    assert isinstance(result.exception, ConfigError)
    assert "account_id='1' does not match" in str(result.exception)
    result = _run(
        "plan", str(broken), "--endpoint-url", moto_server, "--region", region, "--param", f"account_id={ACCOUNT}"
    )
    assert isinstance(result.exception, ConfigError)
    assert "unknown table lab_gold.plates" in str(result.exception)
