"""No credentials in the repository or in what it deploys; S3 event keys cannot reach outside the landing prefix."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from lab_etl.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / "workflows").glob("*.yaml"))

#: What a leaked credential looks like. Each pattern is proved to fire by test_the_scanner_finds_planted_secrets.
SECRET_PATTERNS = {
    "AWS access key id": re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(rb"(?i)secret[\w\"' ]{0,30}[=:]\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
    "private key": re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "password in a URL": re.compile(rb"\b[a-z][a-z0-9+.\-]*://[^/\s:@'\"<>]+:[^/\s@'\"<>]+@[\w.\-]+"),
}


def find_secrets(data: bytes) -> list[str]:
    """Each credential-looking match in ``data`` as ``kind: first 60 bytes``."""
    return [
        f"{kind}: {match.group(0)[:60].decode('latin-1')}"
        for kind, pattern in SECRET_PATTERNS.items()
        for match in pattern.finditer(data)
    ]


def _tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [REPO / name.decode() for name in listed.split(b"\0") if name]


def test_the_scanner_finds_planted_secrets() -> None:
    # built by concatenation so that this file holds no credential-looking text itself
    planted = {
        "AWS access key id": b"aws_access_key_id = " + b"AKIA" + b"IOSFODNN7EXAMPLE",
        "AWS secret access key": b"aws_secret_access_key = " + b"wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + b"EXAMPLEKEY",
        "private key": b"-----BEGIN " + b"RSA PRIVATE KEY-----\nMIIE",
        "password in a URL": b"jdbc url: postgresql://etl:" + b"hunter2@db.example.org/lab",
    }
    for kind, text in planted.items():
        assert [hit.split(":")[0] for hit in find_secrets(text)] == [kind], kind
    assert find_secrets(b"AWS_SECRET_ACCESS_KEY=testing  https://bucket.s3.amazonaws.com/a:b  ASIA-pacific") == []


def test_no_tracked_file_holds_credentials() -> None:
    files = _tracked_files()
    assert len(files) > 50 and REPO / "README.md" in files
    hits = [
        f"{path.relative_to(REPO)}: {hit}"
        for path in files
        if path.is_file()
        for hit in find_secrets(path.read_bytes())
    ]
    assert hits == [], "credentials in tracked files; remove them and rotate the keys:\n" + "\n".join(hits)


@pytest.mark.parametrize("workflow_file", WORKFLOWS, ids=lambda p: p.stem)
def test_rendered_cloudformation_holds_no_credentials(workflow_file: Path) -> None:
    from lab_etl.workflows.model import load_workflow
    from lab_etl.workflows.render import render_cloudformation

    template = render_cloudformation(load_workflow(str(workflow_file)))
    assert template["Resources"], f"{workflow_file.name} rendered no resources"
    text = json.dumps(template, sort_keys=True).encode()
    assert find_secrets(text) == []
    # credentials reach jobs through their IAM role, never as job arguments or environment values
    jobs = [r for r in template["Resources"].values() if r["Type"] == "AWS::Glue::Job"]
    assert jobs and all(job["Properties"].get("DefaultArguments") for job in jobs)
    arguments = [
        key
        for resource in template["Resources"].values()
        for key in resource.get("Properties", {}).get("DefaultArguments", {})
        if re.search(r"(?i)secret|password|access.?key|token", key)
    ]
    assert arguments == []


def test_workflows_exist() -> None:
    assert {p.stem for p in WORKFLOWS} >= {"plate_reader_assay", "hts_lcms_yield"}


def test_s3_event_keys_are_confined_to_the_landing_prefix() -> None:
    from lab_etl.pipeline.landing import landing_key

    assert landing_key("lab-landing", "landing/plates/run%201/plate.csv", "landing/") == (
        "s3a://lab-landing/landing/plates/run 1/plate.csv"
    )
    assert landing_key("lab-landing", "landing/a+b.csv", "landing") == "s3a://lab-landing/landing/a b.csv"
    refused = [
        "landing/../warehouse/lab_bronze.db/x.parquet",  # climbs out of the prefix
        "landing/plates/%2E%2E/%2E%2E/secrets.txt",  # the same, URL-encoded as S3 events encode keys
        "/landing/plate.csv",  # absolute
        "warehouse/lab_bronze.db/part-0.parquet",  # another prefix
        "landingX/plate.csv",  # shares the prefix text but not the folder
        "",
    ]
    for key in refused:
        with pytest.raises(ConfigError, match="landing"):
            landing_key("lab-landing", key, "landing/")
